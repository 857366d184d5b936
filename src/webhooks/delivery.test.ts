import { sql } from 'drizzle-orm';
import pino from 'pino';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { operatorCtx, startApp, type TestApp } from '../../test/kit/app.ts';
import { serverPostgresUrl } from '../../test/kit/postgres.ts';
import { uniqueEmail, type TestOrg } from '../../test/kit/given.ts';
import { startWebhookReceiver, type Answer, type WebhookReceiver } from '../../test/kit/webhook-receiver.ts';
import { createServiceToken } from '../admin/service.ts';
import { recordAudit } from '../audit/record.ts';
import { queryRows } from '../db/client.ts';
import { eventsOfOrg } from '../events/queries.ts';
import { createWorkerRuntime, retryDelayMs, type JobOutcome, type WorkerRuntime } from '../events/runtime.ts';
import { WEBHOOK_RETRY_POLICY, webhookDelivery } from './consumer.ts';
import { WEBHOOK_QUEUE } from './queries.ts';

const KEY = Buffer.alloc(32, 3);
const MAX_ATTEMPTS = 5;
let t: TestApp;
let runtime: WorkerRuntime;
let manager: { token: string };
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  t = await startApp({ env: { WEBHOOK_SECRET_KEY: KEY.toString('base64') } });
  manager = { token: (await createServiceToken(operatorCtx(t), { name: 'host', scopes: 'webhooks:manage' })).token };
  // The poll interval is an hour: every delivery below was started by the NOTIFY that the statement
  // appending its event sends on commit. Retries are due within milliseconds (the backoff's length
  // is checked on its own below); the request timeout is long, so a hang lasts until a test ends it.
  runtime = createWorkerRuntime({
    db: t.database.db,
    listen: t.database.listen,
    logger: pino({ level: 'silent' }),
    clock: t.clock,
    pollIntervalMs: 3_600_000,
  });
  runtime.register(
    webhookDelivery(KEY, {
      allowPrivateNetworks: true,
      maxAttempts: MAX_ATTEMPTS,
      retryBaseMs: 1,
      retryMaxMs: 20,
      timeoutMs: 60_000,
      clock: t.clock,
    }),
  );
  await runtime.start();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  await runtime.stop();
  await t.close();
});

async function receiver(answer?: Answer): Promise<WebhookReceiver> {
  const started = await startWebhookReceiver(answer);
  cleanups.push(() => started.close());
  return started;
}

async function endpoint(url: string, events: string[], orgId?: string): Promise<{ id: string; secret: string }> {
  const created = await t.http.post('/api/v1/webhooks', { as: manager, body: { url, events, org_id: orgId } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const id: string = created.body.webhook.id;
  cleanups.push(() => t.http.delete(`/api/v1/webhooks/${id}`, { as: manager }));
  return { id, secret: created.body.secret };
}

async function ok(reply: Promise<{ status: number; body: any }>, status = 200): Promise<any> {
  const settled = await reply;
  expect(settled.status, JSON.stringify(settled.body)).toBe(status);
  return settled.body;
}

const rename = (org: TestOrg, name: string) => ok(t.http.patch('/api/v1/org', { as: org.owner, body: { name } }));
const invite = (org: TestOrg) =>
  ok(t.http.post('/api/v1/org/invite', { as: org.owner, body: { email: uniqueEmail('hook') } }), 201);

/** Resolves with the outcome of the next job that matches. */
function nextOutcome(matches: (outcome: JobOutcome) => boolean): Promise<JobOutcome> {
  return new Promise((resolve) => {
    const stop = runtime.onJob((outcome) => {
      if (!matches(outcome)) return;
      stop();
      resolve(outcome);
    });
  });
}

/** One complete claim round started now: nothing due is left when it claims nothing. */
async function claimedByNextRound(): Promise<number> {
  const round = runtime.roundFinished(WEBHOOK_QUEUE);
  runtime.wake(WEBHOOK_QUEUE);
  return (await round).claimed;
}

async function deliveryRows(endpointId: string) {
  return queryRows<{ event_id: string; event_type: string; status: string; attempts: number; last_status: number | null }>(
    t.database.db,
    sql`SELECT event_id, event_type, status, attempts, last_status FROM webhook_deliveries
        WHERE endpoint_id = ${endpointId} ORDER BY event_position`,
  );
}

describe('webhook deliveries', () => {
  it('are signed per Standard Webhooks: the standardwebhooks package verifies them with the whsec_ secret', async () => {
    const org = await t.given.org();
    const hooks = await receiver();
    const { secret } = await endpoint(hooks.url, ['org.updated'], org.id);
    await rename(org, 'Signed and sealed');
    await hooks.receivedAtLeast(1);
    const [delivery] = hooks.received;
    const [event] = (await eventsOfOrg(t.database.db, org.id)).filter((row) => row.type === 'org.updated');
    const verified = new Webhook(secret).verify(delivery!.body, delivery!.headers as Record<string, string>);
    expect(verified).toEqual({
      id: event!.id,
      type: 'org.updated',
      created_at: event!.createdAt.toISOString(),
      org_id: org.id,
      data: { org_id: org.id, name: 'Signed and sealed', previous_name: `Org ${org.slug}` },
    });
    expect(delivery!.headers['webhook-id']).toBe(event!.id);
    expect(delivery!.headers['content-type']).toBe('application/json');
    // A changed body, or another endpoint's secret, does not verify.
    expect(() =>
      new Webhook(secret).verify(delivery!.body.replace('Signed', 'Forged'), delivery!.headers as Record<string, string>),
    ).toThrow();
    const other = await endpoint('https://example.com/other', ['org.updated'], org.id);
    expect(() => new Webhook(other.secret).verify(delivery!.body, delivery!.headers as Record<string, string>)).toThrow();
  });

  it('during a secret rotation carry both signatures, either secret verifies; a rotation without a window signs with the new one only', async () => {
    const org = await t.given.org();
    const hooks = await receiver();
    const { id, secret: first } = await endpoint(hooks.url, ['org.updated'], org.id);
    const rotated = await ok(
      t.http.post(`/api/v1/webhooks/${id}/rotate-secret`, { as: manager, body: { previous_secret_seconds: 3600 } }),
    );
    const second: string = rotated.secret;
    await rename(org, 'Rotating');
    await hooks.receivedAtLeast(1);
    const during = hooks.received[0]!;
    expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2);
    for (const secret of [first, second]) {
      expect(new Webhook(secret).verify(during.body, during.headers as Record<string, string>)).toMatchObject({
        type: 'org.updated',
      });
    }
    // Rotated again with no window: only the newest secret signs (the first one is gone, the second expired).
    const third: string = (
      await ok(t.http.post(`/api/v1/webhooks/${id}/rotate-secret`, { as: manager, body: { previous_secret_seconds: 0 } }))
    ).secret;
    await rename(org, 'Rotated');
    await hooks.receivedAtLeast(2);
    const after = hooks.received[1]!;
    expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(new Webhook(third).verify(after.body, after.headers as Record<string, string>)).toMatchObject({ type: 'org.updated' });
    expect(() => new Webhook(second).verify(after.body, after.headers as Record<string, string>)).toThrow();
    expect(() => new Webhook(first).verify(after.body, after.headers as Record<string, string>)).toThrow();
  });

  it('a receiver that fails 3 times then succeeds gets the event exactly once more: same id, same body, then never again', async () => {
    const org = await t.given.org();
    const hooks = await receiver((_delivery, index) => (index < 3 ? 500 : 200));
    const { id } = await endpoint(hooks.url, ['org.updated'], org.id);
    const delivered = nextOutcome((outcome) => outcome.outcome === 'succeeded' && outcome.id.startsWith(id));
    await rename(org, 'Persistent');
    expect(await delivered).toMatchObject({ attempts: 4 });
    expect(hooks.received).toHaveLength(4);
    expect(new Set(hooks.received.map((request) => request.headers['webhook-id'])).size).toBe(1);
    expect(new Set(hooks.received.map((request) => request.body)).size).toBe(1);
    expect(await claimedByNextRound()).toBe(0);
    expect(hooks.received).toHaveLength(4);
    expect(await deliveryRows(id)).toEqual([
      expect.objectContaining({ event_type: 'org.updated', status: 'delivered', attempts: 4, last_status: 200 }),
    ]);
    const log = await ok(t.http.get(`/api/v1/webhooks/${id}/deliveries`, { as: manager }));
    expect(log.deliveries).toEqual([
      expect.objectContaining({
        event_id: hooks.received[0]!.headers['webhook-id'],
        status: 'delivered',
        attempts: 4,
        last_status: 200,
        last_error: null,
        next_attempt_at: null,
      }),
    ]);
    expect(log.deliveries[0].delivered_at).toEqual(expect.any(String));
  });

  it('gives up after the last attempt (failed, in the log) and the org queue moves on to the next event', async () => {
    const org = await t.given.org();
    let doomed: string | undefined;
    const hooks = await receiver((delivery) => {
      doomed ??= delivery.json.id;
      return delivery.json.id === doomed ? 503 : 204;
    });
    const { id } = await endpoint(hooks.url, ['org.updated'], org.id);
    const failed = nextOutcome((outcome) => outcome.outcome === 'failed' && outcome.id.startsWith(id));
    await rename(org, 'First');
    await rename(org, 'Second');
    await failed;
    await hooks.receivedAtLeast(MAX_ATTEMPTS + 1);
    const ids = hooks.received.map((request) => request.json.id);
    expect(ids.slice(0, MAX_ATTEMPTS)).toEqual(Array(MAX_ATTEMPTS).fill(doomed));
    expect(ids[MAX_ATTEMPTS]).not.toBe(doomed);
    const log = await ok(t.http.get(`/api/v1/webhooks/${id}/deliveries`, { as: manager }));
    const [second, first] = log.deliveries;
    expect(first).toMatchObject({ event_id: doomed, status: 'failed', attempts: MAX_ATTEMPTS, last_status: 503 });
    expect(first.last_error).toMatch(/HTTP 503/);
    expect(first.failed_at).toEqual(expect.any(String));
    await expect.poll(async () => (await deliveryRows(id))[1]?.status).toBe('delivered');
    expect(second.event_id).toBe(ids[MAX_ATTEMPTS]);
  });

  it('shows a constant reason in the log, not the socket error (regression: ECONNREFUSED vs TLS errors made it a port scanner)', async () => {
    const org = await t.given.org();
    const gone = await receiver();
    const url = gone.url;
    await gone.close();
    const { id } = await endpoint(url, ['org.updated'], org.id);
    const retrying = nextOutcome((outcome) => outcome.outcome === 'retrying' && outcome.id.startsWith(id));
    await rename(org, 'Nobody home');
    expect((await retrying).error).toBe('POST failed: connection refused');
    const log = await ok(t.http.get(`/api/v1/webhooks/${id}/deliveries`, { as: manager }));
    expect(log.deliveries[0]).toMatchObject({ last_status: null, last_error: 'POST failed: connection refused' });
  });

  it('sends only the event types an endpoint asked for, and only its org when it names one', async () => {
    const org = await t.given.org({ members: 2 });
    const elsewhere = await t.given.org();
    const disabledOnly = await receiver();
    const otherOrg = await receiver();
    const everything = await receiver();
    const narrow = await endpoint(disabledOnly.url, ['member.disabled'], org.id);
    const wrongOrg = await endpoint(otherOrg.url, ['*'], elsewhere.id);
    const all = await endpoint(everything.url, ['*'], org.id);
    const [first, second] = org.members as [TestOrg['owner'], TestOrg['owner']];
    await ok(t.http.put(`/api/v1/org/members/${first.id}/role`, { as: org.owner, body: { role: 'admin' } }));
    await ok(t.http.post(`/api/v1/org/members/${second.id}/disable`, { as: org.owner }));
    await everything.receivedAtLeast(2);
    await disabledOnly.receivedAtLeast(1);
    expect(everything.received.map((request) => request.json.type)).toEqual(['member.role_changed', 'member.disabled']);
    expect(disabledOnly.received.map((request) => request.json.type)).toEqual(['member.disabled']);
    expect(disabledOnly.received[0]!.json.data).toEqual({ user_id: second.id, email: second.email });
    // What is not queued is never sent: the database holds no delivery for the filtered-out events.
    expect((await deliveryRows(narrow.id)).map((row) => row.event_type)).toEqual(['member.disabled']);
    expect(await deliveryRows(wrongOrg.id)).toEqual([]);
    expect((await deliveryRows(all.id)).map((row) => row.event_type)).toEqual(['member.role_changed', 'member.disabled']);
    expect(otherOrg.received).toEqual([]);
  });

  it('keeps each org in order under concurrent writes, retries included: no event before the previous one succeeded', async () => {
    const orgs = [await t.given.org({ seats: 40 }), await t.given.org({ seats: 40 })];
    const seen = new Set<string>();
    // The first attempt of every third new event fails, so retries interleave with later events.
    const hooks = await receiver((delivery) => {
      if (seen.has(delivery.json.id)) return 200;
      seen.add(delivery.json.id);
      return seen.size % 3 === 0 ? 500 : 200;
    });
    const everyOrg = await endpoint(hooks.url, ['org.updated', 'invite.created']);
    const writes = orgs.flatMap((org) =>
      Array.from({ length: 6 }, (_, index) => (index % 2 === 0 ? rename(org, `Name ${index}`) : invite(org))),
    );
    await Promise.all(writes);
    const expected = new Map<string, string[]>();
    for (const org of orgs) {
      const events = await eventsOfOrg(t.database.db, org.id);
      expected.set(
        org.id,
        events.filter((event) => ['org.updated', 'invite.created'].includes(event.type)).map((event) => event.id),
      );
    }
    const total = [...expected.values()].reduce((sum, ids) => sum + ids.length, 0);
    expect(total).toBe(12);
    await hooks.receivedAtLeast(total + Math.floor(total / 3));
    await expect.poll(async () => (await deliveryRows(everyOrg.id)).every((row) => row.status === 'delivered')).toBe(true);
    for (const org of orgs) {
      const requests = hooks.received.filter((request) => request.json.org_id === org.id).map((request) => request.json.id);
      // Requests of an org arrive in position order; a retry repeats its id before the next id comes.
      const distinctInArrivalOrder = requests.filter((id, index) => requests[index - 1] !== id);
      expect(distinctInArrivalOrder).toEqual(expected.get(org.id));
    }
  });

  it('a receiver that hangs delays neither POST /org/invite nor the other endpoints', async () => {
    const org = await t.given.org();
    let releaseHang: (status: number) => void = () => {};
    const hang = await receiver((_delivery, index) =>
      index === 0 ? new Promise<number>((resolve) => (releaseHang = resolve)) : 204,
    );
    const healthy = await receiver();
    await endpoint(hang.url, ['invite.created'], org.id);
    await endpoint(healthy.url, ['invite.created'], org.id);
    await invite(org);
    await Promise.all([hang.receivedAtLeast(1), healthy.receivedAtLeast(1)]);
    expect(hang.openRequests).toBe(1);
    // The hung request is still open while the API answers and the other endpoint gets the next event.
    await invite(org);
    expect(hang.openRequests).toBe(1);
    await healthy.receivedAtLeast(2);
    expect(hang.openRequests).toBe(1);
    expect(hang.received).toHaveLength(1);
    releaseHang(204);
    await hang.receivedAtLeast(2);
    expect(hang.received.map((request) => request.json.id)).toEqual(healthy.received.map((request) => request.json.id));
  });
});

describe('retry policy', () => {
  it('retries for more than a day before giving up, even when every delay draws its shortest jitter', () => {
    let totalMs = 0;
    for (let failed = 1; failed < WEBHOOK_RETRY_POLICY.maxAttempts; failed += 1)
      totalMs += retryDelayMs(failed, WEBHOOK_RETRY_POLICY, () => 0);
    expect(totalMs).toBeGreaterThan(24 * 3_600_000);
    expect(retryDelayMs(1, WEBHOOK_RETRY_POLICY, () => 0)).toBeLessThan(60_000);
  });
});

// Two sessions of one org need a server (PGlite has one connection): on PostgreSQL in both passes.
describe.skipIf(!serverPostgresUrl())('event positions on PostgreSQL', () => {
  let pg: TestApp;
  beforeAll(async () => {
    pg = await startApp({ serverUrl: serverPostgresUrl(), env: { WEBHOOK_SECRET_KEY: KEY.toString('base64') } });
  });
  afterAll(async () => {
    await pg.close();
  });

  it("appends an org's events one transaction at a time, so positions follow commit order (PostgreSQL: two sessions)", async () => {
    const org = await pg.given.org();
    const entry = (name: string) =>
      ({
        orgId: org.id,
        action: 'org.renamed',
        targetType: 'org',
        targetId: org.id,
        before: { name: 'x' },
        after: { name },
      }) as const;
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    let appended: () => void = () => {};
    const firstAppended = new Promise<void>((resolve) => (appended = resolve));
    const first = pg.database.db.transaction(async (tx) => {
      await recordAudit(tx, operatorCtx(pg), entry('first'));
      appended();
      await held;
    });
    await firstAppended;
    let secondDone = false;
    const second = pg.database.db
      .transaction((tx) => recordAudit(tx, operatorCtx(pg), entry('second')))
      .finally(() => (secondDone = true));
    const waitingOnLock = async () => {
      for (;;) {
        if (secondDone) return 'finished';
        const [row] = await queryRows<{ waiting: number }>(
          pg.database.db,
          sql`SELECT count(*)::int AS waiting FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`,
        );
        if (row!.waiting > 0) return 'waiting';
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    // The second append waits for the first transaction to end (it never overtakes its position).
    expect(await Promise.race([second.then(() => 'finished'), waitingOnLock()])).toBe('waiting');
    release();
    await Promise.all([first, second]);
    const names = (await eventsOfOrg(pg.database.db, org.id)).filter((event) => event.type === 'org.updated');
    expect(names.map((event) => event.data.name)).toEqual(['first', 'second']);
  });
});
