import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { operatorCtx, startApp, type TestApp } from '../../test/kit/app.ts';
import { onCitus } from '../../test/kit/engine.ts';
import { serverPostgresUrl } from '../../test/kit/postgres.ts';
import { sqlState } from '../core/errors.ts';
import { queryRows, type Tx } from '../db/client.ts';
import { setAllocation, setPlan } from '../admin/service.ts';
import { applyBatch, batchTestHooks, GATHER_MS, submitUsage } from './batch.ts';
import { setAllocation as setAllocationInTx } from './allocation.ts';
import { lockOrgUsage } from './queries.ts';
import { lockOrg } from '../orgs/queries.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(async () => {
  await t.close();
});
afterEach(() => {
  batchTestHooks.beforeCommit = undefined;
  batchTestHooks.onBatch = undefined;
});

async function recorded(orgId: string, app: TestApp = t) {
  const [row] = await queryRows<{ counters: string | number; activity: string | number }>(
    app.database.db,
    sql`SELECT (SELECT coalesce(sum(month_used), 0) FROM usage_counters WHERE org_id = ${orgId}) AS counters,
               (SELECT coalesce(sum(quantity), 0) FROM usage_activity WHERE org_id = ${orgId}) AS activity`,
  );
  return { counters: Number(row?.counters ?? 0), activity: Number(row?.activity ?? 0) };
}

describe('usage group commit', () => {
  it('a batch whose transaction fails after its locks, reads and writes answers every request with a 5xx and records nothing', async () => {
    const org = await t.given.org({ members: 4 });
    const members = [org.owner, ...org.members];
    const sizes: number[] = [];
    batchTestHooks.beforeCommit = async (tx, size) => {
      sizes.push(size);
      // A statement error inside the batch's transaction, after its statements (on PostgreSQL and
      // PGlite the one call that also writes), before its COMMIT.
      await tx.execute(sql`SELECT 1 / 0`);
    };
    const replies = await Promise.all(
      Array.from({ length: 30 }, (_, index) =>
        t.http.post('/api/v1/usage', { as: members[index % members.length]!, body: { activity: 'api.call', quantity: 1 } }),
      ),
    );
    expect(replies.map((reply) => reply.status)).toEqual(Array(30).fill(500));
    expect(replies.every((reply) => reply.body.error.code === 'internal')).toBe(true);
    // Every request went through a failed batch, and at least one batch held several requests.
    expect(sizes.reduce((total, size) => total + size, 0)).toBe(30);
    expect(Math.max(...sizes)).toBeGreaterThan(1);
    expect(await recorded(org.id)).toEqual({ counters: 0, activity: 0 });

    batchTestHooks.beforeCommit = undefined;
    const again = await Promise.all(
      Array.from({ length: 30 }, (_, index) =>
        t.http.post('/api/v1/usage', { as: members[index % members.length]!, body: { activity: 'api.call', quantity: 1 } }),
      ),
    );
    expect(again.map((reply) => reply.status)).toEqual(Array(30).fill(201));
    expect(await recorded(org.id)).toEqual({ counters: 30, activity: 30 });
  });

  it('a batch whose writes fail (in the call that is the whole transaction on PostgreSQL) answers every request with the error and records nothing', async () => {
    const org = await t.given.org({ members: 2 });
    const ctx = { ...operatorCtx(t), actor: null };
    const request = (member: { id: string }, activity: string) => ({
      kind: 'user' as const,
      userId: member.id,
      activity,
      quantity: 1,
    });
    const sizes: number[] = [];
    batchTestHooks.onBatch = (size) => sizes.push(size);
    // The route refuses such an activity name (400); submitted directly, the activity rows' CHECK
    // refuses it in the batch's write statement.
    const outcomes = await Promise.allSettled([
      submitUsage(ctx, request(org.members[0]!, 'api.call')),
      submitUsage(ctx, request(org.members[1]!, 'NOT a valid name')),
      submitUsage(ctx, request(org.owner, 'api.call')),
    ]);
    expect(sizes).toEqual([3]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(await recorded(org.id)).toEqual({ counters: 0, activity: 0 });
    // The connection left the failed transaction: the next batch records.
    const again = await Promise.all([
      submitUsage(ctx, request(org.members[0]!, 'api.call')),
      submitUsage(ctx, request(org.owner, 'api.call')),
    ]);
    expect(again.map((outcome) => outcome.status)).toEqual(['recorded', 'recorded']);
    expect(await recorded(org.id)).toEqual({ counters: 2, activity: 2 });
  });

  it('decides a batch in arrival order per member: receipts count up, and the refusals take nothing', async () => {
    const org = await t.given.org({ members: 1 });
    const member = org.members[0]!;
    await t.given.usageLimit({ as: org.owner, member, daily: 10, monthly: null });
    const sizes: number[] = [];
    batchTestHooks.onBatch = (size) => sizes.push(size);
    const replies = await Promise.all(
      Array.from({ length: 8 }, () => t.http.post('/api/v1/usage', { as: member, body: { activity: 'api.call', quantity: 3 } })),
    );
    const accepted = replies.filter((reply) => reply.status === 201);
    expect(accepted).toHaveLength(3);
    expect(accepted.map((reply) => reply.body.day.used).sort()).toEqual([3, 6, 9]);
    expect(replies.filter((reply) => reply.status === 429)).toHaveLength(5);
    expect(await recorded(org.id)).toEqual({ counters: 9, activity: 9 });
    expect(Math.max(...sizes)).toBeGreaterThan(1);
  });

  it('decides a batch of several orgs per org: each org its own limits and totals (per org on Citus)', async () => {
    // One after another: concurrent org creations can deadlock on Citus (docs/citus.md, status).
    const orgs: Awaited<ReturnType<typeof t.given.org>>[] = [];
    for (let n = 0; n < 3; n++) orgs.push(await t.given.org({ members: 1 }));
    for (const org of orgs) await t.given.usageLimit({ as: org.owner, member: org.members[0]!, daily: 5, monthly: null });
    const sizes: number[] = [];
    batchTestHooks.onBatch = (size) => sizes.push(size);
    const replies = await Promise.all(
      Array.from({ length: 24 }, (_, index) =>
        t.http.post('/api/v1/usage', { as: orgs[index % 3]!.members[0]!, body: { activity: 'api.call', quantity: 1 } }),
      ),
    );
    // 8 requests per member against a daily limit of 5: exactly 5 recorded in each org.
    for (const [n, org] of orgs.entries()) {
      const own = replies.filter((_, index) => index % 3 === n);
      expect(own.filter((reply) => reply.status === 201)).toHaveLength(5);
      expect(own.filter((reply) => reply.status === 429)).toHaveLength(3);
      expect(await recorded(org.id)).toEqual({ counters: 5, activity: 5 });
    }
    expect(Math.max(...sizes)).toBeGreaterThan(1);
  });

  it('one key in two concurrent batches (two transactions, as two processes): recorded once, the other replays', async () => {
    const org = await t.given.org({ members: 1 });
    const member = org.members[0]!;
    const ctx = { ...operatorCtx(t), actor: null };
    const keyed = { kind: 'user' as const, userId: member.id, activity: 'api.call', quantity: 4, key: 'job-7' };
    // Each call is its own transaction; the second waits on the member's counter rows, then finds the key.
    const outcomes = (await Promise.all([applyBatch(ctx, [keyed]), applyBatch(ctx, [keyed, keyed])])).flat();
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['recorded', 'replayed', 'replayed']);
    for (const outcome of outcomes) {
      const used =
        outcome.status === 'recorded' ? outcome.monthUsed : outcome.status === 'replayed' ? outcome.stored.monthUsed : -1;
      expect(used).toBe(4);
    }
    expect(await recorded(org.id)).toEqual({ counters: 4, activity: 4 });
    const [keys] = await queryRows<{ n: number }>(
      t.database.db,
      sql`SELECT count(*)::int AS n FROM usage_keys WHERE org_id = ${org.id} AND key = 'job-7'`,
    );
    expect(keys?.n).toBe(1);
  });

  it("a batch behind another process's clock at midnight counts in the later day, never restarts it (regression: overshoot at the turn of a day)", async () => {
    const org = await t.given.org({ members: 1 });
    const member = org.members[0]!;
    await t.given.usageLimit({ as: org.owner, member, daily: 100, monthly: 100 });
    // Two processes whose clocks are 20 ms apart across the turn of a year (day and month at once).
    const at = (iso: string) => ({ ...operatorCtx(t), actor: null, clock: { now: () => new Date(iso) } });
    const ahead = at('2031-01-01T00:00:00.010Z');
    const behind = at('2030-12-31T23:59:59.990Z');
    const request = (quantity: number) => ({ kind: 'user' as const, userId: member.id, activity: 'api.call', quantity });
    expect(await applyBatch(ahead, [request(60)])).toMatchObject([{ status: 'recorded', dayUsed: 60, monthUsed: 60 }]);
    // The late batch counts in the day its counters are on (before: it restarted them at 1).
    expect(await applyBatch(behind, [request(1)])).toMatchObject([{ status: 'recorded', dayUsed: 61, monthUsed: 61 }]);
    const rest = await applyBatch(
      ahead,
      Array.from({ length: 10 }, () => request(10)),
    );
    expect(rest.map((outcome) => outcome.status)).toEqual([...Array(3).fill('recorded'), ...Array(7).fill('over_limit')]);
    const days = await queryRows<{ day: string; quantity: number }>(
      t.database.db,
      sql`SELECT day::text AS day, sum(quantity)::int AS quantity FROM usage_activity WHERE org_id = ${org.id} GROUP BY day`,
    );
    expect(days).toEqual([{ day: '2031-01-01', quantity: 91 }]);
    expect(await recorded(org.id)).toEqual({ counters: 91, activity: 91 });
  });

  it('a keyed retry sent just after the month turned counts once; the key counts anew a day later (regression: counted twice)', async () => {
    const org = await t.given.org({ members: 1 });
    const member = org.members[0]!;
    const at = (iso: string) => ({ ...operatorCtx(t), actor: null, clock: { now: () => new Date(iso) } });
    const keyed = { kind: 'user' as const, userId: member.id, activity: 'api.call', quantity: 30, key: 'export-9' };
    expect(await applyBatch(at('2031-01-31T23:59:59.500Z'), [keyed])).toMatchObject([{ status: 'recorded', monthUsed: 30 }]);
    const retry = await applyBatch(at('2031-02-01T00:00:00.500Z'), [keyed]);
    expect(retry).toMatchObject([{ status: 'replayed', stored: { activity: 'api.call', quantity: 30, monthUsed: 30 } }]);
    expect(await recorded(org.id)).toEqual({ counters: 30, activity: 30 });
    // A day on, the key is January's no more: reused, it is a new request of February.
    expect(await applyBatch(at('2031-02-02T00:00:01.000Z'), [keyed])).toMatchObject([{ status: 'recorded', monthUsed: 30 }]);
    const [months] = await queryRows<{ activity: number }>(
      t.database.db,
      sql`SELECT sum(quantity)::int AS activity FROM usage_activity WHERE org_id = ${org.id}`,
    );
    expect(months?.activity).toBe(60);
  });

  it("concurrent batches of one org (as several processes) never take more than the org's finite allocation", async () => {
    const org = await t.given.org({ members: 6 });
    await setPlan(operatorCtx(t, 'ops'), { slug: org.slug, plan: 'enterprise', seats: 25 });
    await setAllocation(operatorCtx(t, 'ops'), { slug: org.slug, monthly: '25' });
    const ctx = { ...operatorCtx(t), actor: null };
    const members = [org.owner, ...org.members];
    // Four transactions at once, 10 units each: the org's month row (locked by every batch) lets
    // exactly 25 through in all, whichever batch gets the lock first.
    const batches = Array.from({ length: 4 }, (_, batch) =>
      Array.from({ length: 10 }, (_, index) => ({
        kind: 'user' as const,
        userId: members[(batch + index) % members.length]!.id,
        activity: 'api.call',
        quantity: 1,
      })),
    );
    const outcomes = (await Promise.all(batches.map((requests) => applyBatch(ctx, requests)))).flat();
    const statuses = outcomes.map((outcome) => outcome.status);
    expect(statuses.filter((status) => status === 'recorded')).toHaveLength(25);
    expect(statuses.filter((status) => status === 'allocation_exhausted')).toHaveLength(15);
    expect(await recorded(org.id)).toEqual({ counters: 25, activity: 25 });
    const [month] = await queryRows<{ used: string | number }>(
      t.database.db,
      sql`SELECT used FROM org_usage WHERE org_id = ${org.id} ORDER BY month DESC LIMIT 1`,
    );
    expect(Number(month?.used)).toBe(25);
  });

  it('one batch of an unlimited org, a finite one and keyed requests decides each by its own rule, also against the month an earlier batch wrote', async () => {
    const unlimited = await t.given.org({ members: 1 });
    await setPlan(operatorCtx(t, 'ops'), { slug: unlimited.slug, plan: 'enterprise', seats: 25 });
    const finite = await t.given.org({ members: 1 });
    await setPlan(operatorCtx(t, 'ops'), { slug: finite.slug, plan: 'enterprise', seats: 25 });
    await setAllocation(operatorCtx(t, 'ops'), { slug: finite.slug, monthly: '3' });
    const ctx = { ...operatorCtx(t), actor: null };
    const request = (userId: string, key?: string) => ({ kind: 'user' as const, userId, activity: 'api.call', quantity: 1, key });
    // Two batches of both orgs: the second decides against the month the first wrote (3 in all).
    const first = await applyBatch(ctx, [
      ...Array.from({ length: 2 }, () => request(finite.members[0]!.id)),
      ...Array.from({ length: 5 }, () => request(unlimited.members[0]!.id)),
      request(unlimited.owner.id, 'retry-1'),
      request(unlimited.owner.id, 'retry-1'),
    ]);
    expect(first.map((outcome) => outcome.status)).toEqual([...Array(7).fill('recorded'), 'recorded', 'replayed']);
    const second = await applyBatch(ctx, [
      request(unlimited.members[0]!.id),
      ...Array.from({ length: 3 }, () => request(finite.members[0]!.id)),
    ]);
    expect(second.map((outcome) => outcome.status)).toEqual([
      'recorded',
      'recorded',
      'allocation_exhausted',
      'allocation_exhausted',
    ]);
    expect(await recorded(finite.id)).toEqual({ counters: 3, activity: 3 });
    expect(await recorded(unlimited.id)).toEqual({ counters: 7, activity: 7 });
    const [month] = await queryRows<{ used: string | number }>(
      t.database.db,
      sql`SELECT used FROM org_usage WHERE org_id = ${finite.id} ORDER BY month DESC LIMIT 1`,
    );
    expect(Number(month?.used)).toBe(3);
    // A batch of the unlimited org alone, without keys, then one with the key again: the stored receipt.
    expect((await applyBatch(ctx, [request(unlimited.owner.id)]))[0]).toMatchObject({ status: 'recorded', monthUsed: 2 });
    expect((await applyBatch(ctx, [request(unlimited.owner.id, 'retry-1')]))[0]).toMatchObject({ status: 'replayed' });
    expect(await recorded(unlimited.id)).toEqual({ counters: 8, activity: 8 });
  });

  it("the activity rows' CHECK allows 1 to 64 characters of a-z, 0-9, '_', '.' and '-', and nothing else", async () => {
    const org = await t.given.org({ members: 0 });
    const insert = (activity: string) =>
      t.database.db.execute(
        sql`INSERT INTO usage_activity (org_id, user_id, day, activity, slice, quantity)
            VALUES (${org.id}, ${org.owner.id}, '2026-01-01', ${activity}, 0, 1)`,
      );
    for (const activity of ['a', 'api.call', 'a-b_c.9', 'z'.repeat(64)]) await insert(activity);
    for (const activity of ['', 'A', 'api call', 'api.call\n', 'é', 'ß', 'a/b', 'z'.repeat(65)]) {
      const refused = await insert(activity).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(sqlState(refused), JSON.stringify(activity)).toBe('23514');
    }
  });

  it('gathers the requests a batch expects: as many as the last batch answered, or what came within GATHER_MS', async () => {
    // Only setTimeout is faked (the gathering bound); the event loop and the database run for real.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const own = await startApp();
    try {
      const org = await own.given.org({ members: 3 });
      const ctx = { ...operatorCtx(own), actor: null };
      const request = (member: { id: string }) => ({
        kind: 'user' as const,
        userId: member.id,
        activity: 'api.call',
        quantity: 1,
      });
      const sizes: number[] = [];
      batchTestHooks.onBatch = (size) => sizes.push(size);
      const turns = async (count: number) => {
        for (let turn = 0; turn < count; turn += 1) await new Promise((resolve) => setImmediate(resolve));
      };
      // Nothing expected yet: three requests of one turn are one batch at once.
      await Promise.all(org.members.map((member) => submitUsage(ctx, request(member))));
      expect(sizes).toEqual([3]);
      // Three answered, three expected: two of them wait for the third.
      const two = org.members.slice(0, 2).map((member) => submitUsage(ctx, request(member)));
      await turns(20);
      expect(sizes).toEqual([3]);
      const third = submitUsage(ctx, request(org.members[2]!));
      await Promise.all([...two, third]);
      expect(sizes).toEqual([3, 3]);
      // One comes back, the others never do: it is applied when GATHER_MS has passed.
      const alone = submitUsage(ctx, request(org.members[0]!));
      await turns(20);
      expect(sizes).toEqual([3, 3]);
      await vi.advanceTimersByTimeAsync(GATHER_MS);
      expect(await alone).toMatchObject({ status: 'recorded', dayUsed: 3 });
      expect(sizes).toEqual([3, 3, 1]);
      // A lone client: one answered, one expected, so its next request does not wait.
      expect(await submitUsage(ctx, request(org.members[0]!))).toMatchObject({ status: 'recorded', dayUsed: 4 });
      expect(sizes).toEqual([3, 3, 1, 1]);
    } finally {
      vi.useRealTimers();
      await own.close();
    }
  });

  it('runs the batch function on generic plans (a small batch would replan its statements on every call)', async () => {
    // Migration 0030. Under plan_cache_mode auto, a batch whose member and org arrays hold one
    // element planned each of the function's statements afresh on every call (bench/README.md).
    // Citus has the function too (its migrations are the same), though its batches run from node.
    const [fn] = await queryRows<{ config: string[] | null }>(
      t.database.db,
      sql`SELECT proconfig AS config FROM pg_proc WHERE oid = 'roster_usage_batch'::regproc`,
    );
    expect(fn?.config).toContain('plan_cache_mode=force_generic_plan');
    // And the setting holds inside the call only: the caller's session keeps its own.
    const org = await t.given.org({ members: 1 });
    const ctx = { ...operatorCtx(t), actor: null };
    const member = org.members[0]!;
    const outcomes = await applyBatch(ctx, [{ kind: 'user', userId: member.id, activity: 'api.call', quantity: 1 }]);
    expect(outcomes).toMatchObject([{ status: 'recorded', dayUsed: 1 }]);
    const [session] = await queryRows<{ mode: string }>(t.database.db, sql`SELECT current_setting('plan_cache_mode') AS mode`);
    expect(session?.mode).toBe('auto');
  });

  it("no index on usage_activity leads a member's row lookup over the rest of the org's day (regression: a plan on an empty table's statistics)", async () => {
    // Migration 0031. The batch finds a member's activity row of the day by its full key; with an
    // index on (org_id, day) alone, a plan made on an empty table's statistics took that index and
    // read every row of the org's day for each member (bench/README.md).
    const indexes = await queryRows<{ name: string; columns: string[] }>(
      t.database.db,
      sql`SELECT i.relname AS name, array_agg(a.attname::text ORDER BY k.n) AS columns
          FROM pg_index x
          JOIN pg_class i ON i.oid = x.indexrelid
          CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY k(attnum, n)
          JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
          WHERE x.indrelid = 'usage_activity'::regclass
          GROUP BY i.relname`,
    );
    expect(indexes.length).toBeGreaterThanOrEqual(2);
    for (const index of indexes) {
      expect(index.columns[0], index.name).toBe('org_id');
      expect(index.columns.slice(0, 3), index.name).toContain('user_id');
    }
  });

  it('a request still queued when the app closes is applied before the database closes (regression: "pool ended")', async () => {
    const own = await startApp();
    const org = await own.given.org({ members: 1 });
    const ctx = { ...operatorCtx(own), actor: null };
    const request = { kind: 'user' as const, userId: org.members[0]!.id, activity: 'api.call', quantity: 1 };
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inBatch = new Promise<void>((resolve) => (entered = resolve));
    batchTestHooks.beforeCommit = async () => {
      batchTestHooks.beforeCommit = undefined;
      entered();
      await held;
    };
    const first = submitUsage(ctx, request);
    await inBatch;
    // Queued behind the held batch; then the app closes (it closes the database after).
    const second = submitUsage(ctx, request);
    const closing = own.close();
    release();
    expect((await first).status).toBe('recorded');
    expect(await second).toMatchObject({ status: 'recorded', dayUsed: 2 });
    await closing;
  });
});

// Two sessions need a server (PGlite has one connection): on PostgreSQL in both passes, and on Citus.
describe.skipIf(!serverPostgresUrl())('usage group commit on a server', () => {
  let pg: TestApp;
  beforeAll(async () => {
    pg = await startApp({ serverUrl: serverPostgresUrl() });
  });
  afterAll(async () => {
    await pg.close();
  });

  /**
   * The session of `tx` as the lock views name it: its backend pid, on Citus its global pid (a
   * transaction's waits may be on any node of the cluster).
   */
  async function sessionOf(tx: Tx): Promise<string> {
    const [row] = await queryRows<{ id: string }>(
      tx,
      onCitus() ? sql`SELECT citus_backend_gpid()::text AS id` : sql`SELECT pg_backend_pid()::text AS id`,
    );
    return row!.id;
  }

  /**
   * Waits until `done()`, or until a session waits for a lock that `blocker` holds; answers
   * `done()`. Only waits on `blocker` count: other test files run beside this one on the same server.
   */
  async function doneBeforeBlockedBy(blocker: string, done: () => boolean): Promise<boolean> {
    const blocked = async () => {
      const [row] = await queryRows<{ waiting: number }>(
        pg.database.db,
        onCitus()
          ? sql`SELECT count(*)::int AS waiting FROM citus_lock_waits WHERE blocking_gpid = ${blocker}::bigint`
          : sql`SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE ${blocker}::int = ANY (pg_blocking_pids(pid))`,
      );
      return row!.waiting > 0;
    };
    while (!done() && !(await blocked())) await new Promise((resolve) => setImmediate(resolve));
    return done();
  }

  it("locks its orgs' month rows before any counter row, the order every writer keeps (no deadlock with a writer holding an org row)", async () => {
    // Another writer (an allocation change, a batch of another process) holds the org's month row.
    await waitsHoldingNoCounterRow(await pg.given.org({ members: 1 }), (tx, orgId) =>
      tx.execute(sql`SELECT used FROM org_usage WHERE org_id = ${orgId} FOR UPDATE`),
    );
  });

  it("a member's first row of a new day never waits for a change holding the org row (regression: deadlock with an allocation change)", async () => {
    const org = await pg.given.org({ members: 1 });
    await setPlan(operatorCtx(pg, 'ops'), { slug: org.slug, plan: 'enterprise', seats: 25 });
    const request = { kind: 'user' as const, userId: org.members[0]!.id, activity: 'api.call', quantity: 1 };
    const at = (iso: string) => ({ ...operatorCtx(pg), actor: null, clock: { now: () => new Date(iso) } });
    expect(await applyBatch(at('2031-03-01T12:00:00.000Z'), [request])).toMatchObject([{ status: 'recorded' }]);
    // A change of the org's allocation (set-allocation, set-plan, a checkout) locks the org row
    // first and the allocation lock after it; the batch holds that lock shared while it inserts
    // the new day's row, whose foreign key check used to wait for the org row: a deadlock.
    const change = await holdTransaction((tx) => lockOrg(tx, org.id));
    let settled = false;
    const batch = applyBatch(at('2031-03-02T00:00:00.100Z'), [request]).finally(() => (settled = true));
    try {
      expect(await doneBeforeBlockedBy(change.session, () => settled)).toBe(true);
      expect(await batch).toMatchObject([{ status: 'recorded', dayUsed: 1, monthUsed: 2 }]);
    } finally {
      await change.release();
      await batch.catch(() => undefined);
    }
  });

  /**
   * Runs `work` in a transaction of its own and keeps that transaction open, with what it locked,
   * until `release()` commits it. `session`: the transaction's session (sessionOf).
   */
  async function holdTransaction(work: (tx: Tx) => Promise<unknown>): Promise<{ session: string; release(): Promise<void> }> {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let holding!: (session: string) => void;
    const session = new Promise<string>((resolve) => (holding = resolve));
    const committed = pg.database.db.transaction(async (tx) => {
      await work(tx);
      holding(await sessionOf(tx));
      await held;
    });
    // A `work` that fails rejects here instead of leaving the caller waiting for its session.
    await Promise.race([session, committed]);
    return {
      session: await session,
      release: async () => {
        release();
        await committed;
      },
    };
  }

  /**
   * Records once for the org's member (its counter rows exist from then on), then, while `hold`'s
   * transaction keeps what it locked, starts a batch of that member: it must wait for a lock while
   * holding none of the member's counter rows (a third session takes them at once), and record
   * once `hold` commits.
   */
  async function waitsHoldingNoCounterRow(
    org: { id: string; members: { id: string }[] },
    hold: (tx: Tx, orgId: string) => Promise<unknown>,
  ) {
    const member = org.members[0]!;
    const ctx = { ...operatorCtx(pg), actor: null };
    const request = { kind: 'user' as const, userId: member.id, activity: 'api.call', quantity: 1 };
    expect((await applyBatch(ctx, [request]))[0]!.status).toBe('recorded');

    const holder = await holdTransaction((tx) => hold(tx, org.id));
    let batchDone = false;
    const batch = applyBatch(ctx, [request]).finally(() => (batchDone = true));
    try {
      expect(await doneBeforeBlockedBy(holder.session, () => batchDone)).toBe(false);
      const counterRows = await pg.database.db.transaction(async (tx) =>
        queryRows<{ slice: number }>(
          tx,
          sql`SELECT slice FROM usage_counters WHERE org_id = ${org.id} AND user_id = ${member.id} FOR UPDATE NOWAIT`,
        ),
      );
      expect(counterRows.length).toBeGreaterThan(0);
    } finally {
      await holder.release();
    }
    expect((await batch)[0]).toMatchObject({ status: 'recorded', dayUsed: 2 });
  }

  /**
   * Holds the first batch that reaches its commit until `release`, with its locks; later batches go
   * through. `session()`: the held batch's session, once `reached`.
   */
  function holdFirstBatch() {
    let entered!: () => void;
    const reached = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let first = true;
    let session = '';
    batchTestHooks.beforeCommit = async (tx) => {
      if (!first) return;
      first = false;
      session = await sessionOf(tx);
      entered();
      await held;
    };
    return { reached, release, session: () => session };
  }

  async function unlimitedOrg(members: number) {
    const org = await pg.given.org({ members });
    await setPlan(operatorCtx(pg, 'ops'), { slug: org.slug, plan: 'enterprise', seats: 25 });
    return org;
  }

  it('batches of an org whose allocation is unlimited (as several processes) do not wait for each other', async () => {
    const org = await unlimitedOrg(2);
    const [first, second] = org.members as [(typeof org.members)[0], (typeof org.members)[0]];
    const ctx = { ...operatorCtx(pg), actor: null };
    const request = (userId: string) => ({ kind: 'user' as const, userId, activity: 'api.call', quantity: 1 });
    const { reached, release, session } = holdFirstBatch();
    const held = applyBatch(ctx, [request(first.id)]);
    try {
      await reached;
      // The first batch holds its locks until its commit; a batch of another member of the org
      // (another process's) commits meanwhile: before migration 0033 it waited for the org's month row.
      let secondDone = false;
      const other = applyBatch(ctx, [request(second.id)]).finally(() => (secondDone = true));
      expect(await doneBeforeBlockedBy(session(), () => secondDone)).toBe(true);
      expect((await other)[0]).toMatchObject({ status: 'recorded', monthUsed: 1 });
    } finally {
      release();
    }
    expect((await held)[0]).toMatchObject({ status: 'recorded', monthUsed: 1 });
    expect(await recorded(org.id, pg)).toEqual({ counters: 2, activity: 2 });
  });

  it("a change of the allocation waits for the org's batches in flight and counts them; the next batch decides under the new allocation", async () => {
    const org = await unlimitedOrg(1);
    const member = org.members[0]!;
    const ctx = { ...operatorCtx(pg), actor: null };
    const request = (quantity: number) => ({ kind: 'user' as const, userId: member.id, activity: 'api.call', quantity });
    const { reached, release, session } = holdFirstBatch();
    const inFlight = applyBatch(ctx, [request(5)]);
    let changeDone = false;
    let change: Promise<unknown> | undefined;
    try {
      await reached;
      // Support makes the allocation finite while the batch (which read "unlimited") is in flight.
      change = setAllocation(operatorCtx(pg, 'ops'), { slug: org.slug, monthly: '7' }).finally(() => (changeDone = true));
      expect(await doneBeforeBlockedBy(session(), () => changeDone)).toBe(false);
    } finally {
      release();
    }
    expect((await inFlight)[0]).toMatchObject({ status: 'recorded', monthUsed: 5 });
    await change;
    // The recount under the change's lock saw the batch's 5: 2 are left, whatever came first.
    const [month] = await queryRows<{ used: string | number }>(
      pg.database.db,
      sql`SELECT used FROM org_usage WHERE org_id = ${org.id} ORDER BY month DESC LIMIT 1`,
    );
    expect(Number(month?.used)).toBe(5);
    expect((await applyBatch(ctx, [request(5)]))[0]).toMatchObject({ status: 'allocation_exhausted' });
    expect((await applyBatch(ctx, [request(2)]))[0]).toMatchObject({ status: 'recorded', monthUsed: 7 });
    expect(await recorded(org.id, pg)).toEqual({ counters: 7, activity: 7 });
  });

  it('a batch that starts while support makes the allocation finite waits for the change and decides under it (no overshoot)', async () => {
    const org = await unlimitedOrg(1);
    const member = org.members[0]!;
    const ctx = { ...operatorCtx(pg), actor: null };
    const request = (quantity: number) => ({ kind: 'user' as const, userId: member.id, activity: 'api.call', quantity });
    expect((await applyBatch(ctx, [request(5)]))[0]).toMatchObject({ status: 'recorded', monthUsed: 5 });

    // set-allocation 7, not committed yet: it holds the org's allocation lock and (its recount) the counter rows.
    const change = await holdTransaction((tx) => setAllocationInTx(tx, operatorCtx(pg, 'ops'), { orgId: org.id, monthly: 7 }));
    let batchDone = false;
    const batch = applyBatch(ctx, [request(5)]).finally(() => (batchDone = true));
    try {
      // It waits for the change before it reads the allocation: had it read "unlimited" and then
      // waited for the counter rows, it would record 5 over the 2 left.
      expect(await doneBeforeBlockedBy(change.session, () => batchDone)).toBe(false);
    } finally {
      await change.release();
    }
    expect((await batch)[0]).toMatchObject({ status: 'allocation_exhausted', allocation: { monthly: 7, used: 5 } });
    expect((await applyBatch(ctx, [request(2)]))[0]).toMatchObject({ status: 'recorded', monthUsed: 7 });
    expect(await recorded(org.id, pg)).toEqual({ counters: 7, activity: 7 });
  });

  it("a batch of an unlimited org waits for a change of the org's allocation before it locks any counter row", async () => {
    // A change of the allocation in progress (a plan change, set-allocation) holds the org's allocation lock.
    await waitsHoldingNoCounterRow(await unlimitedOrg(1), (tx, orgId) =>
      lockOrgUsage(tx, { orgId, month: `${new Date().toISOString().slice(0, 7)}-01` }),
    );
  });
});
