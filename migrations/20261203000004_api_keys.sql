-- API keys of employers (the enterprise API). Their creation and revocation are events of
-- the employer; the secret is kept here only as the SHA-256 of the whole key, so a key is
-- shown once, when it is created.
CREATE TABLE api_key (
    key_id              uuid PRIMARY KEY,
    employer_id         uuid NOT NULL,
    name                text NOT NULL,
    scopes              text[] NOT NULL,
    requests_per_second integer NOT NULL CHECK (requests_per_second > 0),
    secret_hash         bytea NOT NULL UNIQUE,
    created_by          uuid NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    revoked_at          timestamptz
);
CREATE INDEX api_key_employer ON api_key (employer_id, created_at);

-- Requests made with each key, per UTC day.
CREATE TABLE api_key_usage (
    key_id   uuid NOT NULL REFERENCES api_key (key_id),
    day      date NOT NULL,
    requests bigint NOT NULL,
    PRIMARY KEY (key_id, day)
);
