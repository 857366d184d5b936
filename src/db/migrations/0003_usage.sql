-- Usage limits, sliced usage counters, per-activity totals; audit log filters and append-only guard.

-- A member's limits; null means "no limit". Limits belong to the membership: they go with it.
CREATE TABLE usage_limits (
  org_id uuid NOT NULL,
  user_id uuid NOT NULL,
  daily_limit bigint CHECK (daily_limit >= 0),
  monthly_limit bigint CHECK (monthly_limit >= 0),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, user_id),
  FOREIGN KEY (org_id, user_id) REFERENCES memberships (org_id, user_id) ON DELETE CASCADE
);

-- Enforcement counters, USAGE_COUNTER_SLICES rows per member (src/usage/queries.ts). Each slice holds a
-- share ("quota") of what is left of the limit; a request adds to one slice with one conditional
-- UPDATE, so concurrent requests of one member rarely wait on one row. The sum of the quotas
-- never exceeds the limit, so the sum of the slices never does either. A null quota means no
-- limit. A slice whose day/month is not the current one counts as zero and is reset by the slow
-- path (src/usage/rebalance.ts), which locks all of the member's slices.
CREATE TABLE usage_counters (
  org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  slice smallint NOT NULL CHECK (slice >= 0),
  day date NOT NULL,
  day_used bigint NOT NULL DEFAULT 0 CHECK (day_used >= 0),
  day_quota bigint CHECK (day_quota >= day_used),
  month date NOT NULL CHECK (extract(day FROM month) = 1),
  month_used bigint NOT NULL DEFAULT 0 CHECK (month_used >= 0),
  month_quota bigint CHECK (month_quota >= month_used),
  PRIMARY KEY (org_id, user_id, slice)
) WITH (fillfactor = 50);

-- Reporting: what each member recorded per UTC day and activity type (also sliced, same slice
-- as the counter row the request updated, so it never adds a second contended row).
CREATE TABLE usage_activity (
  org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  day date NOT NULL,
  activity text NOT NULL CHECK (activity ~ '^[a-z0-9_.-]{1,64}$'),
  slice smallint NOT NULL CHECK (slice >= 0),
  quantity bigint NOT NULL CHECK (quantity >= 0),
  PRIMARY KEY (org_id, user_id, day, activity, slice)
) WITH (fillfactor = 70);
CREATE INDEX usage_activity_org_day_idx ON usage_activity (org_id, day);

-- GET /api/v1/org/audit filters by action or actor, newest first.
CREATE INDEX audit_log_org_action_idx ON audit_log (org_id, action, id);
CREATE INDEX audit_log_org_actor_idx ON audit_log (org_id, actor_user_id, id);

-- The audit log is append-only. The only changes allowed are the ones foreign keys make
-- (deleting an org's entries with the org, forgetting a deleted user's id): those run as
-- nested triggers, so pg_trigger_depth() > 1.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF pg_trigger_depth() > 1 THEN
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
  END IF;
  RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
