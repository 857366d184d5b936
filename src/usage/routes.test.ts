import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, TEST_PUBLIC_URL, type TestApp } from '../../test/kit/app.ts';
import type { TestUser } from '../../test/kit/given.ts';
import { queryRows } from '../db/client.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(async () => {
  await t.close();
});

const MID_JANUARY = new Date('2031-01-15T10:00:00.000Z');

function record(member: TestUser, quantity: number, activity = 'api.call') {
  return t.http.post('/api/v1/usage', { as: member, body: { activity, quantity } });
}

/** What the database holds for the member: counter totals of the current period and activity rows. */
async function stored(member: TestUser, day: string, month: string) {
  const [counters] = await queryRows<{ day_used: string | number | null; month_used: string | number | null }>(
    t.database.db,
    sql`SELECT sum(day_used) FILTER (WHERE day = ${day}::date) AS day_used,
               sum(month_used) FILTER (WHERE month = ${month}::date) AS month_used
        FROM usage_counters WHERE user_id = ${member.id}`,
  );
  const [activity] = await queryRows<{ day: string | number | null; month: string | number | null }>(
    t.database.db,
    sql`SELECT sum(quantity) FILTER (WHERE day = ${day}::date) AS day, sum(quantity) AS month
        FROM usage_activity WHERE user_id = ${member.id} AND day >= ${month}::date`,
  );
  return {
    counters: { day: Number(counters?.day_used ?? 0), month: Number(counters?.month_used ?? 0) },
    activity: { day: Number(activity?.day ?? 0), month: Number(activity?.month ?? 0) },
  };
}

/**
 * Retry-After counts from the request's clock, which keeps running after `clock.set` (a busy
 * machine takes seconds to get there): at most `seconds`, and only a few seconds less.
 */
function expectRetryAfter(reply: { headers: Record<string, unknown> }, seconds: number) {
  const value = Number(reply.headers['retry-after']);
  expect(value).toBeLessThanOrEqual(seconds);
  expect(value).toBeGreaterThan(seconds - 10);
}

describe('POST /api/v1/usage', () => {
  it('records usage and answers the day and month totals with the limits', async () => {
    t.clock.set(MID_JANUARY);
    const org = await t.given.org({ members: 1 });
    const [member] = org.members as [TestUser];
    await t.given.usageLimit({ as: org.owner, member, daily: 100, monthly: 1000 });
    expect((await record(member, 3)).body).toEqual({ day: { used: 3, limit: 100 }, month: { used: 3, limit: 1000 } });
    const second = await record(member, 4, 'export.pdf');
    expect(second.status).toBe(201);
    expect(second.body).toEqual({ day: { used: 7, limit: 100 }, month: { used: 7, limit: 1000 } });
    expect(await stored(member, '2031-01-15', '2031-01-01')).toEqual({
      counters: { day: 7, month: 7 },
      activity: { day: 7, month: 7 },
    });
  });

  it('records without limits (null limits) and without a limit row', async () => {
    t.clock.set(MID_JANUARY);
    const org = await t.given.org({ members: 1 });
    const reply = await record(org.members[0]!, 5);
    expect(reply.status).toBe(201);
    expect(reply.body).toEqual({ day: { used: 5, limit: null }, month: { used: 5, limit: null } });
  });

  it('accepts a request that exactly reaches the daily limit, then refuses the next with 429 and Retry-After', async () => {
    t.clock.set(new Date('2031-01-15T23:00:00.000Z'));
    const org = await t.given.org({ members: 1 });
    const member = org.members[0]!;
    await t.given.usageLimit({ as: org.owner, member, daily: 10, monthly: null });
    expect((await record(member, 6)).status).toBe(201);
    const exact = await record(member, 4);
    expect(exact.status).toBe(201);
    expect(exact.body.day).toEqual({ used: 10, limit: 10 });
    const refused = await record(member, 1);
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('usage_limit_exceeded');
    expect(refused.body.error.message).toMatch(/contact your organization administrator/i);
    expectRetryAfter(refused, 3600);
    expect(await stored(member, '2031-01-15', '2031-01-01')).toEqual({
      counters: { day: 10, month: 10 },
      activity: { day: 10, month: 10 },
    });
  });

  it('refuses a request whole when only part of it would fit, and records nothing of it', async () => {
    t.clock.set(MID_JANUARY);
    const org = await t.given.org({ members: 1 });
    const member = org.members[0]!;
    await t.given.usageLimit({ as: org.owner, member, daily: null, monthly: 20 });
    expect((await record(member, 15)).status).toBe(201);
    const before = await stored(member, '2031-01-15', '2031-01-01');
    const refused = await record(member, 6, 'other.activity');
    expect(refused.status).toBe(429);
    expect(refused.body.error.details).toMatchObject({ period: 'month', limit: 20 });
    // Retry after the month resets: 2031-02-01T00:00Z is 16 days and 14 hours away.
    expectRetryAfter(refused, 16 * 86400 + 14 * 3600);
    expect(await stored(member, '2031-01-15', '2031-01-01')).toEqual(before);
    const own = await t.http.get('/api/v1/usage', { as: member });
    expect(own.body.month.by_activity).toEqual({ 'api.call': 15 });
    expect((await record(member, 5)).status).toBe(201);
  });

  it('accepts exactly 25 of 60 concurrent requests against 25 units left, and the counters hold 25', async () => {
    t.clock.set(MID_JANUARY);
    const org = await t.given.org({ members: 1 });
    const member = org.members[0]!;
    await t.given.usageLimit({ as: org.owner, member, daily: 40, monthly: 1000 });
    expect((await record(member, 15)).status).toBe(201);
    const replies = await Promise.all(Array.from({ length: 60 }, () => record(member, 1)));
    const statuses = replies.map((reply) => reply.status);
    expect(statuses.filter((status) => status === 201)).toHaveLength(25);
    expect(statuses.filter((status) => status === 429)).toHaveLength(35);
    expect(await stored(member, '2031-01-15', '2031-01-01')).toEqual({
      counters: { day: 40, month: 40 },
      activity: { day: 40, month: 40 },
    });
  });

  it('starts a new day at UTC midnight and a new month on the first, following the clock', async () => {
    t.clock.set(new Date('2031-01-31T23:59:00.000Z'));
    const org = await t.given.org({ members: 1 });
    const member = org.members[0]!;
    await t.given.usageLimit({ as: org.owner, member, daily: 5, monthly: 8 });
    expect((await record(member, 5)).status).toBe(201);
    expect((await record(member, 1)).status).toBe(429);
    t.clock.set(new Date('2031-02-01T00:00:30.000Z'));
    const nextDay = await record(member, 5);
    expect(nextDay.status).toBe(201);
    expect(nextDay.body).toEqual({ day: { used: 5, limit: 5 }, month: { used: 5, limit: 8 } });
    t.clock.set(new Date('2031-02-02T08:00:00.000Z'));
    expect((await record(member, 3)).body).toEqual({ day: { used: 3, limit: 5 }, month: { used: 8, limit: 8 } });
    const monthFull = await record(member, 1);
    expect(monthFull.status).toBe(429);
    expect(monthFull.body.error.details.period).toBe('month');
  });

  it('rolls the day over within a month: the month keeps counting', async () => {
    t.clock.set(new Date('2031-03-10T22:00:00.000Z'));
    const org = await t.given.org({ members: 1 });
    const member = org.members[0]!;
    await t.given.usageLimit({ as: org.owner, member, daily: 4, monthly: null });
    expect((await record(member, 4)).status).toBe(201);
    t.clock.advance(3 * 3600);
    expect((await record(member, 4)).body).toEqual({ day: { used: 4, limit: 4 }, month: { used: 8, limit: null } });
  });

  it('applies a lowered limit to the very next request', async () => {
    t.clock.set(MID_JANUARY);
    const org = await t.given.org({ members: 1 });
    const member = org.members[0]!;
    await t.given.usageLimit({ as: org.owner, member, daily: 1000, monthly: null });
    expect((await record(member, 10)).status).toBe(201);
    await t.given.usageLimit({ as: org.owner, member, daily: 12, monthly: null });
    expect((await record(member, 3)).status).toBe(429);
    expect((await record(member, 2)).status).toBe(201);
    await t.given.usageLimit({ as: org.owner, member, daily: null, monthly: null });
    expect((await record(member, 500)).status).toBe(201);
  });

  it('rejects invalid activity names and quantities with 400 invalid_request', async () => {
    const org = await t.given.org({ members: 1 });
    const member = org.members[0]!;
    for (const body of [
      { activity: 'Upper', quantity: 1 },
      { activity: '', quantity: 1 },
      { activity: 'x'.repeat(65), quantity: 1 },
      { activity: 'ok', quantity: 0 },
      { activity: 'ok', quantity: 1.5 },
      { activity: 'ok', quantity: 2_000_000_000 },
      { activity: 'ok', quantity: 1, extra: true },
    ]) {
      const reply = await t.http.post('/api/v1/usage', { as: member, body });
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expect(reply.body.error.code).toBe('invalid_request');
    }
  });

  it('answers 401 without a valid token and 403 to a user in no organization', async () => {
    expect((await t.http.post('/api/v1/usage', { body: { activity: 'a', quantity: 1 } })).status).toBe(401);
    const forged = await t.http.post('/api/v1/usage', { as: { token: 'rs_sess_nope' }, body: { activity: 'a', quantity: 1 } });
    expect(forged.body.error.code).toBe('unauthenticated');
    const wrongKind = await t.http.post('/api/v1/usage', { as: { token: 'rs_inv_nope' }, body: { activity: 'a', quantity: 1 } });
    expect(wrongKind.status).toBe(401);
    const loner = await t.given.user();
    const reply = await t.http.post('/api/v1/usage', { as: loner, body: { activity: 'a', quantity: 1 } });
    expect(reply.status).toBe(403);
    expect(reply.body.error.code).toBe('forbidden');
  });

  it('records with an API token and with the session cookie (CSRF rules apply)', async () => {
    t.clock.set(MID_JANUARY);
    const org = await t.given.org();
    const created = await t.http.post('/api/v1/tokens', { as: org.owner, body: { name: 'host app' } });
    const byToken = await record({ ...org.owner, token: created.body.token }, 2);
    expect(byToken.status).toBe(201);
    const cookie = `roster_session=${org.owner.token}`;
    const body = JSON.stringify({ activity: 'a', quantity: 1 });
    const byCookie = await t.app.inject({
      method: 'POST',
      url: '/api/v1/usage',
      headers: { cookie, origin: TEST_PUBLIC_URL, 'content-type': 'application/json' },
      payload: body,
    });
    expect(byCookie.statusCode).toBe(201);
    expect(byCookie.json().day.used).toBe(3);
    const crossSite = await t.app.inject({
      method: 'POST',
      url: '/api/v1/usage',
      headers: { cookie, origin: 'http://evil.test', 'content-type': 'application/json' },
      payload: body,
    });
    expect(crossSite.statusCode).toBe(403);
    expect(crossSite.json().error.code).toBe('csrf_failed');
  });
});

describe('GET /api/v1/usage', () => {
  it("shows the member's own totals today and this month by activity", async () => {
    t.clock.set(new Date('2031-05-02T09:00:00.000Z'));
    const org = await t.given.org({ members: 2 });
    const [member, other] = org.members as [TestUser, TestUser];
    await t.given.usageLimit({ as: org.owner, member, daily: 50, monthly: 500 });
    await record(member, 4, 'api.call');
    await record(other, 9, 'api.call');
    t.clock.set(new Date('2031-05-03T09:00:00.000Z'));
    await record(member, 2, 'api.call');
    await record(member, 1, 'export');
    const reply = await t.http.get('/api/v1/usage', { as: member });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({
      day: { used: 3, limit: 50, by_activity: { 'api.call': 2, export: 1 } },
      month: { used: 7, limit: 500, by_activity: { 'api.call': 6, export: 1 } },
      // The org's allocation, which the other member's usage drew from too (Team: 1,000 a seat, 10 seats).
      allocation: { monthly: 10_000, used: 16, remaining: 9_984 },
    });
  });
});

describe('GET /api/v1/org/usage', () => {
  it('gives admins per-member totals by activity with limits, for the day or the month', async () => {
    t.clock.set(new Date('2031-06-10T09:00:00.000Z'));
    const org = await t.given.org({ admins: 1, members: 1 });
    const member = org.members[0]!;
    await t.given.usageLimit({ as: org.admins[0]!, member, daily: 10, monthly: null });
    await record(member, 3, 'a');
    t.clock.set(new Date('2031-06-11T09:00:00.000Z'));
    await record(member, 2, 'b');
    const month = await t.http.get('/api/v1/org/usage?period=month', { as: org.admins[0]! });
    expect(month.status).toBe(200);
    expect(month.body.start).toBe('2031-06-01T00:00:00.000Z');
    const row = month.body.members.find((entry: any) => entry.user_id === member.id);
    expect(row).toMatchObject({
      email: member.email,
      total: 5,
      by_activity: { a: 3, b: 2 },
      limits: { daily: 10, monthly: null },
    });
    const ownerRow = month.body.members.find((entry: any) => entry.user_id === org.owner.id);
    expect(ownerRow).toMatchObject({ total: 0, by_activity: {}, limits: { daily: null, monthly: null } });
    const day = await t.http.get('/api/v1/org/usage?period=day', { as: org.owner });
    expect(day.body.start).toBe('2031-06-11T00:00:00.000Z');
    expect(day.body.members.find((entry: any) => entry.user_id === member.id)).toMatchObject({ total: 2, by_activity: { b: 2 } });
  });

  it('refuses members with 403 and a bad period with 400', async () => {
    const org = await t.given.org({ members: 1 });
    expect((await t.http.get('/api/v1/org/usage', { as: org.members[0]! })).status).toBe(403);
    expect((await t.http.get('/api/v1/org/usage?period=week', { as: org.owner })).status).toBe(400);
  });
});

describe('PUT /api/v1/org/members/{user_id}/usage-limit', () => {
  it('sets and clears limits, shown on the member and in the org warning count', async () => {
    const org = await t.given.org({ members: 2 });
    const [member] = org.members as [TestUser];
    const before = await t.http.get('/api/v1/org', { as: org.owner });
    expect(before.body.org.members_without_limit).toBe(3);
    const reply = await t.given.usageLimit({ as: org.owner, member, daily: 0, monthly: 100 });
    expect(reply.body.member).toMatchObject({ user_id: member.id, usage_limit: { daily: 0, monthly: 100 } });
    const after = await t.http.get('/api/v1/org', { as: org.owner });
    expect(after.body.org.members_without_limit).toBe(2);
    expect(after.body.members.find((entry: any) => entry.user_id === member.id).usage_limit).toEqual({ daily: 0, monthly: 100 });
    const listed = await t.http.get('/api/v1/org/members', { as: org.owner });
    expect(listed.body.members.find((entry: any) => entry.user_id === org.owner.id).usage_limit).toEqual({
      daily: null,
      monthly: null,
    });
    await t.given.usageLimit({ as: org.owner, member, daily: null, monthly: null });
    expect((await t.http.get('/api/v1/org', { as: org.owner })).body.org.members_without_limit).toBe(3);
  });

  it('refuses negative, fractional and non-numeric limits with 400 invalid_limit', async () => {
    const org = await t.given.org({ members: 1 });
    const member = org.members[0]!;
    for (const body of [
      { daily: -1, monthly: null },
      { daily: null, monthly: 2.5 },
      { daily: 1e300, monthly: null },
    ]) {
      const reply = await t.http.put(`/api/v1/org/members/${member.id}/usage-limit`, { as: org.owner, body });
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expect(reply.body.error.code).toBe('invalid_limit');
    }
    const missing = await t.http.put(`/api/v1/org/members/${member.id}/usage-limit`, { as: org.owner, body: { daily: 1 } });
    expect(missing.body.error.code).toBe('invalid_request');
  });

  it("answers 404 not_a_member for another org's member and for unknown ids, 403 for members", async () => {
    const org = await t.given.org({ members: 1 });
    const other = await t.given.org({ members: 1 });
    for (const id of [other.members[0]!.id, '00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
      const reply = await t.http.put(`/api/v1/org/members/${id}/usage-limit`, { as: org.owner, body: { daily: 1, monthly: 1 } });
      expect(reply.status).toBe(404);
      expect(reply.body.error.code).toBe('not_a_member');
    }
    const asMember = await t.http.put(`/api/v1/org/members/${org.owner.id}/usage-limit`, {
      as: org.members[0]!,
      body: { daily: 1, monthly: 1 },
    });
    expect(asMember.status).toBe(403);
    expect(asMember.body.error.code).toBe('forbidden');
  });
});

describe.each(['1', '3'])('with USAGE_COUNTER_SLICES=%s', (slices) => {
  let small: TestApp;
  beforeAll(async () => {
    small = await startApp({ env: { USAGE_COUNTER_SLICES: slices } });
  });
  afterAll(async () => {
    await small.close();
  });

  it('still accepts exactly 25 of 60 concurrent requests against 25 units left', async () => {
    small.clock.set(MID_JANUARY);
    const org = await small.given.org({ members: 1 });
    const member = org.members[0]!;
    const limit = await small.http.put(`/api/v1/org/members/${member.id}/usage-limit`, {
      as: org.owner,
      body: { daily: null, monthly: 30 },
    });
    expect(limit.status).toBe(200);
    // Creates and shares out the slices first, so the 60 race on the fast path's shares.
    expect((await small.http.post('/api/v1/usage', { as: member, body: { activity: 'a', quantity: 5 } })).status).toBe(201);
    const replies = await Promise.all(
      Array.from({ length: 60 }, () => small.http.post('/api/v1/usage', { as: member, body: { activity: 'a', quantity: 1 } })),
    );
    expect(replies.map((reply) => reply.status).sort()).toEqual([...Array(25).fill(201), ...Array(35).fill(429)]);
    const [row] = await queryRows<{ used: string | number }>(
      small.database.db,
      sql`SELECT sum(month_used) AS used FROM usage_counters WHERE user_id = ${member.id}`,
    );
    expect(Number(row?.used)).toBe(30);
  });
});
