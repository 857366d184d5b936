-- The usage batch function (0029) on generic plans. plpgsql caches a plan per statement and, under
-- the default plan_cache_mode (auto), plans a statement afresh on every call while a plan for the
-- call's own arrays looks cheaper than the generic one (which counts an array as 10 rows). A batch
-- of one member's requests has one-element member and org arrays, so every call of it replanned its
-- fifteen-odd statements: a batch of one request took 2.2-3.1 ms on PostgreSQL where the same call
-- on generic plans took 1.0-1.9 ms (pgbench, bench/README.md, "Generic plans for the batch
-- function"). Its lookups are written so that the generic plan probes an index per row whatever the
-- arrays' length (0029's header), so the replanning bought nothing.
ALTER FUNCTION roster_usage_batch(text[], text[], text[], text[], bigint[], text[], timestamptz, date, date, text[], integer, bigint, float8, boolean)
  SET plan_cache_mode = force_generic_plan;
