-- Least privilege: the server's pool acts as reunite_app (service/postgres/database.py), a
-- role that owns nothing. It reads what it serves, appends to the logs and writes the read
-- models; it cannot UPDATE, DELETE or TRUNCATE a log, ALTER anything, or SET
-- session_replication_role (a superuser parameter it is granted no SET on), so append-only
-- does not rest on the app's own SQL alone. Migrations and read-model rebuilds run as the
-- owner; the server logs in as the owner and sets this role, so whoever holds the owner's
-- login can set it back (README, Database roles).

-- Roles are cluster-wide: another database on the server may have made it already, or be
-- making it now (a concurrent CREATE ROLE fails with unique_violation, not duplicate_object).
-- An owner without CREATEROLE needs a DBA to create it first (README, Database roles).
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'reunite_app') THEN
        CREATE ROLE reunite_app NOLOGIN;
    END IF;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

-- The owner's sessions SET ROLE to it; a superuser may without being a member.
DO $$
BEGIN
    IF NOT pg_has_role('reunite_app', 'MEMBER') THEN
        GRANT reunite_app TO CURRENT_USER;
    END IF;
END
$$;

-- /readyz names the transaction holding back the log's readers, whoever's it is. Only the
-- owner's view of pg_stat_activity shows other roles' sessions: this function lends the
-- server's role just the pid, start and state of the oldest writing transaction, no more
-- (no query text, no other database's sessions beyond that one row).
CREATE OR REPLACE FUNCTION horizon_holder()
RETURNS TABLE (pid integer, xact_start timestamptz, state text, seconds double precision)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT a.pid, a.xact_start, a.state,
           extract(epoch FROM clock_timestamp() - a.xact_start)::double precision
      FROM pg_stat_activity a
     WHERE a.backend_xid IS NOT NULL AND a.pid <> pg_backend_pid()
     ORDER BY age(a.backend_xid) DESC
     LIMIT 1
$$;
REVOKE ALL ON FUNCTION horizon_holder() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION horizon_holder() TO reunite_app;

GRANT USAGE ON SCHEMA public TO reunite_app;

-- Read models already built are written by the projections the server runs; so is every
-- table the owner creates from now on (projections/runner.py creates them at start-up, a
-- rebuild in a shadow schema). A later migration that creates a table the server must not
-- change revokes what this grants, as this one does for the tables below.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO reunite_app;
ALTER DEFAULT PRIVILEGES GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO reunite_app;
REVOKE ALL ON events, commands, command_results, checkpoints, access_log, schema_migrations,
              projection_checkpoints, parked_events
    FROM reunite_app;

-- The logs: read and append, nothing more. Of an event, only the columns the service decides:
-- position, transaction id, recorded_at and hash format stay the database's own.
GRANT SELECT ON events, checkpoints, access_log TO reunite_app;
GRANT INSERT (stream_id, version, topic, payload, occurred_at, actor, role, source, reason,
              correlation_id, causation_id, idempotency_key, request_digest, command_events,
              prev_hash, hash)
    ON events TO reunite_app;
GRANT INSERT ON checkpoints, access_log TO reunite_app;
-- A checkpoint's id is reserved before it is signed (service/ledger/checkpoints.py RESERVE).
GRANT USAGE ON SEQUENCE checkpoints_id_seq TO reunite_app;
GRANT SELECT ON commands, command_results, schema_migrations TO reunite_app;
-- Where each read model stands, and what it parked: the server's projections keep both.
GRANT SELECT, INSERT, UPDATE ON projection_checkpoints TO reunite_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON parked_events TO reunite_app;

-- A read's number and time are the database's, as an event's position and recorded_at are:
-- the identity column gives way to a sequence only this trigger draws from, since a writer
-- may pass its own value to an identity column (OVERRIDING SYSTEM VALUE).
ALTER TABLE access_log ALTER COLUMN id DROP IDENTITY;
CREATE SEQUENCE access_log_id_seq OWNED BY access_log.id;
SELECT setval('access_log_id_seq', coalesce(max(id), 0) + 1, false) FROM access_log;
GRANT USAGE ON SEQUENCE access_log_id_seq TO reunite_app;

CREATE FUNCTION reunite_access_log_stamp() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Whatever the writer gave.
    NEW.id := nextval('access_log_id_seq');
    NEW.read_at := clock_timestamp();
    RETURN NEW;
END
$$;

CREATE TRIGGER access_log_stamp BEFORE INSERT ON access_log
    FOR EACH ROW EXECUTE FUNCTION reunite_access_log_stamp();
