import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorCtx, startApp, type TestApp } from '../../test/kit/app.ts';
import { showOrg } from '../admin/service.ts';

// GET /org/usage and `show-org` page an org's members with the keyset cursor of GET /org/members:
// a 100,000-member org is never read whole.
let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(async () => {
  await t.close();
});

/** `count` more members in two set-based statements, each with `index` units of 'api.call' today. */
async function addMembers(orgId: string, count: number, tag: string) {
  await t.database.db.execute(
    sql`WITH created AS (
          INSERT INTO users (email, email_normalized, name, password_hash)
          SELECT ${tag} || '-' || i || '@paging.example.com', ${tag} || '-' || i || '@paging.example.com', 'Member ' || i, 'x'
          FROM generate_series(1, ${count}::int) AS i RETURNING id, email)
        INSERT INTO memberships (org_id, user_id, role, joined_at)
        SELECT ${orgId}::uuid, id, 'member', now() - interval '1 day' + split_part(split_part(email, '-', 2), '@', 1)::int * interval '1 millisecond'
        FROM created`,
  );
  // One org per user: every membership has its user_orgs row (the product writes both).
  await t.database.db.execute(
    sql`INSERT INTO user_orgs (user_id, org_id) SELECT user_id, org_id FROM memberships WHERE org_id = ${orgId}::uuid ON CONFLICT DO NOTHING`,
  );
  await t.database.db.execute(
    sql`INSERT INTO usage_activity (org_id, user_id, day, activity, slice, quantity)
        SELECT m.org_id, m.user_id, (now() AT TIME ZONE 'UTC')::date, 'api.call', 0,
               split_part(split_part(u.email, '-', 2), '@', 1)::int
        FROM memberships m JOIN users u ON u.id = m.user_id
        WHERE m.org_id = ${orgId}::uuid AND u.email LIKE ${`${tag}-%`}`,
  );
}

describe('GET /api/v1/org/usage pages members', () => {
  it('answers at most `limit` members and the cursor walks every member once, with their own totals', async () => {
    const org = await t.given.org();
    await addMembers(org.id, 450, 'walk');
    const seen = new Map<string, number>();
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: Record<string, string> = { period: 'month', limit: '200', ...(cursor ? { cursor } : {}) };
      const reply = await t.http.get('/api/v1/org/usage', { as: org.owner, query });
      expect(reply.status, JSON.stringify(reply.body)).toBe(200);
      expect(reply.body.members.length).toBeLessThanOrEqual(200);
      for (const member of reply.body.members) {
        expect(seen.has(member.user_id)).toBe(false);
        seen.set(member.email, member.total);
      }
      cursor = reply.body.next_cursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen.size).toBe(451);
    expect(seen.get('walk-7@paging.example.com')).toBe(7);
    expect(seen.get('walk-450@paging.example.com')).toBe(450);
    expect(seen.get(org.owner.email)).toBe(0);
  });

  it('answers the first page of 50 by default, and 400 invalid_cursor for a forged cursor', async () => {
    const org = await t.given.org();
    await addMembers(org.id, 60, 'default');
    const first = await t.http.get('/api/v1/org/usage', { as: org.owner });
    expect(first.body.members).toHaveLength(50);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const rest = await t.http.get('/api/v1/org/usage', { as: org.owner, query: { cursor: first.body.next_cursor } });
    expect(rest.body.members).toHaveLength(11);
    expect(rest.body.next_cursor).toBeNull();
    const forged = await t.http.get('/api/v1/org/usage', { as: org.owner, query: { cursor: 'bm90LWEtY3Vyc29y' } });
    expect(forged.status).toBe(400);
    expect(forged.body.error.code).toBe('invalid_cursor');
    expect((await t.http.get('/api/v1/org/usage', { as: org.owner, query: { limit: '201' } })).status).toBe(400);
  });

  it('pages a 100,000-member org: the first page holds `limit` members, a deep page follows its cursor', async () => {
    const org = await t.given.org();
    await addMembers(org.id, 99_999, 'huge');
    const first = await t.http.get('/api/v1/org/usage', { as: org.owner, query: { limit: '200' } });
    expect(first.status).toBe(200);
    expect(first.body.members).toHaveLength(200);
    // Members joined in index order: huge-1, huge-2, …, the owner (joined now) last.
    expect(first.body.members[199].email).toBe('huge-200@paging.example.com');
    const second = await t.http.get('/api/v1/org/usage', {
      as: org.owner,
      query: { limit: '200', cursor: first.body.next_cursor },
    });
    expect(second.body.members.map((member: { total: number }) => member.total)).toEqual(
      Array.from({ length: 200 }, (_, index) => 201 + index),
    );

    // The operator's report: the count of all members, the first page of them.
    const report = await showOrg(operatorCtx(t), { slug: org.slug, limit: 25 });
    expect(report.memberCount).toBe(100_000);
    expect(report.members).toHaveLength(25);
    expect(report.members[0]?.email).toBe('huge-1@paging.example.com');
  }, 300_000);
});
