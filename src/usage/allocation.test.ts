import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorCtx, startApp, type TestApp } from '../../test/kit/app.ts';
import type { TestOrg, TestUser } from '../../test/kit/given.ts';
import { setAllocation, setPlan } from '../admin/service.ts';
import { setAllocation as setAllocationInTx } from './allocation.ts';
import { applyBatch, batchTestHooks } from './batch.ts';
import { queryRows } from '../db/client.ts';
import { periodsAt } from '../core/periods.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(async () => {
  await t.close();
});

function record(member: TestUser, quantity: number, activity = 'api.call') {
  return t.http.post('/api/v1/usage', { as: member, body: { activity, quantity } });
}

async function enterpriseOrg(monthly: number | 'unlimited', options: { admins?: number; members?: number } = {}) {
  const org = await t.given.org({ admins: options.admins ?? 1, members: options.members ?? 4 });
  await setPlan(operatorCtx(t, 'ops'), { slug: org.slug, plan: 'enterprise', seats: 25 });
  await setAllocation(operatorCtx(t, 'ops'), { slug: org.slug, monthly: String(monthly) });
  return org;
}

/** What the database holds for the org this month: org_usage and the sum of usage_activity. */
async function storedOf(org: TestOrg) {
  const month = periodsAt(t.clock.now()).month;
  const [row] = await queryRows<{ used: string | number | null; activity: string | number | null }>(
    t.database.db,
    sql`SELECT (SELECT used FROM org_usage WHERE org_id = ${org.id} AND month = ${month}::date) AS used,
               (SELECT coalesce(sum(quantity), 0) FROM usage_activity WHERE org_id = ${org.id} AND day >= ${month}::date) AS activity`,
  );
  return { orgUsage: Number(row?.used ?? 0), activity: Number(row?.activity ?? 0) };
}

async function allocationMails(org: TestOrg) {
  return queryRows<{ kind: string; to_address: string }>(
    t.database.db,
    sql`SELECT kind, to_address FROM mail_outbox WHERE org_id = ${org.id} AND kind LIKE 'allocation_%' ORDER BY kind, to_address`,
  );
}

async function auditActions(org: TestOrg, prefix: string) {
  return queryRows<{ action: string; actor_label: string; before: unknown; after: unknown }>(
    t.database.db,
    sql`SELECT action, actor_label, before, after FROM audit_log WHERE org_id = ${org.id} AND action LIKE ${prefix + '%'} ORDER BY id`,
  );
}

describe('organization allocation (credits)', () => {
  it('60 concurrent requests with 25 left: exactly 25 recorded, the rest refused whole; each warning once to every owner/admin', async () => {
    const org = await enterpriseOrg(100, { admins: 2, members: 4 });
    const members = [org.owner, ...org.admins, ...org.members];
    // 75 of 100 used before the burst (below the 80% warning).
    expect((await record(members[1]!, 75)).status).toBe(201);
    expect(await allocationMails(org)).toEqual([]);

    const replies = await Promise.all(Array.from({ length: 60 }, (_, index) => record(members[index % members.length]!, 1)));
    const accepted = replies.filter((reply) => reply.status === 201);
    const refused = replies.filter((reply) => reply.status === 429);
    expect(accepted).toHaveLength(25);
    expect(refused).toHaveLength(35);
    const monthEnd = periodsAt(t.clock.now()).monthEnd;
    const retryAfter = Math.ceil((monthEnd.getTime() - t.clock.now().getTime()) / 1000);
    for (const reply of refused) {
      expect(reply.body.error.code).toBe('org_allocation_exhausted');
      expect(reply.body.error.message).toMatch(/contact your organization administrator/i);
      expect(Math.abs(Number(reply.headers['retry-after']) - retryAfter)).toBeLessThanOrEqual(5);
    }
    expect(await storedOf(org)).toEqual({ orgUsage: 100, activity: 100 });

    // A refusal records nothing.
    expect((await record(org.owner, 1)).status).toBe(429);
    expect(await storedOf(org)).toEqual({ orgUsage: 100, activity: 100 });
    // A plain member sees why on their own usage.
    const own = await t.http.get('/api/v1/usage', { as: org.members[0]! });
    expect(own.body.allocation).toEqual({ monthly: 100, used: 100, remaining: 0 });

    // Both warnings exactly once, each to the owner and both admins (not to members).
    const recipients = [org.owner, ...org.admins].map((user) => user.email).sort();
    const mails = await allocationMails(org);
    expect(mails.filter((mail) => mail.kind === 'allocation_low').map((mail) => mail.to_address)).toEqual(recipients);
    expect(mails.filter((mail) => mail.kind === 'allocation_exhausted').map((mail) => mail.to_address)).toEqual(recipients);
    const warnings = await auditActions(org, 'usage.allocation_');
    expect(
      warnings.filter((row) => row.action !== 'usage.allocation_changed').map((row) => [row.action, row.actor_label]),
    ).toEqual([
      ['usage.allocation_low', 'system'],
      ['usage.allocation_exhausted', 'system'],
    ]);
    const events = await queryRows<{ type: string }>(
      t.database.db,
      sql`SELECT type FROM events WHERE org_id = ${org.id} AND type IN ('usage.allocation_low', 'usage.allocation_exhausted') ORDER BY position`,
    );
    expect(events.map((event) => event.type)).toEqual(['usage.allocation_low', 'usage.allocation_exhausted']);

    // GET /org/billing and GET /org/usage show it.
    const billing = await t.http.get('/api/v1/org/billing', { as: org.owner });
    expect(billing.body.allocation).toEqual({ monthly: 100, used: 100, remaining: 0 });
    const usage = await t.http.get('/api/v1/org/usage?period=day', { as: org.admins[0]! });
    expect(usage.body.allocation).toEqual({ monthly: 100, used: 100, remaining: 0 });
  });

  it('warns owners and admins when fewer seats or a lower setting use the allocation up, with nothing recorded after (regression: 429s with no warning)', async () => {
    // Team: TEAM_CREDITS_PER_SEAT (1000 here) per seat.
    const team = await t.given.org({ seats: 4, admins: 1 });
    expect((await record(team.admins[0]!, 1700)).status).toBe(201);
    expect(await allocationMails(team)).toEqual([]);
    expect((await t.http.put('/api/v1/org/billing/seats', { as: team.owner, body: { seats: 2 } })).status).toBe(200);
    const recipients = [team.owner, ...team.admins].map((user) => user.email).sort();
    const mails = await allocationMails(team);
    expect(mails.filter((mail) => mail.kind === 'allocation_low').map((mail) => mail.to_address)).toEqual(recipients);
    expect(mails.filter((mail) => mail.kind === 'allocation_exhausted')).toEqual([]); // 1700 of 2000
    expect((await auditActions(team, 'usage.allocation_low')).map((row) => row.after)).toEqual([
      { month: periodsAt(t.clock.now()).month, monthly: 2000, used: 1700 },
    ]);
    // Support lowers an Enterprise org's setting under what was used: the 100% warning, once.
    const enterprise = await enterpriseOrg(1000);
    expect((await record(enterprise.members[0]!, 500)).status).toBe(201);
    await setAllocation(operatorCtx(t, 'ops'), { slug: enterprise.slug, monthly: '400' });
    await setAllocation(operatorCtx(t, 'ops'), { slug: enterprise.slug, monthly: '300' });
    // Each warning once (the second change sends none again), to the owner and the admin.
    expect((await allocationMails(enterprise)).map((mail) => mail.kind)).toEqual([
      'allocation_exhausted',
      'allocation_exhausted',
      'allocation_low',
      'allocation_low',
    ]);
  });

  it('a finite allocation set from a clock still in the old month counts what the new month used while unlimited (regression: started at 0)', async () => {
    const org = await enterpriseOrg('unlimited', { admins: 0, members: 1 });
    const member = org.members[0]!;
    const at = (iso: string) => ({ ...operatorCtx(t), actor: null, clock: { now: () => new Date(iso) } });
    const request = (quantity: number) => ({ kind: 'user' as const, userId: member.id, activity: 'api.call', quantity });
    // A process already in February records 500 while the org is unlimited.
    expect(await applyBatch(at('2032-02-01T00:00:00.010Z'), [request(500)])).toMatchObject([{ status: 'recorded' }]);
    // Support sets 600 a second later from a process 20 ms behind (its month is January).
    await setAllocation(
      { ...operatorCtx(t, 'ops'), clock: { now: () => new Date('2032-01-31T23:59:59.990Z') } },
      {
        slug: org.slug,
        monthly: '600',
      },
    );
    // February's row now counts the 500: another 500 would take it past 600.
    const second = await applyBatch(at('2032-02-01T00:00:01.000Z'), [request(500), request(100)]);
    expect(second.map((outcome) => outcome.status)).toEqual(['allocation_exhausted', 'recorded']);
    const [february] = await queryRows<{ used: string | number }>(
      t.database.db,
      sql`SELECT used FROM org_usage WHERE org_id = ${org.id} AND month = '2032-02-01'`,
    );
    expect(Number(february?.used)).toBe(600);
  });

  it('member limits still refuse first, and the org allocation refuses a request whole', async () => {
    const org = await enterpriseOrg(10);
    const member = org.members[0]!;
    expect(
      (await t.http.put(`/api/v1/org/members/${member.id}/usage-limit`, { as: org.owner, body: { daily: 3, monthly: null } }))
        .status,
    ).toBe(200);
    const overMember = await record(member, 4);
    expect(overMember.body.error.code).toBe('usage_limit_exceeded');
    expect((await record(org.owner, 8)).status).toBe(201);
    const overOrg = await record(member, 3);
    expect(overOrg.status).toBe(429);
    expect(overOrg.body.error.code).toBe('org_allocation_exhausted');
    expect((await record(member, 2)).body).toEqual({ day: { used: 2, limit: 3 }, month: { used: 2, limit: null } });
    expect(await storedOf(org)).toEqual({ orgUsage: 10, activity: 10 });
  });

  it('set-allocation: a number and unlimited, audited; Enterprise is unlimited until set; recounts the month', async () => {
    const org = await t.given.org({ members: 1 });
    await setPlan(operatorCtx(t, 'ops'), { slug: org.slug, plan: 'enterprise', seats: 25 });
    expect((await t.http.get('/api/v1/org/billing', { as: org.owner })).body.allocation).toEqual({
      monthly: null,
      used: 0,
      remaining: null,
    });
    expect((await record(org.members[0]!, 40)).status).toBe(201);
    expect((await t.http.get('/api/v1/org/usage', { as: org.owner })).body.allocation).toEqual({
      monthly: null,
      used: 40,
      remaining: null,
    });

    const set = await setAllocation(operatorCtx(t, 'ops'), { slug: org.slug, monthly: '50' });
    expect(set.changed).toBe(true);
    expect(set.allocation).toEqual({ monthly: 50, used: 40, remaining: 10 });
    expect((await record(org.members[0]!, 11)).status).toBe(429);
    expect((await record(org.members[0]!, 10)).status).toBe(201);

    const unlimited = await setAllocation(operatorCtx(t, 'ops'), { slug: org.slug, monthly: 'unlimited' });
    expect(unlimited.allocation).toEqual({ monthly: null, used: 50, remaining: null });
    expect((await record(org.members[0]!, 1000)).status).toBe(201);
    expect((await setAllocation(operatorCtx(t, 'ops'), { slug: org.slug, monthly: 'unlimited' })).changed).toBe(false);

    const audit = await auditActions(org, 'usage.allocation_changed');
    expect(audit.map((row) => [row.actor_label, row.before, row.after])).toEqual([
      // Entering Enterprise (set-plan): from Team's 1,000 credits for each of 10 seats to unlimited.
      ['operator:ops', { monthly: 10_000 }, { monthly: null }],
      ['operator:ops', { monthly: null }, { monthly: 50 }],
      ['operator:ops', { monthly: 50 }, { monthly: null }],
    ]);
    await expect(setAllocation(operatorCtx(t, 'ops'), { slug: org.slug, monthly: '-1' })).rejects.toMatchObject({
      code: 'invalid_allocation',
    });
    const team = await t.given.org();
    await expect(setAllocation(operatorCtx(t, 'ops'), { slug: team.slug, monthly: '5' })).rejects.toMatchObject({
      code: 'not_enterprise',
    });
  });

  it("a Team org's allocation follows its seats", async () => {
    const org = await t.given.org({ seats: 3 });
    const perSeat = t.config.teamCreditsPerSeat;
    expect((await t.http.get('/api/v1/org/billing', { as: org.owner })).body.allocation).toEqual({
      monthly: 3 * perSeat,
      used: 0,
      remaining: 3 * perSeat,
    });
    expect((await record(org.owner, 3 * perSeat)).status).toBe(201);
    expect((await record(org.owner, 1)).body.error.code).toBe('org_allocation_exhausted');
    expect((await t.http.put('/api/v1/org/billing/seats', { as: org.owner, body: { seats: 4 } })).status).toBe(200);
    const billing = await t.http.get('/api/v1/org/billing', { as: org.owner });
    expect(billing.body.allocation).toEqual({ monthly: 4 * perSeat, used: 3 * perSeat, remaining: perSeat });
    expect((await record(org.owner, perSeat)).status).toBe(201);
    expect((await record(org.owner, 1)).status).toBe(429);
  });

  it('a recording that guessed "unlimited" while support made the allocation finite is decided under the new allocation', async () => {
    const org = await enterpriseOrg('unlimited', { members: 2 });
    const [early, first] = org.members as [TestUser, TestUser];
    expect((await record(early, 5)).status).toBe(201);
    let reply: ReturnType<typeof record> | undefined;
    let started!: () => void;
    const batchStarted = new Promise<void>((resolve) => (started = resolve));
    batchTestHooks.onBatch = () => started();
    try {
      await t.database.db.transaction(async (tx) => {
        await setAllocationInTx(tx, operatorCtx(t, 'ops'), { orgId: org.id, monthly: 7 });
        // The request's batch starts while the change is not committed. It reads the allocation
        // only under the org's allocation lock, which this transaction holds (on PGlite it waits
        // for this transaction's connection before anything): it decides under 7, not "unlimited".
        reply = record(first, 5);
        await batchStarted;
      });
    } finally {
      batchTestHooks.onBatch = undefined;
    }
    const settled = await reply!;
    expect(settled.status).toBe(429);
    expect(settled.body.error.code).toBe('org_allocation_exhausted');
    expect(await storedOf(org)).toEqual({ orgUsage: 5, activity: 5 });
    expect((await record(first, 2)).status).toBe(201);
    expect(await storedOf(org)).toEqual({ orgUsage: 7, activity: 7 });
  });
});
