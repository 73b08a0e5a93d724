-- The credit ledger: one immutable entry per wallet event, with the balance after it.
CREATE TABLE ledger_entry (
    entry_id        uuid        PRIMARY KEY,
    wallet_id       uuid        NOT NULL,
    sequence        bigint      NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('purchase', 'grant', 'charge', 'refund')),
    amount          bigint      NOT NULL CHECK (amount <> 0),
    balance_after   bigint      NOT NULL CHECK (balance_after >= 0),
    -- The payment reference, grant id or charge id the entry is about.
    reference       text        NOT NULL,
    description     text        NOT NULL,
    command         text,
    actor_subject   text,
    actor_role      text,
    correlation_id  text,
    recorded_at     timestamptz NOT NULL,
    global_position bigint      NOT NULL,
    UNIQUE (wallet_id, sequence)
);

CREATE INDEX ledger_entry_by_time ON ledger_entry (wallet_id, recorded_at, sequence);

-- Entries are never changed or removed one by one; only a replay empties the table (TRUNCATE)
-- to rebuild it from the events.
CREATE FUNCTION ledger_entries_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are immutable: % on ledger_entry is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER ledger_entry_no_update_or_delete
    BEFORE UPDATE OR DELETE ON ledger_entry
    FOR EACH ROW EXECUTE FUNCTION ledger_entries_are_immutable();

-- The current balance of each wallet, for reads that need no history.
CREATE TABLE wallet_balance (
    wallet_id     uuid        PRIMARY KEY,
    balance       bigint      NOT NULL CHECK (balance >= 0),
    entries       bigint      NOT NULL,
    last_sequence bigint      NOT NULL,
    updated_at    timestamptz NOT NULL
);
