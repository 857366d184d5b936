-- 0039_invitation_expiry_recorded.sql on a database that Citus has already distributed. Citus sends
-- some DDL to the shards as the text of the statement it came in, and that text is the whole
-- migration file, which the workers refuse ("cannot insert multiple commands into a prepared
-- statement"; see 0027's twin). Run from PL/pgSQL, each statement is its own text. A fresh
-- database applies 0039_invitation_expiry_recorded.sql before distribution instead.
DO $$
BEGIN
  EXECUTE 'ALTER TABLE invitations ADD COLUMN expiry_recorded_at timestamptz';
  -- The time as a literal: the shards' statement carries no function for Citus to evaluate.
  EXECUTE format('UPDATE invitations SET expiry_recorded_at = expires_at WHERE status = ''pending'' AND expires_at <= %L::timestamptz', now());
  EXECUTE 'CREATE INDEX invitations_unrecorded_expiry_idx ON invitations (expires_at) WHERE status = ''pending'' AND expiry_recorded_at IS NULL';
END
$$;
