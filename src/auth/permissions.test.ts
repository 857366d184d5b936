import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../../test/kit/app.ts';
import type { TestOrg, TestUser } from '../../test/kit/given.ts';

/**
 * The permissions lists are filled by the same policy that answers the requests: every member
 * action a list grants is accepted by the server, and every one it withholds is refused. The
 * dashboard shows controls from these lists only, so this is what keeps it honest.
 */
let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(async () => {
  await t.close();
});

type Viewer = 'owner' | 'admin' | 'member';
type Target = 'self' | 'owner' | 'admin' | 'member' | 'disabled';
/** The codes the policy refuses with (src/auth/permissions.ts). */
const POLICY_REFUSALS = [
  'forbidden',
  'cannot_change_own_role',
  'cannot_change_owner',
  'cannot_remove_self',
  'cannot_remove_owner',
  'cannot_disable_self',
  'cannot_disable_owner',
  'already_owner',
  'member_disabled',
];
const ACTIONS = ['change_role', 'remove', 'disable', 'set_usage_limit', 'transfer_ownership'] as const;

interface Scene {
  org: TestOrg;
  viewer: TestUser;
  targets: Record<Target, TestUser>;
}

async function scene(viewerRole: Viewer): Promise<Scene> {
  const org = await t.given.org({ seats: 10, admins: 2, members: 3 });
  const disabled = org.members[2]!;
  const disabledReply = await t.http.post(`/api/v1/org/members/${disabled.id}/disable`, { as: org.owner });
  expect(disabledReply.status).toBe(200);
  const viewer = viewerRole === 'owner' ? org.owner : viewerRole === 'admin' ? org.admins[0]! : org.members[0]!;
  const targets: Record<Target, TestUser> = {
    self: viewer,
    owner: org.owner,
    admin: viewerRole === 'admin' ? org.admins[1]! : org.admins[0]!,
    member: viewerRole === 'member' ? org.members[1]! : org.members[0]!,
    disabled,
  };
  return { org, viewer, targets };
}

function attempt(viewer: TestUser, action: (typeof ACTIONS)[number], target: TestUser, targetRole: string) {
  switch (action) {
    case 'change_role':
      return t.http.put(`/api/v1/org/members/${target.id}/role`, {
        as: viewer,
        body: { role: targetRole === 'admin' ? 'member' : 'admin' },
      });
    case 'remove':
      return t.http.delete(`/api/v1/org/members/${target.id}`, { as: viewer });
    case 'disable':
      return t.http.post(`/api/v1/org/members/${target.id}/disable`, { as: viewer });
    case 'set_usage_limit':
      return t.http.put(`/api/v1/org/members/${target.id}/usage-limit`, { as: viewer, body: { daily: 10, monthly: 100 } });
    case 'transfer_ownership':
      return t.http.post('/api/v1/org/transfer-ownership', { as: viewer, body: { user_id: target.id } });
  }
}

async function listedPermissions(viewer: TestUser, target: TestUser): Promise<string[]> {
  const reply = await t.http.get('/api/v1/org/members', { as: viewer, query: { limit: '200' } });
  expect(reply.status).toBe(200);
  const row = reply.body.members.find((member: { user_id: string }) => member.user_id === target.id);
  expect(row).toBeDefined();
  return row.permissions;
}

describe.each<Viewer>(['owner', 'admin', 'member'])('a %s', (viewerRole) => {
  it('is refused every member action its lists withhold, and nothing changes', async () => {
    const { viewer, targets } = await scene(viewerRole);
    for (const [targetName, target] of Object.entries(targets) as [Target, TestUser][]) {
      const granted = await listedPermissions(viewer, target);
      for (const action of ACTIONS.filter((name) => !granted.includes(name))) {
        const reply = await attempt(viewer, action, target, targetName);
        if (action === 'disable' && targetName === 'disabled' && viewerRole !== 'member') {
          // Withheld because it would change nothing; the route stays idempotent for a retry.
          expect(reply.status, `${viewerRole} → disable on disabled`).toBe(200);
          continue;
        }
        expect(POLICY_REFUSALS, `${viewerRole} → ${action} on ${targetName}: ${JSON.stringify(reply.body)}`).toContain(
          reply.body.error?.code,
        );
      }
      // Refusals changed nothing: the lists are what they were.
      expect(await listedPermissions(viewer, target)).toEqual(granted);
    }
  });

  it('is allowed every member action its lists grant', async () => {
    const probe = await scene(viewerRole);
    for (const targetName of Object.keys(probe.targets) as Target[]) {
      const granted = await listedPermissions(probe.viewer, probe.targets[targetName]);
      for (const action of ACTIONS.filter((name) => granted.includes(name))) {
        // A fresh org per granted action: each one changes the org.
        const fresh = await scene(viewerRole);
        const reply = await attempt(fresh.viewer, action, fresh.targets[targetName], targetName);
        expect([200, 204], `${viewerRole} → ${action} on ${targetName}: ${JSON.stringify(reply.body)}`).toContain(reply.status);
      }
    }
  });
});

describe('org-wide permissions', () => {
  it('match the role: owner, admin and member', async () => {
    const org = await t.given.org({ admins: 1, members: 1 });
    const of = async (user: TestUser) => (await t.http.get('/api/v1/me', { as: user })).body.org.permissions;
    expect(await of(org.owner)).toEqual([
      'rename_org',
      'invite',
      'manage_members',
      'disable_members',
      'set_usage_limits',
      'view_org_usage',
      'manage_billing',
      'view_audit',
      'create_project',
      'transfer_ownership',
    ]);
    expect(await of(org.admins[0]!)).toEqual([
      'rename_org',
      'invite',
      'manage_members',
      'disable_members',
      'set_usage_limits',
      'view_org_usage',
      'manage_billing',
      'view_audit',
      'create_project',
      'leave_org',
    ]);
    expect(await of(org.members[0]!)).toEqual(['create_project', 'leave_org']);
  });

  it('follow a demotion on the very next request', async () => {
    const org = await t.given.org({ admins: 2 });
    const admin = org.admins[0]!;
    expect((await t.http.get('/api/v1/me', { as: admin })).body.org.permissions).toContain('invite');
    const demoted = await t.http.put(`/api/v1/org/members/${admin.id}/role`, { as: org.owner, body: { role: 'member' } });
    expect(demoted.status).toBe(200);
    expect((await t.http.get('/api/v1/me', { as: admin })).body.org.permissions).toEqual(['create_project', 'leave_org']);
    expect((await t.http.get('/api/v1/org', { as: admin })).body.permissions).toEqual(['create_project', 'leave_org']);
  });
});

describe('a disabled member', () => {
  it('cannot be made an admin (409 member_disabled, and no change_role in the lists); a disabled admin can be made a member', async () => {
    const org = await t.given.org({ seats: 10, admins: 1, members: 1 });
    const [admin] = org.admins;
    const [member] = org.members;
    for (const user of [admin!, member!]) {
      expect((await t.http.post(`/api/v1/org/members/${user.id}/disable`, { as: org.owner })).status).toBe(200);
    }
    expect(await listedPermissions(org.owner, member!)).not.toContain('change_role');
    const promoted = await t.http.put(`/api/v1/org/members/${member!.id}/role`, { as: org.owner, body: { role: 'admin' } });
    expect(promoted.status).toBe(409);
    expect(promoted.body.error.code).toBe('member_disabled');

    expect(await listedPermissions(org.owner, admin!)).toContain('change_role');
    const demoted = await t.http.put(`/api/v1/org/members/${admin!.id}/role`, { as: org.owner, body: { role: 'member' } });
    expect(demoted.status).toBe(200);
    expect(demoted.body.member.role).toBe('member');
  });

  it('is not offered "disable" again, and disabling again is a 200 that changes and audits nothing (regression: offered)', async () => {
    const org = await t.given.org({ seats: 10, members: 2 });
    const [disabled, active] = org.members;
    expect((await t.http.post(`/api/v1/org/members/${disabled!.id}/disable`, { as: org.owner })).status).toBe(200);
    expect(await listedPermissions(org.owner, disabled!)).not.toContain('disable');
    expect(await listedPermissions(org.owner, active!)).toContain('disable');

    const entries = async () => (await t.http.get('/api/v1/org/audit', { as: org.owner })).body.entries.length;
    const before = await entries();
    const again = await t.http.post(`/api/v1/org/members/${disabled!.id}/disable`, { as: org.owner });
    expect(again.status).toBe(200);
    expect(again.body.member.status).toBe('disabled');
    expect(await entries()).toBe(before);
  });
});
