-- The match tables: one row per pairing of a candidate and a job, with each side's swipe,
-- and the instant they matched.
CREATE TABLE pairing_view (
    pairing_id          uuid        PRIMARY KEY,
    candidate_id        uuid        NOT NULL,
    job_id              uuid        NOT NULL,
    employer_id         uuid        NOT NULL,
    candidate_decision  text        CHECK (candidate_decision IN ('like', 'pass')),
    employer_decision   text        CHECK (employer_decision IN ('like', 'pass')),
    candidate_swiped_at timestamptz,
    employer_swiped_at  timestamptz,
    matched_at          timestamptz,
    UNIQUE (candidate_id, job_id)
);

CREATE INDEX pairing_view_matches_by_candidate ON pairing_view (candidate_id, matched_at)
    WHERE matched_at IS NOT NULL;
CREATE INDEX pairing_view_matches_by_job ON pairing_view (job_id, matched_at)
    WHERE matched_at IS NOT NULL;
CREATE INDEX pairing_view_matches_by_employer ON pairing_view (employer_id, matched_at)
    WHERE matched_at IS NOT NULL;
