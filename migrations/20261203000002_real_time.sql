-- The frontend in real time: unmatched pairs, the conversations of matches and each user's
-- notifications.

-- An ended match leaves both match lists.
ALTER TABLE pairing_view ADD COLUMN unmatched_at timestamptz;

-- The messages of each match's conversation, in order (the conversations projection).
CREATE TABLE conversation_message (
    pairing_id   uuid        NOT NULL,
    number       bigint      NOT NULL,
    message_id   uuid        NOT NULL,
    candidate_id uuid        NOT NULL,
    employer_id  uuid        NOT NULL,
    from_side    text        NOT NULL CHECK (from_side IN ('candidate', 'employer')),
    text         text        NOT NULL,
    posted_at    timestamptz NOT NULL,
    PRIMARY KEY (pairing_id, number)
);
CREATE INDEX conversation_message_by_candidate ON conversation_message (candidate_id);

-- How far each side has read, and whether the conversation is closed.
CREATE TABLE conversation_state (
    pairing_id        uuid        PRIMARY KEY,
    candidate_id      uuid        NOT NULL,
    employer_id       uuid        NOT NULL,
    messages          bigint      NOT NULL DEFAULT 0,
    read_by_candidate bigint      NOT NULL DEFAULT 0,
    read_by_employer  bigint      NOT NULL DEFAULT 0,
    closed_at         timestamptz
);
CREATE INDEX conversation_state_by_candidate ON conversation_state (candidate_id);

-- Each user's notifications (the notifications projection). `id` is the order a client
-- reads them in, and the `Last-Event-ID` of the live stream.
CREATE TABLE notification (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recipient_role  text        NOT NULL CHECK (recipient_role IN ('candidate', 'employer')),
    recipient       uuid        NOT NULL,
    kind            text        NOT NULL,
    data            jsonb       NOT NULL,
    source_position bigint      NOT NULL,
    created_at      timestamptz NOT NULL,
    read_at         timestamptz,
    UNIQUE (recipient_role, recipient, source_position, kind)
);
CREATE INDEX notification_by_recipient ON notification (recipient_role, recipient, id);

-- Who an application is between, for the notifications of its later events.
CREATE TABLE notification_application (
    application_id uuid PRIMARY KEY,
    candidate_id   uuid NOT NULL,
    employer_id    uuid NOT NULL,
    job_id         uuid NOT NULL
);
