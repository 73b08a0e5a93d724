-- The horizon below which every event is committed for good: the oldest transaction still
-- running that may yet append events (its id and every later one may still appear), or, if
-- none, the next transaction id. The relay, the notary and rebuilds read only events below it,
-- in (tx_id, global_position) order, so none is ever skipped.
--
-- A projector's batch transaction writes read models only. It announces itself with a shared
-- advisory lock (class 0x68697265 "hire", key 0x70726f6a "proj") and `hirestream.projecting`,
-- so a long batch (the matching projector scoring a thinned feed) does not hold publication
-- back; a trigger refuses it any append, which would break the horizon's promise.
CREATE FUNCTION event_horizon() RETURNS xid8 LANGUAGE sql STABLE AS $$
  WITH snapshot AS (SELECT pg_current_snapshot() AS s),
  projecting AS (
    SELECT own.transactionid::text AS xid
      FROM pg_locks own
      JOIN pg_locks marker ON marker.pid = own.pid
     WHERE own.locktype = 'transactionid' AND own.mode = 'ExclusiveLock' AND own.granted
       AND marker.locktype = 'advisory' AND marker.granted
       AND marker.classid = 1751740005 AND marker.objid = 1886547818 AND marker.objsubid = 2)
  SELECT coalesce(
    (SELECT min(running) FROM snapshot, pg_snapshot_xip(snapshot.s) AS running
      WHERE (running::text::bigint % 4294967296)::text NOT IN (SELECT xid FROM projecting)),
    (SELECT pg_snapshot_xmax(s) FROM snapshot))
$$;

CREATE FUNCTION refuse_appends_while_projecting() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('hirestream.projecting', true) = 'on' THEN
    RAISE EXCEPTION 'a projector''s transaction may not append events';
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER events_not_from_projectors BEFORE INSERT ON events
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_appends_while_projecting();
