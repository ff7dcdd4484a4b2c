-- Which message a checkpoint's signature covers (service/checkpoints.py): 1 signs the event
-- count, head and root; 2 also the checkpoint's id and created_at, so neither can be edited.
-- Rows signed before this migration, and rows a server that predates it inserts, are 1.

ALTER TABLE checkpoints ADD COLUMN message_format smallint NOT NULL DEFAULT 1;
