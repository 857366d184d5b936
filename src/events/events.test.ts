import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorCtx, startApp, type TestApp } from '../../test/kit/app.ts';
import { uniqueEmail, type TestOrg } from '../../test/kit/given.ts';
import { inviteTokenOf } from '../../test/kit/mailbox.ts';
import { createServiceToken, enableUser, setAllocation, setPlan } from '../admin/service.ts';
import { recordAudit } from '../audit/record.ts';
import { queryRows } from '../db/client.ts';
import { eventsOfOrg } from './queries.ts';
import type { EventType } from './types.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(async () => {
  await t.close();
});

// Written out here, not imported: the test states the contract's names independently of eventOf.
const EVENT_OF_ACTION: Record<string, EventType | EventType[]> = {
  'org.created': 'org.created',
  'org.renamed': 'org.updated',
  'org.ownership_transferred': 'org.ownership_transferred',
  'member.joined': 'member.joined',
  'member.removed': 'member.removed',
  'member.left': 'member.removed',
  'member.role_changed': 'member.role_changed',
  'member.disabled': 'member.disabled',
  'member.enabled': 'member.enabled',
  'member.usage_limit_changed': 'usage.limit_changed',
  'invite.sent': 'invite.created',
  'invite.resent': 'invite.resent',
  'invite.revoked': 'invite.revoked',
  'invite.expired': 'invite.expired',
  'invite.accepted': 'invite.accepted',
  'billing.subscription_changed': ['billing.seats_changed', 'billing.plan_changed'],
  'project.created': 'project.created',
  'project.updated': 'project.updated',
  'project.member_changed': 'project.member_changed',
  'project.member_removed': 'project.member_removed',
  'project.deleted': 'project.deleted',
  'billing.status_changed': 'billing.status_changed',
  'usage.allocation_changed': 'usage.allocation_changed',
  'storage.recounted': 'storage.recounted',
  'usage.allocation_low': 'usage.allocation_low',
  'usage.allocation_exhausted': 'usage.allocation_exhausted',
};

// Every event type must be produced by the scenario below (a compile error names a new one).
const ALL_EVENT_TYPES: Record<EventType, true> = {
  'org.created': true,
  'org.updated': true,
  'org.ownership_transferred': true,
  'member.joined': true,
  'member.removed': true,
  'member.role_changed': true,
  'member.disabled': true,
  'member.enabled': true,
  'invite.created': true,
  'invite.resent': true,
  'invite.revoked': true,
  'invite.expired': true,
  'invite.accepted': true,
  'billing.seats_changed': true,
  'billing.plan_changed': true,
  'billing.status_changed': true,
  'usage.limit_changed': true,
  'usage.allocation_changed': true,
  'storage.recounted': true,
  'usage.allocation_low': true,
  'usage.allocation_exhausted': true,
  'usage.limit_exceeded': true,
  'project.created': true,
  'project.updated': true,
  'project.member_changed': true,
  'project.member_removed': true,
  'project.deleted': true,
};

// Only a payment provider's webhook changes a subscription's status: src/billing/stripe.test.ts
// asserts those events; the local provider of this scenario cannot produce them.
const PROVIDER_ONLY: EventType[] = ['billing.status_changed'];
// A refused request changes nothing, so it has no audit entry: src/usage/on-behalf.test.ts asserts it.
const NOT_AUDITED: EventType[] = ['usage.limit_exceeded'];

interface AuditWithTx {
  action: string;
  target_id: string;
  created_at: Date | string;
  tx: string;
}

async function auditOf(orgId: string) {
  return queryRows<AuditWithTx>(
    t.database.db,
    sql`SELECT action, target_id, created_at, xmin::text AS tx FROM audit_log WHERE org_id = ${orgId} ORDER BY id`,
  );
}

async function eventTxs(orgId: string): Promise<string[]> {
  const rows = await queryRows<{ tx: string }>(
    t.database.db,
    sql`SELECT xmin::text AS tx FROM events WHERE org_id = ${orgId} ORDER BY position`,
  );
  return rows.map((row) => row.tx);
}

async function ok(reply: Promise<{ status: number; body: any }>, status = 200): Promise<any> {
  const settled = await reply;
  expect(settled.status, JSON.stringify(settled.body)).toBe(status);
  return settled.body;
}

/** Every audited change the product makes today, in one org (and the operator's on it). */
async function everyAuditedChange(): Promise<TestOrg> {
  const org = await t.given.org({ admins: 2, members: 2 });
  const [admin, leaver] = org.admins as [TestOrg['owner'], TestOrg['owner']];
  const [member, removed] = org.members as [TestOrg['owner'], TestOrg['owner']];
  await ok(t.http.patch('/api/v1/org', { as: org.owner, body: { name: 'Renamed' } }));
  const project = (await ok(t.http.post('/api/v1/org/projects', { as: org.owner, body: { name: 'Apollo' } }), 201)).project;
  await ok(t.http.patch(`/api/v1/org/projects/${project.id}`, { as: org.owner, body: { description: 'To the moon' } }));
  await ok(t.http.put(`/api/v1/org/projects/${project.id}/members/${admin.id}`, { as: org.owner, body: { editor: false } }));
  await ok(t.http.delete(`/api/v1/org/projects/${project.id}/members/${admin.id}`, { as: org.owner }), 204);
  await ok(t.http.delete(`/api/v1/org/projects/${project.id}`, { as: org.owner }), 204);
  await ok(t.http.put(`/api/v1/org/members/${member.id}/role`, { as: org.owner, body: { role: 'admin' } }));
  await ok(t.http.delete(`/api/v1/org/members/${removed.id}`, { as: org.owner }), 204);
  await ok(t.http.post('/api/v1/org/leave', { as: leaver }), 204);
  await ok(t.http.put(`/api/v1/org/members/${member.id}/usage-limit`, { as: org.owner, body: { daily: 5, monthly: null } }));
  await ok(t.http.post(`/api/v1/org/members/${member.id}/disable`, { as: org.owner }));
  await enableUser(operatorCtx(t, 'ops'), { email: member.email });
  await ok(t.http.post('/api/v1/billing/checkout', { as: org.owner, body: { plan: 'team', seats: 9, scope: 'org' } }));
  await setPlan(operatorCtx(t, 'ops'), { slug: org.slug, plan: 'enterprise', seats: 9 });
  await setAllocation(operatorCtx(t, 'ops'), { slug: org.slug, monthly: '10' });
  const { token } = await createServiceToken(operatorCtx(t, 'ops'), { name: 'recount', scopes: 'storage:write' });
  await ok(t.http.put('/api/v1/org/storage', { as: { token }, body: { org_id: org.id, used_bytes: 1234 } }));
  // Using the whole allocation at once crosses 80% and 100%: both warnings, recorded by 'system'.
  await ok(t.http.post('/api/v1/usage', { as: org.owner, body: { activity: 'api.call', quantity: 10 } }), 201);

  const invitee = await t.given.user({ email: uniqueEmail('joins') });
  const invited = await ok(t.http.post('/api/v1/org/invite', { as: org.owner, body: { email: invitee.email } }), 201);
  await ok(t.http.post(`/api/v1/org/invites/${invited.invite.id}/resend`, { as: org.owner }));
  const resent = await t.http.get('/api/v1/org/invites', { as: org.owner });
  const link = resent.body.invites.find((row: any) => row.id === invited.invite.id).link;
  await ok(t.http.post(`/api/v1/invites/${inviteTokenOf(link)}/accept`, { as: invitee }));
  const revokedInvite = await ok(
    t.http.post('/api/v1/org/invite', { as: org.owner, body: { email: uniqueEmail('revoked') } }),
    201,
  );
  await ok(t.http.delete(`/api/v1/org/invites/${revokedInvite.invite.id}`, { as: org.owner }), 204);

  const late = uniqueEmail('late');
  await ok(t.http.post('/api/v1/org/invite', { as: org.owner, body: { email: late } }), 201);
  const ttl = t.config.inviteTtlSeconds;
  t.clock.advance(ttl + 60);
  try {
    // Inviting the address again expires the stale invitation and sends a new one, in one change.
    await ok(t.http.post('/api/v1/org/invite', { as: org.owner, body: { email: late } }), 201);
  } finally {
    t.clock.advance(-(ttl + 60));
  }
  await ok(t.http.post('/api/v1/org/transfer-ownership', { as: org.owner, body: { user_id: admin.id } }));
  return org;
}

describe('domain events', () => {
  it('every audited change writes exactly one event of its type, in the same transaction as its audit entry', async () => {
    const org = await everyAuditedChange();
    const audit = await auditOf(org.id);
    const events = await eventsOfOrg(t.database.db, org.id);
    expect(events).toHaveLength(audit.length);
    const txs = await eventTxs(org.id);
    audit.forEach((entry, index) => {
      const event = events[index]!;
      const expected = EVENT_OF_ACTION[entry.action];
      expect(expected, `no event named for audit action ${entry.action}`).toBeDefined();
      expect([expected].flat(), `${entry.action} -> ${event.type}`).toContain(event.type);
      // xmin is the id of the transaction that wrote the row: the same for the entry and its event.
      expect(txs[index], entry.action).toBe(entry.tx);
      expect(event.createdAt.getTime()).toBe(new Date(entry.created_at).getTime());
    });
    const expectedTypes = Object.keys(ALL_EVENT_TYPES).filter(
      (type) => !PROVIDER_ONLY.includes(type as EventType) && !NOT_AUDITED.includes(type as EventType),
    );
    expect(new Set(events.map((event) => event.type))).toEqual(new Set(expectedTypes));
    expect(new Set(events.map((event) => event.id)).size).toBe(events.length);
  });

  it('carries the typed data a receiver needs, with API ids and names', async () => {
    const org = await t.given.org({ members: 2, seats: 8 });
    const [member, removed] = org.members as [TestOrg['owner'], TestOrg['owner']];
    await ok(t.http.put(`/api/v1/org/members/${member.id}/role`, { as: org.owner, body: { role: 'admin' } }));
    await ok(t.http.delete(`/api/v1/org/members/${removed.id}`, { as: org.owner }), 204);
    await ok(t.http.post('/api/v1/billing/checkout', { as: org.owner, body: { plan: 'team', seats: 6, scope: 'org' } }));
    const events = await eventsOfOrg(t.database.db, org.id);
    expect(events.map((event) => ({ type: event.type, data: event.data })).slice(-3)).toEqual([
      { type: 'member.role_changed', data: { user_id: member.id, role: 'admin', previous_role: 'member' } },
      { type: 'member.removed', data: { user_id: removed.id, email: removed.email, role: 'member', reason: 'removed' } },
      { type: 'billing.seats_changed', data: { plan: 'team', seats: 6, previous_plan: 'team', previous_seats: 8 } },
    ]);
  });

  it('names the owner in org.created, and sends billing.plan_changed for a plan change also when the seats change with it', async () => {
    const org = await t.given.org({ seats: 8 });
    await setPlan(operatorCtx(t, 'ops'), { slug: org.slug, plan: 'enterprise', seats: 30 });
    await setPlan(operatorCtx(t, 'ops'), { slug: org.slug, plan: 'enterprise', seats: 31 });
    await setPlan(operatorCtx(t, 'ops'), { slug: org.slug, plan: 'team', seats: 31 });
    const events = await eventsOfOrg(t.database.db, org.id);
    expect(events.find((event) => event.type === 'org.created')?.data).toMatchObject({ owner_user_id: org.owner.id });
    expect(
      events.filter((event) => event.type.startsWith('billing.')).map((event) => ({ type: event.type, data: event.data })),
    ).toEqual([
      { type: 'billing.plan_changed', data: { plan: 'enterprise', seats: 30, previous_plan: 'team', previous_seats: 8 } },
      { type: 'billing.seats_changed', data: { plan: 'enterprise', seats: 31, previous_plan: 'enterprise', previous_seats: 30 } },
      { type: 'billing.plan_changed', data: { plan: 'team', seats: 31, previous_plan: 'enterprise', previous_seats: 31 } },
    ]);
  });

  it('a rolled-back change leaves neither its audit entry nor its event', async () => {
    const org = await t.given.org();
    const before = { audit: (await auditOf(org.id)).length, events: (await eventsOfOrg(t.database.db, org.id)).length };
    await expect(
      t.database.db.transaction(async (tx) => {
        await recordAudit(tx, operatorCtx(t, 'ops'), {
          orgId: org.id,
          action: 'org.renamed',
          targetType: 'org',
          targetId: org.id,
          before: { name: 'A' },
          after: { name: 'B' },
        });
        throw new Error('the change failed after its audit entry');
      }),
    ).rejects.toThrow('the change failed');
    expect((await auditOf(org.id)).length).toBe(before.audit);
    expect((await eventsOfOrg(t.database.db, org.id)).length).toBe(before.events);
    // A refused operation (the last admin) writes neither either.
    const refused = await t.http.post('/api/v1/org/leave', { as: org.owner });
    expect(refused.status).toBe(409);
    expect((await eventsOfOrg(t.database.db, org.id)).length).toBe(before.events);
  });
});
