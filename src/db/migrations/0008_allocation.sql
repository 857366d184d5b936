-- Organization allocation (credits): the monthly usage every member's recorded usage draws from.

-- The org's usage this UTC month, kept while its allocation is finite (src/usage/allocation.ts).
-- The finite-allocation path locks this row before the member's counter slices, so one org's
-- usage is serialized on it (until group commit, issue 13).
CREATE TABLE org_usage (
  org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  month date NOT NULL CHECK (extract(day FROM month) = 1),
  used bigint NOT NULL DEFAULT 0 CHECK (used >= 0),
  PRIMARY KEY (org_id, month)
);

-- Support's monthly allocation for an Enterprise org (null: unlimited; no row: unlimited).
CREATE TABLE org_allocations (
  org_id uuid PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
  monthly bigint CHECK (monthly >= 0),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Each low-balance warning (80% used, 100% used) is sent at most once per org and month.
CREATE TABLE allocation_notices (
  org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  month date NOT NULL,
  level text NOT NULL CHECK (level IN ('low', 'exhausted')),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, month, level)
);

-- Existing data: close every member's fast-path share (the next request rebalances under lock and
-- draws from org_usage when the org's allocation is finite) and count this month so far.
UPDATE usage_counters SET day_quota = day_used, month_quota = month_used;
INSERT INTO org_usage (org_id, month, used)
SELECT org_id, month, sum(month_used) FROM usage_counters
WHERE month = date_trunc('month', now() AT TIME ZONE 'UTC')::date
GROUP BY org_id, month;
