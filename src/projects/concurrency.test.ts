import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorCtx, startApp, type TestApp } from '../../test/kit/app.ts';
import type { TestOrg, TestUser } from '../../test/kit/given.ts';
import { disableUser } from '../admin/service.ts';
import { queryRows } from '../db/client.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(async () => {
  await t.close();
});

async function createProject(org: TestOrg, by: TestUser, team: Record<string, boolean>): Promise<string> {
  const created = await t.http.post('/api/v1/org/projects', { as: by, body: { name: 'Shared' } });
  expect(created.status).toBe(201);
  const id: string = created.body.project.id;
  for (const [userId, editor] of Object.entries(team)) {
    const added = await t.http.put(`/api/v1/org/projects/${id}/members/${userId}`, { as: org.owner, body: { editor } });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
  }
  return id;
}

async function editorsOf(projectId: string): Promise<number> {
  const rows = await queryRows<{ count: number }>(
    t.database.db,
    sql`SELECT count(*)::int AS count FROM project_members WHERE project_id = ${projectId} AND editor`,
  );
  return Number(rows[0]?.count);
}

async function projectsOfUser(userId: string): Promise<string[]> {
  const rows = await queryRows<{ project_id: string }>(
    t.database.db,
    sql`SELECT project_id FROM project_members WHERE user_id = ${userId}`,
  );
  return rows.map((row) => row.project_id);
}

async function removalEntries(projectId: string) {
  return queryRows<{ before: unknown; after: unknown }>(
    t.database.db,
    sql`SELECT before, after FROM audit_log WHERE target_id = ${projectId} AND action = 'project.member_removed' ORDER BY id`,
  );
}

describe('the last-editor rule under concurrent requests', () => {
  it('two last editors demoting themselves at once: one 200, one 409 last_editor, one editor left', async () => {
    const org = await t.given.org({ members: 2 });
    const [first, second] = org.members as [TestUser, TestUser];
    const projects = await Promise.all(Array.from({ length: 4 }, () => createProject(org, first, { [second.id]: true })));
    for (const id of projects) {
      expect(await editorsOf(id)).toBe(2);
      const replies = await Promise.all(
        [first, second].map((user) =>
          t.http.put(`/api/v1/org/projects/${id}/members/${user.id}`, { as: user, body: { editor: false } }),
        ),
      );
      expect(replies.map((reply) => reply.status).sort()).toEqual([200, 409]);
      expect(replies.find((reply) => reply.status === 409)?.body.error.code).toBe('last_editor');
      expect(await editorsOf(id)).toBe(1);
    }
  });

  it('two last editors removing each other at once: exactly one goes', async () => {
    const org = await t.given.org({ members: 2 });
    const [first, second] = org.members as [TestUser, TestUser];
    const id = await createProject(org, first, { [second.id]: true });
    const replies = await Promise.all([
      t.http.delete(`/api/v1/org/projects/${id}/members/${second.id}`, { as: first }),
      t.http.delete(`/api/v1/org/projects/${id}/members/${first.id}`, { as: second }),
    ]);
    // The loser was taken off the team first, so its request no longer finds the project.
    expect(replies.map((reply) => reply.status).sort()).toEqual([204, 404]);
    expect(await editorsOf(id)).toBe(1);
  });
});

describe('leaving the org leaves every project', () => {
  it('a removed member is gone from every project (audited), and comes back with no access', async () => {
    const org = await t.given.org({ admins: 1, members: 2 });
    const [member, colleague] = org.members as [TestUser, TestUser];
    const asEditor = await createProject(org, colleague, { [member.id]: true });
    const asViewer = await createProject(org, colleague, { [member.id]: false });
    expect((await projectsOfUser(member.id)).sort()).toEqual([asEditor, asViewer].sort());

    expect((await t.http.delete(`/api/v1/org/members/${member.id}`, { as: org.admins[0]! })).status).toBe(204);
    expect(await projectsOfUser(member.id)).toEqual([]);
    expect(await removalEntries(asEditor)).toEqual([
      { before: { user_id: member.id, editor: true }, after: { reason: 'member_removed' } },
    ]);

    // Re-joins (as by a new invitation): no project access comes back.
    await t.database.db.execute(sql`INSERT INTO memberships (org_id, user_id, role) VALUES (${org.id}, ${member.id}, 'member')`);
    await t.database.db.execute(sql`INSERT INTO user_orgs (user_id, org_id) VALUES (${member.id}, ${org.id})`);
    expect((await t.http.get(`/api/v1/org/projects/${asEditor}`, { as: member })).status).toBe(404);
    expect((await t.http.get('/api/v1/org/projects', { as: member })).body.projects).toEqual([]);
  });

  it('a member who leaves the org leaves its projects', async () => {
    const org = await t.given.org({ members: 2 });
    const [member, colleague] = org.members as [TestUser, TestUser];
    const id = await createProject(org, colleague, { [member.id]: false });
    expect((await t.http.post('/api/v1/org/leave', { as: member })).status).toBe(204);
    expect(await projectsOfUser(member.id)).toEqual([]);
    expect(await removalEntries(id)).toEqual([
      { before: { user_id: member.id, editor: false }, after: { reason: 'member_left' } },
    ]);
  });

  it('the foreign key alone also takes a deleted membership off every project', async () => {
    const org = await t.given.org({ members: 2 });
    const [member, colleague] = org.members as [TestUser, TestUser];
    await createProject(org, colleague, { [member.id]: true });
    await t.database.db.execute(sql`DELETE FROM memberships WHERE org_id = ${org.id} AND user_id = ${member.id}`);
    expect(await projectsOfUser(member.id)).toEqual([]);
  });
});

describe('disabling leaves every project', () => {
  it('a member disabled by an admin is gone from every project in the same change, even as the last editor', async () => {
    const org = await t.given.org({ admins: 1, members: 1 });
    const member = org.members[0]!;
    const id = await createProject(org, member, {});
    expect((await t.http.post(`/api/v1/org/members/${member.id}/disable`, { as: org.admins[0]! })).status).toBe(200);
    expect(await projectsOfUser(member.id)).toEqual([]);
    expect(await editorsOf(id)).toBe(0);
    expect(await removalEntries(id)).toEqual([
      { before: { user_id: member.id, editor: true }, after: { reason: 'member_disabled' } },
    ]);
    // Owners and admins still manage the project without an editor.
    const reply = await t.http.put(`/api/v1/org/projects/${id}/members/${org.owner.id}`, {
      as: org.owner,
      body: { editor: true },
    });
    expect(reply.status).toBe(200);
  });

  it('a user disabled by the operator CLI is gone from every project', async () => {
    const org = await t.given.org({ members: 2 });
    const [member, colleague] = org.members as [TestUser, TestUser];
    await createProject(org, colleague, { [member.id]: false });
    const operator = operatorCtx(t);
    expect((await disableUser(operator, { email: member.email })).changed).toBe(true);
    expect(await projectsOfUser(member.id)).toEqual([]);
  });
});
