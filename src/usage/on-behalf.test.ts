import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorCtx, startApp, TEST_PUBLIC_URL, type TestApp } from '../../test/kit/app.ts';
import type { TestOrg, TestUser } from '../../test/kit/given.ts';
import { createServiceToken, listServiceTokens, revokeServiceToken, setAllocation, setPlan } from '../admin/service.ts';
import { queryRows } from '../db/client.ts';
import { eventsOfOrg } from '../events/queries.ts';
import { periodsAt } from '../core/periods.ts';

let t: TestApp;
let service: { id: string; token: string };
beforeAll(async () => {
  t = await startApp();
  service = await serviceToken('usage:write');
});
afterAll(async () => {
  await t.close();
});

const MID_MARCH = new Date('2032-03-15T10:00:00.000Z');

async function serviceToken(scopes: string): Promise<{ id: string; token: string }> {
  const { token, record } = await createServiceToken(operatorCtx(t), { name: 'host app', scopes });
  return { id: record.id, token };
}

function onBehalf(
  member: { id: string },
  quantity: number,
  options: { key?: string; activity?: string; as?: { token: string } } = {},
) {
  return t.http.post('/api/v1/usage', {
    as: options.as ?? service,
    body: { user_id: member.id, activity: options.activity ?? 'api.call', quantity, key: options.key },
  });
}

function own(member: TestUser, quantity: number, options: { key?: string; activity?: string } = {}) {
  return t.http.post('/api/v1/usage', {
    as: member,
    body: { activity: options.activity ?? 'api.call', quantity, key: options.key },
  });
}

/** The member's recorded usage this month: counters and activity rows must agree. */
async function storedOf(member: { id: string }) {
  const month = periodsAt(t.clock.now()).month;
  const [row] = await queryRows<{ counters: string | number; activity: string | number; keys: string | number }>(
    t.database.db,
    sql`SELECT (SELECT coalesce(sum(month_used), 0) FROM usage_counters WHERE user_id = ${member.id} AND month = ${month}::date) AS counters,
               (SELECT coalesce(sum(quantity), 0) FROM usage_activity WHERE user_id = ${member.id} AND day >= ${month}::date) AS activity,
               (SELECT count(*) FROM usage_keys WHERE user_id = ${member.id}) AS keys`,
  );
  const counters = Number(row?.counters ?? 0);
  expect(Number(row?.activity ?? 0)).toBe(counters);
  return { month: counters, keys: Number(row?.keys ?? 0) };
}

async function limitEvents(org: TestOrg) {
  return (await eventsOfOrg(t.database.db, org.id)).filter((event) => event.type === 'usage.limit_exceeded');
}

describe('POST /api/v1/usage on behalf of a member (service token, usage:write)', () => {
  it('records for user_id with the same receipt, limits and totals as the member’s own request', async () => {
    t.clock.set(MID_MARCH);
    const org = await t.given.org({ members: 1 });
    const member = org.members[0]!;
    await t.given.usageLimit({ as: org.owner, member, daily: 100, monthly: 1000 });
    const reply = await onBehalf(member, 7, { activity: 'export.pdf' });
    expect([reply.status, reply.body]).toEqual([201, { day: { used: 7, limit: 100 }, month: { used: 7, limit: 1000 } }]);
    const mine = await own(member, 3);
    expect(mine.body).toEqual({ day: { used: 10, limit: 100 }, month: { used: 10, limit: 1000 } });
    const read = await t.http.get('/api/v1/usage', { as: member });
    expect(read.body.month.by_activity).toEqual({ 'api.call': 3, 'export.pdf': 7 });
    expect(await storedOf(member)).toEqual({ month: 10, keys: 0 });
  });

  it('refuses what the caller may not do, and records nothing', async () => {
    t.clock.set(MID_MARCH);
    const org = await t.given.org({ members: 2 });
    const [member, other] = org.members as [TestUser, TestUser];
    const cases: [label: string, reply: Promise<{ status: number; body: any }>, status: number, code: string][] = [
      ['no usage:write scope', onBehalf(member, 1, { as: await serviceToken('authz:read,storage:write') }), 403, 'forbidden'],
      [
        'service token without user_id',
        t.http.post('/api/v1/usage', { as: service, body: { activity: 'api.call', quantity: 1 } }),
        400,
        'invalid_request',
      ],
      ['unknown user', onBehalf({ id: randomUUID() }, 1), 404, 'not_a_member'],
      ['user in no org', onBehalf(await t.given.user(), 1), 404, 'not_a_member'],
      ['malformed user id', onBehalf({ id: 'not-a-uuid' }, 1), 400, 'invalid_request'],
      [
        "a member's own token naming another member",
        t.http.post('/api/v1/usage', { as: member, body: { user_id: other.id, activity: 'api.call', quantity: 1 } }),
        400,
        'invalid_request',
      ],
      [
        "a member's own token naming themselves",
        t.http.post('/api/v1/usage', { as: member, body: { user_id: member.id, activity: 'api.call', quantity: 1 } }),
        400,
        'invalid_request',
      ],
      ['empty key', onBehalf(member, 1, { key: '' }), 400, 'invalid_request'],
      ['key over 200 characters', onBehalf(member, 1, { key: 'k'.repeat(201) }), 400, 'invalid_request'],
    ];
    for (const [label, pending, status, code] of cases) {
      const reply = await pending;
      expect([label, reply.status, reply.body.error?.code]).toEqual([label, status, code]);
    }
    expect(await storedOf(member)).toEqual({ month: 0, keys: 0 });
    expect(await storedOf(other)).toEqual({ month: 0, keys: 0 });
  });

  it('answers 403 user_disabled for a disabled member (keyed or not), and 401 once the token is revoked', async () => {
    t.clock.set(MID_MARCH);
    const org = await t.given.org({ members: 1 });
    const member = org.members[0]!;
    expect((await t.http.post(`/api/v1/org/members/${member.id}/disable`, { as: org.owner })).status).toBe(200);
    for (const reply of [await onBehalf(member, 1), await onBehalf(member, 1, { key: 'k1' })]) {
      expect([reply.status, reply.body.error.code]).toEqual([403, 'user_disabled']);
    }
    expect(await storedOf(member)).toEqual({ month: 0, keys: 0 });
    const revoked = await serviceToken('usage:write');
    await revokeServiceToken(operatorCtx(t), { id: revoked.id });
    expect((await onBehalf(org.owner, 1, { as: revoked })).status).toBe(401);
    expect(await storedOf(org.owner)).toEqual({ month: 0, keys: 0 });
  });

  it('answers a keyed retry recorded before its member was disabled with that receipt (regression: 403 user_disabled said it was not recorded)', async () => {
    t.clock.set(MID_MARCH);
    const org = await t.given.org({ members: 2 });
    const [member, other] = [org.members[0]!, org.members[1]!];
    const first = await onBehalf(member, 3, { key: 'retry-1' });
    expect(first.status).toBe(201);
    for (const disabled of [member, other]) {
      expect((await t.http.post(`/api/v1/org/members/${disabled.id}/disable`, { as: org.owner })).status).toBe(200);
    }
    t.clock.set(new Date(MID_MARCH.getTime() + 3_600_000));

    const retry = await onBehalf(member, 3, { key: 'retry-1' });
    expect([retry.status, retry.body]).toEqual([201, first.body]);
    const reused = await onBehalf(member, 4, { key: 'retry-1' });
    expect([reused.status, reused.body.error.code]).toEqual([409, 'idempotency_key_reused']);
    for (const refused of [await onBehalf(member, 3, { key: 'retry-2' }), await onBehalf(other, 3, { key: 'retry-1' })]) {
      expect([refused.status, refused.body.error.code]).toEqual([403, 'user_disabled']);
    }
    // Keys are answered for a day into the next month, as the batch answers them; then they are new.
    t.clock.set(new Date('2032-04-02T10:00:00.000Z'));
    const late = await onBehalf(member, 3, { key: 'retry-1' });
    expect([late.status, late.body.error.code]).toEqual([403, 'user_disabled']);
    t.clock.set(MID_MARCH);
    expect(await storedOf(member)).toEqual({ month: 3, keys: 1 });
    expect(await storedOf(other)).toEqual({ month: 0, keys: 0 });
  });

  it('never accepts a service token from the session cookie (401), and records nothing', async () => {
    t.clock.set(MID_MARCH);
    const org = await t.given.org({ members: 1 });
    const member = org.members[0]!;
    const viaCookie = await t.http.post('/api/v1/usage', {
      headers: { cookie: `roster_session=${service.token}`, origin: TEST_PUBLIC_URL, 'content-type': 'application/json' },
      body: { user_id: member.id, activity: 'api.call', quantity: 1 },
    });
    expect([viaCookie.status, viaCookie.body.error.code]).toEqual([401, 'unauthenticated']);
    expect(await storedOf(member)).toEqual({ month: 0, keys: 0 });
  });

  it("records the token's last use at most once a minute (the batch checks the token), and not a revoked token's", async () => {
    t.clock.set(MID_MARCH);
    const org = await t.given.org({ members: 1 });
    const member = org.members[0]!;
    const host = await serviceToken('usage:write');
    const lastUsed = async () => (await listServiceTokens(operatorCtx(t))).find((row) => row.id === host.id)?.lastUsedAt;
    expect(await lastUsed()).toBeNull();
    expect((await onBehalf(member, 1, { as: host })).status).toBe(201);
    const first = (await lastUsed())!;
    expect(Math.abs(first.getTime() - t.clock.now().getTime())).toBeLessThan(5_000);
    // Within the minute: not written again, even by concurrent requests (one batch or several).
    t.clock.advance(30);
    const replies = await Promise.all([1, 2, 3, 4].map(() => onBehalf(member, 1, { as: host })));
    expect(replies.map((reply) => reply.status)).toEqual([201, 201, 201, 201]);
    expect(await lastUsed()).toEqual(first);
    t.clock.advance(31);
    expect((await onBehalf(member, 1, { as: host })).status).toBe(201);
    const second = (await lastUsed())!;
    expect(second.getTime()).toBeGreaterThanOrEqual(first.getTime() + 60_000);
    // A refusal of the member's (here: the member is disabled) is still a use of the token.
    t.clock.advance(61);
    expect((await t.http.post(`/api/v1/org/members/${member.id}/disable`, { as: org.owner })).status).toBe(200);
    expect((await onBehalf(member, 1, { as: host })).status).toBe(403);
    expect((await lastUsed())!.getTime()).toBeGreaterThanOrEqual(second.getTime() + 60_000);
    // A revoked token is not a use.
    await revokeServiceToken(operatorCtx(t), { id: host.id });
    const before = await lastUsed();
    t.clock.advance(120);
    expect((await onBehalf(member, 1, { as: host })).status).toBe(401);
    expect(await lastUsed()).toEqual(before);
    expect(await storedOf(member)).toEqual({ month: 6, keys: 0 });
  });

  it('passes on the 429s: the member limit and the org allocation, with Retry-After', async () => {
    t.clock.set(new Date('2032-03-15T23:00:00.000Z'));
    const org = await t.given.org({ members: 1 });
    const member = org.members[0]!;
    await t.given.usageLimit({ as: org.owner, member, daily: 5, monthly: null });
    expect((await onBehalf(member, 5)).status).toBe(201);
    const over = await onBehalf(member, 1);
    expect([over.status, over.body.error.code]).toEqual([429, 'usage_limit_exceeded']);
    // Seconds until midnight from the request's clock, which runs on after clock.set.
    expect(Number(over.headers['retry-after'])).toBeLessThanOrEqual(3600);
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(3590);

    await setPlan(operatorCtx(t, 'ops'), { slug: org.slug, plan: 'enterprise', seats: 25 });
    await setAllocation(operatorCtx(t, 'ops'), { slug: org.slug, monthly: '8' });
    expect((await onBehalf(org.owner, 3)).status).toBe(201);
    for (const key of [undefined, 'alloc-1']) {
      const exhausted = await onBehalf(org.owner, 1, { key });
      expect([exhausted.status, exhausted.body.error.code]).toEqual([429, 'org_allocation_exhausted']);
      expect(Number(exhausted.headers['retry-after'])).toBeGreaterThan(3600);
    }
    expect(await storedOf(org.owner)).toEqual({ month: 3, keys: 0 });
  });

  it('racing the member’s own requests against one limit never overshoots (checked in the database)', async () => {
    t.clock.set(MID_MARCH);
    const org = await t.given.org({ members: 1 });
    const member = org.members[0]!;
    await t.given.usageLimit({ as: org.owner, member, daily: 40, monthly: null });
    const replies = await Promise.all(
      Array.from({ length: 90 }, (_, index) =>
        index % 3 === 0 ? own(member, 1) : index % 3 === 1 ? onBehalf(member, 1) : onBehalf(member, 1, { key: `race-${index}` }),
      ),
    );
    const statuses = replies.map((reply) => reply.status);
    expect(statuses.filter((status) => status === 201)).toHaveLength(40);
    expect(statuses.filter((status) => status === 429)).toHaveLength(50);
    expect(
      replies.filter((reply) => reply.status === 429).every((reply) => reply.body.error.code === 'usage_limit_exceeded'),
    ).toBe(true);
    const stored = await storedOf(member);
    expect(stored.month).toBe(40);
    // Only the keyed requests that recorded keep their key.
    const keyedAccepted = replies.filter((reply, index) => index % 3 === 2 && reply.status === 201).length;
    expect(stored.keys).toBe(keyedAccepted);
  });
});

describe('the idempotency key', () => {
  it('counts a retried request once and answers the first receipt; another activity or quantity is 409', async () => {
    t.clock.set(MID_MARCH);
    const org = await t.given.org({ members: 1 });
    const member = org.members[0]!;
    await t.given.usageLimit({ as: org.owner, member, daily: null, monthly: 100 });
    const first = await onBehalf(member, 4, { key: 'job-1' });
    expect([first.status, first.body]).toEqual([201, { day: { used: 4, limit: null }, month: { used: 4, limit: 100 } }]);
    expect((await onBehalf(member, 2)).status).toBe(201);
    const retry = await onBehalf(member, 4, { key: 'job-1' });
    expect([retry.status, retry.body]).toEqual([201, first.body]);
    expect(await storedOf(member)).toEqual({ month: 6, keys: 1 });

    for (const changed of [onBehalf(member, 5, { key: 'job-1' }), onBehalf(member, 4, { key: 'job-1', activity: 'other' })]) {
      const reply = await changed;
      expect([reply.status, reply.body.error.code]).toEqual([409, 'idempotency_key_reused']);
    }
    // The key belongs to the member: another member's key of the same name counts on its own.
    expect((await onBehalf(org.owner, 4, { key: 'job-1' })).status).toBe(201);
    // A member's own request may carry a key too, in the same key space as the service's.
    const mine = await own(member, 4, { key: 'job-1' });
    expect([mine.status, mine.body]).toEqual([201, first.body]);
    expect((await own(member, 1, { key: 'mine-1' })).body.month.used).toBe(7);
    expect((await own(member, 1, { key: 'mine-1' })).body.month.used).toBe(7);
    expect(await storedOf(member)).toEqual({ month: 7, keys: 2 });
  });

  it('the same key fired 10 times at once counts once, and every reply is the same receipt', async () => {
    t.clock.set(MID_MARCH);
    const org = await t.given.org({ members: 1 });
    const member = org.members[0]!;
    const replies = await Promise.all(Array.from({ length: 10 }, () => onBehalf(member, 3, { key: 'burst' })));
    expect(replies.map((reply) => reply.status)).toEqual(Array(10).fill(201));
    for (const reply of replies) expect(reply.body).toEqual({ day: { used: 3, limit: null }, month: { used: 3, limit: null } });
    expect(await storedOf(member)).toEqual({ month: 3, keys: 1 });
  });

  it('a refused request keeps no key (a retry may succeed later); a key counts for its UTC month, and at least a day', async () => {
    t.clock.set(new Date('2032-03-31T12:00:00.000Z'));
    const org = await t.given.org({ members: 1 });
    const member = org.members[0]!;
    await t.given.usageLimit({ as: org.owner, member, daily: 2, monthly: null });
    expect((await onBehalf(member, 3, { key: 'big' })).status).toBe(429);
    expect(await storedOf(member)).toEqual({ month: 0, keys: 0 });
    await t.given.usageLimit({ as: org.owner, member, daily: 5, monthly: null });
    expect((await onBehalf(member, 3, { key: 'big' })).status).toBe(201);
    expect((await onBehalf(member, 3, { key: 'big' })).body.day.used).toBe(3);
    // Within a day of it, a retry after the month turned still finds the key (batch.test.ts); a
    // day on, in the next month, the key is new again and the member's keys of March are dropped.
    t.clock.set(new Date('2032-04-01T12:30:00.000Z'));
    expect((await onBehalf(member, 3, { key: 'big' })).body).toEqual({
      day: { used: 3, limit: 5 },
      month: { used: 3, limit: null },
    });
    expect((await onBehalf(member, 3, { key: 'big' })).body.month.used).toBe(3);
    expect(await storedOf(member)).toEqual({ month: 3, keys: 1 });
  });
});

describe('the event usage.limit_exceeded', () => {
  it('is written once per member and exceeded period, with no audit entry, whoever sent the refused requests', async () => {
    t.clock.set(new Date('2032-03-15T20:00:00.000Z'));
    const org = await t.given.org({ members: 2 });
    const [member, other] = org.members as [TestUser, TestUser];
    await t.given.usageLimit({ as: org.owner, member, daily: 3, monthly: 10 });
    expect((await onBehalf(member, 3)).status).toBe(201);
    const refusals = await Promise.all([onBehalf(member, 1), own(member, 2), onBehalf(member, 1, { key: 'x' }), own(member, 1)]);
    expect(refusals.map((reply) => reply.status)).toEqual([429, 429, 429, 429]);
    expect((await limitEvents(org)).map((event) => event.data)).toEqual([
      {
        user_id: member.id,
        period: 'day',
        period_start: '2032-03-15',
        limit: 3,
        used: 3,
        requested: expect.any(Number),
        resets_at: '2032-03-16T00:00:00.000Z',
      },
    ]);
    // Another member has a period of their own.
    await t.given.usageLimit({ as: org.owner, member: other, daily: 0, monthly: null });
    expect((await own(other, 1)).status).toBe(429);
    // The next day is a new period: one more event; the monthly limit is a period of its own.
    t.clock.set(new Date('2032-03-16T09:00:00.000Z'));
    expect((await onBehalf(member, 3)).status).toBe(201);
    expect((await onBehalf(member, 1)).status).toBe(429);
    expect((await onBehalf(member, 1)).status).toBe(429);
    expect((await onBehalf(member, 5, { key: 'month' })).status).toBe(429);
    t.clock.set(new Date('2032-03-17T09:00:00.000Z'));
    expect((await onBehalf(member, 3)).status).toBe(201);
    expect((await onBehalf(member, 2)).body.error.details).toMatchObject({ period: 'month' });
    expect((await onBehalf(member, 2)).status).toBe(429);
    const events = await limitEvents(org);
    expect(events.map((event) => [event.data.user_id, event.data.period, event.data.period_start])).toEqual([
      [member.id, 'day', '2032-03-15'],
      [other.id, 'day', '2032-03-15'],
      [member.id, 'day', '2032-03-16'],
      [member.id, 'month', '2032-03-01'],
    ]);
    const audit = await queryRows<{ action: string }>(
      t.database.db,
      sql`SELECT action FROM audit_log WHERE org_id = ${org.id} AND action LIKE 'usage.limit%'`,
    );
    expect(audit).toEqual([]);
  });
});
