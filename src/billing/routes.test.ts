import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../db/client.ts';
import { operatorCtx, startApp, type TestApp } from '../../test/kit/app.ts';
import { createServiceToken, setPlan } from '../admin/service.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(async () => {
  await t.close();
});

const checkout = (as: { token: string }, body: Record<string, unknown>) => t.http.post('/api/v1/billing/checkout', { as, body });

describe('GET /api/v1/billing/plans', () => {
  it('lists Team at $14.99/seat with 5 seats and 1 GiB per seat, Enterprise as contact-sales', async () => {
    const reply = await t.http.get('/api/v1/billing/plans');
    expect(reply.status).toBe(200);
    expect(reply.body.plans).toEqual([
      {
        id: 'team',
        name: 'Team',
        price_cents_per_seat: 1499,
        currency: 'usd',
        default_seats: 5,
        storage_bytes_per_seat: 1024 ** 3,
        self_serve: true,
      },
      {
        id: 'enterprise',
        name: 'Enterprise',
        price_cents_per_seat: null,
        currency: 'usd',
        default_seats: 25,
        storage_bytes_per_seat: null,
        self_serve: false,
      },
    ]);
  });
});

describe('POST /api/v1/billing/checkout', () => {
  it('activates a personal Team subscription at once with the local provider, with a PUBLIC_URL link', async () => {
    const user = await t.given.user();
    const reply = await checkout(user, { plan: 'team', seats: 3, scope: 'personal' });
    expect(reply.status).toBe(200);
    expect(reply.body.url.startsWith('http://roster.test/')).toBe(true);
    const rows = await queryRows<{ plan: string; seats: number; status: string }>(
      t.database.db,
      sql`SELECT plan, seats, status FROM subscriptions WHERE user_id = ${user.id}`,
    );
    expect(rows).toEqual([{ plan: 'team', seats: 3, status: 'active' }]);
  });

  it('a second personal checkout changes the quantity instead of adding a subscription', async () => {
    const user = await t.given.subscribedUser({ seats: 3 });
    expect((await checkout(user, { plan: 'team', seats: 8, scope: 'personal' })).status).toBe(200);
    const rows = await queryRows<{ seats: number }>(
      t.database.db,
      sql`SELECT seats FROM subscriptions WHERE user_id = ${user.id}`,
    );
    expect(rows).toEqual([{ seats: 8 }]);
  });

  it('refuses Enterprise with 400 plan_not_self_serve', async () => {
    const user = await t.given.user();
    const reply = await checkout(user, { plan: 'enterprise', seats: 25, scope: 'personal' });
    expect(reply.status).toBe(400);
    expect(reply.body.error.code).toBe('plan_not_self_serve');
  });

  it('refuses personal scope while in an org with 403 member_of_org', async () => {
    const org = await t.given.org({ members: 1 });
    const reply = await checkout(org.members[0]!, { plan: 'team', seats: 3, scope: 'personal' });
    expect(reply.status).toBe(403);
    expect(reply.body.error.code).toBe('member_of_org');
  });

  it('changes org seats for an admin, never below members plus pending (409 seats_below_usage)', async () => {
    const org = await t.given.org({ seats: 10, admins: 1, members: 2 });
    const below = await checkout(org.admins[0]!, { plan: 'team', seats: 3, scope: 'org' });
    expect(below.status).toBe(409);
    expect(below.body.error.code).toBe('seats_below_usage');
    const exact = await checkout(org.admins[0]!, { plan: 'team', seats: 4, scope: 'org' });
    expect(exact.status).toBe(200);
    const view = await t.http.get('/api/v1/org', { as: org.owner });
    expect(view.body.org.seats.limit).toBe(4);
    expect(view.body.org.storage_limit_bytes).toBe(4 * 1024 ** 3);
  });

  it('refuses org scope to plain members (403 forbidden)', async () => {
    const org = await t.given.org({ members: 1 });
    const reply = await checkout(org.members[0]!, { plan: 'team', seats: 20, scope: 'org' });
    expect(reply.status).toBe(403);
    expect(reply.body.error.code).toBe('forbidden');
  });

  it('refuses self-serve changes to an Enterprise org (403 enterprise_managed)', async () => {
    const org = await t.given.org();
    await t.database.db.execute(sql`UPDATE subscriptions SET plan = 'enterprise' WHERE org_id = ${org.id}`);
    const reply = await checkout(org.owner, { plan: 'team', seats: 30, scope: 'org' });
    expect(reply.status).toBe(403);
    expect(reply.body.error.code).toBe('enterprise_managed');
    const view = await t.http.get('/api/v1/org', { as: org.owner });
    expect(view.body.org.tier).toBe('enterprise');
    expect(view.body.org.storage_limit_bytes).toBeNull();
  });

  it.each([[0], [-1], [100_001]])('refuses %d seats with invalid_seats', async (seats) => {
    const user = await t.given.user();
    const reply = await checkout(user, { plan: 'team', seats, scope: 'personal' });
    expect(reply.status).toBe(400);
    expect(reply.body.error.code).toBe('invalid_seats');
  });

  it('needs authentication', async () => {
    const reply = await t.http.post('/api/v1/billing/checkout', { body: { plan: 'team', seats: 3, scope: 'personal' } });
    expect(reply.status).toBe(401);
  });
});

describe('POST /api/v1/billing/portal', () => {
  it('opens the portal for a Team org admin and for a subscribed user without an org', async () => {
    const org = await t.given.org({ admins: 1 });
    const reply = await t.http.post('/api/v1/billing/portal', { as: org.admins[0]!, body: { scope: 'org' } });
    expect(reply.status).toBe(200);
    expect(reply.body.url.startsWith('http://roster.test/')).toBe(true);
    const user = await t.given.subscribedUser({ seats: 3 });
    expect((await t.http.post('/api/v1/billing/portal', { as: user, body: { scope: 'personal' } })).status).toBe(200);
  });

  it('opens the personal portal while in an org (regression: it answered member_of_org)', async () => {
    const org = await t.given.org({ members: 1 });
    const member = org.members[0]!;
    await t.database.db.execute(
      sql`INSERT INTO subscriptions (user_id, plan, seats, status, provider) VALUES (${member.id}, 'team', 2, 'active', 'local')`,
    );
    const reply = await t.http.post('/api/v1/billing/portal', { as: member, body: { scope: 'personal' } });
    expect(reply.status).toBe(200);
  });

  it('answers 404 no_subscription without a personal subscription', async () => {
    const user = await t.given.user();
    const reply = await t.http.post('/api/v1/billing/portal', { as: user, body: { scope: 'personal' } });
    expect(reply.status).toBe(404);
    expect(reply.body.error.code).toBe('no_subscription');
  });

  it('refuses an Enterprise org with 403 enterprise_managed and plain members with 403 forbidden', async () => {
    const org = await t.given.org({ members: 1 });
    const member = await t.http.post('/api/v1/billing/portal', { as: org.members[0]!, body: { scope: 'org' } });
    expect(member.body.error.code).toBe('forbidden');
    await t.database.db.execute(sql`UPDATE subscriptions SET plan = 'enterprise' WHERE org_id = ${org.id}`);
    const reply = await t.http.post('/api/v1/billing/portal', { as: org.owner, body: { scope: 'org' } });
    expect(reply.status).toBe(403);
    expect(reply.body.error.code).toBe('enterprise_managed');
  });
});

describe('GET /api/v1/me/subscription', () => {
  const mine = (as: { token: string }) => t.http.get('/api/v1/me/subscription', { as });

  it("shows the user's own subscription after checkout, null before, and null once an org took it", async () => {
    const user = await t.given.user();
    expect((await mine(user)).body).toEqual({ subscription: null });
    expect((await checkout(user, { plan: 'team', seats: 4, scope: 'personal' })).status).toBe(200);
    const subscribed = await mine(user);
    expect(subscribed.status).toBe(200);
    expect(subscribed.body).toEqual({
      subscription: {
        plan: 'team',
        seats: 4,
        status: 'active',
        current_period_end: null, // the local provider has no billing periods
        cancel_at_period_end: false,
        portal_available: true,
      },
    });
    expect(
      (await t.http.post('/api/v1/org', { as: user, body: { name: 'Mine', slug: `mine-${user.id.slice(0, 8)}` } })).status,
    ).toBe(201);
    expect((await mine(user)).body).toEqual({ subscription: null });
  });

  it("never shows an org's subscription or another user's, and shows a canceled one as canceled", async () => {
    const org = await t.given.org({ members: 1 });
    const member = org.members[0]!;
    expect((await mine(org.owner)).body).toEqual({ subscription: null });
    const other = await t.given.subscribedUser({ seats: 2 });
    await t.database.db.execute(sql`UPDATE subscriptions SET status = 'canceled' WHERE user_id = ${other.id}`);
    expect((await mine(other)).body.subscription).toMatchObject({ status: 'canceled', seats: 2 });
    expect((await mine(member)).body).toEqual({ subscription: null });
  });

  it('shows no canceled one once the user is in an org (regression: an older canceled one after POST /org took the live one)', async () => {
    const user = await t.given.subscribedUser({ seats: 2 });
    await t.database.db.execute(sql`UPDATE subscriptions SET status = 'canceled' WHERE user_id = ${user.id}`);
    expect((await mine(user)).body.subscription).toMatchObject({ status: 'canceled' });
    expect((await checkout(user, { plan: 'team', seats: 4, scope: 'personal' })).status).toBe(200);
    expect((await mine(user)).body.subscription).toMatchObject({ status: 'active', seats: 4 });
    const created = await t.http.post('/api/v1/org', { as: user, body: { name: 'Later', slug: `later-${user.id.slice(0, 8)}` } });
    expect(created.status).toBe(201);
    expect((await mine(user)).body).toEqual({ subscription: null });
  });

  it('needs a signed-in user: 401 without credentials, 403 for a service token', async () => {
    expect((await t.http.get('/api/v1/me/subscription')).status).toBe(401);
    const { token } = await createServiceToken(operatorCtx(t), { name: 'host', scopes: 'usage:write,authz:read' });
    const reply = await t.http.get('/api/v1/me/subscription', { as: { token } });
    expect([reply.status, reply.body.error?.code]).toEqual([403, 'forbidden']);
  });
});

describe('GET /api/v1/org/billing', () => {
  it('shows plan, seats and usage to admins; Enterprise details only for Enterprise', async () => {
    const org = await t.given.org({ seats: 6, members: 2 });
    const reply = await t.http.get('/api/v1/org/billing', { as: org.owner });
    expect(reply.body).toEqual({
      plan: 'team',
      status: 'active',
      seats: 6,
      active_members: 3,
      pending_invites: 0,
      over_capacity: false,
      current_period_end: null,
      cancel_at_period_end: false,
      portal_available: true,
      managed_by_support: false,
      enterprise: null,
      allocation: { monthly: 6 * t.config.teamCreditsPerSeat, used: 0, remaining: 6 * t.config.teamCreditsPerSeat },
    });
    await t.database.db.execute(sql`UPDATE subscriptions SET plan = 'enterprise', seats = 25 WHERE org_id = ${org.id}`);
    const enterprise = await t.http.get('/api/v1/org/billing', { as: org.owner });
    expect(enterprise.body).toMatchObject({
      plan: 'enterprise',
      portal_available: false,
      managed_by_support: true,
      enterprise: { seats: 25, active_members: 3 },
      allocation: { monthly: null, used: 0, remaining: null },
    });
    expect((await t.http.get('/api/v1/org/billing', { as: org.members[0]! })).status).toBe(403);
  });
});

describe('PUT /api/v1/org/billing/seats (local provider)', () => {
  const putSeats = (as: { token: string }, body: Record<string, unknown>) =>
    t.http.put('/api/v1/org/billing/seats', { as, body });

  it('changes the seats for an admin, audited, never below members plus pending', async () => {
    const org = await t.given.org({ seats: 5, admins: 1, members: 1 });
    const below = await putSeats(org.admins[0]!, { seats: 2 });
    expect(below.status).toBe(409);
    expect(below.body.error.code).toBe('seats_below_usage');
    const reply = await putSeats(org.admins[0]!, { seats: 9 });
    expect(reply.status).toBe(200);
    expect(reply.body.billing).toMatchObject({ plan: 'team', status: 'active', seats: 9, active_members: 3 });
    const audit = await queryRows<{ before: unknown; after: unknown }>(
      t.database.db,
      sql`SELECT before, after FROM audit_log WHERE org_id = ${org.id} AND action = 'billing.subscription_changed'`,
    );
    expect(audit).toEqual([{ before: { plan: 'team', seats: 5 }, after: { plan: 'team', seats: 9 } }]);
  });

  it('refuses plain members (403), Enterprise orgs (403 enterprise_managed) and odd values (400)', async () => {
    const org = await t.given.org({ members: 1 });
    expect((await putSeats(org.members[0]!, { seats: 9 })).body.error.code).toBe('forbidden');
    for (const body of [{ seats: 0 }, { seats: 2.5 }, { seats: '9' }, { seats: 9, price: 'price_x' }]) {
      expect((await putSeats(org.owner, body)).status).toBe(400);
    }
    await t.database.db.execute(sql`UPDATE subscriptions SET plan = 'enterprise' WHERE org_id = ${org.id}`);
    const reply = await putSeats(org.owner, { seats: 30 });
    expect(reply.status).toBe(403);
    expect(reply.body.error.code).toBe('enterprise_managed');
  });

  it('refuses seat changes, checkout and portal for a Team plan that support set (no provider bills it), and says so in the billing', async () => {
    const org = await t.given.org({ seats: 5 });
    await setPlan(operatorCtx(t, 'ops'), { slug: org.slug, plan: 'team', seats: 7 });
    const billing = await t.http.get('/api/v1/org/billing', { as: org.owner });
    expect(billing.body).toMatchObject({
      plan: 'team',
      seats: 7,
      managed_by_support: true,
      portal_available: false,
      enterprise: null,
    });
    const reply = await putSeats(org.owner, { seats: 5000 });
    expect([reply.status, reply.body.error.code]).toEqual([403, 'enterprise_managed']);
    expect(reply.body.error.message).toMatch(/set by Roster support/);
    // Nor a second subscription beside it, nor a portal that has nothing of it.
    const second = await checkout(org.owner, { plan: 'team', seats: 50, scope: 'org' });
    expect([second.status, second.body.error?.code]).toEqual([403, 'enterprise_managed']);
    const portal = await t.http.post('/api/v1/billing/portal', { as: org.owner, body: { scope: 'org' } });
    expect([portal.status, portal.body.error?.code]).toEqual([403, 'enterprise_managed']);
    expect((await t.http.get('/api/v1/org/billing', { as: org.owner })).body.seats).toBe(7);
  });
});
