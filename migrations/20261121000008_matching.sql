-- The matching projection: what it knows of each side (to score pairs on its own), the swipes
-- that take pairs out of feeds, and the two ranked feeds it keeps current.

CREATE TABLE matching_candidate (
    candidate_id uuid    PRIMARY KEY,
    profile      jsonb,
    validation   integer
);

CREATE TABLE matching_employer (
    employer_id uuid  PRIMARY KEY,
    profile     jsonb NOT NULL
);

CREATE TABLE matching_job (
    job_id      uuid    PRIMARY KEY,
    employer_id uuid    NOT NULL,
    details     jsonb   NOT NULL,
    open        boolean NOT NULL
);
CREATE INDEX matching_job_open_by_employer ON matching_job (employer_id) WHERE open;

CREATE TABLE matching_swipe (
    candidate_id       uuid NOT NULL,
    job_id             uuid NOT NULL,
    candidate_decision text CHECK (candidate_decision IN ('like', 'pass')),
    employer_decision  text CHECK (employer_decision IN ('like', 'pass')),
    PRIMARY KEY (candidate_id, job_id)
);
CREATE INDEX matching_swipe_by_job ON matching_swipe (job_id);

-- A candidate's feed: the best open jobs for them, at most the configured number.
CREATE TABLE candidate_feed (
    candidate_id uuid     NOT NULL,
    job_id       uuid     NOT NULL,
    score        smallint NOT NULL CHECK (score BETWEEN 0 AND 100),
    -- Each factor's points: skills, experience, semantic, salary, culture, validation.
    factors      jsonb    NOT NULL,
    similarity   real     NOT NULL,
    PRIMARY KEY (candidate_id, job_id)
);
CREATE INDEX candidate_feed_ranked ON candidate_feed (candidate_id, score DESC, similarity DESC, job_id);
CREATE INDEX candidate_feed_by_job ON candidate_feed (job_id);

-- A job's feed: the best candidates for it, likewise.
CREATE TABLE job_feed (
    job_id       uuid     NOT NULL,
    candidate_id uuid     NOT NULL,
    score        smallint NOT NULL CHECK (score BETWEEN 0 AND 100),
    factors      jsonb    NOT NULL,
    similarity   real     NOT NULL,
    PRIMARY KEY (job_id, candidate_id)
);
CREATE INDEX job_feed_ranked ON job_feed (job_id, score DESC, similarity DESC, candidate_id);
CREATE INDEX job_feed_by_candidate ON job_feed (candidate_id);
