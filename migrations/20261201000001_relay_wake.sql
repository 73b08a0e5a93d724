-- The relay is woken by the command service after a commit, at most once per round trip,
-- instead of by a notification from every appending transaction: PostgreSQL serialises the
-- commits of notifying transactions, which bounded the append rate (see docs/adr/0012).
DROP TRIGGER events_appended ON events;
DROP FUNCTION events_notify_relay();
