import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../../test/kit/app.ts';
import type { TestOrg, TestUser } from '../../test/kit/given.ts';
import { queryRows } from '../db/client.ts';

/**
 * Security rule: when an admin is removed, disabled, demoted or leaves, the pending `admin`
 * invitations they sent are revoked in the same transaction (audited); their `member`
 * invitations stay pending.
 */
let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(async () => {
  await t.close();
});

interface Scene {
  org: TestOrg;
  admin: TestUser;
  adminInvite: { id: string; token: string };
  memberInvite: { id: string };
}

async function sceneWithInvitesBy(): Promise<Scene> {
  const org = await t.given.org({ seats: 10, admins: 2 });
  const admin = org.admins[0]!;
  const invite = async (role: 'admin' | 'member') => {
    const reply = await t.http.post('/api/v1/org/invite', {
      as: admin,
      body: { email: `${role}-${Math.random()}@example.com`, role },
    });
    expect(reply.status, JSON.stringify(reply.body)).toBe(201);
    return { id: reply.body.invite.id as string, token: String(reply.body.invite.link).split('/invite/')[1]! };
  };
  return { org, admin, adminInvite: await invite('admin'), memberInvite: await invite('member') };
}

async function statusOf(orgId: string, id: string): Promise<string | undefined> {
  const rows = await queryRows<{ status: string }>(
    t.database.db,
    sql`SELECT status FROM invitations WHERE org_id = ${orgId} AND id = ${id}`,
  );
  return rows[0]?.status;
}

async function revocationEntries(orgId: string) {
  return queryRows<{ target_id: string; after: { status: string; reason: string } }>(
    t.database.db,
    sql`SELECT target_id, after FROM audit_log WHERE org_id = ${orgId} AND action = 'invite.revoked'`,
  );
}

const losses: [string, (scene: Scene) => Promise<{ status: number }>][] = [
  ['removed', ({ org, admin }) => t.http.delete(`/api/v1/org/members/${admin.id}`, { as: org.owner })],
  ['disabled', ({ org, admin }) => t.http.post(`/api/v1/org/members/${admin.id}/disable`, { as: org.owner })],
  [
    'demoted',
    ({ org, admin }) => t.http.put(`/api/v1/org/members/${admin.id}/role`, { as: org.owner, body: { role: 'member' } }),
  ],
  ['leaving', ({ admin }) => t.http.post('/api/v1/org/leave', { as: admin })],
];

describe('pending admin invitations of an admin who loses admin rights', () => {
  it.each(losses)('are revoked when the admin is %s; member invitations stay', async (_name, lose) => {
    const scene = await sceneWithInvitesBy();
    const reply = await lose(scene);
    expect([200, 204]).toContain(reply.status);
    expect(await statusOf(scene.org.id, scene.adminInvite.id)).toBe('revoked');
    expect(await statusOf(scene.org.id, scene.memberInvite.id)).toBe('pending');
    expect(await revocationEntries(scene.org.id)).toEqual([
      { target_id: scene.adminInvite.id, after: { status: 'revoked', reason: 'inviter_lost_admin_rights' } },
    ]);
    // The link is dead at once.
    const lookup = await t.http.get(`/api/v1/invites/${scene.adminInvite.token}`);
    expect(lookup.body.status).toBe('revoked');
  });

  it('stay pending when the change is refused (nothing half-applied)', async () => {
    const scene = await sceneWithInvitesBy();
    // A plain member cannot remove an admin: refused, and the admin's invitations are untouched.
    const member = (await t.given.addMembers(scene.org.id, 'member', 1))[0]!;
    const refused = await t.http.delete(`/api/v1/org/members/${scene.admin.id}`, { as: member });
    expect(refused.status).toBe(403);
    expect(await statusOf(scene.org.id, scene.adminInvite.id)).toBe('pending');
    expect(await revocationEntries(scene.org.id)).toEqual([]);
  });

  it('stay pending when an admin is promoted or another admin loses rights', async () => {
    const scene = await sceneWithInvitesBy();
    const other = scene.org.admins[1]!;
    const demoted = await t.http.put(`/api/v1/org/members/${other.id}/role`, { as: scene.org.owner, body: { role: 'member' } });
    expect(demoted.status).toBe(200);
    expect(await statusOf(scene.org.id, scene.adminInvite.id)).toBe('pending');
  });
});
