-- Changes that belong to no organization, so no org's audit log can hold them: service tokens
-- created and revoked, webhook endpoints created, rotated and deleted, accounts outside any org
-- disabled and enabled. Read with `roster admin global-audit`. Append-only, like audit_log; the
-- table stays on the coordinator on Citus (global, written rarely), where its trigger is kept.
CREATE TABLE global_audit_log (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  actor_label text NOT NULL,
  action text NOT NULL,
  target_type text NOT NULL,
  target_id text NOT NULL,
  before jsonb,
  after jsonb,
  request_id text,
  created_at timestamptz NOT NULL
);

CREATE FUNCTION global_audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'global_audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER global_audit_log_append_only BEFORE UPDATE OR DELETE ON global_audit_log
  FOR EACH ROW EXECUTE FUNCTION global_audit_log_append_only();
