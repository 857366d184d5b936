import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorCtx, startApp, type TestApp } from '../../test/kit/app.ts';
import { PASSWORD, type TestOrg } from '../../test/kit/given.ts';
import { serverPostgresUrl } from '../../test/kit/postgres.ts';
import { queryRows } from '../db/client.ts';
import {
  createServiceToken,
  disableUser,
  enableUser,
  globalAudit,
  orgAudit,
  removeMember,
  revokeInvite,
  revokeServiceToken,
  setAllocation,
  setPlan,
  showOrg,
  showUser,
  transferOwnership,
} from './service.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(async () => {
  await t.close();
});

async function entries(orgId: string, action: string) {
  return queryRows<{ actor_user_id: string | null; actor_label: string; before: unknown; after: unknown }>(
    t.database.db,
    sql`SELECT actor_user_id, actor_label, before, after FROM audit_log WHERE org_id = ${orgId} AND action = ${action}`,
  );
}

const refusal = (code: string) => expect.objectContaining({ code });

describe('set-plan', () => {
  it('moves an org to Enterprise: tier enterprise, unlimited storage, audited with the operator as actor', async () => {
    const org = await t.given.org({ seats: 5, members: 1 });
    const view = await setPlan(operatorCtx(t), { slug: org.slug, plan: 'enterprise', seats: 40 });
    expect(view.org.plan).toBe('enterprise');
    const reply = await t.http.get('/api/v1/org', { as: org.owner });
    expect(reply.body.org).toMatchObject({ tier: 'enterprise', storage_limit_bytes: null, seats: { limit: 40 } });
    expect(await entries(org.id, 'billing.subscription_changed')).toEqual([
      {
        actor_user_id: null,
        actor_label: 'operator:alice',
        before: { plan: 'team', seats: 5, provider: 'local' },
        after: { plan: 'enterprise', seats: 40, provider: 'operator' },
      },
    ]);
  });

  it('refuses seats below active members plus pending invitations, changing and auditing nothing', async () => {
    const org = await t.given.org({ seats: 5, members: 1 });
    await t.given.invitation(org, { email: 'pending@example.com' });
    await expect(setPlan(operatorCtx(t), { slug: org.slug, plan: 'enterprise', seats: 2 })).rejects.toEqual(
      refusal('seats_below_usage'),
    );
    expect((await t.http.get('/api/v1/org', { as: org.owner })).body.org).toMatchObject({ tier: 'team', seats: { limit: 5 } });
    expect(await entries(org.id, 'billing.subscription_changed')).toEqual([]);
    // Exactly members plus pending is enough.
    await setPlan(operatorCtx(t), { slug: org.slug, plan: 'team', seats: 3 });
  });

  it('refuses unknown plans, bad seat counts and unknown orgs', async () => {
    const org = await t.given.org();
    await expect(setPlan(operatorCtx(t), { slug: org.slug, plan: 'gold', seats: 5 })).rejects.toEqual(refusal('invalid_plan'));
    await expect(setPlan(operatorCtx(t), { slug: org.slug, plan: 'team', seats: 0 })).rejects.toEqual(refusal('invalid_seats'));
    await expect(setPlan(operatorCtx(t), { slug: 'no-such-org', plan: 'team', seats: 5 })).rejects.toEqual(
      refusal('org_not_found'),
    );
  });

  it('is refused to anyone but the operator', async () => {
    const org = await t.given.org();
    const ctx = { ...operatorCtx(t), actor: { ...operatorCtx(t).actor!, via: 'session' as const } };
    await expect(setPlan(ctx, { slug: org.slug, plan: 'enterprise', seats: 50 })).rejects.toEqual(refusal('forbidden'));
  });

  it('gives Enterprise its default of 25 seats without seats (contract), and needs seats for Team', async () => {
    const org = await t.given.org({ seats: 5, members: 1 });
    const view = await setPlan(operatorCtx(t), { slug: org.slug, plan: 'enterprise' });
    expect(view.org).toMatchObject({ plan: 'enterprise', seatLimit: 25 });
    expect(await entries(org.id, 'billing.subscription_changed')).toEqual([
      expect.objectContaining({
        before: { plan: 'team', seats: 5, provider: 'local' },
        after: { plan: 'enterprise', seats: 25, provider: 'operator' },
      }),
    ]);
    // A forgotten --seats must not shrink a paying Team org to a default.
    await expect(setPlan(operatorCtx(t), { slug: org.slug, plan: 'team' })).rejects.toEqual(refusal('invalid_seats'));
    expect((await showOrg(operatorCtx(t), { slug: org.slug })).org).toMatchObject({ plan: 'enterprise', seatLimit: 25 });
  });

  it('changes and audits nothing when the org already has that plan and those seats (also from another operator)', async () => {
    const org = await t.given.org({ seats: 5 });
    expect((await setPlan(operatorCtx(t), { slug: org.slug, plan: 'enterprise', seats: 30 })).changed).toBe(true);
    const again = await setPlan(operatorCtx(t, 'bob'), { slug: org.slug, plan: 'enterprise', seats: 30 });
    expect(again).toMatchObject({ changed: false, org: { plan: 'enterprise', seatLimit: 30 } });
    expect(await entries(org.id, 'billing.subscription_changed')).toHaveLength(1);
    expect((await setPlan(operatorCtx(t), { slug: org.slug, plan: 'enterprise', seats: 31 })).changed).toBe(true);
    expect(await entries(org.id, 'billing.subscription_changed')).toHaveLength(2);
  });

  it('audits who bills the plan when only that changes (support takes over a plan the customer bought)', async () => {
    const org = await t.given.org({ seats: 5 });
    expect((await setPlan(operatorCtx(t), { slug: org.slug, plan: 'team', seats: 5 })).changed).toBe(true);
    expect((await entries(org.id, 'billing.subscription_changed')).map(({ before, after }) => ({ before, after }))).toEqual([
      { before: { plan: 'team', seats: 5, provider: 'local' }, after: { plan: 'team', seats: 5, provider: 'operator' } },
    ]);
    expect((await setPlan(operatorCtx(t), { slug: org.slug, plan: 'team', seats: 5 })).changed).toBe(false);
  });

  it('records reactivating a canceled org as a status change (audit entry and billing.status_changed event)', async () => {
    const org = await t.given.org({ seats: 5 });
    await t.database.db.execute(sql`UPDATE subscriptions SET status = 'canceled' WHERE org_id = ${org.id}`);
    await setPlan(operatorCtx(t), { slug: org.slug, plan: 'team', seats: 5 });
    expect((await entries(org.id, 'billing.status_changed')).map(({ before, after }) => ({ before, after }))).toEqual([
      { before: { status: 'canceled' }, after: { status: 'active', plan: 'team', seats: 5 } },
    ]);
    const events = await queryRows<{ type: string; data: Record<string, unknown> }>(
      t.database.db,
      sql`SELECT type, data FROM events WHERE org_id = ${org.id} AND type LIKE 'billing.%' ORDER BY created_at, id`,
    );
    expect(events.map((event) => event.type)).toContain('billing.status_changed');
    expect(events.find((event) => event.type === 'billing.status_changed')?.data).toMatchObject({
      status: 'active',
      previous_status: 'canceled',
    });
    expect(events.every((event) => !('provider' in event.data))).toBe(true);
  });

  it('makes an org that re-enters Enterprise unlimited again, instead of bringing back an earlier allocation', async () => {
    const org = await t.given.org({ seats: 5 });
    await setPlan(operatorCtx(t), { slug: org.slug, plan: 'enterprise' });
    await setAllocation(operatorCtx(t), { slug: org.slug, monthly: 50 });
    await setPlan(operatorCtx(t), { slug: org.slug, plan: 'team', seats: 5 });
    await setPlan(operatorCtx(t), { slug: org.slug, plan: 'enterprise' });
    const billing = await t.http.get('/api/v1/org/billing', { as: org.owner });
    expect(billing.body.allocation).toMatchObject({ monthly: null, remaining: null });
    // Each entry's `before` is what the org had: Team's 1,000 a seat on entering Enterprise
    // (regression: the setting of the earlier Enterprise period, and no entry the first time).
    expect((await entries(org.id, 'usage.allocation_changed')).map(({ before, after }) => ({ before, after }))).toEqual([
      { before: { monthly: 5000 }, after: { monthly: null } },
      { before: { monthly: null }, after: { monthly: 50 } },
      { before: { monthly: 5000 }, after: { monthly: null } },
    ]);
    // Staying on Enterprise keeps what support set.
    await setAllocation(operatorCtx(t), { slug: org.slug, monthly: 70 });
    await setPlan(operatorCtx(t), { slug: org.slug, plan: 'enterprise', seats: 30 });
    expect((await t.http.get('/api/v1/org/billing', { as: org.owner })).body.allocation.monthly).toBe(70);
  });
});

describe('transfer-ownership', () => {
  it('makes an active member the owner and the owner an admin, audited as the operator; the old owner can then be disabled', async () => {
    const org = await t.given.org({ members: 1 });
    const member = org.members[0]!;
    const result = await transferOwnership(operatorCtx(t), { slug: org.slug, toEmail: member.email.toUpperCase() });
    expect(result.owner).toMatchObject({ userId: member.id, role: 'owner' });
    expect(result.previousOwner).toMatchObject({ userId: org.owner.id, role: 'admin' });
    expect(await t.given.roleOf(org.id, member.id)).toBe('owner');
    expect(await t.given.roleOf(org.id, org.owner.id)).toBe('admin');
    const owners = await queryRows<{ n: number }>(
      t.database.db,
      sql`SELECT count(*)::int AS n FROM memberships WHERE org_id = ${org.id} AND role = 'owner'`,
    );
    expect(owners).toEqual([{ n: 1 }]);
    expect(await entries(org.id, 'org.ownership_transferred')).toEqual([
      {
        actor_user_id: null,
        actor_label: 'operator:alice',
        before: { owner: org.owner.id, new_owner_role: 'member' },
        after: { owner: member.id, previous_owner_role: 'admin' },
      },
    ]);
    // What support needed it for: the former owner can now be disabled.
    expect((await disableUser(operatorCtx(t), { email: org.owner.email })).changed).toBe(true);
    await expect(disableUser(operatorCtx(t), { email: member.email })).rejects.toEqual(refusal('cannot_disable_owner'));
  });

  it('refuses a user of another org, a disabled member, the owner itself, unknown users and orgs, changing nothing', async () => {
    const org = await t.given.org({ members: 2 });
    const other = await t.given.org({ members: 1 });
    const disabled = org.members[1]!;
    await t.http.post(`/api/v1/org/members/${disabled.id}/disable`, { as: org.owner });
    const attempts: [string, string, string][] = [
      [org.slug, other.members[0]!.email, 'not_a_member'],
      [org.slug, (await t.given.user()).email, 'not_a_member'],
      [org.slug, disabled.email, 'member_disabled'],
      [org.slug, org.owner.email, 'already_owner'],
      [org.slug, 'nobody@example.com', 'user_not_found'],
      ['no-such-org', org.members[0]!.email, 'org_not_found'],
    ];
    for (const [slug, toEmail, code] of attempts) {
      await expect(transferOwnership(operatorCtx(t), { slug, toEmail })).rejects.toEqual(refusal(code));
    }
    expect(await t.given.roleOf(org.id, org.owner.id)).toBe('owner');
    expect(await entries(org.id, 'org.ownership_transferred')).toEqual([]);
  });

  it('is refused to anyone but the operator', async () => {
    const org = await t.given.org({ members: 1 });
    const ctx = { ...operatorCtx(t), actor: { ...operatorCtx(t).actor, via: 'session' as const } };
    await expect(transferOwnership(ctx, { slug: org.slug, toEmail: org.members[0]!.email })).rejects.toEqual(
      refusal('forbidden'),
    );
    expect(await t.given.roleOf(org.id, org.owner.id)).toBe('owner');
  });
});

describe('disable-user and enable-user', () => {
  it("disables at once and re-enables, each audited once in the user's org by the operator", async () => {
    const org = await t.given.org({ members: 1 });
    const member = org.members[0]!;
    const disabled = await disableUser(operatorCtx(t), { email: member.email.toUpperCase() });
    expect(disabled).toMatchObject({ userId: member.id, changed: true, orgSlug: org.slug });
    expect((await t.http.get('/api/v1/me', { as: member })).status).toBe(401);
    expect((await t.http.post('/api/v1/auth/login', { body: { email: member.email, password: PASSWORD } })).body.error.code).toBe(
      'user_disabled',
    );
    expect((await disableUser(operatorCtx(t), { email: member.email })).changed).toBe(false);

    expect((await enableUser(operatorCtx(t), { email: member.email })).changed).toBe(true);
    expect((await enableUser(operatorCtx(t), { email: member.email })).changed).toBe(false);
    const login = await t.http.post('/api/v1/auth/login', { body: { email: member.email, password: PASSWORD } });
    expect(login.status).toBe(200);
    expect(await entries(org.id, 'member.disabled')).toEqual([
      {
        actor_user_id: null,
        actor_label: 'operator:alice',
        before: { email: member.email, status: 'active' },
        after: { email: member.email, status: 'disabled' },
      },
    ]);
    expect(await entries(org.id, 'member.enabled')).toEqual([
      {
        actor_user_id: null,
        actor_label: 'operator:alice',
        before: { email: member.email, status: 'disabled' },
        after: { email: member.email, status: 'active' },
      },
    ]);
  });

  it('reports what a disable also ended, and re-enabling brings back no session or API token (regression: old tokens worked again)', async () => {
    const org = await t.given.org({ seats: 10, admins: 1 });
    const admin = org.admins[0]!;
    const token = await t.given.apiToken(admin);
    const project = await t.http.post('/api/v1/org/projects', { as: admin, body: { name: 'Launch' } });
    expect(project.status).toBe(201);
    const invited = await t.http.post('/api/v1/org/invite', {
      as: admin,
      body: { email: 'next-admin@example.com', role: 'admin' },
    });
    expect(invited.status).toBe(201);

    const disabled = await disableUser(operatorCtx(t), { email: admin.email });
    expect(disabled.sideEffects).toEqual({ sessionsEnded: 1, apiTokensRevoked: 1, projectsLeft: 1, adminInvitesRevoked: 1 });
    expect((await disableUser(operatorCtx(t), { email: admin.email })).sideEffects).toEqual({
      sessionsEnded: 0,
      apiTokensRevoked: 0,
      projectsLeft: 0,
      adminInvitesRevoked: 0,
    });

    const enabled = await enableUser(operatorCtx(t), { email: admin.email });
    expect(enabled.changed).toBe(true);
    for (const credential of [admin, { token: token.token }]) {
      expect((await t.http.get('/api/v1/me', { as: credential })).status).toBe(401);
    }
    expect((await t.http.post('/api/v1/auth/login', { body: { email: admin.email, password: PASSWORD } })).status).toBe(200);
  });

  it('ends the API tokens of a member an admin disables through the API too', async () => {
    const org = await t.given.org({ members: 1 });
    const member = org.members[0]!;
    const token = await t.given.apiToken(member);
    expect((await t.http.post(`/api/v1/org/members/${member.id}/disable`, { as: org.owner })).status).toBe(200);
    await enableUser(operatorCtx(t), { email: member.email });
    expect((await t.http.get('/api/v1/me', { as: { token: token.token } })).status).toBe(401);
    expect((await showUser(operatorCtx(t), { email: member.email })).apiTokens).toBe(0);
  });

  it('re-enables a member disabled by an admin through the API', async () => {
    const org = await t.given.org({ members: 1 });
    const member = org.members[0]!;
    await t.http.post(`/api/v1/org/members/${member.id}/disable`, { as: org.owner });
    await enableUser(operatorCtx(t), { email: member.email });
    expect(
      (await t.http.get('/api/v1/org', { as: org.owner })).body.members.find((m: any) => m.user_id === member.id).status,
    ).toBe('active');
  });

  it("refuses to disable an org's current owner until ownership is transferred", async () => {
    const org = await t.given.org();
    await expect(disableUser(operatorCtx(t), { email: org.owner.email })).rejects.toEqual(refusal('cannot_disable_owner'));
    expect((await t.http.get('/api/v1/me', { as: org.owner })).status).toBe(200);
    expect(await entries(org.id, 'member.disabled')).toEqual([]);
  });

  it('refuses unknown and invalid addresses', async () => {
    await expect(enableUser(operatorCtx(t), { email: 'nobody@example.com' })).rejects.toEqual(refusal('user_not_found'));
    await expect(disableUser(operatorCtx(t), { email: 'not an address' })).rejects.toEqual(refusal('invalid_email'));
  });
});

describe('remove-member and revoke-invite', () => {
  it('removes a member as the owner could: seat freed, projects left, audited once with the operator as actor', async () => {
    const org = await t.given.org({ seats: 5, admins: 1, members: 1 });
    const admin = org.admins[0]!;
    expect((await t.http.post('/api/v1/org/projects', { as: admin, body: { name: 'Docs' } })).status).toBe(201);
    expect(
      (await t.http.post('/api/v1/org/invite', { as: admin, body: { email: 'x-admin@example.com', role: 'admin' } })).status,
    ).toBe(201);

    const removed = await removeMember(operatorCtx(t), { slug: org.slug, email: admin.email.toUpperCase() });
    expect(removed.released).toEqual({ projectsLeft: 1, adminInvitesRevoked: 1 });
    const me = await t.http.get('/api/v1/me', { as: admin });
    expect([me.status, me.body.org]).toEqual([200, null]);
    const view = (await t.http.get('/api/v1/org', { as: org.owner })).body.org;
    expect(view.seats).toMatchObject({ active_members: 2, pending_invites: 0 });
    expect(await entries(org.id, 'member.removed')).toEqual([
      { actor_user_id: null, actor_label: 'operator:alice', before: { email: admin.email, role: 'admin' }, after: null },
    ]);
    await expect(removeMember(operatorCtx(t), { slug: org.slug, email: admin.email })).rejects.toEqual(refusal('not_a_member'));
  });

  it('refuses the owner, a user of another org, unknown users and orgs, changing nothing', async () => {
    const org = await t.given.org({ members: 1 });
    const other = await t.given.org();
    const remove = (slug: string, email: string) => removeMember(operatorCtx(t), { slug, email });
    await expect(remove(org.slug, org.owner.email)).rejects.toEqual(refusal('cannot_remove_owner'));
    await expect(remove(org.slug, other.owner.email)).rejects.toEqual(refusal('not_a_member'));
    await expect(remove(org.slug, 'nobody@example.com')).rejects.toEqual(refusal('user_not_found'));
    await expect(remove('no-such-org', org.members[0]!.email)).rejects.toEqual(refusal('org_not_found'));
    expect((await t.http.get('/api/v1/org', { as: org.owner })).body.org.seats.active_members).toBe(2);
    expect(await entries(org.id, 'member.removed')).toEqual([]);
  });

  it('revokes a pending invitation by address: link dead, seat free, audited; then invite_not_found', async () => {
    const org = await t.given.org({ seats: 2 });
    const invitation = await t.given.invitation(org, { email: 'Pending.Person@example.com' });
    await revokeInvite(operatorCtx(t), { slug: org.slug, email: 'pending.person@EXAMPLE.com' });
    expect((await t.http.get(`/api/v1/invites/${invitation.token}`)).body.status).toBe('revoked');
    expect((await t.http.get('/api/v1/org', { as: org.owner })).body.org.seats.pending_invites).toBe(0);
    expect(await entries(org.id, 'invite.revoked')).toEqual([
      {
        actor_user_id: null,
        actor_label: 'operator:alice',
        before: { email: 'Pending.Person@example.com', role: 'member', status: 'pending' },
        after: { status: 'revoked' },
      },
    ]);
    await expect(revokeInvite(operatorCtx(t), { slug: org.slug, email: 'pending.person@example.com' })).rejects.toEqual(
      refusal('invite_not_found'),
    );
    await expect(revokeInvite(operatorCtx(t), { slug: org.slug, email: 'not an address' })).rejects.toEqual(
      refusal('invalid_email'),
    );
  });

  it('are refused to anyone but the operator', async () => {
    const org = await t.given.org({ members: 1 });
    const ctx = { ...operatorCtx(t), actor: { ...operatorCtx(t).actor!, via: 'session' as const } };
    await expect(removeMember(ctx, { slug: org.slug, email: org.members[0]!.email })).rejects.toEqual(refusal('forbidden'));
    await expect(revokeInvite(ctx, { slug: org.slug, email: 'a@example.com' })).rejects.toEqual(refusal('forbidden'));
  });
});

describe('show-org and audit', () => {
  it('shows members, seats, pending invitations, plan and storage', async () => {
    const org = await t.given.org({ seats: 6, members: 2 });
    await t.given.invitation(org, { email: 'Invited@Example.com' });
    const report = await showOrg(operatorCtx(t), { slug: org.slug });
    expect(report.org).toMatchObject({ slug: org.slug, plan: 'team', seatLimit: 6 });
    expect(report.seats).toEqual({ activeMembers: 3, pendingInvites: 1 });
    expect(report.storageLimitBytes).toBe(6 * 1024 ** 3);
    expect(report.members.map((member) => member.email).sort()).toEqual(
      [org.owner.email, ...org.members.map((member) => member.email)].sort(),
    );
    expect(report.pendingInvitations).toEqual([expect.objectContaining({ email: 'Invited@Example.com', role: 'member' })]);
    expect(report.billing).toMatchObject({
      status: 'active',
      provider: 'local',
      managedBySupport: false,
      overCapacity: false,
      allocation: { monthly: 6 * t.config.teamCreditsPerSeat, used: 0 },
    });
    await expect(showOrg(operatorCtx(t), { slug: 'no-such-org' })).rejects.toEqual(refusal('org_not_found'));
  });

  it('says when an org is canceled, and who bills a plan support set', async () => {
    const org = await t.given.org({ seats: 5 });
    await setPlan(operatorCtx(t), { slug: org.slug, plan: 'enterprise' });
    expect((await showOrg(operatorCtx(t), { slug: org.slug })).billing).toMatchObject({
      plan: 'enterprise',
      status: 'active',
      provider: 'operator',
      managedBySupport: true,
    });
    await t.database.db.execute(sql`UPDATE subscriptions SET status = 'canceled' WHERE org_id = ${org.id}`);
    expect((await showOrg(operatorCtx(t), { slug: org.slug })).billing).toMatchObject({
      status: 'canceled',
      provider: null,
      seats: 0,
    });
  });

  it('lists recent entries newest first', async () => {
    const org = await t.given.org();
    await setPlan(operatorCtx(t), { slug: org.slug, plan: 'team', seats: 7 });
    const { entries: recent } = await orgAudit(operatorCtx(t), { slug: org.slug, limit: 10 });
    expect(recent.map((entry) => entry.action)).toEqual(['billing.subscription_changed', 'org.created']);
    expect(recent[0]?.actorLabel).toBe('operator:alice');
    const { entries: older } = await orgAudit(operatorCtx(t), { slug: org.slug, limit: 10, before: recent[0]!.id });
    expect(older.map((entry) => entry.action)).toEqual(['org.created']);
    await expect(orgAudit(operatorCtx(t), { slug: org.slug, limit: 10, before: '#1' })).rejects.toEqual(
      refusal('invalid_cursor'),
    );
  });
});

describe('show-user', () => {
  it("shows an account's state, org and role, live credentials and failed sign-ins, changing nothing", async () => {
    const org = await t.given.org({ members: 1 });
    const member = org.members[0]!;
    await t.http.post('/api/v1/tokens', { as: member, body: { name: 'ci' } });
    for (let attempt = 0; attempt < 3; attempt += 1) {
      await t.http.post('/api/v1/auth/login', { body: { email: member.email, password: 'not the password' } });
    }
    const report = await showUser(operatorCtx(t), { email: `  ${member.email.toUpperCase()} ` });
    expect(report).toMatchObject({
      id: member.id,
      email: member.email,
      emailVerified: false,
      disabledAt: null,
      membership: { orgId: org.id, slug: org.slug, role: 'member' },
      sessions: 1,
      apiTokens: 1,
      failedSignIns: { count: 3, limit: 10, retryAfterSeconds: 0 },
    });
    expect((await t.http.get('/api/v1/me', { as: member })).status).toBe(200);
    await expect(showUser(operatorCtx(t), { email: 'nobody@example.com' })).rejects.toEqual(refusal('user_not_found'));
    const loner = await t.given.user();
    expect((await showUser(operatorCtx(t), { email: loner.email })).membership).toBeNull();
  });

  it('shows a throttled sign-in with how long it lasts, and a disabled account', async () => {
    const org = await t.given.org({ members: 1 });
    const member = org.members[0]!;
    for (let attempt = 0; attempt < 10; attempt += 1) {
      await t.http.post('/api/v1/auth/login', { body: { email: member.email, password: 'not the password' } });
    }
    await disableUser(operatorCtx(t), { email: member.email });
    const report = await showUser(operatorCtx(t), { email: member.email });
    expect(report.disabledAt).toBeInstanceOf(Date);
    expect(report.sessions).toBe(0);
    expect(report.failedSignIns.count).toBe(10);
    expect(report.failedSignIns.retryAfterSeconds).toBeGreaterThan(0);
  });

  it('is refused to anyone but the operator', async () => {
    const user = await t.given.user();
    const ctx = { ...operatorCtx(t), actor: { ...operatorCtx(t).actor!, via: 'session' as const } };
    await expect(showUser(ctx, { email: user.email })).rejects.toEqual(refusal('forbidden'));
  });
});

// Two sessions at once need a server (PGlite has one connection): on PostgreSQL in both passes.
describe.skipIf(!serverPostgresUrl())('disable-user on PostgreSQL', () => {
  let pg: TestApp;
  beforeAll(async () => {
    pg = await startApp({ serverUrl: serverPostgresUrl() });
  });
  afterAll(async () => {
    await pg.close();
  });

  it.each([
    ['disable-user', 'cannot_disable_owner', (org: TestOrg, email: string) => disableUser(operatorCtx(pg), { email })],
    [
      'remove-member',
      'cannot_remove_owner',
      (org: TestOrg, email: string) => removeMember(operatorCtx(pg), { slug: org.slug, email }),
    ],
  ] as const)(
    '%s waits for an ownership transfer in flight, then refuses the new owner (%s)',
    async (_command, code, operate) => {
      const org = await pg.given.org({ members: 1 });
      const member = org.members[0]!;
      let release: () => void = () => {};
      const released = new Promise<void>((resolve) => (release = resolve));
      let locked: () => void = () => {};
      const orgLocked = new Promise<void>((resolve) => (locked = resolve));
      // A transfer to the member, holding the org lock as `transfer-ownership` does, not yet committed.
      const transfer = pg.database.db.transaction(async (tx) => {
        await tx.execute(sql`SELECT 1 FROM orgs WHERE id = ${org.id} FOR UPDATE`);
        await tx.execute(sql`UPDATE memberships SET role = 'admin' WHERE org_id = ${org.id} AND user_id = ${org.owner.id}`);
        await tx.execute(sql`UPDATE memberships SET role = 'owner' WHERE org_id = ${org.id} AND user_id = ${member.id}`);
        locked();
        await released;
      });
      await orgLocked;
      let settled = false;
      const disabling = operate(org, member.email).finally(() => (settled = true));
      disabling.catch(() => {});
      // The signal: the command's session waits for a lock, or is in the org lock's statement (on
      // Citus the wait is on a worker). It must not have decided before the transfer commits.
      for (;;) {
        const [waiting] = await queryRows<{ n: number }>(
          pg.database.db,
          sql`SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'
              AND (wait_event_type = 'Lock' OR query LIKE 'SELECT name FROM orgs WHERE id = $1 FOR NO KEY UPDATE%')`,
        );
        if ((waiting?.n ?? 0) > 0 || settled) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(settled).toBe(false);
      release();
      await transfer;
      await expect(disabling).rejects.toEqual(refusal(code));
      const me = await pg.http.get('/api/v1/me', { as: member });
      expect([me.status, me.body.org?.role]).toEqual([200, 'owner']);
    },
  );
});

describe('the global audit log (changes that belong to no org)', () => {
  it('records service tokens created and revoked (once), with the operator as actor and never the token', async () => {
    const { token, record } = await createServiceToken(operatorCtx(t, 'bob'), {
      name: 'audited',
      scopes: 'authz:read,usage:write',
    });
    await revokeServiceToken(operatorCtx(t, 'carol'), { id: record.id });
    await revokeServiceToken(operatorCtx(t, 'carol'), { id: record.id }); // again: nothing changes
    const logged = (await globalAudit(operatorCtx(t), { limit: 1000 })).filter((entry) => entry.targetId === record.id);
    expect(logged.map(({ actorLabel, action, before, after }) => ({ actorLabel, action, before, after }))).toEqual([
      { actorLabel: 'operator:carol', action: 'service_token.revoked', before: { name: 'audited' }, after: null },
      {
        actorLabel: 'operator:bob',
        action: 'service_token.created',
        before: null,
        after: { name: 'audited', scopes: ['authz:read', 'usage:write'] },
      },
    ]);
    expect(JSON.stringify(logged)).not.toContain(token.slice(7));
  });

  it('records disabling and enabling an account outside any org; an org member goes to the org log only', async () => {
    const loner = await t.given.user();
    await disableUser(operatorCtx(t), { email: loner.email });
    await enableUser(operatorCtx(t), { email: loner.email });
    const logged = (await globalAudit(operatorCtx(t), { limit: 1000 })).filter((entry) => entry.targetId === loner.id);
    expect(logged.map(({ action, before, after }) => ({ action, before, after }))).toEqual([
      {
        action: 'user.enabled',
        before: { email: loner.email, status: 'disabled' },
        after: { email: loner.email, status: 'active' },
      },
      {
        action: 'user.disabled',
        before: { email: loner.email, status: 'active' },
        after: { email: loner.email, status: 'disabled' },
      },
    ]);
    const org = await t.given.org({ members: 1 });
    const member = org.members[0]!;
    await disableUser(operatorCtx(t), { email: member.email });
    expect((await globalAudit(operatorCtx(t), { limit: 1000 })).filter((entry) => entry.targetId === member.id)).toEqual([]);
    expect(await entries(org.id, 'member.disabled')).toHaveLength(1);
  });

  it('pages newest first with --before, and refuses a bad limit or cursor', async () => {
    for (const name of ['page-1', 'page-2', 'page-3']) await createServiceToken(operatorCtx(t), { name, scopes: 'authz:read' });
    const [newest, second] = await globalAudit(operatorCtx(t), { limit: 2 });
    expect(newest!.after).toMatchObject({ name: 'page-3' });
    expect(second!.after).toMatchObject({ name: 'page-2' });
    const [older] = await globalAudit(operatorCtx(t), { limit: 1, before: second!.id });
    expect(older!.after).toMatchObject({ name: 'page-1' });
    await expect(globalAudit(operatorCtx(t), { limit: 0 })).rejects.toEqual(refusal('invalid_page_size'));
    await expect(globalAudit(operatorCtx(t), { limit: 5, before: 'x' })).rejects.toEqual(refusal('invalid_cursor'));
  });

  it('orders entries by id as numbers past #9 (regression: sorted as text, #9 before #33)', async () => {
    for (let i = 0; i < 12; i++) await createServiceToken(operatorCtx(t), { name: `order-${i}`, scopes: 'authz:read' });
    const ids = (await globalAudit(operatorCtx(t), { limit: 1000 })).map((entry) => Number(entry.id));
    expect(ids.length).toBeGreaterThanOrEqual(12);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    const [newest] = await globalAudit(operatorCtx(t), { limit: 1 });
    expect(newest!.after).toMatchObject({ name: 'order-11' });
  });

  it('is append-only: an UPDATE or DELETE of an entry is refused by the database', async () => {
    await createServiceToken(operatorCtx(t), { name: 'append-only', scopes: 'authz:read' });
    await expect(t.database.db.execute(sql`UPDATE global_audit_log SET action = 'x'`)).rejects.toThrow();
    await expect(t.database.db.execute(sql`DELETE FROM global_audit_log`)).rejects.toThrow();
    expect((await globalAudit(operatorCtx(t), { limit: 1 }))[0]!.action).toBe('service_token.created');
  });
});
