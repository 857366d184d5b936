import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../../test/kit/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(async () => {
  await t.close();
});

describe('POST /api/v1/org', () => {
  it('creates the org with the creator as owner and seats from the subscription', async () => {
    const owner = await t.given.subscribedUser({ seats: 7 });
    const reply = await t.http.post('/api/v1/org', { as: owner, body: { name: 'Acme', slug: 'acme-create' } });
    expect(reply.status).toBe(201);
    expect(reply.body.org).toMatchObject({
      name: 'Acme',
      slug: 'acme-create',
      tier: 'team',
      seats: { used: 1, limit: 7, active_members: 1, pending_invites: 0 },
      storage_used_bytes: 0,
      storage_limit_bytes: 7 * 1024 ** 3,
    });
  });
});
