-- The usage batch never moves a member's counters back to an earlier day or month (found in review,
-- 2026-12-03). A batch takes its day and month from its process's clock before it waits for its
-- locks; a process whose clock is a little behind another's (or a batch that waited) could lock a
-- member's counter rows after a batch of the next day had written them, and then wrote its own day
-- over them: `day_used` restarted from the late batch's count and the next day's units were lost
-- to the limits (160 recorded against a daily limit of 100 in the reviewer's run, two processes 20
-- ms apart at midnight). Now, once the counter rows are locked, a row on a later day or month than
-- the batch's fails the batch with RU002 before it decides anything, its DETAIL the latest day; the
-- caller (src/usage/batch.ts) runs the batch again at that day, which counts it in the newer period.
--
-- And a key is kept at least a day across the turn of a month: a retry sent just after midnight on
-- the 1st found no key (keys were looked up in the batch's month only, and the previous month's
-- deleted) and counted again, in the member's usage and in the org's allocation. Keys of earlier
-- months are now deleted only once a day old, and a key is found whatever its month.
--
-- A finite allocation's month row starts from what the org's members already used that month
-- (found in review, 2026-12-03). Batches of an org whose allocation is unlimited do not track the
-- month in org_usage; a change to a finite allocation counts the month from the members' counters
-- (resyncOrgUsage), but for the month of its own clock. Made from a process a few milliseconds
-- behind another at the turn of a month, it counted the old month, and the first finite batch of
-- the new month created that month's row at 0 although members had used it: 500 recorded under
-- unlimited, then 500 more accepted against an allocation of 600. A month row a batch creates now
-- starts at the sum of the members' counters of that month (0 in the usual case: a finite org's
-- batches create the row before they count anything in it). The same in lockOrgMonths on Citus.
--
-- Otherwise the function of 0035, unchanged (same signature, locks, order and results).
CREATE OR REPLACE FUNCTION roster_usage_batch(
  p_kinds text[],
  p_hashes text[],
  p_users text[],
  p_activities text[],
  p_quantities bigint[],
  p_keys text[],
  p_now timestamptz,
  p_day date,
  p_month date,
  p_roles text[],
  p_slices integer,
  p_credits_per_seat bigint,
  p_low_share float8,
  p_notices boolean,
  p_scopes text[],
  p_touch_before timestamptz
) RETURNS TABLE (
  r_idx integer,
  r_status text,
  r_user uuid,
  r_org uuid,
  r_day_used bigint,
  r_month_used bigint,
  r_daily bigint,
  r_monthly bigint,
  r_over_day boolean,
  r_over_month boolean,
  k_activity text,
  k_quantity bigint,
  k_day_used bigint,
  k_day_limit bigint,
  k_month_used bigint,
  k_month_limit bigint,
  a_monthly bigint,
  a_used bigint
) LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  n integer := coalesce(array_length(p_kinds, 1), 0);
  -- per request
  q_user uuid[] := array_fill(NULL::uuid, ARRAY[n]);
  q_org uuid[] := array_fill(NULL::uuid, ARRAY[n]);
  q_status text[] := array_fill('unauthenticated'::text, ARRAY[n]);
  q_m integer[];
  q_g integer[];
  q_kg integer[];
  q_day_used bigint[] := array_fill(NULL::bigint, ARRAY[n]);
  q_month_used bigint[] := array_fill(NULL::bigint, ARRAY[n]);
  q_over_day boolean[] := array_fill(NULL::boolean, ARRAY[n]);
  q_over_month boolean[] := array_fill(NULL::boolean, ARRAY[n]);
  q_from integer[] := array_fill(NULL::integer, ARRAY[n]);
  q_a_monthly bigint[] := array_fill(NULL::bigint, ARRAY[n]);
  q_a_used bigint[] := array_fill(NULL::bigint, ARRAY[n]);
  -- per member, in (org, user) order
  m_org uuid[];
  m_user uuid[];
  m_day bigint[];
  m_month bigint[];
  m_first smallint[];
  m_daily bigint[];
  m_monthly bigint[];
  m_accepted bigint[];
  m_count integer;
  m_have integer;
  -- the latest day or month on the batch's counter rows (a month is its first day)
  latest_day date;
  -- per org, in id order
  g_org uuid[];
  g_monthly bigint[];
  g_used bigint[];
  g_accepted bigint[];
  -- per (member, key) of the keyed requests
  kg_recorded integer[];
  kg_activity text[];
  kg_quantity bigint[];
  kg_day_used bigint[];
  kg_day_limit bigint[];
  kg_month_used bigint[];
  kg_month_limit bigint[];
  kg_count integer := 0;
  -- the day's activity rows to write
  a_org uuid[];
  a_user uuid[];
  a_activity text[];
  a_slice smallint[];
  a_quantity bigint[];
  a_count integer;
  a_updated integer;
  rec record;
  i integer;
  mi integer;
  gi integer;
  kg integer;
  qty bigint;
  org uuid;
  -- Whether any request carries a key; whether any org of the batch has a finite allocation. The
  -- statements for keys and for finite allocations run only when there are some.
  any_keys boolean := false;
  any_finite boolean := false;
BEGIN
  IF n = 0 THEN
    RETURN;
  END IF;
  -- '' stands for none in the text arrays (a request without a key, a hash or a user id).
  any_keys := NOT (p_keys <@ ARRAY['']::text[]);
  IF any_keys THEN
    p_keys := ARRAY(SELECT nullif(x.k, '') FROM unnest(p_keys) WITH ORDINALITY x(k, i) ORDER BY x.i);
  END IF;

  -- 1. Authenticate, with the membership, and the policy.
  FOR rec IN
    SELECT q.i, u.id AS uid, m.org_id AS oid, m.role
    FROM unnest(p_kinds, p_hashes, p_users) WITH ORDINALITY AS q(kind, hash_hex, user_text, i)
    CROSS JOIN LATERAL (
      SELECT CASE q.kind
        WHEN 'session' THEN
          (SELECT s.user_id FROM sessions s WHERE s.token_hash = decode(q.hash_hex, 'hex') AND s.expires_at > p_now)
        WHEN 'api' THEN (SELECT t.user_id FROM api_tokens t WHERE t.token_hash = decode(q.hash_hex, 'hex'))
        WHEN 'service' THEN
          (SELECT nullif(q.user_text, '')::uuid FROM service_tokens st
           WHERE st.token_hash = decode(q.hash_hex, 'hex') AND st.revoked_at IS NULL AND st.scopes && p_scopes)
        ELSE nullif(q.user_text, '')::uuid END AS id) c
    JOIN LATERAL (SELECT u.id FROM users u WHERE u.id = c.id AND u.disabled_at IS NULL LIMIT 1) u ON true
    LEFT JOIN LATERAL (SELECT m.org_id, m.role FROM memberships m WHERE m.user_id = u.id LIMIT 1) m ON true
  LOOP
    q_user[rec.i] := rec.uid;
    IF rec.oid IS NULL THEN
      q_status[rec.i] := 'no_org';
    ELSIF NOT (rec.role = ANY (p_roles)) THEN
      q_status[rec.i] := 'forbidden';
    ELSE
      q_status[rec.i] := NULL;
      q_org[rec.i] := rec.oid;
    END IF;
  END LOOP;

  -- A service token's last use, kept to the minute as the request hook keeps it (touchServiceToken):
  -- at most one write a minute per token, also across processes.
  IF 'service' = ANY (p_kinds) THEN
    UPDATE service_tokens st SET last_used_at = p_now
    WHERE st.token_hash = ANY (ARRAY(SELECT decode(x.h, 'hex') FROM unnest(p_kinds, p_hashes) x(k, h) WHERE x.k = 'service'))
      AND st.revoked_at IS NULL AND st.scopes && p_scopes
      AND (st.last_used_at IS NULL OR st.last_used_at < p_touch_before);
  END IF;

  SELECT array_agg(d.o ORDER BY d.o, d.u), array_agg(d.u ORDER BY d.o, d.u), count(*)
  INTO m_org, m_user, m_count
  FROM (SELECT DISTINCT x.o, x.u FROM unnest(q_org, q_user, q_status) x(o, u, s) WHERE x.s IS NULL) d;
  IF m_count > 0 THEN
    SELECT array_agg(DISTINCT x.o ORDER BY x.o) INTO g_org FROM unnest(m_org) x(o);
    SELECT array_agg(coalesce(mi2.i, 0)::integer ORDER BY q.i), array_agg(coalesce(gi2.i, 0)::integer ORDER BY q.i)
    INTO q_m, q_g
    FROM unnest(q_org, q_user) WITH ORDINALITY q(o, u, i)
    LEFT JOIN unnest(m_org, m_user) WITH ORDINALITY mi2(o, u, i) ON mi2.o = q.o AND mi2.u = q.u
    LEFT JOIN unnest(g_org) WITH ORDINALITY gi2(o, i) ON gi2.o = q.o;

    -- 2. The locks. First each org's allocation lock, shared, in org id order (class 6,
    -- ORG_ALLOCATION_LOCK in src/usage/queries.ts): a change of the org's allocation (lockOrgUsage: a
    -- plan change, set-allocation) holds it exclusively, so it waits for the batches in flight and
    -- the batches after it wait for it. Under it, the allocation read next is the one in force until
    -- this batch commits.
    FOREACH org IN ARRAY g_org LOOP
      PERFORM pg_advisory_xact_lock_shared(6, hashtext(org::text));
    END LOOP;
    -- Team: credits per seat × seats; Enterprise: support's setting (null: unlimited); no live
    -- subscription: 0 (monthlyAllocation, src/billing/allocation.ts).
    SELECT array_agg(y.monthly ORDER BY y.i), bool_or(y.monthly IS NOT NULL)
    INTO g_monthly, any_finite
    FROM (
      SELECT x.i, CASE s.plan WHEN 'team' THEN p_credits_per_seat * s.seats WHEN 'enterprise' THEN a.monthly ELSE 0 END AS monthly
      FROM unnest(g_org) WITH ORDINALITY x(o, i)
      LEFT JOIN LATERAL (SELECT s.plan, s.seats FROM subscriptions s WHERE s.org_id = x.o AND s.status <> 'canceled' LIMIT 1) s ON true
      LEFT JOIN LATERAL (SELECT a.monthly FROM org_allocations a WHERE a.org_id = x.o LIMIT 1) a ON true) y;
    -- Then the month rows of the orgs whose allocation is finite (ON CONFLICT DO UPDATE locks the row
    -- it meets; WHERE false writes nothing): their batches decide against one remainder, one at a
    -- time. An unlimited org's batches lock no row of the org, so those of several processes run
    -- side by side. Then the counter rows.
    IF any_finite THEN
      INSERT INTO org_usage AS u (org_id, month, used)
      SELECT x.o, p_month,
             -- Summed only for a row still missing (CASE evaluates lazily; one index probe otherwise):
             -- an existing row is locked below and keeps its value.
             CASE WHEN EXISTS (SELECT 1 FROM org_usage e WHERE e.org_id = x.o AND e.month = p_month) THEN 0
                  ELSE (SELECT coalesce(sum(c.month_used), 0) FROM usage_counters c WHERE c.org_id = x.o AND c.month = p_month) END
      FROM unnest(g_org, g_monthly) x(o, monthly) WHERE x.monthly IS NOT NULL ORDER BY x.o
      ON CONFLICT (org_id, month) DO UPDATE SET used = u.used WHERE false;
    END IF;

    -- Each member's counter rows, locked and read in one statement: a row locked FOR UPDATE is read
    -- as its newest committed version, whatever the statement's snapshot. A member without rows gets
    -- them (the second pass locks and reads them).
    FOR pass IN 1 .. 2 LOOP
      SELECT array_agg(coalesce(c.d, 0) ORDER BY x.i), array_agg(coalesce(c.mo, 0) ORDER BY x.i),
             array_agg(c.first ORDER BY x.i), count(c.first), max(c.latest)
      INTO m_day, m_month, m_first, m_have, latest_day
      FROM unnest(m_org, m_user) WITH ORDINALITY x(o, u, i)
      LEFT JOIN LATERAL (
        SELECT sum(CASE WHEN l.day = p_day THEN l.day_used ELSE 0 END)::bigint AS d,
               sum(CASE WHEN l.month = p_month THEN l.month_used ELSE 0 END)::bigint AS mo,
               min(l.slice) AS first, greatest(max(l.day), max(l.month)) AS latest
        FROM (SELECT c.slice, c.day, c.day_used, c.month, c.month_used FROM usage_counters c
              WHERE c.org_id = x.o AND c.user_id = x.u ORDER BY c.slice FOR UPDATE) l) c ON true;
      EXIT WHEN m_have = m_count OR pass = 2;
      INSERT INTO usage_counters (org_id, user_id, slice, day, day_used, day_quota, month, month_used, month_quota)
      SELECT x.o, x.u, g, p_day, 0, 0, p_month, 0, 0
      FROM unnest(m_org, m_user) x(o, u), generate_series(0, p_slices - 1) g
      WHERE NOT EXISTS (SELECT 1 FROM usage_counters c WHERE c.org_id = x.o AND c.user_id = x.u)
      ORDER BY x.o, x.u, g
      ON CONFLICT (org_id, user_id, slice) DO NOTHING;
    END LOOP;
    -- A row on a later period than the batch's: a batch of another process (or of this one, later)
    -- wrote it while this one waited. Deciding here would write the earlier day over it.
    IF latest_day > p_day THEN
      RAISE EXCEPTION 'a counter row is on a later day than the batch' USING ERRCODE = 'RU002', DETAIL = latest_day::text;
    END IF;

    -- 3. The limits, read after the locks (a statement of its own: its snapshot is taken after them).
    SELECT array_agg(l.daily_limit ORDER BY x.i), array_agg(l.monthly_limit ORDER BY x.i)
    INTO m_daily, m_monthly
    FROM unnest(m_org, m_user) WITH ORDINALITY x(o, u, i)
    LEFT JOIN LATERAL (
      SELECT l.daily_limit, l.monthly_limit FROM usage_limits l WHERE l.org_id = x.o AND l.user_id = x.u LIMIT 1) l ON true;
    m_accepted := array_fill(0::bigint, ARRAY[m_count]);

    -- A finite allocation's use this month, from the month row locked above (an unlimited one is
    -- not tracked: its batches neither read nor write the row).
    g_accepted := array_fill(0::bigint, ARRAY[cardinality(g_org)]);
    IF any_finite THEN
      SELECT array_agg(CASE WHEN x.monthly IS NULL THEN 0 ELSE coalesce(u.used, 0) END ORDER BY x.i)
      INTO g_used
      FROM unnest(g_org, g_monthly) WITH ORDINALITY x(o, monthly, i)
      LEFT JOIN LATERAL (SELECT u.used FROM org_usage u WHERE u.org_id = x.o AND u.month = p_month LIMIT 1) u ON true;
    ELSE
      g_used := g_accepted;
    END IF;

    IF any_keys THEN
      IF EXISTS (SELECT 1 FROM unnest(q_status, p_keys) x(s, k) WHERE x.s IS NULL AND x.k IS NOT NULL) THEN
        -- Each keyed request's (member, key) group, and the receipt that key recorded (this month, or
        -- less than a day ago in an earlier one), if any.
        SELECT array_agg(r.kg ORDER BY x.i), max(r.kg) INTO q_kg, kg_count
        FROM unnest(p_keys) WITH ORDINALITY x(k, i)
        LEFT JOIN (SELECT y.i, dense_rank() OVER (ORDER BY y.m, y.k)::integer AS kg
                   FROM unnest(q_status, p_keys, q_m) WITH ORDINALITY y(s, k, m, i)
                   WHERE y.s IS NULL AND y.k IS NOT NULL) r ON r.i = x.i;
        DELETE FROM usage_keys k
        USING (SELECT DISTINCT x.o, x.u FROM unnest(q_org, q_user, q_kg) x(o, u, kg) WHERE x.kg IS NOT NULL) w
        WHERE k.org_id = w.o AND k.user_id = w.u AND k.month < p_month AND k.created_at <= p_now - interval '1 day';
        SELECT array_agg(k.activity ORDER BY w.kg), array_agg(k.quantity ORDER BY w.kg),
               array_agg(k.day_used ORDER BY w.kg), array_agg(k.day_limit ORDER BY w.kg),
               array_agg(k.month_used ORDER BY w.kg), array_agg(k.month_limit ORDER BY w.kg)
        INTO kg_activity, kg_quantity, kg_day_used, kg_day_limit, kg_month_used, kg_month_limit
        FROM (SELECT DISTINCT x.kg, x.o, x.u, x.k FROM unnest(q_kg, q_org, q_user, p_keys) x(kg, o, u, k) WHERE x.kg IS NOT NULL) w
        LEFT JOIN LATERAL (
          SELECT k.activity, k.quantity, k.day_used, k.day_limit, k.month_used, k.month_limit FROM usage_keys k
          WHERE k.org_id = w.o AND k.user_id = w.u AND k.key = w.k LIMIT 1) k ON true;
        kg_recorded := array_fill(NULL::integer, ARRAY[kg_count]);
      END IF;
    END IF;

    -- 4. Each request in arrival order, against what the requests before it took.
    FOR i IN 1 .. n LOOP
      CONTINUE WHEN q_status[i] IS NOT NULL;
      mi := q_m[i];
      gi := q_g[i];
      kg := q_kg[i];
      qty := p_quantities[i];
      IF kg IS NOT NULL AND kg_recorded[kg] IS NOT NULL THEN
        q_status[i] := 'replayed';
        q_from[i] := kg_recorded[kg];
        CONTINUE;
      END IF;
      IF kg IS NOT NULL AND kg_activity[kg] IS NOT NULL THEN
        q_status[i] := 'replayed';
        CONTINUE;
      END IF;
      q_over_day[i] := m_daily[mi] IS NOT NULL AND m_day[mi] + qty > m_daily[mi];
      q_over_month[i] := m_monthly[mi] IS NOT NULL AND m_month[mi] + qty > m_monthly[mi];
      IF q_over_day[i] OR q_over_month[i] THEN
        q_status[i] := 'over_limit';
        q_day_used[i] := m_day[mi];
        q_month_used[i] := m_month[mi];
        CONTINUE;
      END IF;
      IF g_monthly[gi] IS NOT NULL AND g_used[gi] + qty > g_monthly[gi] THEN
        q_status[i] := 'allocation_exhausted';
        q_a_monthly[i] := g_monthly[gi];
        q_a_used[i] := g_used[gi];
        CONTINUE;
      END IF;
      m_day[mi] := m_day[mi] + qty;
      m_month[mi] := m_month[mi] + qty;
      m_accepted[mi] := m_accepted[mi] + qty;
      g_used[gi] := g_used[gi] + qty;
      g_accepted[gi] := g_accepted[gi] + qty;
      q_status[i] := 'recorded';
      q_day_used[i] := m_day[mi];
      q_month_used[i] := m_month[mi];
      IF kg IS NOT NULL THEN
        kg_recorded[kg] := i;
      END IF;
    END LOOP;

    -- A notice that is due and not claimed yet: node sends it in this transaction (see above).
    IF any_finite AND NOT p_notices THEN
      IF EXISTS (
        SELECT 1 FROM unnest(g_org, g_monthly, g_used, g_accepted) x(o, monthly, used, accepted)
        CROSS JOIN (VALUES ('low'), ('exhausted')) v(level)
        WHERE x.monthly IS NOT NULL AND x.accepted > 0
          AND x.used::float8 >= x.monthly::float8 * CASE v.level WHEN 'low' THEN p_low_share ELSE 1 END
          AND NOT EXISTS (SELECT 1 FROM allocation_notices an WHERE an.org_id = x.o AND an.month = p_month AND an.level = v.level)
      ) THEN
        RAISE EXCEPTION 'an allocation notice is due' USING ERRCODE = 'RU001';
      END IF;
    END IF;

    -- 5. The writes.
    UPDATE usage_counters c
    SET day = p_day,
        day_used = CASE WHEN c.day = p_day THEN c.day_used ELSE 0 END + CASE WHEN c.slice = x.first THEN x.accepted ELSE 0 END,
        day_quota = CASE WHEN c.day = p_day THEN c.day_used ELSE 0 END + CASE WHEN c.slice = x.first THEN x.accepted ELSE 0 END,
        month = p_month,
        month_used = CASE WHEN c.month = p_month THEN c.month_used ELSE 0 END + CASE WHEN c.slice = x.first THEN x.accepted ELSE 0 END,
        month_quota = CASE WHEN c.month = p_month THEN c.month_used ELSE 0 END + CASE WHEN c.slice = x.first THEN x.accepted ELSE 0 END
    FROM unnest(m_org, m_user, m_accepted, m_first) x(o, u, accepted, first)
    WHERE x.accepted > 0 AND c.org_id = x.o AND c.user_id = x.u;

    -- The member's activity rows of the day: added to where they exist (a plain UPDATE writes one
    -- row version; ON CONFLICT DO UPDATE locks the row first), inserted where not. Every writer of a
    -- member's activity rows holds the member's counter rows, so none appears in between.
    SELECT array_agg(v.o), array_agg(v.u), array_agg(v.a), array_agg(v.f), array_agg(v.q), count(*)
    INTO a_org, a_user, a_activity, a_slice, a_quantity, a_count
    FROM (SELECT x.o, x.u, x.a, m_first[x.m] AS f, sum(x.q)::bigint AS q
          FROM unnest(q_org, q_user, p_activities, p_quantities, q_status, q_m) x(o, u, a, q, s, m)
          WHERE x.s = 'recorded'
          GROUP BY x.o, x.u, x.a, m_first[x.m]
          ORDER BY x.o, x.u, x.a) v;
    IF a_count > 0 THEN
      -- Each row found by its key first, then updated by its row id: one index probe per row, where a
      -- join of the whole table planned on a small table's statistics read all of it.
      UPDATE usage_activity t SET quantity = t.quantity + v.q
      FROM (SELECT v.q, e.ctid AS tid
            FROM unnest(a_org, a_user, a_activity, a_slice, a_quantity) v(o, u, a, f, q)
            CROSS JOIN LATERAL (
              SELECT e.ctid FROM usage_activity e
              WHERE e.org_id = v.o AND e.user_id = v.u AND e.day = p_day AND e.activity = v.a AND e.slice = v.f
              LIMIT 1) e) v
      WHERE t.ctid = v.tid;
      GET DIAGNOSTICS a_updated = ROW_COUNT;
      IF a_updated < a_count THEN
        INSERT INTO usage_activity AS t (org_id, user_id, day, activity, slice, quantity)
        SELECT v.o, v.u, p_day, v.a, v.f, v.q
        FROM unnest(a_org, a_user, a_activity, a_slice, a_quantity) v(o, u, a, f, q)
        WHERE NOT EXISTS (
          SELECT 1 FROM usage_activity e
          WHERE e.org_id = v.o AND e.user_id = v.u AND e.day = p_day AND e.activity = v.a AND e.slice = v.f)
        ORDER BY v.o, v.u, v.a
        ON CONFLICT (org_id, user_id, day, activity, slice) DO UPDATE SET quantity = t.quantity + excluded.quantity;
      END IF;
    END IF;

    IF kg_count > 0 THEN
      INSERT INTO usage_keys (org_id, user_id, key, month, activity, quantity, day_used, day_limit, month_used, month_limit, created_at)
      SELECT x.o, x.u, x.k, p_month, x.a, x.q, x.d, m_daily[x.m], x.mo, m_monthly[x.m], p_now
      FROM unnest(q_org, q_user, p_keys, p_activities, p_quantities, q_day_used, q_month_used, q_status, q_m)
           x(o, u, k, a, q, d, mo, s, m)
      WHERE x.s = 'recorded' AND x.k IS NOT NULL
      ORDER BY x.o, x.u, x.k;
    END IF;

    IF any_finite THEN
      UPDATE org_usage o SET used = x.used
      FROM unnest(g_org, g_monthly, g_used, g_accepted) x(id, monthly, used, accepted)
      WHERE x.monthly IS NOT NULL AND x.accepted > 0 AND o.org_id = x.id AND o.month = p_month;
    END IF;
  END IF;

  RETURN QUERY
  SELECT x.i::integer, q_status[x.i], q_user[x.i], q_org[x.i], q_day_used[x.i], q_month_used[x.i],
         m_daily[q_m[x.i]], m_monthly[q_m[x.i]], q_over_day[x.i], q_over_month[x.i],
         -- a replay: the receipt of the batch's request with the key, or the one stored
         CASE WHEN q_from[x.i] IS NOT NULL THEN p_activities[q_from[x.i]] ELSE kg_activity[q_kg[x.i]] END,
         CASE WHEN q_from[x.i] IS NOT NULL THEN p_quantities[q_from[x.i]] ELSE kg_quantity[q_kg[x.i]] END,
         CASE WHEN q_from[x.i] IS NOT NULL THEN q_day_used[q_from[x.i]] ELSE kg_day_used[q_kg[x.i]] END,
         CASE WHEN q_from[x.i] IS NOT NULL THEN m_daily[q_m[x.i]] ELSE kg_day_limit[q_kg[x.i]] END,
         CASE WHEN q_from[x.i] IS NOT NULL THEN q_month_used[q_from[x.i]] ELSE kg_month_used[q_kg[x.i]] END,
         CASE WHEN q_from[x.i] IS NOT NULL THEN m_monthly[q_m[x.i]] ELSE kg_month_limit[q_kg[x.i]] END,
         q_a_monthly[x.i], q_a_used[x.i]
  FROM generate_series(1, n) x(i);
  IF p_notices AND any_finite THEN
    RETURN QUERY
    SELECT 0, 'org'::text, NULL::uuid, x.o, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::boolean, NULL::boolean,
           NULL::text, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, x.monthly, x.used
    FROM unnest(g_org, g_monthly, g_used, g_accepted) x(o, monthly, used, accepted)
    WHERE x.monthly IS NOT NULL AND x.accepted > 0;
  END IF;
END
$$;
