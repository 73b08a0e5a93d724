-- Personal data: one key per data subject, wrapped by the master key of the configuration.
-- Erasing a subject destroys its key (the wrapped key is set to NULL), which makes every
-- personal field ever written about it unreadable: in the events, in the Kafka topics, in
-- exports and backups alike. The row itself stays, so that the subject is known as erased.
CREATE TABLE subject_key (
    subject_id    uuid        PRIMARY KEY,
    -- The subject key (32 bytes) sealed with the master key: nonce (24 bytes) || ciphertext.
    wrapped       bytea,
    -- Which master key sealed it: the first 16 hex digits of its SHA-256.
    master_key_id text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    erased_at     timestamptz,
    CHECK ((wrapped IS NULL) = (erased_at IS NOT NULL)),
    CHECK ((wrapped IS NULL) = (master_key_id IS NULL))
);

-- A destroyed key is never restored.
CREATE FUNCTION subject_key_stays_erased() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.erased_at IS NOT NULL THEN
        RAISE EXCEPTION 'the key of subject % was destroyed and cannot be restored', OLD.subject_id;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER subject_key_stays_erased
    BEFORE UPDATE ON subject_key
    FOR EACH ROW EXECUTE FUNCTION subject_key_stays_erased();

-- Who read whose personal data on behalf of the platform (admins and auditors): written by
-- the API on every such read, queried by auditors.
CREATE TABLE personal_data_access (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject_id    uuid        NOT NULL,
    actor_subject uuid        NOT NULL,
    actor_role    text        NOT NULL,
    -- What was read: the route's template, such as `GET /candidates/{id}/export`.
    resource      text        NOT NULL,
    request_id    text,
    read_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX personal_data_access_by_subject ON personal_data_access (subject_id, read_at);
CREATE INDEX personal_data_access_by_actor ON personal_data_access (actor_subject, read_at);

-- The streams about a candidate that are not its own (swipes and matches, applications,
-- documents), for a data export.
CREATE INDEX events_by_candidate ON events ((payload -> event_type ->> 'candidate_id'))
    WHERE aggregate_type IN ('pairing', 'application', 'document');
