-- AI documents and their usage.
CREATE TABLE document_view (
    document_id        uuid        PRIMARY KEY,
    candidate_id       uuid        NOT NULL,
    job_id             uuid,
    kind               text        NOT NULL,
    status             text        NOT NULL CHECK (status IN ('pending', 'ready', 'failed')),
    instructions       text,
    credits            bigint      NOT NULL,
    content            text,
    provider           text,
    model              text,
    prompt_version     text,
    input_tokens       bigint,
    output_tokens      bigint,
    cost_micros        bigint,
    latency_ms         bigint,
    attempts           integer,
    failure_reason     text,
    -- Orders a candidate's documents of one kind and job into versions.
    requested_position bigint      NOT NULL,
    requested_at       timestamptz NOT NULL,
    finished_at        timestamptz
);

CREATE INDEX document_view_by_candidate
    ON document_view (candidate_id, requested_at DESC, document_id DESC);

-- Provider calls, tokens and cost per candidate and day.
CREATE TABLE document_usage (
    candidate_id  uuid   NOT NULL,
    day           date   NOT NULL,
    calls         bigint NOT NULL DEFAULT 0,
    input_tokens  bigint NOT NULL DEFAULT 0,
    output_tokens bigint NOT NULL DEFAULT 0,
    cost_micros   bigint NOT NULL DEFAULT 0,
    documents     bigint NOT NULL DEFAULT 0,
    failures      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (candidate_id, day)
);
