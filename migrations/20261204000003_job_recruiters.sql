-- The recruiters assigned to each job (the write side's record of `RecruiterAssigned` and
-- `RecruiterUnassigned`): a job with any is theirs, and its owners', to act on; one with
-- none is every recruiter's of its organization.
CREATE TABLE job_recruiter (
    job_id      uuid NOT NULL,
    account_id  uuid NOT NULL,
    assigned_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, account_id)
);

DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'hirestream_reader') THEN
    GRANT SELECT ON job_recruiter TO hirestream_reader;
  END IF;
END $$;
