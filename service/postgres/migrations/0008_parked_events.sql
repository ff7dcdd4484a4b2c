-- Events a read model could not decode or apply, and the events of the same family that
-- wait behind them (projections/parking.py). Each projection parks a family on its own:
-- the other families and the other projections go on. `error` is set on the event that
-- failed and NULL on those waiting behind it; `reunite projections retry` applies them
-- in (transaction_id, position) order and deletes them once applied.

CREATE TABLE parked_events (
    projection     text        NOT NULL,
    stream_id      uuid        NOT NULL,
    version        integer     NOT NULL,
    transaction_id xid8        NOT NULL,
    position       bigint      NOT NULL,
    topic          text        NOT NULL,
    error          text,
    parked_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (projection, stream_id, version)
);
CREATE INDEX parked_events_stream_idx ON parked_events (stream_id);
