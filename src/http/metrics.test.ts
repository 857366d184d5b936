import { messageWithoutSecrets } from '../mail/sealing.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackgroundWork, type BackgroundWork } from '../background.ts';
import { loadConfig } from '../config.ts';
import { TEST_DATA_DIR } from '../../test/kit/app.ts';
import { TestClock } from '../../test/kit/clock.ts';
import { createTestDatabase, type TestDatabase } from '../../test/kit/engine.ts';
import { createGiven, type Given } from '../../test/kit/given.ts';
import { createHttp, type Http } from '../../test/kit/http.ts';
import { startSmtpSink, type SmtpSink } from '../../test/kit/smtp.ts';
import { buildApp, type App } from './app.ts';
import type { JobOutcome } from '../events/runtime.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { startRetention } from '../retention/retention.ts';
import { systemClock } from '../core/context.ts';
import { insertMails } from '../mail/queries.ts';
import { queryRows } from '../db/client.ts';
import { sql } from 'drizzle-orm';

const TOKEN = 'metrics-token-0123456789abcdef';

/** Prometheus text → { 'name{labels}': value }, labels as printed. */
function parse(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^(\S+?(?:\{.*\})?) (\S+)$/.exec(line);
    if (match) series.set(match[1]!, Number(match[2]));
  }
  return series;
}

let database: TestDatabase;
let app: App;
let http: Http;
let given: Given;
let smtp: SmtpSink;
let background: BackgroundWork;
let metrics: Metrics;
const jobs: JobOutcome[] = [];
const jobWaiters = new Set<() => void>();
/** Resolves once `count` job outcomes have been counted by the metrics. */
function jobsObserved(count: number): Promise<void> {
  return new Promise((resolve) => {
    const check = () => jobs.length >= count && (jobWaiters.delete(check), resolve());
    jobWaiters.add(check);
    check();
  });
}

async function scrape(): Promise<Map<string, number>> {
  const reply = await http.get('/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(reply.status).toBe(200);
  expect(String(reply.headers['content-type'])).toContain('text/plain');
  return parse(reply.body as string);
}

beforeAll(async () => {
  database = await createTestDatabase();
  smtp = await startSmtpSink();
  const config = loadConfig({
    DATA_DIR: TEST_DATA_DIR,
    PUBLIC_URL: 'http://roster.test',
    METRICS_TOKEN: TOKEN,
    SMTP_URL: smtp.url,
  });
  metrics = createMetrics({ database });
  const count = metrics.observeJob;
  metrics.observeJob = (outcome) => {
    count(outcome);
    jobs.push(outcome);
    for (const check of [...jobWaiters]) check();
  };
  app = await buildApp({ config, database, metrics, logger: false });
  http = createHttp(app);
  given = createGiven({ database, http, clock: new TestClock() });
  background = await startBackgroundWork({ config, database, logger: app.log, metrics });
});

afterAll(async () => {
  await background?.stop();
  await app?.close();
  await smtp?.close();
  await database?.close();
});

describe('GET /metrics', () => {
  it('answers 404 without the token, with a wrong one, and when METRICS_TOKEN is unset', async () => {
    expect((await http.get('/metrics')).status).toBe(404);
    expect((await http.get('/metrics', { headers: { authorization: `Bearer ${TOKEN}x` } })).status).toBe(404);
    expect((await http.get('/metrics', { headers: { authorization: TOKEN } })).status).toBe(404);
    const off = await buildApp({
      config: loadConfig({ DATA_DIR: TEST_DATA_DIR, PUBLIC_URL: 'http://roster.test' }),
      database,
      logger: false,
    });
    const reply = await off.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(reply.statusCode).toBe(404);
    await off.close();
  });

  it('counts request latency by route pattern and status, never by raw URL', async () => {
    const owner = await given.user();
    const before = await scrape();
    const key = 'roster_http_request_duration_seconds_count{method="GET",route="/api/v1/me",status="200"}';
    await http.get('/api/v1/me', { as: owner });
    await http.get('/api/v1/me', { as: owner });
    await http.get('/api/v1/invites/rs_inv_not_a_real_token_0000');
    const after = await scrape();
    expect((after.get(key) ?? 0) - (before.get(key) ?? 0)).toBe(2);
    const names = [...after.keys()].join('\n');
    expect(names).toContain('route="/api/v1/invites/:token"');
    expect(names).not.toContain('rs_inv_not_a_real_token');
    expect(after.get('process_cpu_user_seconds_total')).toBeGreaterThan(0);
  });

  it('counts usage decisions: recorded, and refused by reason', async () => {
    const org = await given.org({ members: 1 });
    const member = org.members[0]!;
    const limit = await http.put(`/api/v1/org/members/${member.id}/usage-limit`, {
      as: org.owner,
      body: { daily: 5, monthly: null },
    });
    expect(limit.status, JSON.stringify(limit.body)).toBe(200);
    const before = await scrape();
    expect((await http.post('/api/v1/usage', { as: member, body: { activity: 'run', quantity: 5 } })).status).toBe(201);
    const refused = await http.post('/api/v1/usage', { as: member, body: { activity: 'run', quantity: 1 } });
    expect(refused.status).toBe(429);
    const after = await scrape();
    const delta = (key: string) => (after.get(key) ?? 0) - (before.get(key) ?? 0);
    expect(delta('roster_usage_decisions_total{outcome="recorded",reason=""}')).toBe(1);
    expect(delta('roster_usage_decisions_total{outcome="refused",reason="usage_limit_exceeded:day"}')).toBe(1);
  });

  it("counts the retention sweep's deletions by kind", async () => {
    const key = 'roster_retention_deleted_total{kind="mails"}';
    const before = (await scrape()).get(key) ?? 0;
    const to = `retention-metric-${Date.now()}@example.com`;
    const monthsAgo = new Date(Date.now() - 90 * 24 * 60 * 60 * 1000);
    await insertMails(
      database.db,
      [{ kind: 'test', to, ...messageWithoutSecrets({ subject: 'Hi', text: 'Hi', html: '<p>Hi</p>' }) }],
      monthsAgo,
    );
    await database.db.execute(sql`UPDATE mail_outbox SET status = 'sent', sent_at = created_at WHERE to_address = ${to}`);
    const sweeper = startRetention({
      db: database.db,
      config: loadConfig({ DATA_DIR: TEST_DATA_DIR }),
      clock: systemClock,
      logger: app.log,
      onSweep: metrics.observeSweep,
    });
    await sweeper.nextSweep();
    await sweeper.stop();
    const after = await scrape();
    expect(after.get(key)! - before).toBe(1);
    expect(after.has('roster_retention_deleted_total{kind="sessions"}')).toBe(true);
  });

  it('counts job outcomes, and reads the mail and webhook queue depth and oldest age from the database', async () => {
    const before = jobs.length;
    await given.user();
    await jobsObserved(before + 1);
    expect((await scrape()).get('roster_jobs_total{queue="mail",outcome="succeeded"}')).toBeGreaterThanOrEqual(1);

    // Delivery stopped (no job runs any more), one more mail queued: the gauges show what the table holds.
    await background.stop();
    const succeeded = jobs.filter((job) => job.queue === 'mail' && job.outcome === 'succeeded').length;
    expect((await scrape()).get('roster_jobs_total{queue="mail",outcome="succeeded"}')).toBe(succeeded);
    await given.user();
    const [row] = await queryRows<{ depth: number; oldest: string }>(
      database.db,
      sql`SELECT count(*)::int AS depth, min(created_at)::text AS oldest FROM mail_outbox WHERE status = 'pending'`,
    );
    const stalled = await scrape();
    expect(row!.depth).toBeGreaterThanOrEqual(1);
    expect(stalled.get('roster_queue_depth{queue="mail"}')).toBe(Number(row!.depth));
    const age = stalled.get('roster_queue_oldest_age_seconds{queue="mail"}')!;
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThanOrEqual((Date.now() - new Date(row!.oldest).getTime()) / 1000 + 1);
    // The webhook queue reports its backlog the same way (no endpoint here: nothing pending).
    expect(stalled.get('roster_queue_depth{queue="webhooks"}')).toBe(0);
  });

  it('reports the PostgreSQL pool (n/a on PGlite)', async () => {
    const metrics = await scrape();
    if (database.engine === 'postgres') {
      expect(metrics.get('roster_db_pool_max')).toBeGreaterThan(0);
      expect(metrics.has('roster_db_pool_connections{state="idle"}')).toBe(true);
    } else {
      expect(metrics.has('roster_db_pool_max')).toBe(false);
    }
  });
});
