-- Signed checkpoints over the global log (service/checkpoints.py): each row is an Ed25519
-- signature over the RFC 6962 Merkle root of the log's first event_count events in
-- (transaction_id, position) order, ending at the head. Append-only, like the log.

CREATE TABLE checkpoints (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    head_position       bigint      NOT NULL,
    -- pg_current_xact_id() of the head event as a 64-bit integer, as signed.
    head_transaction_id bigint      NOT NULL,
    event_count         bigint      NOT NULL CHECK (event_count >= 1),
    root                bytea       NOT NULL,
    algorithm           text        NOT NULL,
    signature           bytea       NOT NULL,
    -- The raw 32-byte public key, so a checkpoint can be checked after the key rotates.
    public_key          bytea       NOT NULL,
    key_id              text        NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION reunite_refuse_change();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION reunite_refuse_change();
