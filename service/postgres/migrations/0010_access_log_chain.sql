-- The access log is evidence too: each read is hash-chained to the one before it, in the
-- database, and signed checkpoints cover the chain (message format 3, service/ledger/reads.py
-- and checkpoints.py), so an edited, deleted or inserted read shows in `reunite verify`.
--
-- A read's hash is sha256 over its canonical encoding (service/ledger/reads.py read_hash):
--
--     reunite_lp(prev_hash) || int8send(id) || reunite_micros(read_at)
--     || reunite_lp(subject) || reunite_lp(role) || reunite_lp(operation)
--     || int4send(number of families) || uuid_send(each family, in order)
--
-- (text as UTF-8). The families are a counted list although a row names one: a record per
-- answer naming every family it read (issue #23) keeps this encoding.

ALTER TABLE access_log ADD COLUMN prev_hash bytea;
ALTER TABLE access_log ADD COLUMN hash bytea;

-- The chain's head: the last read's id and hash, in one row, moved at the end of every
-- statement that inserts reads. A read is numbered and chained from the head, or from the
-- read its own statement inserted before it; not from whatever row is last in the table, so
-- a read deleted from the end still leaves the next one chained to it, and the break shows.
-- `reunite verify` checks the log ends where this row says, and that no row stands past it.
CREATE TABLE access_log_head (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    last_id  bigint NOT NULL,
    hash     bytea
);

-- Rows read before this migration are chained in id order, as the trigger would have.
-- The append-only trigger is switched off for the backfill only, in this transaction.
ALTER TABLE access_log DISABLE TRIGGER access_log_append_only;
DO $$
DECLARE
    r        record;
    previous bytea;
    last     bigint := 0;
BEGIN
    FOR r IN SELECT id, read_at, subject, role, operation, family_id
               FROM access_log ORDER BY id LOOP
        UPDATE access_log
           SET prev_hash = previous,
               hash = sha256(
                   reunite_lp(previous) || int8send(r.id) || reunite_micros(r.read_at)
                   || reunite_lp(convert_to(r.subject, 'UTF8'))
                   || reunite_lp(convert_to(r.role, 'UTF8'))
                   || reunite_lp(convert_to(r.operation, 'UTF8'))
                   || int4send(1) || uuid_send(r.family_id))
         WHERE id = r.id
        RETURNING hash INTO previous;
        last := r.id;
    END LOOP;
    INSERT INTO access_log_head (last_id, hash) VALUES (last, previous);
END
$$;
ALTER TABLE access_log ENABLE TRIGGER access_log_append_only;

ALTER TABLE access_log ALTER COLUMN hash SET NOT NULL;
ALTER TABLE access_log ADD CONSTRAINT access_log_hash_check
    CHECK (octet_length(hash) = 32 AND (prev_hash IS NULL OR octet_length(prev_hash) = 32));

-- The stamp now numbers and chains reads too. Its advisory lock is held until commit, so
-- reads are chained one transaction at a time and the chain cannot fork; a read's number is
-- the one after the last, so numbers rise in commit order without gaps (a rolled-back read
-- gives its number back) and every snapshot of the log is a prefix of it: a checkpoint
-- covers the log up to its last id. (Under REPEATABLE READ a stale view of the last read
-- fails on the primary key, or on the head's row, rather than fork the chain.) The head is
-- moved once a statement, the statement's last read kept meanwhile in a transaction-local
-- setting: moved at every read, each read's UPDATE found the row behind every version its
-- statement had made before it, a cost growing with the square of the statement's reads
-- (docs/benchmarks.md, bench.access_log).
--
-- SECURITY DEFINER: the writer (reunite_app) may neither read nor move the head; the fixed
-- search_path keeps a writer's temporary table from standing in for it.
CREATE OR REPLACE FUNCTION reunite_access_log_stamp() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    last_id   bigint;
    last_hash bytea;
    row_hash  bytea;
    mine      text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('reunite.access_log'));
    SELECT h.last_id, h.hash INTO last_id, last_hash FROM access_log_head h;
    -- The read this statement inserted before, past the head. Only a row past the head is
    -- taken (any writer may set the setting), so a row put after the head with the triggers
    -- off is never chained from: the next read takes its number and fails, loudly.
    mine := current_setting('reunite.access_log_last', true);
    IF mine <> '' THEN
        SELECT a.hash INTO row_hash FROM access_log a
         WHERE a.id = mine::bigint AND a.id > coalesce(last_id, 0);
        IF FOUND THEN
            last_id := mine::bigint;
            last_hash := row_hash;
        END IF;
    END IF;
    -- Whatever the writer gave: the number, time and chain are the database's.
    NEW.id := coalesce(last_id, 0) + 1;
    NEW.read_at := clock_timestamp();
    NEW.prev_hash := last_hash;
    NEW.hash := sha256(
        reunite_lp(last_hash) || int8send(NEW.id) || reunite_micros(NEW.read_at)
        || reunite_lp(convert_to(NEW.subject, 'UTF8'))
        || reunite_lp(convert_to(NEW.role, 'UTF8'))
        || reunite_lp(convert_to(NEW.operation, 'UTF8'))
        || int4send(1) || uuid_send(NEW.family_id));
    PERFORM set_config('reunite.access_log_last', NEW.id::text, true);
    RETURN NEW;
END
$$;

CREATE FUNCTION reunite_access_log_head() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    mine     text;
    row_hash bytea;
BEGIN
    mine := current_setting('reunite.access_log_last', true);
    IF mine <> '' THEN
        PERFORM set_config('reunite.access_log_last', '', true);
        SELECT a.hash INTO row_hash FROM access_log a
         WHERE a.id = mine::bigint
           AND a.id > coalesce((SELECT h.last_id FROM access_log_head h), 0);
        IF FOUND THEN
            -- Only an emptied database (TRUNCATE of both) has no head row to move.
            INSERT INTO access_log_head (last_id, hash) VALUES (mine::bigint, row_hash)
            ON CONFLICT (only_row) DO UPDATE SET last_id = excluded.last_id, hash = excluded.hash;
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER access_log_head AFTER INSERT ON access_log
    FOR EACH STATEMENT EXECUTE FUNCTION reunite_access_log_head();

-- The server may name only what a read is; 0009's default privileges granted it the head.
REVOKE ALL ON access_log_head FROM reunite_app;
REVOKE INSERT ON access_log FROM reunite_app;
GRANT INSERT (subject, role, operation, family_id) ON access_log TO reunite_app;
-- Numbers come from the chain now, one after the last.
DROP SEQUENCE access_log_id_seq;

-- Checkpoints in message format 3 also sign the access log: how many reads, the last one's
-- id, and the Merkle root of their hashes. Formats 1 and 2 leave the three NULL.
ALTER TABLE checkpoints ADD COLUMN read_count bigint;
ALTER TABLE checkpoints ADD COLUMN read_head_id bigint;
ALTER TABLE checkpoints ADD COLUMN read_root bytea;
ALTER TABLE checkpoints ADD CONSTRAINT checkpoints_reads_check
    CHECK ((read_count IS NULL) = (read_root IS NULL)
           AND (read_head_id IS NULL) = (read_root IS NULL)
           AND (message_format >= 3) = (read_root IS NOT NULL));
