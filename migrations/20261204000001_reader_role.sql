-- hirestream_reader: what auditors and analysts may read with their own SQL tools. The events,
-- snapshots, audit trail and every read model; never a secret: password hashes, the digests
-- of sessions, links, invitations and API keys, the sealed subject keys, unsent mail. The server's
-- administrator creates the role (scripts/services, the compose file's init script) and
-- grants it to people's logins; on a server without it, this grants nothing. A migration that
-- adds a table grants it here too, or adds it to the secrets that
-- `the_reader_role_reads_everything_but_the_secrets` lists.
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'hirestream_reader') THEN
    GRANT USAGE ON SCHEMA public TO hirestream_reader;
    GRANT SELECT ON
      events, snapshots, audit_checkpoints, personal_data_access,
      relay_checkpoint, projection_checkpoint, projection_applied,
      candidate_view, employer_view, job_view, pairing_view, application_view, document_view,
      document_usage, wallet_balance, ledger_entry, candidate_feed, job_feed,
      matching_candidate, matching_employer, matching_job, matching_swipe, embedding_cache,
      conversation_state, conversation_message, notification, notification_application,
      organization_member, organization_suspension, api_key_usage
    TO hirestream_reader;
  END IF;
END $$;
