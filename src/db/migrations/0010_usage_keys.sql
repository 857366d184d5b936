-- Usage on behalf of members (service tokens) and retried requests: POST /api/v1/usage with `key`.
-- A key is claimed in the transaction that records the usage, and stores the receipt that request
-- answered, so a retry (same member, same key) counts once and answers the same. A key counts for
-- the UTC month it was first used in: the recording transaction of a member deletes their keys of
-- earlier months, and a key reused in a later month counts as new. A refused request stores
-- nothing (its transaction rolls back), so a retry after the limit resets can succeed.
CREATE TABLE usage_keys (
  org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  user_id uuid NOT NULL,
  key text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
  month date NOT NULL CHECK (extract(day FROM month) = 1),
  activity text NOT NULL,
  quantity bigint NOT NULL CHECK (quantity >= 1),
  day_used bigint,
  day_limit bigint,
  month_used bigint,
  month_limit bigint,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (org_id, user_id, key)
);

-- The event usage.limit_exceeded at most once per member and exceeded period (day or month):
-- a refused request claims its (member, period, start) row here in its own short transaction and
-- writes the event only when the claim is new.
CREATE TABLE usage_limit_notices (
  org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  user_id uuid NOT NULL,
  period text NOT NULL CHECK (period IN ('day', 'month')),
  start date NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (org_id, user_id, period, start)
);
