-- Who read which family's personal data, when, through which operation. Append-only.

CREATE TABLE access_log (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    read_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    subject    text NOT NULL,
    role       text NOT NULL,
    operation  text NOT NULL,
    family_id  uuid NOT NULL
);

CREATE INDEX access_log_family_idx ON access_log (family_id, id);
CREATE INDEX access_log_subject_idx ON access_log (subject, id);

CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log
    FOR EACH ROW EXECUTE FUNCTION reunite_refuse_change();
CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log
    FOR EACH STATEMENT EXECUTE FUNCTION reunite_refuse_change();
