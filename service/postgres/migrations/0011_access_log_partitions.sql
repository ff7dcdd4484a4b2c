-- The read audit at production volume (issue #23, ADR 0015): one record per answer naming
-- every family it read, in a table partitioned by month, so an old month can leave the hot
-- database (archived with proof, then detached and dropped) without a DELETE.
--
-- A read's hash keeps 0010's encoding: the families were already a counted list,
--
--     reunite_lp(prev_hash) || int8send(id) || reunite_micros(read_at)
--     || reunite_lp(subject) || reunite_lp(role) || reunite_lp(operation)
--     || int4send(number of families) || uuid_send(each family, in order)
--
-- so the rows already chained are copied with their ids and hashes unchanged.

CREATE TABLE access_log_partitioned (
    id         bigint NOT NULL,
    read_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    subject    text NOT NULL,
    role       text NOT NULL,
    operation  text NOT NULL,
    family_ids uuid[] NOT NULL,
    prev_hash  bytea,
    hash       bytea NOT NULL,
    -- A one-dimensional list without NULLs: the encoding counts and hashes each element.
    CONSTRAINT access_log_families_check
        CHECK (coalesce(array_ndims(family_ids), 1) = 1
               AND array_position(family_ids, NULL) IS NULL),
    CONSTRAINT access_log_hash_check
        CHECK (octet_length(hash) = 32 AND (prev_hash IS NULL OR octet_length(prev_hash) = 32)),
    -- A partitioned table's keys include its partition key; the chain numbers reads.
    PRIMARY KEY (id, read_at)
) PARTITION BY RANGE (read_at);

-- Months archived and dropped from the hot database: the file's digest, the ids and read
-- hashes the month held (so checkpoints over the whole access log still verify, and its
-- last hash links the next hot read), never its contents.
CREATE TABLE access_log_archives (
    month           date PRIMARY KEY CHECK (month = date_trunc('month', month)),
    first_id        bigint,
    last_id         bigint,
    reads           bigint NOT NULL CHECK (reads >= 0),
    first_prev_hash bytea,
    last_hash       bytea,
    ids             bigint[] NOT NULL,
    leaves          bytea NOT NULL,
    digest          bytea NOT NULL CHECK (octet_length(digest) = 32),
    archived_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK (cardinality(ids) = reads AND octet_length(leaves) = 32 * reads)
);
CREATE TRIGGER access_log_archives_append_only BEFORE UPDATE OR DELETE ON access_log_archives
    FOR EACH ROW EXECUTE FUNCTION reunite_refuse_change();
CREATE TRIGGER access_log_archives_no_truncate BEFORE TRUNCATE ON access_log_archives
    FOR EACH STATEMENT EXECUTE FUNCTION reunite_refuse_change();

-- Months are named access_log_YYYY_MM and bounded in UTC.
CREATE FUNCTION reunite_access_log_month(month date) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    name text := format('access_log_%s', to_char(month, 'YYYY_MM'));
BEGIN
    IF to_regclass(name) IS NOT NULL
       OR EXISTS (SELECT 1 FROM access_log_archives a WHERE a.month = $1) THEN
        RETURN;
    END IF;
    EXECUTE format(
        'CREATE TABLE %I PARTITION OF access_log FOR VALUES FROM (%L) TO (%L)', name,
        month::timestamp AT TIME ZONE 'UTC', (month + interval '1 month') AT TIME ZONE 'UTC');
    -- 0009's default privileges would grant the server every change on the new table.
    EXECUTE format('REVOKE ALL ON %I FROM reunite_app', name);
END
$$;

-- The service creates months ahead (service.access.access_log): this month and the next
-- `ahead`, never a month already archived. Lent to reunite_app, which owns nothing.
CREATE FUNCTION reunite_access_log_months(ahead integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('reunite.access_log_months'));
    FOR i IN 0..least(greatest(ahead, 0), 24) LOOP
        PERFORM reunite_access_log_month(
            (date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => i))::date);
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION reunite_access_log_month(date) FROM PUBLIC;
REVOKE ALL ON FUNCTION reunite_access_log_months(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION reunite_access_log_months(integer) TO reunite_app;

-- Copy the chained rows, each as a record naming its one family, into the months they fall in.
ALTER TABLE access_log RENAME TO access_log_0010;
ALTER TABLE access_log_partitioned RENAME TO access_log;
DO $$
DECLARE
    m date;
BEGIN
    FOR m IN SELECT DISTINCT date_trunc('month', read_at AT TIME ZONE 'UTC')::date
               FROM access_log_0010 LOOP
        PERFORM reunite_access_log_month(m);
    END LOOP;
END
$$;
SELECT reunite_access_log_months(2);
INSERT INTO access_log (id, read_at, subject, role, operation, family_ids, prev_hash, hash)
SELECT id, read_at, subject, role, operation, ARRAY[family_id], prev_hash, hash
  FROM access_log_0010 ORDER BY id;
DROP TABLE access_log_0010;
ALTER TABLE access_log RENAME CONSTRAINT access_log_partitioned_pkey TO access_log_pkey;

-- 'Who read family F between D1 and D2': the months pruned by read_at, then the GIN index
-- of the family lists (one entry per family, its posting list compressed). The smallest
-- pending list (64 kB): with the default 4 MB, the pages the list once took stay in the
-- file after it is merged, about 20 bytes a family read more (bench.access_log).
CREATE INDEX access_log_families_idx ON access_log USING gin (family_ids)
    WITH (gin_pending_list_limit = 64);
CREATE INDEX access_log_subject_idx ON access_log (subject, id);

CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log
    FOR EACH ROW EXECUTE FUNCTION reunite_refuse_change();
CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log
    FOR EACH STATEMENT EXECUTE FUNCTION reunite_refuse_change();

-- 0010's stamp, hashing the record's families. It runs on the month the row was routed to
-- by its default read_at; the read_at it gives, taken under the chain's lock, must fall in
-- the same month (a row cannot move partition in a BEFORE trigger), so a read whose wait
-- for the lock crossed midnight UTC at the turn of a month is refused as a serialization
-- failure, and the writer tries it again.
CREATE OR REPLACE FUNCTION reunite_access_log_stamp() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    last_id   bigint;
    last_hash bytea;
    row_hash  bytea;
    mine      text;
    stamped   timestamptz;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('reunite.access_log'));
    SELECT h.last_id, h.hash INTO last_id, last_hash FROM access_log_head h;
    mine := current_setting('reunite.access_log_last', true);
    IF mine <> '' THEN
        SELECT a.hash INTO row_hash FROM access_log a
         WHERE a.id = mine::bigint AND a.id > coalesce(last_id, 0);
        IF FOUND THEN
            last_id := mine::bigint;
            last_hash := row_hash;
        END IF;
    END IF;
    stamped := clock_timestamp();
    IF date_trunc('month', stamped AT TIME ZONE 'UTC')
       <> date_trunc('month', NEW.read_at AT TIME ZONE 'UTC') THEN
        RAISE EXCEPTION 'access_log: the read''s month changed while it waited for the chain'
            USING ERRCODE = 'serialization_failure';
    END IF;
    NEW.id := coalesce(last_id, 0) + 1;
    -- The key includes read_at, so no index keeps two rows from one number across months:
    -- a row put past the head with the triggers off still makes the next read fail, loudly.
    IF EXISTS (SELECT 1 FROM access_log a WHERE a.id = NEW.id) THEN
        RAISE EXCEPTION 'access_log: read % is taken by a row past the chain''s head', NEW.id
            USING ERRCODE = 'unique_violation';
    END IF;
    NEW.read_at := stamped;
    NEW.prev_hash := last_hash;
    NEW.hash := sha256(
        reunite_lp(last_hash) || int8send(NEW.id) || reunite_micros(NEW.read_at)
        || reunite_lp(convert_to(NEW.subject, 'UTF8'))
        || reunite_lp(convert_to(NEW.role, 'UTF8'))
        || reunite_lp(convert_to(NEW.operation, 'UTF8'))
        || int4send(coalesce(cardinality(NEW.family_ids), 0))
        || coalesce((SELECT string_agg(uuid_send(f), ''::bytea ORDER BY n)
                       FROM unnest(NEW.family_ids) WITH ORDINALITY AS u(f, n)), ''::bytea));
    PERFORM set_config('reunite.access_log_last', NEW.id::text, true);
    RETURN NEW;
END
$$;

CREATE TRIGGER access_log_stamp BEFORE INSERT ON access_log
    FOR EACH ROW EXECUTE FUNCTION reunite_access_log_stamp();
CREATE TRIGGER access_log_head AFTER INSERT ON access_log
    FOR EACH STATEMENT EXECUTE FUNCTION reunite_access_log_head();

REVOKE ALL ON access_log, access_log_archives FROM reunite_app;
GRANT SELECT ON access_log, access_log_archives TO reunite_app;
GRANT INSERT (subject, role, operation, family_ids) ON access_log TO reunite_app;
