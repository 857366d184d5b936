-- The audit log and the event log are append-only records of what changed. Their foreign keys to
-- orgs and users did two things, neither of which they should:
--  * every inserted row looked up its org (and the audit row its actor) under a key-share row lock:
--    three index probes per invitation of a bulk of 1,000, 30% of the time of those two inserts
--    (bench/README.md, "Bulk invitations: the logs' foreign keys");
--  * deleting an org or a user would have deleted or rewritten log rows behind the audit module's
--    back (cascades), which the append-only trigger had to let through.
-- Every writer of these logs holds its org's row lock (the org exists) and an authenticated actor,
-- and no operation deletes an org or a user. If one ever does, it removes or anonymizes the logs by
-- calling the modules that own them (ARCHITECTURE principle 9), not through a cascade.
ALTER TABLE audit_log DROP CONSTRAINT audit_log_org_id_fkey;
ALTER TABLE audit_log DROP CONSTRAINT audit_log_actor_user_id_fkey;
ALTER TABLE events DROP CONSTRAINT events_org_id_fkey;

-- With no cascade left to let through, the trigger refuses every UPDATE and DELETE.
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;
