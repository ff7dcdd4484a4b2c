"""PostgreSQL: the pool, the embedded server, migrations."""
