import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorCtx, startApp, type TestApp } from '../../test/kit/app.ts';
import { createServiceToken } from '../admin/service.ts';
import { queryRows } from '../db/client.ts';
import { SERVICE_SCOPES } from '../core/domain.ts';
import { decryptSecret } from './signing.ts';

const KEY = Buffer.alloc(32, 7);
let t: TestApp;
let manager: { token: string };
beforeAll(async () => {
  t = await startApp({ env: { WEBHOOK_SECRET_KEY: KEY.toString('base64') } });
  manager = await serviceToken('webhooks:manage');
});
afterAll(async () => {
  await t.close();
});

async function serviceToken(scopes: string): Promise<{ token: string }> {
  const { token } = await createServiceToken(operatorCtx(t), { name: `token ${scopes}`, scopes });
  return { token };
}

const create = (body: Record<string, unknown>, as: { token: string } = manager) => t.http.post('/api/v1/webhooks', { as, body });

describe('webhook endpoints', () => {
  it('creates an endpoint and shows its whsec_ secret once; GET lists it without any secret', async () => {
    const created = await create({ url: 'https://app.example.com/roster/hooks', events: ['member.disabled', 'member.removed'] });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(created.body.webhook).toMatchObject({
      url: 'https://app.example.com/roster/hooks',
      events: ['member.disabled', 'member.removed'],
      org_id: null,
    });
    const listed = await t.http.get('/api/v1/webhooks', { as: manager });
    expect(listed.status).toBe(200);
    expect(listed.body.webhooks).toContainEqual(created.body.webhook);
    const secretBase64 = created.body.secret.slice('whsec_'.length);
    expect(JSON.stringify(listed.body)).not.toContain(secretBase64);
    expect(Object.keys(listed.body.webhooks[0]).sort()).toEqual([
      'created_at',
      'events',
      'id',
      'org_id',
      'previous_secret_expires_at',
      'url',
    ]);
  });

  it('rotates the signing secret: a new one shown once, the previous one kept encrypted until its window ends', async () => {
    const created = await create({ url: 'https://app.example.com/rotate', events: ['*'] });
    const id: string = created.body.webhook.id;
    expect(created.body.webhook.previous_secret_expires_at).toBeNull();
    const before = t.clock.now();
    const rotated = await t.http.post(`/api/v1/webhooks/${id}/rotate-secret`, { as: manager });
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(rotated.body.secret).not.toBe(created.body.secret);
    expect(rotated.body.webhook).toMatchObject({ id, url: 'https://app.example.com/rotate' });
    const expiresAt = new Date(rotated.body.webhook.previous_secret_expires_at).getTime();
    expect(expiresAt).toBeGreaterThanOrEqual(before.getTime() + 86_400_000);
    expect(expiresAt).toBeLessThanOrEqual(t.clock.now().getTime() + 86_400_000);
    const [row] = await queryRows<{ secret_encrypted: Buffer | Uint8Array; previous_secret_encrypted: Buffer | Uint8Array }>(
      t.database.db,
      sql`SELECT secret_encrypted, previous_secret_encrypted FROM webhook_endpoints WHERE id = ${id}`,
    );
    const bytes = (shown: string) => Buffer.from(shown.slice('whsec_'.length), 'base64');
    expect(decryptSecret(KEY, id, Buffer.from(row!.secret_encrypted)).equals(bytes(rotated.body.secret))).toBe(true);
    expect(decryptSecret(KEY, id, Buffer.from(row!.previous_secret_encrypted)).equals(bytes(created.body.secret))).toBe(true);
    // The list shows the window, never a secret.
    const listed = await t.http.get('/api/v1/webhooks', { as: manager });
    expect(listed.body.webhooks).toContainEqual(rotated.body.webhook);
    expect(JSON.stringify(listed.body)).not.toContain(rotated.body.secret.slice('whsec_'.length));

    // A chosen window (0: the previous secret stops signing at once); bad windows change nothing.
    const now = await t.http.post(`/api/v1/webhooks/${id}/rotate-secret`, { as: manager, body: { previous_secret_seconds: 0 } });
    // No window is open, so none is shown (regression: a time in the past).
    expect(now.body.webhook.previous_secret_expires_at).toBeNull();
    const afterWindow = (await t.http.get('/api/v1/webhooks', { as: manager })).body.webhooks.find((row: any) => row.id === id);
    expect(afterWindow.previous_secret_expires_at).toBeNull();
    for (const body of [
      { previous_secret_seconds: -1 },
      { previous_secret_seconds: 604_801 },
      { previous_secret_seconds: 1.5 },
      { other: 1 },
    ]) {
      const refused = await t.http.post(`/api/v1/webhooks/${id}/rotate-secret`, { as: manager, body });
      expect(refused.status, JSON.stringify(body)).toBe(400);
      expect(refused.body.error.code).toBe('invalid_request');
    }
    const [after] = await queryRows<{ secret_encrypted: Buffer | Uint8Array }>(
      t.database.db,
      sql`SELECT secret_encrypted FROM webhook_endpoints WHERE id = ${id}`,
    );
    expect(decryptSecret(KEY, id, Buffer.from(after!.secret_encrypted)).equals(bytes(now.body.secret))).toBe(true);
    for (const missing of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
      const reply = await t.http.post(`/api/v1/webhooks/${missing}/rotate-secret`, { as: manager });
      expect(reply.status).toBe(404);
      expect(reply.body.error.code).toBe('webhook_not_found');
    }
  });

  it('stores the secret only encrypted under WEBHOOK_SECRET_KEY (the row never holds it in plain text)', async () => {
    const created = await create({ url: 'https://app.example.com/a', events: ['*'] });
    const secret = Buffer.from(created.body.secret.slice('whsec_'.length), 'base64');
    const [row] = await queryRows<{ secret_encrypted: Buffer | Uint8Array; whole: string }>(
      t.database.db,
      sql`SELECT secret_encrypted, row_to_json(w)::text AS whole FROM webhook_endpoints w WHERE id = ${created.body.webhook.id}`,
    );
    const stored = Buffer.from(row!.secret_encrypted);
    expect(stored.includes(secret)).toBe(false);
    expect(row!.whole).not.toContain(secret.toString('base64'));
    expect(row!.whole).not.toContain(secret.toString('hex'));
    expect(decryptSecret(KEY, created.body.webhook.id, stored).equals(secret)).toBe(true);
    // Bound to its endpoint and its key: another endpoint's id or another key does not decrypt it.
    expect(() => decryptSecret(KEY, '00000000-0000-4000-8000-000000000000', stored)).toThrow(/does not decrypt/);
    expect(() => decryptSecret(Buffer.alloc(32, 8), created.body.webhook.id, stored)).toThrow(/does not decrypt/);
  });

  it('refuses bad URLs, unknown event types and unknown orgs with stable codes, creating nothing', async () => {
    const before = (await t.http.get('/api/v1/webhooks', { as: manager })).body.webhooks.length;
    const refusals: [Record<string, unknown>, string][] = [
      [{ url: 'not a url', events: ['*'] }, 'invalid_webhook_url'],
      [{ url: 'ftp://example.com/x', events: ['*'] }, 'invalid_webhook_url'],
      [{ url: 'https://user:pw@example.com/x', events: ['*'] }, 'invalid_webhook_url'],
      [{ url: 'https://example.com/x', events: ['member.exploded'] }, 'invalid_event_types'],
      [{ url: 'https://example.com/x', events: ['*', 'member.joined'] }, 'invalid_event_types'],
      [{ url: 'https://example.com/x', events: [] }, 'invalid_request'],
      [{ url: 'https://example.com/x', events: ['*'], extra: 1 }, 'invalid_request'],
      [{ url: 'https://example.com/x', events: ['*'], org_id: '00000000-0000-4000-8000-000000000000' }, 'org_not_found'],
      [{ url: 'https://example.com/x', events: ['*'], org_id: 'nope' }, 'org_not_found'],
    ];
    for (const [body, code] of refusals) {
      const reply = await create(body);
      expect(reply.body.error?.code, JSON.stringify(body)).toBe(code);
      expect(reply.status).toBe(code === 'org_not_found' ? 404 : 400);
    }
    expect((await t.http.get('/api/v1/webhooks', { as: manager })).body.webhooks).toHaveLength(before);
  });

  it('deletes an endpoint (204), then answers 404 webhook_not_found for it', async () => {
    const created = await create({ url: 'https://example.com/gone', events: ['*'] });
    const id = created.body.webhook.id;
    expect((await t.http.delete(`/api/v1/webhooks/${id}`, { as: manager })).status).toBe(204);
    for (const reply of [
      await t.http.delete(`/api/v1/webhooks/${id}`, { as: manager }),
      await t.http.get(`/api/v1/webhooks/${id}/deliveries`, { as: manager }),
      await t.http.delete('/api/v1/webhooks/not-a-uuid', { as: manager }),
    ]) {
      expect(reply.status).toBe(404);
      expect(reply.body.error.code).toBe('webhook_not_found');
    }
    expect((await t.http.get('/api/v1/webhooks', { as: manager })).body.webhooks.map((row: any) => row.id)).not.toContain(id);
  });

  it('pages the delivery log newest first with a cursor, and refuses a forged cursor', async () => {
    const org = await t.given.org();
    const created = await create({ url: 'https://example.com/log', events: ['org.updated'], org_id: org.id });
    const id = created.body.webhook.id;
    for (const name of ['One', 'Two', 'Three']) {
      expect((await t.http.patch('/api/v1/org', { as: org.owner, body: { name } })).status).toBe(200);
    }
    const first = await t.http.get(`/api/v1/webhooks/${id}/deliveries`, { as: manager, query: { limit: '2' } });
    expect(first.status).toBe(200);
    expect(first.body.deliveries).toHaveLength(2);
    expect(first.body.deliveries[0]).toMatchObject({ event_type: 'org.updated', org_id: org.id, status: 'pending', attempts: 0 });
    const second = await t.http.get(`/api/v1/webhooks/${id}/deliveries`, {
      as: manager,
      query: { limit: '2', cursor: first.body.next_cursor },
    });
    expect(second.body.deliveries).toHaveLength(1);
    expect(second.body.next_cursor).toBeNull();
    const ids = [...first.body.deliveries, ...second.body.deliveries].map((row: any) => row.event_id);
    expect(new Set(ids).size).toBe(3);
    // Newest first by position as a number (regression: "10000000000" sorted before "9999999999" as text).
    await t.database.db.execute(
      sql`INSERT INTO webhook_deliveries (org_id, endpoint_id, event_position, event_id, event_type, event_data, event_created_at, next_attempt_at)
          SELECT ${org.id}, ${id}, p, gen_random_uuid(), 'org.updated', '{}', now(), now() + interval '1 day'
          FROM unnest(ARRAY[9999999999, 10000000000]::bigint[]) p`,
    );
    const newest = await t.http.get(`/api/v1/webhooks/${id}/deliveries`, { as: manager, query: { limit: '2' } });
    const [positions] = await queryRows<{ ids: string[] }>(
      t.database.db,
      sql`SELECT array_agg(event_id::text ORDER BY event_position DESC) AS ids FROM webhook_deliveries
          WHERE endpoint_id = ${id} AND event_position >= 9999999999`,
    );
    expect(newest.body.deliveries.map((row: any) => row.event_id)).toEqual(positions!.ids);
    // Opaque: made-up positions are refused too (regression: any number was read as a position).
    for (const cursor of ['abc', '1', '999999', first.body.next_cursor.slice(0, -1)]) {
      const forged = await t.http.get(`/api/v1/webhooks/${id}/deliveries`, { as: manager, query: { cursor } });
      expect([forged.status, forged.body.error?.code], cursor).toEqual([400, 'invalid_cursor']);
    }
    // A misspelled parameter is refused, not ignored (regression: ?limt=2 listed 50).
    const misspelled = await t.http.get(`/api/v1/webhooks/${id}/deliveries`, { as: manager, query: { limt: '2' } });
    expect([misspelled.status, misspelled.body.error?.code]).toEqual([400, 'invalid_request']);
  });
});

describe('who may manage webhooks', () => {
  it('only a service token with webhooks:manage; other scopes, members and anonymous callers are refused', async () => {
    const org = await t.given.org({ admins: 1, members: 1 });
    const id = (await create({ url: 'https://example.com/matrix', events: ['*'] })).body.webhook.id;
    const requests = [
      (as: { token: string } | null) =>
        t.http.post('/api/v1/webhooks', { as, body: { url: 'https://example.com/y', events: ['*'] } }),
      (as: { token: string } | null) => t.http.get('/api/v1/webhooks', { as }),
      (as: { token: string } | null) => t.http.get(`/api/v1/webhooks/${id}/deliveries`, { as }),
      (as: { token: string } | null) => t.http.post(`/api/v1/webhooks/${id}/rotate-secret`, { as }),
      (as: { token: string } | null) => t.http.delete(`/api/v1/webhooks/${id}`, { as }),
    ];
    const otherScopes = SERVICE_SCOPES.filter((scope) => scope !== 'webhooks:manage');
    const refused: { token: string }[] = [
      org.owner,
      org.admins[0]!,
      org.members[0]!,
      ...(await Promise.all(otherScopes.map((scope) => serviceToken(scope)))),
    ];
    for (const send of requests) {
      for (const as of refused) {
        const reply = await send(as);
        expect(reply.status).toBe(403);
        expect(reply.body.error.code).toBe('forbidden');
      }
      const anonymous = await send(null);
      expect(anonymous.status).toBe(401);
    }
    // All five answer the manager (the delete last).
    const expected = [201, 200, 200, 200, 204];
    for (const [index, send] of requests.entries()) expect((await send(manager)).status).toBe(expected[index]);
  });
});

describe('in production', () => {
  it('accepts only https URLs, and refuses to create endpoints without WEBHOOK_SECRET_KEY (503)', async () => {
    const production = { NODE_ENV: 'production', BILLING: 'local' };
    const withKey = await startApp({ env: { ...production, WEBHOOK_SECRET_KEY: KEY.toString('base64') } });
    const withoutKey = await startApp({ env: production });
    try {
      const token = (await createServiceToken(operatorCtx(withKey), { name: 'p', scopes: 'webhooks:manage' })).token;
      const plain = await withKey.http.post('/api/v1/webhooks', {
        as: { token },
        body: { url: 'http://example.com/x', events: ['*'] },
      });
      expect(plain.body.error.code).toBe('invalid_webhook_url');
      const secure = await withKey.http.post('/api/v1/webhooks', {
        as: { token },
        body: { url: 'https://example.com/x', events: ['*'] },
      });
      expect(secure.status).toBe(201);

      const other = (await createServiceToken(operatorCtx(withoutKey), { name: 'p', scopes: 'webhooks:manage' })).token;
      const refused = await withoutKey.http.post('/api/v1/webhooks', {
        as: { token: other },
        body: { url: 'https://example.com/x', events: ['*'] },
      });
      expect(refused.status).toBe(503);
      expect(refused.body.error.code).toBe('webhooks_not_configured');
    } finally {
      await withKey.close();
      await withoutKey.close();
    }
  });
});

describe('the global audit log', () => {
  it('records creating, rotating and deleting an endpoint with the service token as actor, never a secret', async () => {
    const service = await createServiceToken(operatorCtx(t), { name: 'audited manager', scopes: 'webhooks:manage' });
    const as = { token: service.token };
    const created = await create({ url: 'https://app.example.com/audited', events: ['member.joined'] }, as);
    const id: string = created.body.webhook.id;
    const rotated = await t.http.post(`/api/v1/webhooks/${id}/rotate-secret`, { as, body: { previous_secret_seconds: 60 } });
    expect((await t.http.delete(`/api/v1/webhooks/${id}`, { as })).status).toBe(204);
    const entries = await queryRows<{ actor_label: string; action: string; before: unknown; after: unknown }>(
      t.database.db,
      sql`SELECT actor_label, action, before, after FROM global_audit_log WHERE target_id = ${id} ORDER BY id`,
    );
    expect(entries).toEqual([
      {
        actor_label: `service:${service.record.id}`,
        action: 'webhook.endpoint_created',
        before: null,
        after: { url: 'https://app.example.com/audited', events: ['member.joined'], org_id: null },
      },
      {
        actor_label: `service:${service.record.id}`,
        action: 'webhook.secret_rotated',
        before: null,
        after: {
          url: 'https://app.example.com/audited',
          previous_secret_expires_at: rotated.body.webhook.previous_secret_expires_at,
        },
      },
      {
        actor_label: `service:${service.record.id}`,
        action: 'webhook.endpoint_deleted',
        before: { url: 'https://app.example.com/audited' },
        after: null,
      },
    ]);
    const text = JSON.stringify(entries);
    for (const secret of [created.body.secret, rotated.body.secret, service.token]) {
      expect(text).not.toContain(secret.slice(6, 30));
    }
  });

  it('records nothing for a refused change (an unknown endpoint)', async () => {
    const count = async () =>
      (await queryRows<{ n: number }>(t.database.db, sql`SELECT count(*)::int AS n FROM global_audit_log`))[0]!.n;
    const before = await count();
    const missing = '00000000-0000-4000-8000-000000000000';
    expect((await t.http.delete(`/api/v1/webhooks/${missing}`, { as: manager })).status).toBe(404);
    expect((await t.http.post(`/api/v1/webhooks/${missing}/rotate-secret`, { as: manager })).status).toBe(404);
    expect(await count()).toBe(before);
  });
});
