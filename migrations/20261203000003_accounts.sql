-- Sign-in: what the write side keeps about an account's credentials, beside (never inside)
-- its events. An account's facts (opened, email verified, password changed, locked) are
-- events of the `account` aggregate; its password hash, sign-in tokens and one-time links
-- are here, because no secret may reach an event.

-- Password sign-in, by normalized email. `password_hash` is an Argon2id PHC string.
CREATE TABLE account_credential (
    account_id      uuid PRIMARY KEY,
    email           text NOT NULL UNIQUE,
    role            text NOT NULL CHECK (role IN ('candidate', 'employer')),
    password_hash   text NOT NULL,
    failed_attempts integer NOT NULL DEFAULT 0,
    locked_until    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- Refresh tokens, by the SHA-256 of the token. Each use rotates the token: the old one is
-- marked used and a new one joins its family. Presenting a used or revoked token revokes the
-- whole family, so a stolen token is good for at most one use, by thief or owner.
CREATE TABLE refresh_token (
    token_hash  bytea PRIMARY KEY,
    family_id   uuid NOT NULL,
    account_id  uuid NOT NULL,
    issued_at   timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX refresh_token_family ON refresh_token (family_id);
CREATE INDEX refresh_token_account ON refresh_token (account_id);

-- One-time links sent by email (verify an address, reset a password), by the SHA-256 of
-- their token.
CREATE TABLE account_link (
    token_hash  bytea PRIMARY KEY,
    account_id  uuid NOT NULL,
    purpose     text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX account_link_account ON account_link (account_id);

-- Emails waiting for the mail sender, written in the same transaction as what they announce.
CREATE TABLE email_outbox (
    id          uuid PRIMARY KEY,
    account_id  uuid,
    recipient   text NOT NULL,
    subject     text NOT NULL,
    body        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz,
    attempts    integer NOT NULL DEFAULT 0,
    last_error  text
);
CREATE INDEX email_outbox_pending ON email_outbox (created_at) WHERE sent_at IS NULL;
