import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { queryRows } from '../db/client.ts';
import { inviteTestHooks } from './service.ts';
import { startApp, type TestApp } from '../../test/kit/app.ts';
import { uniqueEmail } from '../../test/kit/given.ts';
import { inviteTokenOf } from '../../test/kit/mailbox.ts';

// Concurrent requests through app.inject: on PostgreSQL they run on separate pooled connections
// and really interleave; the invariants are checked in the database afterwards.
let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(async () => {
  inviteTestHooks.beforeWrites = undefined;
  await t.close();
});

async function scalar(query: ReturnType<typeof sql>): Promise<number> {
  const rows = await queryRows<{ value: number }>(t.database.db, query);
  return Number(rows[0]?.value);
}

describe('seat rules under concurrency', () => {
  it('with 5 seats and 1 member, 30 concurrent invitations: exactly 4 succeed, 26 get seat_limit', async () => {
    const org = await t.given.org({ seats: 5 });
    const replies = await Promise.all(
      Array.from({ length: 30 }, () =>
        t.http.post('/api/v1/org/invite', { as: org.owner, body: { email: uniqueEmail('race') } }),
      ),
    );
    const statuses = replies.map((reply) => (reply.status === 201 ? 'created' : reply.body.error.code));
    expect(statuses.filter((status) => status === 'created')).toHaveLength(4);
    expect(statuses.filter((status) => status === 'seat_limit')).toHaveLength(26);
    expect(
      await scalar(sql`SELECT count(*)::int AS value FROM invitations WHERE org_id = ${org.id} AND status = 'pending'`),
    ).toBe(4);
    expect(await scalar(sql`SELECT count(*)::int AS value FROM mail_outbox WHERE org_id = ${org.id}`)).toBe(4);
    const seats = await t.http.get('/api/v1/org', { as: org.owner });
    expect(seats.body.org.seats).toMatchObject({ used: 5, limit: 5 });
  });

  it('a concurrent bulk and single invitations never exceed the seats', async () => {
    const org = await t.given.org({ seats: 6 });
    const [bulk, ...singles] = await Promise.all([
      t.http.post('/api/v1/org/invites/bulk', {
        as: org.owner,
        body: { emails: Array.from({ length: 8 }, () => uniqueEmail('bulk')) },
      }),
      ...Array.from({ length: 8 }, () =>
        t.http.post('/api/v1/org/invite', { as: org.owner, body: { email: uniqueEmail('one') } }),
      ),
    ]);
    const created = bulk!.body.invited + singles.filter((reply) => reply.status === 201).length;
    expect(created).toBe(5);
    expect(
      await scalar(sql`SELECT count(*)::int AS value FROM invitations WHERE org_id = ${org.id} AND status = 'pending'`),
    ).toBe(5);
  });

  it('one invitation accepted by three concurrent requests: one success, one membership', async () => {
    const org = await t.given.org({ seats: 5 });
    const invitee = await t.given.user();
    const created = await t.http.post('/api/v1/org/invite', { as: org.owner, body: { email: invitee.email } });
    const token = inviteTokenOf(created.body.invite.link);
    const replies = await Promise.all(
      Array.from({ length: 3 }, () => t.http.post(`/api/v1/invites/${token}/accept`, { as: invitee })),
    );
    expect(replies.filter((reply) => reply.status === 200)).toHaveLength(1);
    expect(replies.filter((reply) => reply.status !== 200).every((reply) => reply.status === 409 || reply.status === 404)).toBe(
      true,
    );
    expect(await scalar(sql`SELECT count(*)::int AS value FROM memberships WHERE user_id = ${invitee.id}`)).toBe(1);
    expect(
      await scalar(sql`SELECT count(*)::int AS value FROM audit_log WHERE org_id = ${org.id} AND action = 'invite.accepted'`),
    ).toBe(1);
  });

  it('seats lowered under pending invitations, then concurrent accepts: active members never exceed the limit', async () => {
    const org = await t.given.org({ seats: 8 });
    const invitees = await Promise.all(Array.from({ length: 7 }, () => t.given.user()));
    const tokens: string[] = [];
    for (const invitee of invitees) {
      const reply = await t.http.post('/api/v1/org/invite', { as: org.owner, body: { email: invitee.email } });
      tokens.push(inviteTokenOf(reply.body.invite.link));
    }
    // As if support lowered the quantity directly: 1 owner + 7 pending > 4 seats.
    await t.database.db.execute(sql`UPDATE subscriptions SET seats = 4 WHERE org_id = ${org.id} AND status = 'active'`);
    const replies = await Promise.all(
      invitees.map((invitee, index) => t.http.post(`/api/v1/invites/${tokens[index]}/accept`, { as: invitee })),
    );
    expect(replies.filter((reply) => reply.status === 200)).toHaveLength(3);
    expect(replies.filter((reply) => reply.status === 409).every((reply) => reply.body.error.code === 'seat_limit')).toBe(true);
    expect(await scalar(sql`SELECT count(*)::int AS value FROM memberships WHERE org_id = ${org.id}`)).toBe(4);
  });

  it('one user accepting invitations of two orgs at once joins exactly one', async () => {
    const first = await t.given.org();
    const second = await t.given.org();
    const invitee = await t.given.user();
    const tokens = [];
    for (const org of [first, second]) {
      const reply = await t.http.post('/api/v1/org/invite', { as: org.owner, body: { email: invitee.email } });
      tokens.push(inviteTokenOf(reply.body.invite.link));
    }
    const replies = await Promise.all(tokens.map((token) => t.http.post(`/api/v1/invites/${token}/accept`, { as: invitee })));
    expect(replies.map((reply) => reply.status).sort()).toEqual([200, 409]);
    expect(replies.find((reply) => reply.status === 409)?.body.error.code).toBe('already_in_org');
    expect(await scalar(sql`SELECT count(*)::int AS value FROM memberships WHERE user_id = ${invitee.id}`)).toBe(1);
  });

  it('an invitation row lost to a pending one the plan did not see: the whole attempt rolls back and is planned again', async () => {
    // A writer that does not take the org lock (none does today) slips a pending invitation to one
    // of the addresses in between the plan and the writes: the invitations' statement writes one
    // row of two. Nothing of that attempt may stay (no email, entry or event for a row that was
    // not written), and the second attempt, planned again, invites both.
    const org = await t.given.org({ seats: 10 });
    const [first, second] = [uniqueEmail('lost'), uniqueEmail('kept')];
    let calls = 0;
    inviteTestHooks.beforeWrites = async (tx, orgId) => {
      calls += 1;
      if (calls > 1) return;
      await tx.execute(
        sql`INSERT INTO invitations (org_id, email, email_normalized, role, status, token_hash, invited_by, created_at, expires_at)
            VALUES (${orgId}, ${first}, ${first.toLowerCase()}, 'member', 'pending', ${randomBytes(32)}, NULL, now(), now() + interval '1 day')`,
      );
    };
    try {
      const reply = await t.http.post('/api/v1/org/invites/bulk', { as: org.owner, body: { emails: [first, second] } });
      expect(reply.status, JSON.stringify(reply.body)).toBe(200);
      expect(reply.body).toMatchObject({ invited: 2, failed: 0 });
      expect(calls).toBe(2);
      const ids = reply.body.results.map((result: any) => result.invite_id);
      expect(
        await scalar(
          sql`SELECT count(*)::int AS value FROM invitations WHERE org_id = ${org.id} AND id = ANY(${sql.param(ids)}::uuid[])`,
        ),
      ).toBe(2);
      expect(
        await scalar(sql`SELECT count(*)::int AS value FROM invitations WHERE org_id = ${org.id} AND status = 'pending'`),
      ).toBe(2);
      expect(await scalar(sql`SELECT count(*)::int AS value FROM mail_outbox WHERE org_id = ${org.id}`)).toBe(2);
      expect(
        await scalar(sql`SELECT count(*)::int AS value FROM audit_log WHERE org_id = ${org.id} AND action = 'invite.sent'`),
      ).toBe(2);
      expect(
        await scalar(sql`SELECT count(*)::int AS value FROM events WHERE org_id = ${org.id} AND type = 'invite.created'`),
      ).toBe(2);
    } finally {
      inviteTestHooks.beforeWrites = undefined;
    }
  });
});
