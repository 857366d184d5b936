import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorCtx, startApp, type TestApp } from '../../test/kit/app.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../../test/kit/webhook-receiver.ts';
import { createServiceToken } from '../admin/service.ts';
import { createWorkerRuntime, type JobOutcome, type WorkerRuntime } from '../events/runtime.ts';
import { webhookDelivery } from './consumer.ts';

// One delivery at a time and an hour of backoff: the smallest setting in which an org whose lane
// waits out a backoff could take every round from the others.
const KEY = Buffer.alloc(32, 5);
let t: TestApp;
let runtime: WorkerRuntime;
const receivers: WebhookReceiver[] = [];

beforeAll(async () => {
  t = await startApp({ env: { WEBHOOK_SECRET_KEY: KEY.toString('base64') } });
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
      concurrency: 1,
      retryBaseMs: 3_600_000,
      retryMaxMs: 3_600_000,
      clock: t.clock,
    }),
  );
  await runtime.start();
});
afterAll(async () => {
  await runtime.stop();
  for (const receiver of receivers) await receiver.close();
  await t.close();
});

describe('webhook claims across orgs', () => {
  it("an org whose lane waits out a backoff does not hold back another org's deliveries", async () => {
    const { token } = await createServiceToken(operatorCtx(t), { name: 'host', scopes: 'webhooks:manage' });
    const stuck = await t.given.org();
    const flowing = await t.given.org();
    const down = await startWebhookReceiver(() => 500);
    const up = await startWebhookReceiver(() => 204);
    receivers.push(down, up);
    for (const [url, org] of [
      [down.url, stuck],
      [up.url, flowing],
    ] as const) {
      const created = await t.http.post('/api/v1/webhooks', {
        as: { token },
        body: { url, events: ['org.updated'], org_id: org.id },
      });
      expect(created.status).toBe(201);
    }
    const firstFailure = new Promise<JobOutcome>((resolve) => {
      const stop = runtime.onJob((outcome) => {
        if (outcome.outcome !== 'retrying') return;
        stop();
        resolve(outcome);
      });
    });
    const rename = (org: { owner: { token: string } }, name: string) =>
      t.http.patch('/api/v1/org', { as: org.owner, body: { name } }).then((reply) => expect(reply.status).toBe(200));
    await rename(stuck, 'Stuck one');
    await rename(stuck, 'Stuck two'); // due, but queued behind the first, which now waits an hour
    await firstFailure;
    await rename(flowing, 'Flowing');
    await up.receivedAtLeast(1);
    expect(up.received[0]!.json).toMatchObject({ type: 'org.updated', org_id: flowing.id });
    expect(down.received).toHaveLength(1);
  });
});
