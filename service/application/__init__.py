"""The application layer: command handlers, notifications, the composition root."""
