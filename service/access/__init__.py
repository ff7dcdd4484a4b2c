"""Who a caller is (tokens, roles) and the audit of what they read."""
