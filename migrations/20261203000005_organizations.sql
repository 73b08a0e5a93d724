-- Organizations: the members of an employer beside its first owner (the account whose id is
-- the employer's), invitations sent by email, and suspensions. Each change is also an event
-- of the employer; these tables are what a request is checked against.
CREATE TABLE organization_member (
    employer_id uuid NOT NULL,
    account_id  uuid NOT NULL,
    role        text NOT NULL CHECK (role IN ('owner', 'recruiter', 'viewer')),
    joined_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (employer_id, account_id)
);
CREATE INDEX organization_member_account ON organization_member (account_id);

-- Invitations, by the SHA-256 of their emailed token; good once.
CREATE TABLE organization_invitation (
    token_hash    bytea PRIMARY KEY,
    invitation_id uuid NOT NULL UNIQUE,
    employer_id   uuid NOT NULL,
    email         text NOT NULL,
    role          text NOT NULL,
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz
);

-- Suspended organizations (tenants): every request in them is refused.
CREATE TABLE organization_suspension (
    employer_id  uuid PRIMARY KEY,
    reason       text NOT NULL,
    suspended_at timestamptz NOT NULL DEFAULT now()
);
