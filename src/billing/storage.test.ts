import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../db/client.ts';
import { startApp, type TestApp } from '../../test/kit/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(async () => {
  await t.close();
});

const GIB = 1024 ** 3;
const reserve = (as: { token: string }, body: Record<string, unknown>) =>
  t.http.post('/api/v1/org/storage/reserve', { as, body });
const usedInDatabase = async (orgId: string) =>
  Number(
    (await queryRows<{ used: string }>(t.database.db, sql`SELECT storage_used_bytes AS used FROM orgs WHERE id = ${orgId}`))[0]!
      .used,
  );

describe('org storage', () => {
  it('shows the pool to any member: 1 GiB per Team seat', async () => {
    const org = await t.given.org({ seats: 3, members: 1 });
    const reply = await t.http.get('/api/v1/org/storage', { as: org.members[0]! });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ storage_used_bytes: 0, storage_limit_bytes: 3 * GIB });
  });

  it('reserves and releases, and refuses past the limit with 413 storage_limit reserving nothing', async () => {
    const org = await t.given.org({ seats: 1, members: 1 });
    const member = org.members[0]!;
    expect((await reserve(member, { bytes: GIB - 10, key: 'upload-1' })).body).toEqual({
      storage_used_bytes: GIB - 10,
      storage_limit_bytes: GIB,
    });
    const over = await reserve(member, { bytes: 11, key: 'upload-2' });
    expect(over.status).toBe(413);
    expect(over.body.error.code).toBe('storage_limit');
    expect(await usedInDatabase(org.id)).toBe(GIB - 10);
    expect((await reserve(member, { bytes: -100, key: 'delete-1' })).body.storage_used_bytes).toBe(GIB - 110);
    // The refused key was not recorded: once space is free, the same key succeeds.
    expect((await reserve(member, { bytes: 11, key: 'upload-2' })).status).toBe(200);
  });

  it('counts a retried key once', async () => {
    const org = await t.given.org({ seats: 2 });
    const replies = await Promise.all(Array.from({ length: 5 }, () => reserve(org.owner, { bytes: 1000, key: 'same-upload' })));
    expect(replies.map((reply) => reply.status)).toEqual([200, 200, 200, 200, 200]);
    expect(await usedInDatabase(org.id)).toBe(1000);
    expect((await reserve(org.owner, { bytes: 1000, key: 'same-upload' })).body.storage_used_bytes).toBe(1000);
  });

  it('refuses a key used before for other bytes with 409 idempotency_key_reused, changing nothing (regression: a silent 200)', async () => {
    const org = await t.given.org({ seats: 2 });
    expect((await reserve(org.owner, { bytes: 1000, key: 'upload-7' })).status).toBe(200);
    const reused = await reserve(org.owner, { bytes: 2500, key: 'upload-7' });
    expect(reused.status).toBe(409);
    expect(reused.body.error).toMatchObject({ code: 'idempotency_key_reused', details: { bytes: 1000 } });
    expect(await usedInDatabase(org.id)).toBe(1000);
    // A release under the upload's key is a new request too, not a retry.
    expect((await reserve(org.owner, { bytes: -1000, key: 'upload-7' })).status).toBe(409);
    expect(await usedInDatabase(org.id)).toBe(1000);
  });

  it('never overshoots under 50 concurrent reservations (checked in the database)', async () => {
    const org = await t.given.org({ seats: 1 });
    const chunk = Math.floor(GIB / 20) + 1; // 19 fit, the 20th does not
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, index) => reserve(org.owner, { bytes: chunk, key: `k-${index}` })),
    );
    const accepted = replies.filter((reply) => reply.status === 200).length;
    expect(accepted).toBe(19);
    expect(replies.filter((reply) => reply.status === 413)).toHaveLength(31);
    expect(await usedInDatabase(org.id)).toBe(19 * chunk);
    const keys = await queryRows<{ n: number }>(
      t.database.db,
      sql`SELECT count(*)::int AS n FROM storage_reservations WHERE org_id = ${org.id}`,
    );
    expect(keys[0]!.n).toBe(19);
  });

  it('is unlimited on Enterprise, and refuses bad bodies and callers outside an org', async () => {
    const org = await t.given.org();
    await t.database.db.execute(sql`UPDATE subscriptions SET plan = 'enterprise' WHERE org_id = ${org.id}`);
    const big = await reserve(org.owner, { bytes: 1000 * GIB, key: 'huge' });
    expect(big.body).toEqual({ storage_used_bytes: 1000 * GIB, storage_limit_bytes: null });
    for (const body of [
      { bytes: 1, key: '' },
      { bytes: 1, key: 'x'.repeat(201) },
      { bytes: 1.5, key: 'a' },
      { bytes: 1 },
      { bytes: 1, key: 'a', other: 'field' },
    ]) {
      expect((await reserve(org.owner, body)).status).toBe(400);
    }
    const outsider = await t.given.user();
    expect((await reserve(outsider, { bytes: 1, key: 'a' })).status).toBe(403);
    // A member may name their own org (a service token must name one: src/auth/service-tokens.test.ts).
    expect((await reserve(org.owner, { bytes: 1, key: 'own-org', org_id: org.id })).body.storage_used_bytes).toBe(1000 * GIB + 1);
  });
});
