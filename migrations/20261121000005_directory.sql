-- Read models of profiles, jobs and applications.

CREATE TABLE candidate_view (
    candidate_id     uuid        PRIMARY KEY,
    name             text        NOT NULL,
    email            text        NOT NULL,
    headline         text,
    profile          jsonb,
    -- Lower-cased skill names, for filtering.
    skills           text[]      NOT NULL DEFAULT '{}',
    years_experience integer,
    remote           text,
    locations        text[]      NOT NULL DEFAULT '{}',
    validation_score integer,
    registered_at    timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);

CREATE TABLE employer_view (
    employer_id   uuid        PRIMARY KEY,
    name          text        NOT NULL,
    size          text,
    industry      text,
    pace          text,
    website       text,
    registered_at timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

CREATE TABLE job_view (
    job_id      uuid        PRIMARY KEY,
    employer_id uuid        NOT NULL,
    title       text        NOT NULL,
    description text        NOT NULL,
    details     jsonb       NOT NULL,
    status      text        NOT NULL CHECK (status IN ('open', 'closed')),
    remote      text        NOT NULL,
    locations   text[]      NOT NULL DEFAULT '{}',
    skills      text[]      NOT NULL DEFAULT '{}',
    min_years   integer     NOT NULL,
    salary_min  bigint,
    salary_max  bigint,
    currency    text,
    source      text        NOT NULL,
    external_id text,
    posted_at   timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    closed_at   timestamptz
);

CREATE INDEX job_view_listing ON job_view (status, posted_at DESC, job_id DESC);
CREATE INDEX job_view_by_employer ON job_view (employer_id, posted_at DESC, job_id DESC);

CREATE TABLE application_view (
    application_id uuid        PRIMARY KEY,
    candidate_id   uuid        NOT NULL,
    job_id         uuid        NOT NULL,
    employer_id    uuid        NOT NULL,
    status         text        NOT NULL,
    document_ids   uuid[]      NOT NULL DEFAULT '{}',
    submitted_at   timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);

CREATE INDEX application_view_by_candidate ON application_view (candidate_id, submitted_at DESC, application_id DESC);
CREATE INDEX application_view_by_job ON application_view (job_id, submitted_at DESC, application_id DESC);
