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

describe('organization invariants under concurrent requests', () => {
  it('six users racing for one slug: one 201, five 409 slug_taken', async () => {
    const users = await Promise.all(Array.from({ length: 6 }, () => t.given.subscribedUser()));
    const replies = await Promise.all(
      users.map((user) => t.http.post('/api/v1/org', { as: user, body: { name: 'Race', slug: 'race-slug' } })),
    );
    expect(replies.map((reply) => reply.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    expect(replies.filter((reply) => reply.status === 409).every((reply) => reply.body.error.code === 'slug_taken')).toBe(true);
    const orgs = await queryRows<{ count: number }>(t.database.db, sql`SELECT count(*)::int AS count FROM orgs WHERE slug = 'race-slug'`);
    expect(orgs[0]?.count).toBe(1);
    // The five losers keep their personal subscriptions and are in no org.
    const members = await queryRows<{ count: number }>(
      t.database.db,
      sql`SELECT count(*)::int AS count FROM memberships WHERE user_id IN (${sql.join(users.map((user) => sql`${user.id}::uuid`), sql`, `)})`,
    );
    expect(members[0]?.count).toBe(1);
  });

  it('one user sending five concurrent creates: exactly one org and one owner', async () => {
    const user = await t.given.subscribedUser();
    const replies = await Promise.all(
      Array.from({ length: 5 }, (_, index) =>
        t.http.post('/api/v1/org', { as: user, body: { name: 'Five', slug: `five-${index}-${user.id.slice(0, 8)}` } }),
      ),
    );
    expect(replies.filter((reply) => reply.status === 201)).toHaveLength(1);
    expect(replies.filter((reply) => reply.status !== 201).every((reply) => reply.body.error.code === 'already_in_org')).toBe(true);
    const rows = await queryRows<{ orgs: number; owners: number }>(
      t.database.db,
      sql`SELECT count(DISTINCT m.org_id)::int AS orgs, count(*) FILTER (WHERE m.role = 'owner')::int AS owners
          FROM memberships m WHERE m.user_id = ${user.id}`,
    );
    expect(rows[0]).toEqual({ orgs: 1, owners: 1 });
    const stray = await queryRows<{ count: number }>(
      t.database.db,
      sql`SELECT count(*)::int AS count FROM orgs WHERE slug LIKE ${`five-%-${user.id.slice(0, 8)}`}`,
    );
    expect(stray[0]?.count).toBe(1);
  });

  it('two concurrent ownership transfers to different admins: exactly one owner, the old owner an admin', async () => {
    for (let round = 0; round < 3; round += 1) {
      const org = await t.given.org({ admins: 2 });
      const [first, second] = org.admins;
      const replies = await Promise.all([
        t.http.post('/api/v1/org/transfer-ownership', { as: org.owner, body: { user_id: first!.id } }),
        t.http.post('/api/v1/org/transfer-ownership', { as: org.owner, body: { user_id: second!.id } }),
      ]);
      expect(replies.map((reply) => reply.status).sort()).toEqual([200, 403]);
      const roles = await queryRows<{ user_id: string; role: string }>(
        t.database.db,
        sql`SELECT user_id, role FROM memberships WHERE org_id = ${org.id}`,
      );
      expect(roles.filter((row) => row.role === 'owner')).toHaveLength(1);
      expect(roles.find((row) => row.user_id === org.owner.id)?.role).toBe('admin');
    }
  });

  it('concurrent demotions of each other by two admins never leave the org without an admin or owner', async () => {
    const org = await t.given.org({ admins: 2 });
    const [first, second] = org.admins;
    await Promise.all([
      t.http.put(`/api/v1/org/members/${second!.id}/role`, { as: first!, body: { role: 'member' } }),
      t.http.put(`/api/v1/org/members/${first!.id}/role`, { as: second!, body: { role: 'member' } }),
    ]);
    const rows = await queryRows<{ count: number }>(
      t.database.db,
      sql`SELECT count(*)::int AS count FROM memberships WHERE org_id = ${org.id} AND role IN ('owner', 'admin')`,
    );
    // Under the org lock the second demotion sees its actor already demoted: at most one goes through.
    expect(rows[0]!.count).toBeGreaterThanOrEqual(2);
  });
});
