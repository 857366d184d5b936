-- The index for an org's activity over a range of days (GET /api/v1/org/usage) gains user_id, so
-- that no index on usage_activity can lead a lookup of one member's row of a day across the whole
-- org's rows of that day.
--
-- The usage batch (roster_usage_batch, 0029) finds each member's activity row by its full key. On a
-- plan made while the table's statistics were those of an empty table (a new database, or one where
-- autovacuum has not analyzed the table yet) the planner costed (org_id, day) and the key alike and
-- took the smaller index: each lookup then read every row of the member's org for that day, and a
-- batch of 50 members of a 1,000-member org took 9.2-9.4 ms instead of 4.5-4.9 ms (pgbench,
-- bench/README.md, "Generic plans for the batch function"), growing with the org. With user_id in
-- it, either index finds one member's rows.
--
-- On a large usage_activity table the new index takes a while to build, and usage writes wait for
-- it: run the upgrade's migration (roster migrate) before traffic moves to the new release.
CREATE INDEX usage_activity_org_day_user_idx ON usage_activity (org_id, day, user_id);
DROP INDEX usage_activity_org_day_idx;
