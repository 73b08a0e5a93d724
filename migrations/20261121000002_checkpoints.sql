-- Where the relay has published up to, in its (transaction, position) order. Written only
-- after the broker acknowledged every event up to that point.
CREATE TABLE relay_checkpoint (
    relay_name      text        PRIMARY KEY,
    tx_id           xid8        NOT NULL DEFAULT '0',
    global_position bigint      NOT NULL DEFAULT 0,
    published       bigint      NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- The last failure (broker or database outage), for operators.
    last_error      text,
    last_error_at   timestamptz
);

-- One row per projection: the generation names its Kafka consumer group, so a replay starts
-- a new group that reads every topic from the beginning.
CREATE TABLE projection_checkpoint (
    projection      text        PRIMARY KEY,
    generation      integer     NOT NULL DEFAULT 1,
    events_applied  bigint      NOT NULL DEFAULT 0,
    -- Redelivered events recognised and skipped.
    events_skipped  bigint      NOT NULL DEFAULT 0,
    last_position   bigint,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- What each projection has applied: the last sequence of every aggregate. Written in the
-- same transaction as the read-model change, so a redelivered event is recognised and has
-- no second effect; also what a query waits on to reflect a given write.
CREATE TABLE projection_applied (
    projection      text        NOT NULL,
    aggregate_type  text        NOT NULL,
    aggregate_id    text        NOT NULL,
    sequence        bigint      NOT NULL,
    global_position bigint      NOT NULL,
    applied_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, aggregate_type, aggregate_id)
);
