-- Personal data encrypted per person (issue #22): each person's data key, wrapped by a
-- key-encryption key (KEK) that never enters the database (kek_id names which). Erasure
-- destroys the key and keeps the row, keyless, as a tombstone: the key cannot be set again,
-- and the row cannot be deleted, so an erasure is known to every reader.

CREATE TABLE person_keys (
    person_id    uuid PRIMARY KEY,
    family_id    uuid NOT NULL,
    kek_id       text,
    wrapped      bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    destroyed_at timestamptz,
    CONSTRAINT person_keys_destroyed_check
        CHECK ((wrapped IS NULL) = (destroyed_at IS NOT NULL)
               AND (kek_id IS NULL) = (wrapped IS NULL))
);

-- A destroyed key stays destroyed: no UPDATE brings one back, no DELETE hides the erasure.
CREATE FUNCTION person_keys_stay_destroyed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'person_keys rows are never deleted (erasure keeps a tombstone)';
    END IF;
    IF OLD.wrapped IS NULL AND NEW.wrapped IS NOT NULL THEN
        RAISE EXCEPTION 'the data key of person % was destroyed and cannot be restored',
            OLD.person_id;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER person_keys_stay_destroyed BEFORE UPDATE OR DELETE ON person_keys
    FOR EACH ROW EXECUTE FUNCTION person_keys_stay_destroyed();

-- Every process reads the erasures in the log at start-up (service.eventstore.keyring).
CREATE INDEX events_erasures ON events (stream_id)
    WHERE topic = 'domain.family:Family.PersonalDataErased';

-- The server makes keys, destroys them and re-wraps them; it never deletes one.
REVOKE ALL ON person_keys FROM reunite_app;
GRANT SELECT, INSERT ON person_keys TO reunite_app;
GRANT UPDATE (kek_id, wrapped, destroyed_at) ON person_keys TO reunite_app;
