import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import { eq, sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import type { Db } from '../src/db/client.ts';
import { users } from '../src/db/schema.ts';
import { startServer, type RunningServer } from '../src/server.ts';
import { recordUsage } from '../src/usage/service.ts';

/**
 * `POST /api/v1/usage` throughput for one member with limits set, beside a baseline route that
 * runs one prepared indexed SELECT on the same pool, in one run, on PostgreSQL
 * (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test; a database of its own is
 * created and dropped). Shapes:
 * - baseline: GET with one prepared `SELECT … FROM users WHERE id = $1`;
 * - usage, 1 statement: the real route (authentication folded into the counter statement);
 * - usage, 2 statements: the request hook authenticates, then the counter statement runs;
 * - usage, 1 counter row: the real route with USAGE_COUNTER_SLICES=1, so every request of the
 *   member updates the same row (the shape slices exist for).
 */
export async function benchUsage(options: { seconds?: number; connections?: number } = {}): Promise<string> {
  const seconds = options.seconds ?? Number(process.env.BENCH_SECONDS ?? 10);
  const connections = options.connections ?? 50;
  const serverUrl = process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
  const name = `roster_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  const rows: Row[] = [];
  try {
    const sliced = await start(databaseUrl, 16);
    try {
      const member = await newMember(sliced, sliced.database.db);
      const auth = { authorization: `Bearer ${member.token}`, 'content-type': 'application/json' };
      const body = JSON.stringify({ activity: 'bench.call', quantity: 1 });
      rows.push(await measure('baseline: one prepared indexed SELECT', { url: `${sliced.url}/bench/baseline?id=${member.id}` }));
      const before = await recordedTotal(sliced.database.db, member.id);
      const oneStatement = await measure('POST /api/v1/usage, 1 statement (16 slices)', {
        url: `${sliced.url}/api/v1/usage`,
        method: 'POST',
        headers: auth,
        body,
      });
      // Requests still in flight when autocannon stops are recorded but not counted as answered.
      oneStatement.recorded = (await recordedTotal(sliced.database.db, member.id)) - before;
      rows.push(oneStatement);
      rows.push(
        await measure('usage, 2 statements: hook auth + counter update (16 slices)', {
          url: `${sliced.url}/bench/usage-after-hook`,
          method: 'POST',
          headers: auth,
          body,
        }),
      );
    } finally {
      await sliced.stop();
    }
    const single = await start(databaseUrl, 1);
    try {
      const member = await newMember(single, single.database.db);
      rows.push(
        await measure('POST /api/v1/usage, 1 statement, 1 counter row (USAGE_COUNTER_SLICES=1)', {
          url: `${single.url}/api/v1/usage`,
          method: 'POST',
          headers: { authorization: `Bearer ${member.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ activity: 'bench.call', quantity: 1 }),
        }),
      );
    } finally {
      await single.stop();
    }
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
    await admin.end();
  }
  return table(rows, { seconds, connections });

  async function measure(
    label: string,
    request: { url: string; method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string },
  ): Promise<Row> {
    // Warm-up: every pooled connection prepares its statements.
    const workers = process.env.BENCH_WORKERS ? Number(process.env.BENCH_WORKERS) : undefined;
    const warmUp = await autocannon({ ...request, connections, duration: 2, workers });
    const result = await autocannon({ ...request, connections, duration: seconds, workers });
    return {
      label,
      requestsPerSecond: result.requests.average,
      p50: result.latency.p50,
      p99: result.latency.p99,
      failures: result.non2xx + result.errors + result.timeouts,
      accepted: result['2xx'],
      acceptedWithWarmUp: warmUp['2xx'] + result['2xx'],
      recorded: undefined,
    };
  }
}

interface Row {
  label: string;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  failures: number;
  accepted: number;
  acceptedWithWarmUp: number;
  recorded: number | undefined;
}

function table(rows: Row[], run: { seconds: number; connections: number }): string {
  const baseline = rows[0]?.requestsPerSecond ?? 1;
  const lines = [
    `${run.connections} connections, ${run.seconds} s per shape after a 2 s warm-up, one member with limits of 10^12 per day and month.`,
    '',
    '| shape | req/s | ratio to baseline | p50 ms | p99 ms | non-2xx/errors |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map(
      (row) =>
        `| ${row.label} | ${Math.round(row.requestsPerSecond)} | ${(row.requestsPerSecond / baseline).toFixed(2)} | ${row.p50} | ${row.p99} | ${row.failures} |`,
    ),
  ];
  const checked = rows.find((row) => row.recorded !== undefined);
  if (checked?.recorded !== undefined) {
    const unanswered = checked.recorded - checked.acceptedWithWarmUp;
    const verdict = unanswered >= 0 && unanswered <= run.connections * 2 ? 'consistent' : 'INCONSISTENT';
    lines.push(
      '',
      `Check: ${checked.acceptedWithWarmUp} usage requests answered 201 (warm-up included), ${checked.recorded} units recorded ` +
        `(the difference is requests in flight when the load stopped): ${verdict}.`,
    );
  }
  return lines.join('\n');
}

async function start(databaseUrl: string, slices: number): Promise<RunningServer & { url: string }> {
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    PORT: '0',
    HOST: '127.0.0.1',
    PUBLIC_URL: 'http://bench.test',
    LOG_LEVEL: 'warn',
    USAGE_COUNTER_SLICES: String(slices),
  });
  return startServer(config, { extraRoutes: benchRoutes });
}

let baselineStatement: { db: Db; run: (values: { id: string }) => Promise<unknown[]> } | undefined;

/** The baseline and the two-statement shape, registered through buildApp's `extraRoutes`. */
async function benchRoutes(app: FastifyInstance): Promise<void> {
  app.get('/bench/baseline', async (request) => {
    const db = request.ctx.db;
    if (baselineStatement?.db !== db) {
      const prepared = db
        .select({ id: users.id, email: users.email })
        .from(users)
        .where(eq(users.id, sql.placeholder('id')))
        .prepare('bench_baseline');
      baselineStatement = { db, run: (values) => prepared.execute(values) };
    }
    const { id } = request.query as { id: string };
    const [user] = (await baselineStatement.run({ id })) as { id: string; email: string }[];
    return { id: user?.id ?? null };
  });
  app.post('/bench/usage-after-hook', async (request, reply) => {
    const body = request.body as { activity: string; quantity: number };
    return reply.status(201).send(await recordUsage(request.ctx, body));
  });
}

/**
 * One member of a new org whose usage allocation is unlimited (Enterprise, no allocation set):
 * the one-statement fast path this benchmark measures. A Team org's allocation is finite, and a
 * finite allocation takes the serialized slow path (one org_usage row lock per request) until
 * group commit (issue 13).
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
    sql`SELECT coalesce(sum(quantity), 0) AS total FROM usage_activity WHERE user_id = ${userId}`,
  )) as unknown as {
    rows: { total: string | number }[];
  };
  return Number(result.rows[0]?.total ?? 0);
}
