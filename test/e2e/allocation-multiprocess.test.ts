import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD } from '../kit/given.ts';
import { createScratchDatabase, serverPostgresUrl, type ScratchDatabase } from '../kit/postgres.ts';
import { callServer as call, startServerProcess, type ServerProcess } from '../kit/server.ts';

/**
 * The organization allocation holds across server processes: concurrent usage requests of several
 * members, spread over two processes of one PostgreSQL, never take the org over its allocation,
 * and each warning is queued once. Runs in CI (on the suite's PostgreSQL, or the CI service's
 * default address); elsewhere only with TEST_DATABASE_URL.
 */
const serverUrl = serverPostgresUrl();
const PUBLIC_URL = 'http://roster.test';

describe.skipIf(!serverUrl)('organization allocation across server processes (PostgreSQL)', () => {
  let scratch: ScratchDatabase;
  let name = '';
  let databaseUrl: string;
  let first: ServerProcess | undefined;
  let second: ServerProcess | undefined;

  beforeAll(async () => {
    scratch = await createScratchDatabase(serverUrl!, 'roster_e2e_alloc');
    name = scratch.name;
    databaseUrl = scratch.url;
    // 5 Team seats × 10 credits: an allocation of 50 per month.
    const env = { DATABASE_URL: databaseUrl, PUBLIC_URL, TEAM_CREDITS_PER_SEAT: '10' };
    [first, second] = await Promise.all([startServerProcess({ env }), startServerProcess({ env })]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([first?.stop(), second?.stop()]);
    await scratch?.drop();
  });

  it('120 concurrent requests of 4 members on 2 processes against 50 credits: exactly 50 recorded', async () => {
    const a = first!;
    const b = second!;
    const signup = async (email: string) =>
      (await call(a, 'POST', '/api/v1/auth/signup', { body: { email, password: PASSWORD, name: email.split('@')[0] } })).body;
    const owner = await signup(`owner-${name}@example.com`);
    const checkout = { plan: 'team', seats: 5, scope: 'personal' };
    expect((await call(a, 'POST', '/api/v1/billing/checkout', { token: owner.token, body: checkout })).status).toBe(200);
    const slug = `a-${name.slice(-8)}`;
    expect((await call(a, 'POST', '/api/v1/org', { token: owner.token, body: { name: 'Credits', slug } })).status).toBe(201);
    const orgId = (await call(a, 'GET', '/api/v1/org', { token: owner.token })).body.org.id;
    const members = [owner];
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      for (const index of [1, 2, 3]) {
        const member = await signup(`member${index}-${name}@example.com`);
        // Test-only shortcut: in the product members join by invitation.
        await db.query(`INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, 'member')`, [orgId, member.user.id]);
        await db.query(`INSERT INTO user_orgs (user_id, org_id) VALUES ($1, $2)`, [member.user.id, orgId]);
        members.push(member);
      }

      const replies = await Promise.all(
        Array.from({ length: 120 }, (_, index) =>
          call(index % 2 ? a : b, 'POST', '/api/v1/usage', {
            token: members[index % members.length].token,
            body: { activity: 'api.call', quantity: 1 },
          }),
        ),
      );
      expect(replies.filter((reply) => reply.status === 201)).toHaveLength(50);
      const refused = replies.filter((reply) => reply.status !== 201);
      expect(refused).toHaveLength(70);
      for (const reply of refused) {
        expect(reply.body.error.code).toBe('org_allocation_exhausted');
        expect(Number(reply.headers.get('retry-after'))).toBeGreaterThan(0);
      }

      const stored = await db.query(
        `SELECT (SELECT sum(used) FROM org_usage WHERE org_id = $1)::int AS org_usage,
                (SELECT sum(quantity) FROM usage_activity WHERE org_id = $1)::int AS activity`,
        [orgId],
      );
      expect(stored.rows[0]).toEqual({ org_usage: 50, activity: 50 });
      const mails = await db.query(
        `SELECT kind, count(*)::int AS count FROM mail_outbox WHERE org_id = $1 AND kind LIKE 'allocation_%' GROUP BY kind ORDER BY kind`,
        [orgId],
      );
      expect(mails.rows).toEqual([
        { kind: 'allocation_exhausted', count: 1 },
        { kind: 'allocation_low', count: 1 },
      ]);
      const billing = await call(b, 'GET', '/api/v1/org/billing', { token: owner.token });
      expect(billing.body.allocation).toEqual({ monthly: 50, used: 50, remaining: 0 });
    } finally {
      await db.end();
    }
  });
});
