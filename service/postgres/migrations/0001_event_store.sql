-- The append-only event log: one stream per family, a global order, provenance, a hash chain.

CREATE TABLE events (
    position        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Gap-safe ordering: readers only take transactions older than the oldest one still
    -- running (pg_snapshot_xmin), so a late commit with a lower position is never skipped.
    transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
    stream_id       uuid        NOT NULL,
    version         integer     NOT NULL CHECK (version >= 1),
    topic           text        NOT NULL,
    payload         bytea       NOT NULL,
    -- NULL when the source says something happened but not when (never invented).
    occurred_at     timestamptz,
    recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor           text        NOT NULL,
    role            text        NOT NULL,
    source          text        NOT NULL,
    reason          text,
    correlation_id  uuid,
    causation_id    uuid,
    idempotency_key text,
    prev_hash       bytea,
    hash            bytea       NOT NULL,
    CONSTRAINT events_stream_version_key UNIQUE (stream_id, version)
);

CREATE INDEX events_transaction_position_idx ON events (transaction_id, position);

-- One row per accepted command, so a retried command answers with its first result.
CREATE TABLE commands (
    idempotency_key text PRIMARY KEY,
    request_digest  bytea       NOT NULL,
    stream_id       uuid        NOT NULL,
    version         integer     NOT NULL,
    first_position  bigint      NOT NULL,
    last_position   bigint      NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Length-prefixed bytes, so concatenated fields cannot be re-split another way.
CREATE FUNCTION reunite_lp(value bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN value IS NULL THEN int4send(-1)
                ELSE int4send(octet_length(value)) || value END
$$;

-- Microseconds since the epoch; an unknown moment is the smallest bigint, which no
-- PostgreSQL timestamp can reach. STABLE like extract() on timestamptz, so it is inlined
-- (a function marked stricter than its body is called, not inlined: twice per event).
CREATE FUNCTION reunite_micros(ts timestamptz) RETURNS bytea
LANGUAGE sql STABLE AS $$
    SELECT int8send(coalesce((extract(epoch FROM ts) * 1000000)::bigint,
                             -9223372036854775808))
$$;

-- The database, not the client, sets the store's own columns and chains each event to the
-- previous one of its stream; service/chain.py recomputes the same bytes to verify.
CREATE FUNCTION reunite_events_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    previous bytea;
BEGIN
    NEW.transaction_id := pg_current_xact_id();
    NEW.recorded_at := clock_timestamp();
    IF NEW.version > 1 THEN
        SELECT hash INTO previous FROM events
         WHERE stream_id = NEW.stream_id AND version = NEW.version - 1;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'stream % has no version %', NEW.stream_id, NEW.version - 1
                USING ERRCODE = 'RU001';
        END IF;
    END IF;
    NEW.prev_hash := previous;
    NEW.hash := sha256(
        reunite_lp(previous)
        || uuid_send(NEW.stream_id)
        || int4send(NEW.version)
        || int8send(NEW.position)
        -- The log's order is (transaction_id, position): hashing it makes reordering evident.
        || int8send(NEW.transaction_id::text::bigint)
        || reunite_lp(convert_to(NEW.topic, 'UTF8'))
        || reunite_lp(NEW.payload)
        || reunite_micros(NEW.occurred_at)
        || reunite_micros(NEW.recorded_at)
        || reunite_lp(convert_to(NEW.actor, 'UTF8'))
        || reunite_lp(convert_to(NEW.role, 'UTF8'))
        || reunite_lp(convert_to(NEW.source, 'UTF8'))
        || reunite_lp(convert_to(NEW.reason, 'UTF8'))
        || reunite_lp(uuid_send(NEW.correlation_id))
        || reunite_lp(uuid_send(NEW.causation_id))
        || reunite_lp(convert_to(NEW.idempotency_key, 'UTF8'))
    );
    RETURN NEW;
END
$$;

CREATE TRIGGER events_chain BEFORE INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION reunite_events_chain();

CREATE FUNCTION reunite_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = '42501';
END
$$;

CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION reunite_refuse_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION reunite_refuse_change();

-- No NOTIFY inside appending transactions: PostgreSQL holds a database-wide lock from a
-- notifying transaction's commit until its WAL is flushed, which would make concurrent
-- appends commit one at a time. The store announces new events after commit instead.

-- One round trip per command: idempotency, optimistic version check, insert, result.
CREATE FUNCTION reunite_append(
    p_stream uuid, p_expected integer, p_topics text[], p_payloads bytea[],
    p_occurred timestamptz[], p_actor text, p_role text, p_source text, p_reason text,
    p_correlation uuid, p_causation uuid, p_key text, p_digest bytea
) RETURNS TABLE (version integer, first_position bigint, last_position bigint, duplicate boolean)
LANGUAGE plpgsql AS $$
DECLARE
    earlier commands%ROWTYPE;
    first_pos bigint;
    last_pos bigint;
BEGIN
    IF p_key IS NOT NULL THEN
        SELECT * INTO earlier FROM commands c WHERE c.idempotency_key = p_key;
        IF FOUND THEN
            IF earlier.request_digest <> p_digest OR earlier.stream_id <> p_stream THEN
                RAISE EXCEPTION 'idempotency key % was already used for a different command', p_key
                    USING ERRCODE = 'RU002';
            END IF;
            RETURN QUERY SELECT earlier.version, earlier.first_position,
                                earlier.last_position, true;
            RETURN;
        END IF;
    END IF;
    WITH inserted AS (
        INSERT INTO events (stream_id, version, topic, payload, occurred_at, actor, role,
                            source, reason, correlation_id, causation_id, idempotency_key, hash)
        SELECT p_stream, p_expected + u.n::integer, u.topic, u.payload, u.occurred, p_actor,
               p_role, p_source, p_reason, p_correlation, p_causation, p_key, ''::bytea
          FROM unnest(p_topics, p_payloads, p_occurred) WITH ORDINALITY
               AS u(topic, payload, occurred, n)
         ORDER BY u.n
        RETURNING events.position
    )
    SELECT min(i.position), max(i.position) INTO first_pos, last_pos FROM inserted i;
    IF p_key IS NOT NULL THEN
        INSERT INTO commands (idempotency_key, request_digest, stream_id, version,
                              first_position, last_position)
        VALUES (p_key, p_digest, p_stream, p_expected + cardinality(p_topics),
                first_pos, last_pos);
    END IF;
    RETURN QUERY SELECT p_expected + cardinality(p_topics), first_pos, last_pos, false;
END
$$;
