import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import { sql } from 'drizzle-orm';
import { loadConfig } from '../src/config.ts';
import { openDatabase, type Db } from '../src/db/client.ts';
import { hashToken } from '../src/core/tokens.ts';
import { systemClock } from '../src/core/context.ts';
import { applyBatch } from '../src/usage/batch.ts';
import {
  cpuPerRequest,
  cpuSnapshot,
  peakRssMb,
  resetPeakRss,
  startBenchServer,
  withBenchDatabase,
  type BenchServer,
  type CpuPerRequest,
} from './harness.ts';
import { median } from './peers.ts';

/** Seconds of each turn of the usage shape with the floor (pairs, below). */
const PAIR_SECONDS = 4;

/**
 * `POST /api/v1/usage` throughput with group commit (src/usage/batch.ts) beside a baseline route
 * that runs one prepared indexed SELECT on the same pool (bench/server.ts, in a child process), in one run, on PostgreSQL
 * (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test; a database of its own is
 * created and dropped). 1,000 members of one Enterprise org (unlimited allocation), limits set.
 * Shapes: baseline; the real route with traffic from 1 (hot), 10 and 1,000 members (each with its
 * own API token); the same 1,000 members on behalf, through a service token. After each usage
 * shape it checks the units recorded against the 201s and every member's counters against their
 * limits and activity rows. Then the 1,000-member shape again in short turns with the floor (pairs).
 */
export async function benchUsage(options: { seconds?: number; connections?: number } = {}): Promise<string> {
  const seconds = options.seconds ?? Number(process.env.BENCH_SECONDS ?? 10);
  const connections = options.connections ?? 50;
  let serverPid = 0;
  return withBenchDatabase('usage', async (databaseUrl) => {
    const rows: Row[] = [];
    // The server in its own process (bench/server.ts, as `npm start` runs it), so that autocannon
    // does not share its event loop and its peak RSS is its own.
    const serverEnv = { DATABASE_URL: databaseUrl, PUBLIC_URL: 'http://bench.test', USAGE_COUNTER_SLICES: '1' };
    const server = await startBenchServer(serverEnv);
    // This process's own handle: seeding, the checks after each shape, and applyBatch directly.
    const database = await openDatabase({ databaseUrl, poolSize: 4 });
    serverPid = server.pid;
    let stopped: Promise<void> | undefined;
    const stopServer = () => (stopped ??= server.stop());
    try {
      const db = database.db;
      const serviceToken = await newServiceToken(db);
      const member = await newMember(server, db);
      // 999 more members of the same org, each with an API token and the same limits.
      const others = await moreMembers(db, member.id, 999);
      const everyone = [member, ...others];
      const body = JSON.stringify({ activity: 'bench.call', quantity: 1 });
      const usageOf = (members: { token: string }[], url = server.url) => ({
        url: `${url}/api/v1/usage`,
        method: 'POST' as const,
        requests: members.map((one) => ({
          method: 'POST' as const,
          path: '/api/v1/usage',
          headers: { authorization: `Bearer ${one.token}`, 'content-type': 'application/json' },
          body,
        })),
      });
      // The floor is measured before every usage shape and once after the last, and each shape is
      // compared with the higher of the two floors around it (the ratio is a lower bound): on this
      // shared 2-core machine the floor moved by half within minutes, so one floor at the start made
      // the later ratios drift with it.
      const floorOf = (url: string) => ({ url: `${url}/bench/one-select?id=${member.id}` });
      const floorRequest = floorOf(server.url);
      const floors: Row[] = [];
      const measureFloor = async () => floors.push(await measure(db, 'floor', floorRequest));
      // The usage shapes; `checked`: afterwards, the units recorded against the 201s and every
      // member's counters against their limits and activity rows.
      const overThousand = usageOf(everyone);
      const shapes: { label: string; request: LoadRequest; checked: boolean }[] = [
        { label: 'POST /api/v1/usage, group commit, 1 member (hot)', request: usageOf(everyone.slice(0, 1)), checked: true },
        { label: 'POST /api/v1/usage, group commit, over 10 members', request: usageOf(everyone.slice(0, 10)), checked: true },
        { label: 'POST /api/v1/usage, group commit, over 1,000 members', request: overThousand, checked: true },
        {
          label: 'usage, on behalf: service token + user_id, over 1,000 members',
          request: {
            url: `${server.url}/api/v1/usage`,
            method: 'POST',
            requests: everyone.map((one) => ({
              method: 'POST' as const,
              path: '/api/v1/usage',
              headers: { authorization: `Bearer ${serviceToken}`, 'content-type': 'application/json' },
              body: JSON.stringify({ user_id: one.id, activity: 'bench.call', quantity: 1 }),
            })),
          },
          checked: false,
        },
      ];
      for (const shape of shapes) {
        await measureFloor();
        const before = shape.checked ? await recordedTotal(db, member.id) : 0;
        const row = await measure(db, shape.label, shape.request);
        if (shape.checked) {
          // Requests still in flight when autocannon stops are recorded but not counted as answered.
          row.recorded = (await recordedTotal(db, member.id)) - before;
          row.overshoot = await overshoot(db, member.id);
        }
        rows.push(row);
        await settle(db);
      }
      await measureFloor();
      rows.forEach((row, index) => (row.floor = [floors[index]!.requestsPerSecond, floors[index + 1]!.requestsPerSecond]));
      await stopServer();
      const paired = await pairs(db, {
        start: () => startBenchServer(serverEnv),
        requests: (url) => ({ usage: usageOf(everyone, url), floor: floorOf(url) }),
        ownerId: member.id,
      });
      const batchLatency = await batchLatencies(db, others);
      return `${table(rows, floors, { seconds, connections, workers: Number(process.env.BENCH_WORKERS ?? '1') })}\n\n${paired}\n\n${batchLatency}`;
    } finally {
      await stopServer();
      await database.close();
    }
  });

  /**
   * The 1,000-member shape again in BENCH_PAIRS (default 5) short turns with the floor, each turn
   * compared with the higher of the floors just before and after it, as the table above does: the
   * median of the turns' ratios moves less with the machine's speed than one long measurement
   * (bench/README.md, "A steadier figure"). Each turn runs on a server process of its own, started
   * for it: one process keeps a speed of its own for this route for its whole life, 10-35% apart
   * between two processes of one build on one machine (bench/README.md, "One build, two
   * processes"), so the median is taken over processes. The overshoot check runs after the last turn.
   */
  async function pairs(
    db: Db,
    turnServer: {
      start: () => Promise<BenchServer>;
      requests: (url: string) => { usage: LoadRequest; floor: LoadRequest };
      ownerId: string;
    },
  ): Promise<string> {
    const count = Number(process.env.BENCH_PAIRS ?? 5);
    const turnSeconds = Math.min(seconds, PAIR_SECONDS);
    if (!(count >= 1)) return `Turns with the floor: none (BENCH_PAIRS=${process.env.BENCH_PAIRS}).`;
    const turns: { usage: number; failures: number; before: number; after: number; ratio: number }[] = [];
    for (let turn = 0; turn < count; turn += 1) {
      const server = await turnServer.start();
      serverPid = server.pid;
      try {
        const { usage, floor } = turnServer.requests(server.url);
        const before = (await measure(db, 'floor', floor, turnSeconds)).requestsPerSecond;
        const usageRow = await measure(db, 'usage', usage, turnSeconds);
        await settle(db);
        const after = (await measure(db, 'floor', floor, turnSeconds)).requestsPerSecond;
        turns.push({
          usage: usageRow.requestsPerSecond,
          failures: usageRow.failures,
          before,
          after,
          ratio: usageRow.requestsPerSecond / Math.max(before, after),
        });
      } finally {
        await server.stop();
      }
    }
    const ratios = turns.map((turn) => turn.ratio);
    return [
      `Turns with the floor, over 1,000 members: ${count} turns of ${turnSeconds} s each (after a 2 s warm-up), each on a server process of its own with the floor before and after it; a ratio is the turn against the higher of its two floors.`,
      '',
      '| turn | usage req/s | floor before / after, req/s | ratio | non-2xx/errors |',
      '|---:|---:|---:|---:|---:|',
      ...turns.map(
        (turn, index) =>
          `| ${index + 1} | ${Math.round(turn.usage)} | ${Math.round(turn.before)} / ${Math.round(turn.after)} | ${turn.ratio.toFixed(2)} | ${turn.failures} |`,
      ),
      '',
      `Median ratio ${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}), over ${count} server processes; members over a limit or with counters that disagree with their activity rows after the turns: ${await overshoot(db, turnServer.ownerId)}.`,
    ].join('\n');
  }

  async function measure(db: Db, label: string, request: LoadRequest, duration = seconds): Promise<Row> {
    resetPeakRss(serverPid);
    // Warm-up: every pooled connection prepares its statements.
    const warmUp = await autocannon({
      ...request,
      connections,
      duration: 2,
      setupClient: spreadOver(request.requests, connections),
    });
    // Statistics as autovacuum keeps them on a live server: the seeded members, and the counter
    // rows the warm-up created (without them the planner plans for empty tables).
    await db.execute(sql`ANALYZE`);
    // From autocannon's start: setting up 50 connections' passes over 1,000 requests takes it
    // about 0.3 s of CPU before the first request (the measured seconds start after it too).
    let cpuBefore = cpuSnapshot(serverPid);
    const result = await new Promise<autocannon.Result>((resolve, reject) => {
      const run = autocannon(
        { ...request, connections, duration, setupClient: spreadOver(request.requests, connections) },
        (error: unknown, done: autocannon.Result) =>
          error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(done),
      );
      run.once('start', () => (cpuBefore = cpuSnapshot(serverPid)));
    });
    const cpu = cpuPerRequest(cpuBefore, cpuSnapshot(serverPid), result['2xx'] + result.non2xx);
    return {
      label,
      requestsPerSecond: result.requests.average,
      p50: result.latency.p50,
      p99: result.latency.p99,
      failures: result.non2xx + result.errors + result.timeouts,
      accepted: result['2xx'],
      acceptedWithWarmUp: warmUp['2xx'] + result['2xx'],
      recorded: undefined,
      overshoot: undefined,
      peakRssMb: peakRssMb(serverPid),
      cpu,
    };
  }
}

/**
 * Spreads the connections over the requests: autocannon gives every connection its own pass over
 * `requests` from the first, so without this the 50 connections move through the members in step
 * (at any moment most of them on the same member or two) and "traffic over 1,000 members" would
 * be a few hot members. Connection c starts at the (c × requests ÷ connections)-th request.
 */
function spreadOver(
  requests: object[] | undefined,
  connections: number,
): ((client: { setRequests(requests: object[]): void }) => void) | undefined {
  if (!requests || requests.length < 2) return undefined;
  let connection = 0;
  return (client) => {
    const start = Math.floor((connection++ * requests.length) / connections) % requests.length;
    client.setRequests([...requests.slice(start), ...requests.slice(0, start)]);
  };
}

/**
 * The group commit's own cost, without HTTP: `applyBatch` called directly, one batch after another,
 * for batches of 1, 25 and 100 requests of members picked at random (API tokens), 300 batches each
 * after 50 to warm up. Every request must be recorded. The figure is the mean wall time per batch:
 * its round trips to PostgreSQL and its commit.
 */
async function batchLatencies(db: Db, members: { token: string }[]): Promise<string> {
  const ctx = {
    db,
    config: loadConfig({ DATABASE_URL: 'postgres://unused' }),
    clock: systemClock,
    billing: undefined as never,
    requestId: 'bench',
    actor: null,
  };
  /** One batch of `size` requests of members picked at random; every one must be recorded. */
  const recordBatch = async (size: number, from: { token: string }[]) => {
    const requests = Array.from({ length: size }, () => ({
      kind: 'api' as const,
      hash: hashToken(from[Math.floor(Math.random() * from.length)]!.token),
      activity: 'bench.call',
      quantity: 1,
    }));
    const outcomes = await applyBatch(ctx, requests);
    if (outcomes.some((outcome) => outcome.status !== 'recorded')) throw new Error(`batch not recorded: ${outcomes[0]?.status}`);
  };
  const lines = ['| batch size | mean ms per batch | µs per request |', '|---:|---:|---:|'];
  for (const size of [1, 25, 100]) {
    const run = async (count: number) => {
      for (let index = 0; index < count; index += 1) await recordBatch(size, members);
    };
    await run(50);
    const started = performance.now();
    await run(300);
    const mean = (performance.now() - started) / 300;
    lines.push(`| ${size} | ${mean.toFixed(2)} | ${Math.round((mean * 1000) / size)} |`);
  }
  // Batches of one org at once, as several server processes each with a batch in flight: each
  // writer its own members (as each process serves its own connections), so that only what the
  // batches share (the org) can make them wait for each other.
  const together = ['| batches at once | requests/s | mean ms per batch |', '|---:|---:|---:|'];
  for (const writers of [1, 2, 4]) {
    const run = (count: number) =>
      Promise.all(
        Array.from({ length: writers }, async (_, writer) => {
          const own = members.filter((_, index) => index % writers === writer);
          for (let index = 0; index < count; index += 1) await recordBatch(25, own);
        }),
      );
    await run(20);
    const started = performance.now();
    await run(200);
    const seconds = (performance.now() - started) / 1000;
    together.push(`| ${writers} | ${Math.round((writers * 200 * 25) / seconds)} | ${((seconds * 1000) / 200).toFixed(2)} |`);
  }
  return [
    'Group commit without HTTP (`applyBatch` directly, 300 batches per size, one after another):',
    '',
    ...lines,
    '',
    'Batches of 25 of one org (unlimited allocation) at once, as several processes each with a batch in flight (200 each, every writer its own members):',
    '',
    ...together,
  ].join('\n');
}

/**
 * A shape's dead rows and dirty pages are its own cost: vacuumed and written out after it, not by
 * autovacuum or a checkpoint during the next measurement (the floor after the 10-member shape once
 * measured 4,274 req/s between floors of 7,078 and 7,214).
 */
async function settle(db: Db): Promise<void> {
  await db.execute(sql`VACUUM usage_counters, usage_activity, org_usage`);
  await db.execute(sql`CHECKPOINT`);
}

/** What autocannon loads: one URL, or a list of requests that each connection goes through. */
interface LoadRequest {
  url: string;
  method?: 'GET' | 'POST';
  requests?: { method: 'POST'; path: string; headers: Record<string, string>; body: string }[];
}

interface Row {
  label: string;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  failures: number;
  accepted: number;
  acceptedWithWarmUp: number;
  /** Units recorded during the shape (all members of the org). */
  recorded: number | undefined;
  /** Members whose counters exceed a limit or disagree with their activity rows (must be 0). */
  overshoot: number | undefined;
  /** The server process's peak RSS during the shape (warm-up included). */
  peakRssMb: number;
  /** The one-prepared-SELECT floor measured just before and just after the shape (req/s). */
  floor?: [number, number];
  /** CPU per answered request (server, PostgreSQL, load generator) and the machine's idle share. */
  cpu: CpuPerRequest;
}

function table(rows: Row[], floors: Row[], run: { seconds: number; connections: number; workers: number }): string {
  const cpu = (row: Row) =>
    `${Math.round(row.cpu.server)} / ${Math.round(row.cpu.postgres)} / ${Math.round(row.cpu.loadGenerator)} µs | ${Math.round(row.cpu.idlePercent)}%`;
  const lines = [
    (run.workers > 1
      ? `${run.workers} server processes on one port (BENCH_WORKERS: node:cluster, as \`roster start --workers ${run.workers}\`; the server's CPU and peak RSS are their sums). `
      : '') +
      `${run.connections} connections, ${run.seconds} s per shape after a 2 s warm-up; 1,000 members of one Enterprise org (unlimited allocation), each with limits of 10^12 per day and month; each connection starts its pass over the members at its own one. ` +
      'The floor (a route with one prepared indexed SELECT on the same pool) is measured before every shape and after the last; a ratio is the shape against the higher of the two floors around it. ' +
      'CPU per answered request is read from /proc over the measured seconds: the server process, every PostgreSQL process, and the load generator (autocannon, in this process); idle is the share of all cores left idle.',
    '',
    '| shape | req/s | floor before / after, req/s | ratio to the floor | p50 ms | p99 ms | non-2xx/errors | server peak RSS | CPU per request: server / PostgreSQL / load generator | idle |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((row) => {
      const [before, after] = row.floor ?? [Number.NaN, Number.NaN];
      return `| ${row.label} | ${Math.round(row.requestsPerSecond)} | ${Math.round(before)} / ${Math.round(after)} | ${(row.requestsPerSecond / Math.max(before, after)).toFixed(2)} | ${row.p50} | ${row.p99} | ${row.failures} | ${row.peakRssMb} MB | ${cpu(row)} |`;
    }),
    '',
    `The floors, in order: ${floors.map((floor) => `${Math.round(floor.requestsPerSecond)} req/s (${cpu(floor).replace(' | ', ', idle ')})`).join('; ')}.`,
  ];
  for (const checked of rows) {
    if (checked.recorded === undefined) continue;
    const unanswered = checked.recorded - checked.acceptedWithWarmUp;
    // Unanswered but recorded: requests in flight when a load stopped, each at most one per
    // connection: this shape's warm-up and run, and the previous shape's run (it may commit after
    // this shape's count began: the count is the org's).
    const verdict = unanswered >= 0 && unanswered <= run.connections * 3 ? 'consistent' : 'INCONSISTENT';
    lines.push(
      '',
      `Check (${checked.label}): ${checked.acceptedWithWarmUp} requests answered 201 (warm-up included), ${checked.recorded} units ` +
        `recorded (the difference is requests in flight when a load stopped, at most one per connection for each of three stops): ${verdict}; members over a limit or with ` +
        `counters that disagree with their activity rows: ${checked.overshoot ?? 'not checked'}.`,
    );
  }
  return lines.join('\n');
}

/** What `roster admin create-service-token --scopes usage:write` stores; returns the token. */
async function newServiceToken(db: Db): Promise<string> {
  const serviceToken = `rs_svc_${randomBytes(32).toString('base64url')}`;
  await db.execute(
    sql`INSERT INTO service_tokens (name, scopes, token_hash) VALUES ('bench', ARRAY['usage:write'], ${hashToken(serviceToken)})`,
  );
  return serviceToken;
}

/** `count` more members of `ownerId`'s org, inserted directly (no password hashing), with API tokens and limits. */
async function moreMembers(db: Db, ownerId: string, count: number): Promise<{ id: string; token: string }[]> {
  const suffix = randomBytes(4).toString('hex');
  const tokens = Array.from({ length: count }, () => `rs_api_${randomBytes(32).toString('base64url')}`);
  const result = (await db.execute(
    sql`INSERT INTO users (email, email_normalized, name, password_hash)
        SELECT 'm' || g || '-' || ${suffix} || '@example.com', 'm' || g || '-' || ${suffix} || '@example.com', 'Member ' || g, 'x'
        FROM generate_series(1, ${count}) g ORDER BY g
        RETURNING id`,
  )) as unknown as { rows: { id: string }[] };
  const ids = result.rows.map((row) => row.id);
  const orgId = sql`(SELECT org_id FROM memberships WHERE user_id = ${ownerId})`;
  await db.execute(
    sql`INSERT INTO memberships (org_id, user_id, role) SELECT ${orgId}, u, 'member' FROM unnest(${sql.param(ids)}::uuid[]) u`,
  );
  await db.execute(sql`INSERT INTO user_orgs (user_id, org_id) SELECT u, ${orgId} FROM unnest(${sql.param(ids)}::uuid[]) u`);
  await db.execute(
    sql`INSERT INTO usage_limits (org_id, user_id, daily_limit, monthly_limit)
        SELECT ${orgId}, u, 1e12, 1e12 FROM unnest(${sql.param(ids)}::uuid[]) u`,
  );
  await db.execute(
    sql`INSERT INTO api_tokens (user_id, name, token_hash)
        SELECT u, 'bench', decode(h, 'hex')
        FROM unnest(${sql.param(ids)}::uuid[], ${sql.param(tokens.map((token) => hashToken(token).toString('hex')))}::text[]) AS t(u, h)`,
  );
  return ids.map((id, index) => ({ id, token: tokens[index]! }));
}

/** Members of the org whose counters exceed a limit or disagree with their activity rows. */
async function overshoot(db: Db, ownerId: string): Promise<number> {
  const result = (await db.execute(
    sql`WITH counted AS (
          SELECT c.user_id, sum(c.month_used) AS used FROM usage_counters c
          WHERE c.org_id = (SELECT org_id FROM memberships WHERE user_id = ${ownerId}) GROUP BY c.user_id
        ), activity AS (
          SELECT a.user_id, sum(a.quantity) AS used FROM usage_activity a
          WHERE a.org_id = (SELECT org_id FROM memberships WHERE user_id = ${ownerId}) GROUP BY a.user_id
        )
        SELECT count(*) AS bad FROM counted c
        LEFT JOIN activity a ON a.user_id = c.user_id
        LEFT JOIN usage_limits l ON l.user_id = c.user_id
        WHERE c.used IS DISTINCT FROM a.used OR c.used > coalesce(l.monthly_limit, c.used)`,
  )) as unknown as { rows: { bad: string | number }[] };
  return Number(result.rows[0]?.bad ?? 0);
}

/**
 * One member of a new org whose usage allocation is unlimited (Enterprise, no allocation set), as
 * the benchmark measures: its batches take the org's allocation lock shared and no org row. A Team
 * org's allocation is finite: its batches also lock the org's month row, one batch at a time
 * (migration 0033).
 */
async function newMember(server: { url: string }, db: Db): Promise<{ id: string; token: string }> {
  const post = async (path: string, body: unknown, token?: string, method = 'POST') => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    const json = (await response.json()) as Record<string, any>;
    if (!response.ok) throw new Error(`${path}: ${response.status} ${JSON.stringify(json)}`);
    return json;
  };
  const suffix = randomBytes(4).toString('hex');
  const signup = await post('/api/v1/auth/signup', {
    email: `bench-${suffix}@example.com`,
    password: 'bench password 123',
    name: 'Bench',
  });
  const token: string = signup.token;
  await post('/api/v1/billing/checkout', { plan: 'team', seats: 5, scope: 'personal' }, token);
  await post('/api/v1/org', { name: 'Bench', slug: `bench-${suffix}` }, token);
  // What `roster admin set-plan <slug> --plan enterprise` does, done directly to keep the
  // benchmark self-contained (the org has no usage yet, so nothing needs recounting).
  await db.execute(
    sql`UPDATE subscriptions SET plan = 'enterprise'
        WHERE org_id = (SELECT org_id FROM memberships WHERE user_id = ${signup.user.id})`,
  );
  await post(`/api/v1/org/members/${signup.user.id}/usage-limit`, { daily: 1e12, monthly: 1e12 }, token, 'PUT');
  return { id: signup.user.id, token };
}

async function recordedTotal(db: Db, userId: string): Promise<number> {
  const result = (await db.execute(
    sql`SELECT coalesce(sum(quantity), 0) AS total FROM usage_activity
        WHERE org_id = (SELECT org_id FROM memberships WHERE user_id = ${userId})`,
  )) as unknown as {
    rows: { total: string | number }[];
  };
  return Number(result.rows[0]?.total ?? 0);
}
