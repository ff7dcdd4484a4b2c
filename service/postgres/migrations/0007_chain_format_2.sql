-- Hash format 2: the service computes the hash chain, a keyed command's record is its
-- first event, and an append is one INSERT. A per-row plpgsql trigger, a second row per
-- command and a plpgsql function call cost more than the insert itself (bench.append).
--
-- Format 2 hashes what the service decides: sha256(lp(prev_hash) || stream || version ||
-- occurred_at || topic || payload || actor || role || source || reason || correlation ||
-- causation || idempotency key) (service/chain.py). The database still decides the rest:
-- position, transaction_id and recorded_at (column defaults), and the append inserts nothing
-- unless the first new event's prev_hash is the hash stored at the expected version, so a
-- stream can neither skip a version nor fork its chain. Those three columns are sealed where the global order is: in the
-- Merkle leaves of signed checkpoints (service/chain.py leaf_data). Rows written before this
-- migration keep format 1, which hashed them in the trigger; both verify.

ALTER TABLE events ADD COLUMN hash_format smallint NOT NULL DEFAULT 1;
ALTER TABLE events ALTER COLUMN hash_format SET DEFAULT 2;
ALTER TABLE events ADD CONSTRAINT events_hash_format_check CHECK (hash_format IN (1, 2));

-- On the first event of a keyed command: what the retry must match, and how many events
-- the command appended.
ALTER TABLE events ADD COLUMN request_digest bytea;
ALTER TABLE events ADD COLUMN command_events integer;
ALTER TABLE events ADD CONSTRAINT events_command_record_check
    CHECK ((request_digest IS NULL) = (command_events IS NULL)
           AND (request_digest IS NULL OR idempotency_key IS NOT NULL));
CREATE UNIQUE INDEX events_command_key ON events (idempotency_key)
    WHERE request_digest IS NOT NULL;

-- What the trigger enforced, now a constraint: a row's transaction id and recorded_at are
-- those of the transaction inserting it (the column defaults), never a writer's choice.
-- NOT VALID: existing rows are not re-checked, and pg_dump restores the data before it.
ALTER TABLE events ADD CONSTRAINT events_recorded_by_inserting_transaction
    CHECK (transaction_id = pg_current_xact_id()
           AND recorded_at BETWEEN now() AND clock_timestamp()) NOT VALID;

-- And what its chaining guaranteed of every row: a SHA-256 hash, and a prev_hash exactly
-- when there is a previous event. An append by a process older than this migration (its
-- trigger gone, its placeholder hash left empty) is refused rather than stored broken.
ALTER TABLE events ADD CONSTRAINT events_chained_check
    CHECK (octet_length(hash) = 32 AND (version = 1) = (prev_hash IS NULL)) NOT VALID;

DROP TRIGGER events_chain ON events;
DROP FUNCTION reunite_events_chain();

-- Every accepted keyed command: recorded on its first event, or (before this migration) in
-- the commands table, which is kept but no longer written.
CREATE VIEW command_results AS
SELECT e.idempotency_key, e.request_digest, e.stream_id,
       e.version + e.command_events - 1 AS version,
       e.position AS first_position,
       (SELECT l.position FROM events l
         WHERE l.stream_id = e.stream_id AND l.version = e.version + e.command_events - 1)
           AS last_position
  FROM events e
 WHERE e.request_digest IS NOT NULL
UNION ALL
SELECT idempotency_key, request_digest, stream_id, version, first_position, last_position
  FROM commands;

-- The store appends with one INSERT statement (service/store.py APPEND) instead.
DROP FUNCTION reunite_append(uuid, integer, text[], bytea[], timestamptz[], text, text, text,
                             text, uuid, uuid, text, bytea);
