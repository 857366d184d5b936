import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorCtx, startApp, type TestApp } from '../../test/kit/app.ts';
import { createServiceToken, listServiceTokens, revokeServiceToken } from '../admin/service.ts';
import { hashToken, redactSecrets } from '../core/tokens.ts';
import { queryRows } from '../db/client.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(async () => {
  await t.close();
});

const refusal = (code: string) => expect.objectContaining({ code });
const NIL = '00000000-0000-4000-8000-000000000000';
const GIB = 1024 ** 3;

async function serviceToken(scopes: string, name = 'host app'): Promise<{ id: string; token: string }> {
  const { token, record } = await createServiceToken(operatorCtx(t), { name, scopes });
  return { id: record.id, token };
}

async function usedInDatabase(orgId: string): Promise<number> {
  const rows = await queryRows<{ used: string }>(
    t.database.db,
    sql`SELECT storage_used_bytes AS used FROM orgs WHERE id = ${orgId}`,
  );
  return Number(rows[0]!.used);
}

describe('service tokens through the operator CLI', () => {
  it('creates (shown once), lists and revokes; the table keeps only the SHA-256', async () => {
    const { token, record } = await createServiceToken(operatorCtx(t), {
      name: ' recount job ',
      scopes: 'storage:write,authz:read',
    });
    expect(token).toMatch(/^rs_svc_[A-Za-z0-9_-]{43}$/);
    expect(record).toMatchObject({ name: 'recount job', scopes: ['storage:write', 'authz:read'], revokedAt: null });

    const listed = await listServiceTokens(operatorCtx(t));
    expect(listed.find((row) => row.id === record.id)).toEqual(record);
    expect(JSON.stringify(listed)).not.toContain(token);

    const [stored] = await queryRows<{ token_hash: Buffer | Uint8Array; row: string }>(
      t.database.db,
      sql`SELECT token_hash, row_to_json(s)::text AS row FROM service_tokens s WHERE id = ${record.id}`,
    );
    expect(Buffer.from(stored!.token_hash).equals(hashToken(token))).toBe(true);
    expect(stored!.row).not.toContain(token);
    expect(stored!.row).not.toContain(token.slice('rs_svc_'.length));

    const revoked = await revokeServiceToken(operatorCtx(t), { id: record.id });
    expect(revoked.changed).toBe(true);
    expect(revoked.record.revokedAt).toBeInstanceOf(Date);
    expect((await revokeServiceToken(operatorCtx(t), { id: record.id })).changed).toBe(false);
    expect((await listServiceTokens(operatorCtx(t))).find((row) => row.id === record.id)?.revokedAt).toBeInstanceOf(Date);
  });

  it('refuses unknown or missing scopes, empty, multi-line or long names, unknown ids and anyone but the operator', async () => {
    await expect(createServiceToken(operatorCtx(t), { name: 'x', scopes: 'storage:write,admin' })).rejects.toEqual(
      refusal('invalid_scopes'),
    );
    await expect(createServiceToken(operatorCtx(t), { name: 'x', scopes: '' })).rejects.toEqual(refusal('invalid_scopes'));
    for (const name of ['  ', 'ci\r\nx-forwarded: evil', 'x'.repeat(101)]) {
      await expect(createServiceToken(operatorCtx(t), { name, scopes: 'storage:write' }), name).rejects.toEqual(
        refusal('invalid_name'),
      );
    }
    await expect(revokeServiceToken(operatorCtx(t), { id: '00000000-0000-4000-8000-000000000000' })).rejects.toEqual(
      refusal('token_not_found'),
    );
    await expect(revokeServiceToken(operatorCtx(t), { id: 'nope' })).rejects.toEqual(refusal('token_not_found'));
    const ctx = { ...operatorCtx(t), actor: { ...operatorCtx(t).actor, via: 'session' as const } };
    await expect(createServiceToken(ctx, { name: 'x', scopes: 'storage:write' })).rejects.toEqual(refusal('forbidden'));
    await expect(listServiceTokens(ctx)).rejects.toEqual(refusal('forbidden'));
  });

  it('records the last use, at most once a minute, and lists it', async () => {
    t.clock.reset();
    const service = await serviceToken('authz:read');
    const lastUsed = async () => (await listServiceTokens(operatorCtx(t))).find((row) => row.id === service.id)?.lastUsedAt;
    expect(await lastUsed()).toBeNull();
    const ask = () => t.http.get(`/api/v1/users/${NIL}/membership`, { as: service });

    expect((await ask()).status).toBe(200);
    const first = await lastUsed();
    expect(first).toBeInstanceOf(Date);
    expect(Math.abs(first!.getTime() - t.clock.now().getTime())).toBeLessThan(5_000);
    // Within the minute: not written again, even by concurrent requests.
    t.clock.advance(30);
    expect((await Promise.all([ask(), ask(), ask()])).map((reply) => reply.status)).toEqual([200, 200, 200]);
    expect(await lastUsed()).toEqual(first);
    t.clock.advance(31);
    await Promise.all([ask(), ask(), ask()]);
    expect((await lastUsed())!.getTime()).toBeGreaterThanOrEqual(first!.getTime() + 60_000);
    // A revoked token is not a use.
    await revokeServiceToken(operatorCtx(t), { id: service.id });
    const before = await lastUsed();
    t.clock.advance(120);
    expect((await ask()).status).toBe(401);
    expect(await lastUsed()).toEqual(before);
    t.clock.reset();
  });

  it('redacts rs_svc_ tokens', () => {
    expect(redactSecrets('Bearer rs_svc_abcDEF123-_x')).toBe('Bearer rs_svc_[redacted]');
  });
});

describe('PUT /org/storage', () => {
  it('sets the total with storage:write and answers used and limit', async () => {
    const org = await t.given.org({ seats: 2 });
    const service = await serviceToken('storage:write');
    const reply = await t.http.put('/api/v1/org/storage', { as: service, body: { org_id: org.id, used_bytes: 5 * GIB } });
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect(reply.body).toEqual({ storage_used_bytes: 5 * GIB, storage_limit_bytes: 2 * GIB });
    expect(await usedInDatabase(org.id)).toBe(5 * GIB);
    const back = await t.http.put('/api/v1/org/storage', { as: service, body: { org_id: org.id, used_bytes: 0 } });
    expect(back.body).toEqual({ storage_used_bytes: 0, storage_limit_bytes: 2 * GIB });
  });

  it("is audited in the org's log with the token as actor, when the total changes", async () => {
    const org = await t.given.org();
    const service = await serviceToken('storage:write');
    const set = (used_bytes: number) => t.http.put('/api/v1/org/storage', { as: service, body: { org_id: org.id, used_bytes } });
    expect((await set(700)).status).toBe(200);
    expect((await set(700)).status).toBe(200); // no change: nothing to audit
    expect((await set(300)).status).toBe(200);
    const audit = await t.http.get('/api/v1/org/audit', { as: org.owner });
    const entries = audit.body.entries.filter((entry: { action: string }) => entry.action === 'storage.recounted');
    expect(entries).toEqual([
      expect.objectContaining({
        actor: null,
        actor_label: `service:${service.id}`,
        target_type: 'org',
        target_id: org.id,
        before: { used_bytes: 700 },
        after: { used_bytes: 300 },
      }),
      expect.objectContaining({ actor_label: `service:${service.id}`, before: { used_bytes: 0 }, after: { used_bytes: 700 } }),
    ]);
  });

  it('refuses a negative or fractional total (400) and an unknown org (404 org_not_found)', async () => {
    const org = await t.given.org();
    const service = await serviceToken('storage:write');
    for (const used_bytes of [-1, 1.5, '10']) {
      const reply = await t.http.put('/api/v1/org/storage', { as: service, body: { org_id: org.id, used_bytes } });
      expect(reply.status).toBe(400);
    }
    for (const org_id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
      const reply = await t.http.put('/api/v1/org/storage', { as: service, body: { org_id, used_bytes: 1 } });
      expect(reply.status).toBe(404);
      expect(reply.body.error.code).toBe('org_not_found');
    }
  });

  it('is refused without the scope (403), to members and owners (403), and with a revoked token (401)', async () => {
    const org = await t.given.org({ members: 1 });
    const body = { org_id: org.id, used_bytes: 100 };
    const other = await serviceToken('usage:write,authz:read,webhooks:manage');
    const noScope = await t.http.put('/api/v1/org/storage', { as: other, body });
    expect([noScope.status, noScope.body.error.code]).toEqual([403, 'forbidden']);
    for (const member of [org.owner, org.members[0]!]) {
      const reply = await t.http.put('/api/v1/org/storage', { as: member, body });
      expect([reply.status, reply.body.error.code]).toEqual([403, 'forbidden']);
      // No role may, so the message must not send an owner to "an admin" (regression).
      expect(reply.body.error.message).toBe(
        'Only the host app, with a service token that has the scope "storage:write", can do this.',
      );
    }
    const revoked = await serviceToken('storage:write');
    await revokeServiceToken(operatorCtx(t), { id: revoked.id });
    const reply = await t.http.put('/api/v1/org/storage', { as: revoked, body });
    expect([reply.status, reply.body.error.code]).toEqual([401, 'unauthenticated']);
    expect(await usedInDatabase(org.id)).toBe(0);
  });
});

describe('POST /org/storage/reserve with a service token', () => {
  it('reserves in the org it names, once per key, within the limit', async () => {
    const org = await t.given.org({ seats: 1 });
    const service = await serviceToken('storage:write');
    const reserve = (body: Record<string, unknown>) => t.http.post('/api/v1/org/storage/reserve', { as: service, body });
    expect((await reserve({ org_id: org.id, bytes: 1000, key: 'k1' })).body).toEqual({
      storage_used_bytes: 1000,
      storage_limit_bytes: GIB,
    });
    expect((await reserve({ org_id: org.id, bytes: 1000, key: 'k1' })).body.storage_used_bytes).toBe(1000);
    const over = await reserve({ org_id: org.id, bytes: GIB, key: 'k2' });
    expect([over.status, over.body.error.code]).toEqual([413, 'storage_limit']);
    const missing = await reserve({ bytes: 1, key: 'k3' });
    expect(missing.status).toBe(400);
    const unknown = await reserve({ org_id: '00000000-0000-4000-8000-000000000000', bytes: 1, key: 'k4' });
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'org_not_found']);
    expect(await usedInDatabase(org.id)).toBe(1000);
  });

  it("lets a member name their own org, answers 404 for another org's id, and refuses a token without the scope", async () => {
    const org = await t.given.org({ members: 1 });
    const elsewhere = await t.given.org();
    const member = org.members[0]!;
    const own = await t.http.post('/api/v1/org/storage/reserve', { as: member, body: { org_id: org.id, bytes: 7, key: 'a' } });
    expect(own.body.storage_used_bytes).toBe(7);
    const other = await t.http.post('/api/v1/org/storage/reserve', {
      as: member,
      body: { org_id: elsewhere.id, bytes: 7, key: 'b' },
    });
    expect([other.status, other.body.error.code]).toEqual([404, 'org_not_found']);
    expect(await usedInDatabase(elsewhere.id)).toBe(0);
    const noScope = await serviceToken('usage:write');
    const refused = await t.http.post('/api/v1/org/storage/reserve', {
      as: noScope,
      body: { org_id: org.id, bytes: 1, key: 'c' },
    });
    expect([refused.status, refused.body.error.code]).toEqual([403, 'forbidden']);
  });
});

describe('a service token anywhere else', () => {
  const routes: [method: 'get' | 'post' | 'put' | 'patch' | 'delete', path: string, body?: unknown][] = [
    ['get', '/api/v1/me'],
    ['get', '/api/v1/org'],
    ['post', '/api/v1/org', { name: 'Service org', slug: 'service-org' }],
    ['get', '/api/v1/org/members'],
    ['put', '/api/v1/org/members/00000000-0000-4000-8000-000000000000/role', { role: 'admin' }],
    ['post', '/api/v1/org/invite', { email: 'x@example.com', role: 'member' }],
    ['get', '/api/v1/org/invites'],
    ['get', '/api/v1/org/usage'],
    ['get', '/api/v1/org/billing'],
    ['post', '/api/v1/billing/checkout', { plan: 'team', seats: 5, scope: 'personal' }],
    ['get', '/api/v1/org/storage'],
    ['get', '/api/v1/org/audit'],
    ['get', '/api/v1/org/projects'],
    ['get', '/api/v1/tokens'],
  ];

  it('is refused (403 forbidden) on every route its scopes do not name, even with every scope', async () => {
    await t.given.org();
    const service = await serviceToken('usage:write,authz:read,storage:write,webhooks:manage');
    for (const [method, path, body] of routes) {
      const reply = await t.http[method](path, { as: service, body });
      expect([method, path, reply.status, reply.body.error?.code]).toEqual([method, path, 403, 'forbidden']);
    }
  });

  it('answers 401 once revoked, and is never accepted from the session cookie', async () => {
    const service = await serviceToken('storage:write');
    await revokeServiceToken(operatorCtx(t), { id: service.id });
    for (const [method, path, body] of routes) {
      const reply = await t.http[method](path, { as: service, body });
      expect([method, path, reply.status]).toEqual([method, path, 401]);
    }
    const live = await serviceToken('storage:write');
    const org = await t.given.org();
    const viaCookie = await t.http.put('/api/v1/org/storage', {
      headers: { cookie: `roster_session=${live.token}`, origin: 'http://roster.test' },
      body: { org_id: org.id, used_bytes: 1 },
    });
    expect(viaCookie.status).toBe(401);
  });

  it('is not accepted as another kind of token, nor another kind as a service token', async () => {
    const service = await serviceToken('storage:write');
    const org = await t.given.org();
    const suffix = service.token.slice('rs_svc_'.length);
    for (const prefix of ['rs_api_', 'rs_sess_']) {
      expect((await t.http.get('/api/v1/me', { as: { token: prefix + suffix } })).status).toBe(401);
    }
    const session = org.owner.token.slice('rs_sess_'.length);
    const asService = await t.http.put('/api/v1/org/storage', {
      as: { token: `rs_svc_${session}` },
      body: { org_id: org.id, used_bytes: 1 },
    });
    expect(asService.status).toBe(401);
  });
});
