-- A hash chain per stream and signed checkpoints over the commit order (docs/audit.md gives
-- the encoding, and a program that checks both without any of Hirestream's code).

-- JSON in one canonical form: objects with their keys in the order of their UTF-8 bytes, no
-- whitespace, strings escaped as PostgreSQL writes them (`"`, `\`, \b \f \n \r \t, other
-- control characters as \u00xx), numbers as PostgreSQL writes a jsonb number.
CREATE FUNCTION canonical_json(value jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    result text;
BEGIN
    CASE jsonb_typeof(value)
    WHEN 'object' THEN
        SELECT '{' || coalesce(string_agg(to_jsonb(key)::text || ':' || canonical_json(item), ','
                                          ORDER BY key COLLATE "C"), '') || '}'
          INTO result
          FROM jsonb_each(value) AS members(key, item);
    WHEN 'array' THEN
        SELECT '[' || coalesce(string_agg(canonical_json(item), ',' ORDER BY position), '') || ']'
          INTO result
          FROM jsonb_array_elements(value) WITH ORDINALITY AS elements(item, position);
    ELSE
        result := value::text;
    END CASE;
    RETURN result;
END;
$$;

-- What an event's hash is taken over: the canonical JSON array of its fields and its
-- predecessor's hash (lowercase hex, null for the first event of a stream).
CREATE FUNCTION event_encoding(
    aggregate_type text, aggregate_id text, sequence bigint, event_type text,
    event_version text, payload jsonb, metadata jsonb, recorded_at timestamptz,
    previous bytea
) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT canonical_json(jsonb_build_array(
        aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata,
        to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        encode(previous, 'hex')))
$$;

ALTER TABLE events ADD COLUMN hash bytea;

-- Every event written so far, stream by stream.
ALTER TABLE events DISABLE TRIGGER events_no_update_or_delete;
DO $$
DECLARE
    event record;
    previous bytea;
BEGIN
    FOR event IN
        SELECT * FROM events ORDER BY aggregate_type, aggregate_id, sequence
    LOOP
        IF event.sequence = 1 THEN
            previous := NULL;
        END IF;
        previous := sha256(convert_to(event_encoding(
            event.aggregate_type, event.aggregate_id, event.sequence, event.event_type,
            event.event_version, event.payload, event.metadata, event.recorded_at, previous),
            'UTF8'));
        UPDATE events SET hash = previous
         WHERE aggregate_type = event.aggregate_type AND aggregate_id = event.aggregate_id
           AND sequence = event.sequence;
    END LOOP;
END;
$$;
ALTER TABLE events ENABLE TRIGGER events_no_update_or_delete;
ALTER TABLE events ALTER COLUMN hash SET NOT NULL;

-- Every new event, inside the appending transaction: no writer can skip or choose its hash.
CREATE FUNCTION events_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    previous bytea;
BEGIN
    IF NEW.sequence > 1 THEN
        SELECT hash INTO previous FROM events
         WHERE aggregate_type = NEW.aggregate_type AND aggregate_id = NEW.aggregate_id
           AND sequence = NEW.sequence - 1;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'event % of %/% has no predecessor in its stream',
                NEW.sequence, NEW.aggregate_type, NEW.aggregate_id;
        END IF;
    END IF;
    NEW.hash := sha256(convert_to(event_encoding(
        NEW.aggregate_type, NEW.aggregate_id, NEW.sequence, NEW.event_type, NEW.event_version,
        NEW.payload, NEW.metadata, NEW.recorded_at, previous), 'UTF8'));
    RETURN NEW;
END;
$$;

CREATE TRIGGER events_hash_chain
    BEFORE INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION events_chain();

-- The audit API's filters.
CREATE INDEX events_by_correlation ON events ((metadata ->> 'correlation_id'), global_position);
CREATE INDEX events_by_actor ON events ((metadata ->> 'actor_subject'), global_position);
CREATE INDEX events_by_time ON events (recorded_at, global_position);

-- Signed checkpoints over the commit order, `(tx_id, global_position)`, the relay's: each
-- covers the events after the previous checkpoint up to and including (`tx_id`,
-- `global_position`); `root` is the Merkle tree head of their hashes, and `digest` chains it
-- to the previous checkpoint's: SHA-256(previous digest || root), 32 zero bytes before the
-- first. The signature is Ed25519 over the checkpoint's canonical statement (docs/audit.md).
CREATE TABLE audit_checkpoints (
    number          bigint      PRIMARY KEY CHECK (number > 0),
    tx_id           xid8        NOT NULL,
    global_position bigint      NOT NULL,
    events          bigint      NOT NULL CHECK (events > 0),
    total_events    bigint      NOT NULL,
    root            bytea       NOT NULL,
    digest          bytea       NOT NULL,
    signed_at       timestamptz NOT NULL,
    public_key      bytea       NOT NULL,
    signature       bytea       NOT NULL
);

CREATE TRIGGER audit_checkpoints_no_update_or_delete
    BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION events_are_immutable();
