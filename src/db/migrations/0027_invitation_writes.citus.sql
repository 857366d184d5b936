-- 0027_invitation_writes.sql on a database that Citus has already distributed. Citus sends a
-- DROP INDEX, or an ALTER TABLE with more than one action, to the shards as the text of the
-- statement it came in, and that text is the whole migration file: the workers refuse it ("cannot
-- insert multiple commands into a prepared statement"). Run from PL/pgSQL, each statement is its
-- own text. A fresh database applies 0027_invitation_writes.sql before distribution instead.
DO $$
BEGIN
  EXECUTE 'ALTER TABLE invitations DROP CONSTRAINT invitations_org_id_fkey';
  EXECUTE 'ALTER TABLE invitations DROP CONSTRAINT invitations_invited_by_fkey';
  EXECUTE 'ALTER TABLE invitations DROP CONSTRAINT invitations_accepted_by_fkey';
  EXECUTE 'DROP INDEX invitations_org_token_hash_key';
END
$$;
