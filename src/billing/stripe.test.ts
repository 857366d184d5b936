import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { setPlan } from '../admin/service.ts';
import { queryRows } from '../db/client.ts';
import { createBillingProvider } from './select-provider.ts';
import { eventsOfOrg } from '../events/queries.ts';
import { operatorCtx, startApp, type TestApp } from '../../test/kit/app.ts';
import type { TestUser } from '../../test/kit/given.ts';
import { signedEvent, startStripeStub, STUB_PRICE_TEAM, type StripeStub } from '../../test/kit/stripe-stub.ts';

// Billing on Stripe end to end: the real app, configured for Stripe, talking to a local stub of the
// Stripe API (STRIPE_API_BASE) and receiving events signed with the SDK's own test signer.

const WEBHOOK_SECRET = 'whsec_roster_test_secret';
let t: TestApp;
let stub: StripeStub;

beforeAll(async () => {
  stub = await startStripeStub();
  t = await startApp({
    env: {
      STRIPE_SECRET_KEY: 'sk_test_roster',
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      STRIPE_PRICE_TEAM: STUB_PRICE_TEAM,
      STRIPE_API_BASE: stub.url,
    },
  });
});
afterAll(async () => {
  await t.close();
  await stub.close();
});
beforeEach(() => {
  stub.requests.length = 0;
});

let subscriptionCounter = 0;
const newSubscriptionId = () => `sub_test_${(subscriptionCounter += 1)}_${Math.random().toString(36).slice(2, 8)}`;

function deliver(event: { body: string; signature?: string }) {
  return t.app.inject({
    method: 'POST',
    url: '/api/v1/billing/webhook',
    headers: {
      'content-type': 'application/json; charset=utf-8',
      ...(event.signature ? { 'stripe-signature': event.signature } : {}),
    },
    payload: event.body,
  });
}

function event(
  type: string,
  object: Record<string, unknown>,
  options: { id?: string; created?: number; timestamp?: number } = {},
) {
  return signedEvent(
    { type, object, id: options.id, created: options.created },
    { secret: WEBHOOK_SECRET, timestamp: options.timestamp },
  );
}

async function customerOf(column: 'user_id' | 'org_id', id: string): Promise<string> {
  const rows = await queryRows<{ provider_customer_id: string }>(
    t.database.db,
    column === 'user_id'
      ? sql`SELECT provider_customer_id FROM billing_customers WHERE user_id = ${id}`
      : sql`SELECT provider_customer_id FROM billing_customers WHERE org_id = ${id}`,
  );
  expect(rows).toHaveLength(1);
  return rows[0]!.provider_customer_id;
}

async function subscriptionRows(column: 'user_id' | 'org_id', id: string) {
  return queryRows<{ seats: number; status: string; provider_ref: string }>(
    t.database.db,
    column === 'user_id'
      ? sql`SELECT seats, status, provider_ref FROM subscriptions WHERE user_id = ${id}`
      : sql`SELECT seats, status, provider_ref FROM subscriptions WHERE org_id = ${id}`,
  );
}

/** A user who bought Team through Stripe Checkout: checkout, the subscription at Stripe, its webhook. */
async function stripeBuyer(seats: number): Promise<{ user: TestUser; customer: string; subscriptionId: string }> {
  const user = await t.given.user();
  const checkout = await t.http.post('/api/v1/billing/checkout', { as: user, body: { plan: 'team', seats, scope: 'personal' } });
  expect(checkout.status, JSON.stringify(checkout.body)).toBe(200);
  const customer = await customerOf('user_id', user.id);
  const subscriptionId = newSubscriptionId();
  // The buyer pays the page: the session completes and the subscription exists at Stripe.
  stub.sessions.get(String(checkout.body.url).split('/').pop()!)!.status = 'complete';
  stub.setSubscription({ id: subscriptionId, customer, quantity: seats });
  const completed = await deliver(
    event('checkout.session.completed', {
      id: 'cs_x',
      object: 'checkout.session',
      mode: 'subscription',
      customer,
      subscription: subscriptionId,
    }),
  );
  expect(completed.statusCode, completed.body).toBe(200);
  return { user, customer, subscriptionId };
}

/** An org on a Stripe subscription of `seats`, with `members` plain members. */
async function stripeOrg(seats: number, members = 0) {
  const buyer = await stripeBuyer(seats);
  const slug = `org-${Math.random().toString(36).slice(2, 10)}`;
  const created = await t.http.post('/api/v1/org', { as: buyer.user, body: { name: 'Stripe Org', slug } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const orgId: string = created.body.org.id;
  const added = await t.given.addMembers(orgId, 'member', members);
  return { ...buyer, owner: buyer.user, orgId, slug, members: added };
}

const billingOf = async (as: TestUser) => (await t.http.get('/api/v1/org/billing', { as })).body;
const subscriptionEvent = (type: string, subscriptionId: string, extra: Record<string, unknown> = {}) =>
  event(type, { ...stub.subscriptionJson(subscriptionId), ...extra });
const eventCount = async (id: string) =>
  (await queryRows<{ n: number }>(t.database.db, sql`SELECT count(*)::int AS n FROM billing_events WHERE event_id = ${id}`))[0]!
    .n;
const auditActions = async (orgId: string, action: string) =>
  queryRows<{ before: unknown; after: unknown }>(
    t.database.db,
    sql`SELECT before, after FROM audit_log WHERE org_id = ${orgId} AND action = ${action} ORDER BY id`,
  );

describe('checkout on Stripe', () => {
  it('creates the customer once and a subscription Checkout Session with the Team price, the seats and PUBLIC_URL return URLs', async () => {
    const user = await t.given.user();
    const reply = await t.http.post('/api/v1/billing/checkout', {
      as: user,
      body: { plan: 'team', seats: 7, scope: 'personal' },
    });
    expect(reply.status).toBe(200);
    expect(reply.body.url).toMatch(/^https:\/\/checkout\.stripe\.test\/cs_/);
    const customer = await customerOf('user_id', user.id);
    expect(stub.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      'POST /v1/customers',
      'GET /v1/checkout/sessions',
      'GET /v1/subscriptions',
      'POST /v1/checkout/sessions',
    ]);
    expect(stub.requests[3]!.params).toMatchObject({
      mode: 'subscription',
      customer,
      'line_items[0][price]': STUB_PRICE_TEAM,
      'line_items[0][quantity]': '7',
      success_url: 'http://roster.test/settings/billing?checkout=success',
      cancel_url: 'http://roster.test/settings/billing?checkout=canceled',
    });
    // Nothing is active until Stripe says so through a signed webhook.
    expect(await subscriptionRows('user_id', user.id)).toEqual([]);
    // A second checkout before paying reuses the stored customer, and expires the first page, so
    // that only one of them can ever be paid (regression: both paid, two subscriptions billed).
    stub.requests.length = 0;
    const first = String(reply.body.url).split('/').pop()!;
    const second = await t.http.post('/api/v1/billing/checkout', {
      as: user,
      body: { plan: 'team', seats: 8, scope: 'personal' },
    });
    expect(second.status).toBe(200);
    expect(stub.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      'GET /v1/checkout/sessions',
      `POST /v1/checkout/sessions/${first}/expire`,
      'GET /v1/subscriptions',
      'POST /v1/checkout/sessions',
    ]);
    expect(stub.requests[3]!.params.customer).toBe(customer);
    expect(stub.sessions.get(first)?.status).toBe('expired');
    expect(
      [...stub.sessions.values()].filter((session) => session.customer === customer && session.status === 'open'),
    ).toHaveLength(1);
  });

  it('refuses a checkout while a paid subscription waits for its webhook (409 subscription_exists), and two at once make one page', async () => {
    const user = await t.given.user();
    const body = { plan: 'team', seats: 3, scope: 'personal' };
    const both = await Promise.all([1, 2].map(() => t.http.post('/api/v1/billing/checkout', { as: user, body })));
    expect(both.map((reply) => reply.status)).toEqual([200, 200]);
    const customer = await customerOf('user_id', user.id);
    const open = () =>
      [...stub.sessions.values()].filter((session) => session.customer === customer && session.status === 'open');
    expect(open()).toHaveLength(1);
    // The open page is paid; Stripe's webhook has not arrived yet.
    open()[0]!.status = 'complete';
    stub.setSubscription({ id: newSubscriptionId(), customer, quantity: 3 });
    const again = await t.http.post('/api/v1/billing/checkout', { as: user, body: { ...body, seats: 8 } });
    expect([again.status, again.body.error?.code]).toEqual([409, 'subscription_exists']);
    expect(open()).toHaveLength(0);
  });

  it.each([
    [{ plan: 'team', seats: 5, scope: 'personal', price: 'price_cheap' }],
    [{ plan: 'team', seats: 5, scope: 'personal', customer: 'cus_someone_else' }],
    [{ plan: 'team', seats: 5, scope: 'personal', success_url: 'https://evil.example/' }],
    [{ plan: 'team', seats: 0, scope: 'personal' }],
    [{ plan: 'team', seats: -3, scope: 'personal' }],
    [{ plan: 'team', seats: 2.5, scope: 'personal' }],
    [{ plan: 'team', seats: '5', scope: 'personal' }],
    [{ plan: 'team', seats: 100_001, scope: 'personal' }],
  ])('refuses a body choosing what the server chooses, or odd seats, with 400 (%j)', async (body) => {
    const user = await t.given.user();
    const reply = await t.http.post('/api/v1/billing/checkout', { as: user, body });
    expect(reply.status).toBe(400);
    expect(stub.requests).toEqual([]);
  });

  it('refuses a portal body with a return URL or customer (400)', async () => {
    const { owner } = await stripeOrg(3);
    for (const extra of [{ return_url: 'https://evil.example/' }, { customer: 'cus_x' }]) {
      const reply = await t.http.post('/api/v1/billing/portal', { as: owner, body: { scope: 'org', ...extra } });
      expect(reply.status).toBe(400);
    }
  });

  it('refuses org-scope checkout and portal to a plain member (403)', async () => {
    const org = await stripeOrg(5, 1);
    stub.requests.length = 0;
    const checkout = await t.http.post('/api/v1/billing/checkout', {
      as: org.members[0]!,
      body: { plan: 'team', seats: 9, scope: 'org' },
    });
    expect(checkout.status).toBe(403);
    const portal = await t.http.post('/api/v1/billing/portal', { as: org.members[0]!, body: { scope: 'org' } });
    expect(portal.status).toBe(403);
    expect(stub.requests).toEqual([]);
  });

  it('moves the personal customer and subscription to the org on creation; the portal returns to PUBLIC_URL', async () => {
    const org = await stripeOrg(4);
    expect(await customerOf('org_id', org.orgId)).toBe(org.customer);
    expect(await subscriptionRows('org_id', org.orgId)).toEqual([
      { seats: 4, status: 'active', provider_ref: org.subscriptionId },
    ]);
    stub.requests.length = 0;
    const portal = await t.http.post('/api/v1/billing/portal', { as: org.owner, body: { scope: 'org' } });
    expect(portal.status).toBe(200);
    expect(portal.body.url).toMatch(/^https:\/\/billing\.stripe\.test\//);
    expect(stub.requests[0]).toMatchObject({
      path: '/v1/billing_portal/sessions',
      params: { customer: org.customer, return_url: 'http://roster.test/settings/billing' },
    });
    // A second subscription for the same org is refused: seats change through PUT /org/billing/seats.
    const again = await t.http.post('/api/v1/billing/checkout', {
      as: org.owner,
      body: { plan: 'team', seats: 9, scope: 'org' },
    });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('subscription_exists');
  });

  it('opens the personal portal of a member who kept a personal subscription', async () => {
    const buyer = await stripeBuyer(2);
    const org = await stripeOrg(5);
    await t.database.db.execute(
      sql`INSERT INTO memberships (org_id, user_id, role) VALUES (${org.orgId}, ${buyer.user.id}, 'member')`,
    );
    await t.database.db.execute(sql`INSERT INTO user_orgs (user_id, org_id) VALUES (${buyer.user.id}, ${org.orgId})`);
    stub.requests.length = 0;
    const reply = await t.http.post('/api/v1/billing/portal', { as: buyer.user, body: { scope: 'personal' } });
    expect(reply.status).toBe(200);
    expect(stub.requests[0]!.params).toMatchObject({ customer: buyer.customer, return_url: 'http://roster.test/account' });
    const stranger = await t.given.user();
    const none = await t.http.post('/api/v1/billing/portal', { as: stranger, body: { scope: 'personal' } });
    expect(none.status).toBe(404);
    expect(none.body.error.code).toBe('no_subscription');
  });
});

describe('POST /api/v1/billing/webhook signature', () => {
  it('refuses unsigned, wrongly signed, stale (301 s) and re-serialised bodies with 400 invalid_signature and changes nothing', async () => {
    const org = await stripeOrg(5);
    stub.setSubscription({ id: org.subscriptionId, customer: org.customer, quantity: 9 });
    const now = Math.floor(Date.now() / 1000);
    const good = subscriptionEvent('customer.subscription.updated', org.subscriptionId);
    const wrong = signedEvent(
      { type: 'customer.subscription.updated', object: stub.subscriptionJson(org.subscriptionId) },
      { secret: WEBHOOK_SECRET, signWith: 'whsec_not_ours' },
    );
    const stale = subscriptionEvent('customer.subscription.updated', org.subscriptionId, {});
    const staleSigned = signedEvent(
      { type: 'customer.subscription.updated', object: stub.subscriptionJson(org.subscriptionId) },
      { secret: WEBHOOK_SECRET, timestamp: now - 301 },
    );
    const attempts = [
      { body: good.body },
      { body: wrong.body, signature: wrong.signature },
      { body: staleSigned.body, signature: staleSigned.signature },
      { body: JSON.stringify(JSON.parse(good.body), null, 2), signature: good.signature },
      { body: good.body, signature: 'garbage' },
    ];
    for (const attempt of attempts) {
      const reply = await deliver(attempt);
      expect(reply.statusCode).toBe(400);
      expect(reply.json().error.code).toBe('invalid_signature');
    }
    expect(await eventCount(good.id)).toBe(0);
    expect(await eventCount(stale.id)).toBe(0);
    expect((await billingOf(org.owner)).seats).toBe(5);
    // The genuine delivery still applies.
    expect((await deliver(good)).statusCode).toBe(200);
    expect((await billingOf(org.owner)).seats).toBe(9);
  });

  it('accepts a header with several v1 signatures when one matches (secret rotation)', async () => {
    const org = await stripeOrg(3);
    stub.setSubscription({ id: org.subscriptionId, customer: org.customer, quantity: 4 });
    const good = subscriptionEvent('customer.subscription.updated', org.subscriptionId);
    const [timestamp, signature] = good.signature.split(',');
    const reply = await deliver({ body: good.body, signature: `${timestamp},v1=${'0'.repeat(64)},${signature}` });
    expect(reply.statusCode).toBe(200);
    expect((await billingOf(org.owner)).seats).toBe(4);
  });
});

describe('POST /api/v1/billing/webhook effects', () => {
  it('applies one event delivered 5 times concurrently exactly once', async () => {
    const org = await stripeOrg(5);
    stub.setSubscription({ id: org.subscriptionId, customer: org.customer, quantity: 8 });
    const update = subscriptionEvent('customer.subscription.updated', org.subscriptionId);
    const replies = await Promise.all(Array.from({ length: 5 }, () => deliver(update)));
    expect(replies.map((reply) => reply.statusCode)).toEqual([200, 200, 200, 200, 200]);
    expect(await eventCount(update.id)).toBe(1);
    expect(await auditActions(org.orgId, 'billing.subscription_changed')).toEqual([
      { before: { plan: 'team', seats: 5 }, after: { plan: 'team', seats: 8 } },
    ]);
    const events = await eventsOfOrg(t.database.db, org.orgId);
    expect(events.filter((row) => row.type === 'billing.seats_changed').map((row) => row.data)).toEqual([
      { plan: 'team', seats: 8, previous_plan: 'team', previous_seats: 5 },
    ]);
    // Delivered again later: 200, still once.
    expect((await deliver(update)).statusCode).toBe(200);
    expect(await eventCount(update.id)).toBe(1);
  });

  it('takes the state Stripe holds now: `updated` before `created` ends on the newest state', async () => {
    const user = await t.given.user();
    await t.http.post('/api/v1/billing/checkout', { as: user, body: { plan: 'team', seats: 2, scope: 'personal' } });
    const customer = await customerOf('user_id', user.id);
    const subscriptionId = newSubscriptionId();
    stub.setSubscription({ id: subscriptionId, customer, quantity: 6 });
    const now = Math.floor(Date.now() / 1000);
    const updated = subscriptionEvent('customer.subscription.updated', subscriptionId, { created: now });
    const created = event(
      'customer.subscription.created',
      { ...stub.subscriptionJson(subscriptionId), items: { object: 'list', data: [] } },
      { created: now - 60 },
    );
    expect((await deliver(updated)).statusCode).toBe(200);
    expect((await deliver(created)).statusCode).toBe(200);
    expect(await subscriptionRows('user_id', user.id)).toEqual([{ seats: 6, status: 'active', provider_ref: subscriptionId }]);
  });

  it('a stale `updated` after `deleted` leaves the org canceled, members kept, no seats to invite into', async () => {
    const org = await stripeOrg(5, 2);
    const staleUpdate = subscriptionEvent('customer.subscription.updated', org.subscriptionId);
    stub.setSubscription({ id: org.subscriptionId, customer: org.customer, status: 'canceled' });
    expect((await deliver(subscriptionEvent('customer.subscription.deleted', org.subscriptionId))).statusCode).toBe(200);
    expect((await deliver(staleUpdate)).statusCode).toBe(200);
    expect(await billingOf(org.owner)).toMatchObject({
      plan: 'team',
      status: 'canceled',
      seats: 0,
      active_members: 3,
      over_capacity: false,
    });
    const invite = await t.http.post('/api/v1/org/invite', { as: org.owner, body: { email: 'late@example.com' } });
    expect(invite.status).toBe(409);
    expect(invite.body.error.code).toBe('seat_limit');
    expect(await auditActions(org.orgId, 'billing.status_changed')).toEqual([
      { before: { status: 'active' }, after: { status: 'canceled', plan: 'team', seats: 5 } },
    ]);
    const events = await eventsOfOrg(t.database.db, org.orgId);
    expect(events.filter((row) => row.type === 'billing.status_changed').map((row) => row.data)).toEqual([
      { status: 'canceled', previous_status: 'active', plan: 'team', seats: 5 },
    ]);
  });

  it('a canceled org subscribes again: org checkout reuses its customer, and the new subscription restores seats', async () => {
    const org = await stripeOrg(5, 2);
    stub.setSubscription({ id: org.subscriptionId, customer: org.customer, status: 'canceled' });
    expect((await deliver(subscriptionEvent('customer.subscription.deleted', org.subscriptionId))).statusCode).toBe(200);
    const orgCustomer = await customerOf('org_id', org.orgId);
    stub.requests.length = 0;
    // Fewer seats than the 3 members hold is refused before Stripe is asked.
    const tooFew = await t.http.post('/api/v1/billing/checkout', {
      as: org.owner,
      body: { plan: 'team', seats: 2, scope: 'org' },
    });
    expect(tooFew.status).toBe(409);
    expect(tooFew.body.error.code).toBe('seats_below_usage');
    expect(stub.requests).toEqual([]);
    const again = await t.http.post('/api/v1/billing/checkout', {
      as: org.owner,
      body: { plan: 'team', seats: 4, scope: 'org' },
    });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    // The canceled subscription is no obstacle: the open pages and live subscriptions are asked first.
    expect(stub.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      'GET /v1/checkout/sessions',
      'GET /v1/subscriptions',
      'POST /v1/checkout/sessions',
    ]);
    expect(stub.requests[2]!.params).toMatchObject({ customer: orgCustomer, 'line_items[0][quantity]': '4' });
    const renewed = newSubscriptionId();
    stub.setSubscription({ id: renewed, customer: orgCustomer, quantity: 4 });
    expect((await deliver(subscriptionEvent('customer.subscription.created', renewed))).statusCode).toBe(200);
    expect(await billingOf(org.owner)).toMatchObject({ plan: 'team', status: 'active', seats: 4, active_members: 3 });
    const invite = await t.http.post('/api/v1/org/invite', { as: org.owner, body: { email: 'back@example.com' } });
    expect(invite.status).toBe(201);
    // A late event of the ended subscription leaves the new one alone (its row stays canceled).
    expect((await deliver(subscriptionEvent('customer.subscription.updated', org.subscriptionId))).statusCode).toBe(200);
    expect(await billingOf(org.owner)).toMatchObject({ plan: 'team', status: 'active', seats: 4 });
  });

  it('binds through the stored customer, never the metadata: a subscription naming another org changes only its own', async () => {
    const mine = await stripeOrg(3);
    const other = await stripeOrg(3);
    stub.setSubscription({
      id: mine.subscriptionId,
      customer: mine.customer,
      quantity: 12,
      metadata: { roster_org_id: other.orgId },
    });
    expect((await deliver(subscriptionEvent('customer.subscription.updated', mine.subscriptionId))).statusCode).toBe(200);
    expect((await billingOf(mine.owner)).seats).toBe(12);
    expect((await billingOf(other.owner)).seats).toBe(3);
    // A customer Roster never created is acknowledged and ignored.
    const foreign = newSubscriptionId();
    stub.setSubscription({ id: foreign, customer: 'cus_not_ours', quantity: 50, metadata: { roster_org_id: other.orgId } });
    expect((await deliver(subscriptionEvent('customer.subscription.created', foreign))).statusCode).toBe(200);
    expect((await billingOf(other.owner)).seats).toBe(3);
  });

  it('a second live subscription opened at Stripe never takes over while the first bills; the org takes it when the first ends', async () => {
    const org = await stripeOrg(5, 2);
    const orgCustomer = await customerOf('org_id', org.orgId);
    const second = newSubscriptionId();
    stub.setSubscription({ id: second, customer: orgCustomer, quantity: 4 });
    expect((await deliver(subscriptionEvent('customer.subscription.created', second))).statusCode).toBe(200);
    expect(await subscriptionRows('org_id', org.orgId)).toEqual([
      { seats: 5, status: 'active', provider_ref: org.subscriptionId },
    ]);
    // The first's own changes still apply, whichever subscription's events come last.
    stub.setSubscription({ id: org.subscriptionId, customer: orgCustomer, quantity: 6 });
    expect((await deliver(subscriptionEvent('customer.subscription.updated', org.subscriptionId))).statusCode).toBe(200);
    expect((await deliver(subscriptionEvent('customer.subscription.updated', second))).statusCode).toBe(200);
    expect(await subscriptionRows('org_id', org.orgId)).toEqual([
      { seats: 6, status: 'active', provider_ref: org.subscriptionId },
    ]);
    // The first ends: the org, still billed by the second, is not canceled but follows it.
    stub.setSubscription({ id: org.subscriptionId, customer: orgCustomer, status: 'canceled' });
    expect((await deliver(subscriptionEvent('customer.subscription.deleted', org.subscriptionId))).statusCode).toBe(200);
    expect(await subscriptionRows('org_id', org.orgId)).toEqual([{ seats: 4, status: 'active', provider_ref: second }]);
    expect(await billingOf(org.owner)).toMatchObject({ status: 'active', seats: 4, active_members: 3 });
    expect(await auditActions(org.orgId, 'billing.status_changed')).toEqual([]);
    // A late event of the ended one changes nothing.
    expect((await deliver(subscriptionEvent('customer.subscription.updated', org.subscriptionId))).statusCode).toBe(200);
    expect(await subscriptionRows('org_id', org.orgId)).toEqual([{ seats: 4, status: 'active', provider_ref: second }]);
  });

  it('payment failure makes the org past_due (seats kept) and a paid invoice makes it active', async () => {
    const org = await stripeOrg(4);
    const invoice = (type: string) =>
      event(type, {
        id: 'in_x',
        object: 'invoice',
        customer: org.customer,
        parent: { type: 'subscription_details', subscription_details: { subscription: org.subscriptionId } },
      });
    stub.setSubscription({ id: org.subscriptionId, customer: org.customer, status: 'past_due' });
    expect((await deliver(invoice('invoice.payment_failed'))).statusCode).toBe(200);
    expect(await billingOf(org.owner)).toMatchObject({ status: 'past_due', seats: 4 });
    stub.setSubscription({ id: org.subscriptionId, customer: org.customer, status: 'active' });
    expect((await deliver(invoice('invoice.paid'))).statusCode).toBe(200);
    expect(await billingOf(org.owner)).toMatchObject({
      status: 'active',
      seats: 4,
      current_period_end: new Date(1_900_000_000_000).toISOString(),
    });
  });

  it('answers 5xx with no partial effect when Stripe cannot be reached, and applies the retry', async () => {
    const org = await stripeOrg(4);
    stub.setSubscription({ id: org.subscriptionId, customer: org.customer, quantity: 6 });
    const update = subscriptionEvent('customer.subscription.updated', org.subscriptionId);
    stub.failNext(5);
    const failed = await deliver(update);
    expect(failed.statusCode).toBeGreaterThanOrEqual(500);
    expect(await eventCount(update.id)).toBe(0);
    expect((await billingOf(org.owner)).seats).toBe(4);
    stub.failNext(0);
    expect((await deliver(update)).statusCode).toBe(200);
    expect((await billingOf(org.owner)).seats).toBe(6);
  });
});

describe('seats on Stripe', () => {
  it('a quantity below use makes the org over capacity; invitations and acceptances get seat_limit until seats are raised', async () => {
    const org = await stripeOrg(5, 2);
    const pending = await t.given.invitation({
      id: org.orgId,
      slug: org.slug,
      owner: org.owner,
      admins: [],
      members: org.members,
    });
    stub.setSubscription({ id: org.subscriptionId, customer: org.customer, quantity: 2 });
    expect((await deliver(subscriptionEvent('customer.subscription.updated', org.subscriptionId))).statusCode).toBe(200);
    expect(await billingOf(org.owner)).toMatchObject({ seats: 2, active_members: 3, pending_invites: 1, over_capacity: true });
    const members = await queryRows<{ n: number }>(
      t.database.db,
      sql`SELECT count(*)::int AS n FROM memberships WHERE org_id = ${org.orgId}`,
    );
    expect(members[0]!.n).toBe(3);
    const invite = await t.http.post('/api/v1/org/invite', { as: org.owner, body: { email: 'new@example.com' } });
    expect(invite.body.error.code).toBe('seat_limit');
    const invitee = await t.given.user({ email: pending.email });
    const accept = await t.http.post(`/api/v1/invites/${pending.token}/accept`, { as: invitee });
    expect(accept.status).toBe(409);
    expect(accept.body.error.code).toBe('seat_limit');

    // Below use is refused at Roster; raising goes to Stripe (prorated) before the reply.
    const below = await t.http.put('/api/v1/org/billing/seats', { as: org.owner, body: { seats: 3 } });
    expect(below.body.error.code).toBe('seats_below_usage');
    stub.requests.length = 0;
    const raised = await t.http.put('/api/v1/org/billing/seats', { as: org.owner, body: { seats: 6 } });
    expect(raised.status).toBe(200);
    expect(raised.body.billing).toMatchObject({ seats: 6, over_capacity: false });
    const itemUpdate = stub.requests.find((request) => request.path.startsWith('/v1/subscription_items/'));
    expect(itemUpdate).toMatchObject({ method: 'POST', params: { quantity: '6', proration_behavior: 'create_prorations' } });
    expect(stub.subscriptions.get(org.subscriptionId)!.quantity).toBe(6);
    const invited = await t.http.post('/api/v1/org/invite', { as: org.owner, body: { email: 'new@example.com' } });
    expect(invited.status).toBe(201);
  });

  it('changes nothing when Stripe refuses the seat change (502)', async () => {
    const org = await stripeOrg(5);
    stub.failNext(5);
    const reply = await t.http.put('/api/v1/org/billing/seats', { as: org.owner, body: { seats: 8 } });
    stub.failNext(0);
    expect(reply.status).toBe(502);
    expect(reply.body.error.code).toBe('billing_provider_unavailable');
    expect((await billingOf(org.owner)).seats).toBe(5);
    expect(await auditActions(org.orgId, 'billing.subscription_changed')).toEqual([]);
  });

  it('refuses self-serve seat changes and the portal for an Enterprise org (403 enterprise_managed)', async () => {
    const org = await stripeOrg(5);
    await t.database.db.execute(
      sql`UPDATE subscriptions SET plan = 'enterprise', provider = 'operator' WHERE org_id = ${org.orgId}`,
    );
    const seats = await t.http.put('/api/v1/org/billing/seats', { as: org.owner, body: { seats: 30 } });
    expect(seats.body.error.code).toBe('enterprise_managed');
    const portal = await t.http.post('/api/v1/billing/portal', { as: org.owner, body: { scope: 'org' } });
    expect(portal.body.error.code).toBe('enterprise_managed');
  });
});

describe('the operator moves an org that pays through Stripe (roster admin set-plan)', () => {
  const operator = () => ({ ...operatorCtx(t), billing: createBillingProvider(t.config) });
  const planOf = async (orgId: string) =>
    queryRows<{ plan: string; seats: number; provider: string; provider_ref: string }>(
      t.database.db,
      sql`SELECT plan, seats, provider, provider_ref FROM subscriptions WHERE org_id = ${orgId} AND status <> 'canceled'`,
    );

  it('refuses without --cancel-subscription, so the customer is never billed twice, and changes nothing', async () => {
    const org = await stripeOrg(5);
    await expect(setPlan(operator(), { slug: org.slug, plan: 'enterprise', seats: 40 })).rejects.toMatchObject({
      code: 'provider_subscription_active',
      message: expect.stringContaining(org.subscriptionId),
    });
    expect(await planOf(org.orgId)).toEqual([{ plan: 'team', seats: 5, provider: 'stripe', provider_ref: org.subscriptionId }]);
    expect(stub.requests.filter((request) => request.method === 'DELETE')).toEqual([]);
    expect(stub.subscriptions.get(org.subscriptionId)?.status).toBe('active');
  });

  it('with --cancel-subscription: cancels at Stripe (prorated) first, then the org is on Enterprise; the later `deleted` event changes nothing', async () => {
    const org = await stripeOrg(5);
    const view = await setPlan(operator(), { slug: org.slug, plan: 'enterprise', seats: 40, cancelSubscription: true });
    expect(view.org.plan).toBe('enterprise');
    const cancel = stub.requests.filter((request) => request.method === 'DELETE');
    expect(cancel).toEqual([
      { method: 'DELETE', path: `/v1/subscriptions/${org.subscriptionId}`, params: { prorate: 'true', invoice_now: 'true' } },
    ]);
    expect(stub.subscriptions.get(org.subscriptionId)?.status).toBe('canceled');
    expect(await planOf(org.orgId)).toEqual([
      { plan: 'enterprise', seats: 40, provider: 'operator', provider_ref: 'operator:alice' },
    ]);
    // Stripe then reports the cancellation: the Enterprise plan that replaced it stays.
    expect((await deliver(subscriptionEvent('customer.subscription.deleted', org.subscriptionId))).statusCode).toBe(200);
    expect(await planOf(org.orgId)).toEqual([
      { plan: 'enterprise', seats: 40, provider: 'operator', provider_ref: 'operator:alice' },
    ]);
    // Set again (already off Stripe): nothing more to cancel.
    stub.requests.length = 0;
    await setPlan(operator(), { slug: org.slug, plan: 'enterprise', seats: 45 });
    expect(stub.requests.filter((request) => request.method === 'DELETE')).toEqual([]);
  });

  it("a Stripe event fetched before set-plan --cancel-subscription replaced the plan never overwrites support's plan (regression: the org ended canceled)", async () => {
    const org = await stripeOrg(3);
    await setPlan(operator(), { slug: org.slug, plan: 'team', seats: 10, cancelSubscription: true });
    expect(await planOf(org.orgId)).toEqual([{ plan: 'team', seats: 10, provider: 'operator', provider_ref: 'operator:alice' }]);
    // The state an invoice.paid in flight had fetched before the cancel: active, 3 seats.
    stub.setSubscription({ id: org.subscriptionId, customer: org.customer, status: 'active', quantity: 3 });
    expect((await deliver(subscriptionEvent('invoice.paid', org.subscriptionId, { object: 'invoice' }))).statusCode).toBe(200);
    expect((await deliver(subscriptionEvent('customer.subscription.updated', org.subscriptionId))).statusCode).toBe(200);
    stub.setSubscription({ id: org.subscriptionId, customer: org.customer, status: 'canceled' });
    expect((await deliver(subscriptionEvent('customer.subscription.deleted', org.subscriptionId))).statusCode).toBe(200);
    expect(await planOf(org.orgId)).toEqual([{ plan: 'team', seats: 10, provider: 'operator', provider_ref: 'operator:alice' }]);
    expect(await billingOf(org.owner)).toMatchObject({ plan: 'team', status: 'active', seats: 10, managed_by_support: true });
  });

  it("moving a past_due org off Stripe leaves none of Stripe's state: active, no period end, no pending cancellation (regression: past_due for good)", async () => {
    const org = await stripeOrg(4);
    stub.setSubscription({ id: org.subscriptionId, customer: org.customer, status: 'past_due', cancelAtPeriodEnd: true });
    expect((await deliver(subscriptionEvent('customer.subscription.updated', org.subscriptionId))).statusCode).toBe(200);
    expect(await billingOf(org.owner)).toMatchObject({ status: 'past_due', cancel_at_period_end: true });
    await setPlan(operator(), { slug: org.slug, plan: 'enterprise', seats: 30, cancelSubscription: true });
    expect(await billingOf(org.owner)).toMatchObject({
      plan: 'enterprise',
      status: 'active',
      seats: 30,
      current_period_end: null,
      cancel_at_period_end: false,
    });
  });

  it('changes nothing when Stripe cannot be reached (502), and a retry after a lost reply finds it canceled', async () => {
    const org = await stripeOrg(5);
    stub.failNext(5); // more than the SDK's own retries
    await expect(
      setPlan(operator(), { slug: org.slug, plan: 'enterprise', seats: 40, cancelSubscription: true }),
    ).rejects.toMatchObject({ code: 'billing_provider_unavailable' });
    stub.failNext(0);
    expect(await planOf(org.orgId)).toEqual([{ plan: 'team', seats: 5, provider: 'stripe', provider_ref: org.subscriptionId }]);
    expect(stub.subscriptions.get(org.subscriptionId)?.status).toBe('active');
    // Canceled at Stripe while Roster did not hear back: the retry does not cancel again.
    stub.setSubscription({ id: org.subscriptionId, customer: org.customer, status: 'canceled' });
    stub.requests.length = 0;
    await setPlan(operator(), { slug: org.slug, plan: 'enterprise', seats: 40, cancelSubscription: true });
    expect(stub.requests.filter((request) => request.method === 'DELETE')).toEqual([]);
    expect(await planOf(org.orgId)).toMatchObject([{ plan: 'enterprise', seats: 40 }]);
  });
});
