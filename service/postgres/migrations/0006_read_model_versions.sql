-- The digest of the table definitions each read model was built with. A read model whose
-- definitions changed is dropped and rebuilt from the log at start-up (projections/runner.py)
-- instead of being altered in place; NULL (built before this column) rebuilds once.

ALTER TABLE projection_checkpoints ADD COLUMN ddl_digest text;
