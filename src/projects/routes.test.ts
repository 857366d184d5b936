import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../../test/kit/app.ts';
import type { TestOrg, TestUser } from '../../test/kit/given.ts';
import { queryRows } from '../db/client.ts';

let t: TestApp;
/** One org for the file: owner, admin, and members who take the parts of editor, viewer, outsider, extra. */
let org: TestOrg;
let other: TestOrg;
let editor: TestUser;
let viewer: TestUser;
let outsider: TestUser;
let extra: TestUser;

beforeAll(async () => {
  t = await startApp();
  org = await t.given.org({ admins: 1, members: 5 });
  other = await t.given.org({ members: 1 });
  [editor, viewer, outsider, extra] = org.members as [TestUser, TestUser, TestUser, TestUser];
});
afterAll(async () => {
  await t.close();
});

type Caller = 'owner' | 'admin' | 'editor' | 'viewer' | 'outsider' | 'foreign' | 'anonymous';
const CALLERS: Caller[] = ['owner', 'admin', 'editor', 'viewer', 'outsider', 'foreign', 'anonymous'];

function as(caller: Caller): TestUser | null {
  switch (caller) {
    case 'owner':
      return org.owner;
    case 'admin':
      return org.admins[0]!;
    case 'editor':
      return editor;
    case 'viewer':
      return viewer;
    case 'outsider':
      return outsider;
    case 'foreign':
      return other.members[0]!;
    case 'anonymous':
      return null;
  }
}

/** A fresh project: `editor` created it (its editor), `viewer` is on its team as a viewer. */
async function newProject(name = 'Apollo'): Promise<string> {
  const created = await t.http.post('/api/v1/org/projects', { as: editor, body: { name, description: 'Moon' } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const id: string = created.body.project.id;
  const added = await t.http.put(`/api/v1/org/projects/${id}/members/${viewer.id}`, { as: editor, body: { editor: false } });
  expect(added.status, JSON.stringify(added.body)).toBe(200);
  return id;
}

/** Everything a project request could change in an org: its projects, their teams, its audit log. */
async function orgState(orgId: string): Promise<unknown> {
  const projects = await queryRows(
    t.database.db,
    sql`SELECT id, name, description, settings, created_at, updated_at FROM projects WHERE org_id = ${orgId} ORDER BY id`,
  );
  const members = await queryRows(
    t.database.db,
    sql`SELECT project_id, user_id, editor, added_at FROM project_members WHERE org_id = ${orgId} ORDER BY project_id, user_id`,
  );
  const audit = await queryRows(t.database.db, sql`SELECT count(*)::int AS count FROM audit_log WHERE org_id = ${orgId}`);
  return { projects, members, audit };
}

async function team(projectId: string): Promise<Record<string, boolean>> {
  const rows = await queryRows<{ user_id: string; editor: boolean }>(
    t.database.db,
    sql`SELECT user_id, editor FROM project_members WHERE project_id = ${projectId}`,
  );
  return Object.fromEntries(rows.map((row) => [row.user_id, row.editor]));
}

async function projectExists(projectId: string): Promise<boolean> {
  const rows = await queryRows(t.database.db, sql`SELECT 1 FROM projects WHERE id = ${projectId}`);
  return rows.length === 1;
}

async function auditOf(projectId: string, action: string) {
  return queryRows<{ actor_user_id: string | null; before: unknown; after: unknown }>(
    t.database.db,
    sql`SELECT actor_user_id, before, after FROM audit_log
        WHERE target_type = 'project' AND target_id = ${projectId} AND action = ${action} ORDER BY id`,
  );
}

interface Expectation {
  status: number;
  code?: string;
}
const ok = (status: number): Expectation => ({ status });
const refused = (status: number, code: string): Expectation => ({ status, code });
const NOT_FOUND = refused(404, 'project_not_found');
const READ_ONLY = refused(403, 'project_read_only');
const ANONYMOUS = refused(401, 'unauthenticated');

interface RouteCase {
  route: string;
  expected: Record<Caller, Expectation>;
  send(caller: Caller, projectId: string): Promise<{ status: number; body: any }>;
  /** The change a success made, checked in the database. */
  succeeded(caller: Caller, projectId: string, body: any): Promise<void>;
}

const ROUTES: RouteCase[] = [
  {
    route: 'POST /org/projects',
    expected: {
      owner: ok(201),
      admin: ok(201),
      editor: ok(201),
      viewer: ok(201),
      outsider: ok(201),
      foreign: ok(201),
      anonymous: ANONYMOUS,
    },
    send: (caller) => t.http.post('/api/v1/org/projects', { as: as(caller), body: { name: `By ${caller}` } }),
    async succeeded(caller, _projectId, body) {
      expect(await team(body.project.id)).toEqual({ [as(caller)!.id]: true });
    },
  },
  {
    route: 'GET /org/projects',
    expected: {
      owner: ok(200),
      admin: ok(200),
      editor: ok(200),
      viewer: ok(200),
      outsider: ok(200),
      foreign: ok(200),
      anonymous: ANONYMOUS,
    },
    send: (caller) => t.http.get('/api/v1/org/projects', { as: as(caller), query: { limit: '200' } }),
    async succeeded(caller, projectId, body) {
      const listed = body.projects.some((project: { id: string }) => project.id === projectId);
      expect(listed).toBe(['owner', 'admin', 'editor', 'viewer'].includes(caller));
    },
  },
  {
    route: 'GET /org/projects/{id}',
    expected: {
      owner: ok(200),
      admin: ok(200),
      editor: ok(200),
      viewer: ok(200),
      outsider: NOT_FOUND,
      foreign: NOT_FOUND,
      anonymous: ANONYMOUS,
    },
    send: (caller, id) => t.http.get(`/api/v1/org/projects/${id}`, { as: as(caller) }),
    async succeeded(_caller, projectId, body) {
      expect(body.project.id).toBe(projectId);
      expect(body.members.map((member: { user_id: string; editor: boolean }) => [member.user_id, member.editor])).toEqual([
        [editor.id, true],
        [viewer.id, false],
      ]);
    },
  },
  {
    route: 'PATCH /org/projects/{id}',
    expected: {
      owner: ok(200),
      admin: ok(200),
      editor: ok(200),
      viewer: READ_ONLY,
      outsider: NOT_FOUND,
      foreign: NOT_FOUND,
      anonymous: ANONYMOUS,
    },
    send: (caller, id) =>
      t.http.patch(`/api/v1/org/projects/${id}`, { as: as(caller), body: { name: 'Renamed', settings: { theme: 'dark' } } }),
    async succeeded(_caller, projectId) {
      const rows = await queryRows<{ name: string; settings: unknown }>(
        t.database.db,
        sql`SELECT name, settings FROM projects WHERE id = ${projectId}`,
      );
      expect(rows).toEqual([{ name: 'Renamed', settings: { theme: 'dark' } }]);
    },
  },
  {
    route: 'PUT /org/projects/{id}/members/{user_id}',
    expected: {
      owner: ok(200),
      admin: ok(200),
      editor: ok(200),
      viewer: READ_ONLY,
      outsider: NOT_FOUND,
      foreign: NOT_FOUND,
      anonymous: ANONYMOUS,
    },
    send: (caller, id) =>
      t.http.put(`/api/v1/org/projects/${id}/members/${extra.id}`, { as: as(caller), body: { editor: true } }),
    async succeeded(_caller, projectId, body) {
      expect(body.member).toMatchObject({ user_id: extra.id, email: extra.email, editor: true });
      expect(await team(projectId)).toEqual({ [editor.id]: true, [viewer.id]: false, [extra.id]: true });
    },
  },
  {
    // Everyone but the viewer removes the viewer; the viewer tries to remove the editor.
    route: 'DELETE /org/projects/{id}/members/{user_id}',
    expected: {
      owner: ok(204),
      admin: ok(204),
      editor: ok(204),
      viewer: READ_ONLY,
      outsider: NOT_FOUND,
      foreign: NOT_FOUND,
      anonymous: ANONYMOUS,
    },
    send: (caller, id) =>
      t.http.delete(`/api/v1/org/projects/${id}/members/${caller === 'viewer' ? editor.id : viewer.id}`, { as: as(caller) }),
    async succeeded(_caller, projectId) {
      expect(await team(projectId)).toEqual({ [editor.id]: true });
    },
  },
  {
    route: 'DELETE /org/projects/{id}',
    expected: {
      owner: ok(204),
      admin: ok(204),
      editor: ok(204),
      viewer: READ_ONLY,
      outsider: NOT_FOUND,
      foreign: NOT_FOUND,
      anonymous: ANONYMOUS,
    },
    send: (caller, id) => t.http.delete(`/api/v1/org/projects/${id}`, { as: as(caller) }),
    async succeeded(_caller, projectId) {
      expect(await projectExists(projectId)).toBe(false);
      expect(await team(projectId)).toEqual({});
    },
  },
];

describe('who may call each project route', () => {
  for (const route of ROUTES) {
    describe(route.route, () => {
      for (const caller of CALLERS) {
        const expected = route.expected[caller];
        const title = expected.code
          ? `refuses the ${caller} with ${expected.status} ${expected.code} and changes nothing`
          : `answers the ${caller} with ${expected.status}`;
        it(title, async () => {
          const projectId = await newProject();
          const before = await orgState(org.id);
          const reply = await route.send(caller, projectId);
          expect(reply.status, JSON.stringify(reply.body)).toBe(expected.status);
          if (expected.code) {
            expect(reply.body.error.code).toBe(expected.code);
            expect(await orgState(org.id)).toEqual(before);
          } else {
            await route.succeeded(caller, projectId, reply.body);
          }
        });
      }
    });
  }
});

describe('project replies and permissions', () => {
  it('creates with exactly the contract fields; the creator is its editor', async () => {
    const reply = await t.http.post('/api/v1/org/projects', { as: editor, body: { name: '  Gemini  ', description: 'Two' } });
    expect(reply.status).toBe(201);
    expect(Object.keys(reply.body.project).sort()).toEqual(
      ['created_at', 'description', 'id', 'my_access', 'name', 'permissions', 'settings', 'updated_at'].sort(),
    );
    expect(reply.body.project).toMatchObject({ name: 'Gemini', description: 'Two', settings: {}, my_access: 'editor' });
    // The only editor may not leave: the list says so, and the server agrees.
    expect(reply.body.project.permissions).toEqual(['edit_project', 'manage_project_members', 'delete_project']);
    const leave = await t.http.delete(`/api/v1/org/projects/${reply.body.project.id}/members/${editor.id}`, { as: editor });
    expect(leave.status).toBe(409);
    expect(leave.body.error.code).toBe('last_editor');
  });

  it('lists permissions per role, and each listed one is accepted', async () => {
    const id = await newProject();
    const permissionsOf = async (user: TestUser) => {
      const reply = await t.http.get(`/api/v1/org/projects/${id}`, { as: user });
      return [reply.body.project.my_access, reply.body.project.permissions];
    };
    expect(await permissionsOf(org.owner)).toEqual(['admin', ['edit_project', 'manage_project_members', 'delete_project']]);
    expect(await permissionsOf(org.admins[0]!)).toEqual(['admin', ['edit_project', 'manage_project_members', 'delete_project']]);
    expect(await permissionsOf(editor)).toEqual(['editor', ['edit_project', 'manage_project_members', 'delete_project']]);
    expect(await permissionsOf(viewer)).toEqual(['viewer', ['leave_project']]);
    // A second editor: now either editor may leave.
    await t.http.put(`/api/v1/org/projects/${id}/members/${extra.id}`, { as: editor, body: { editor: true } });
    expect(await permissionsOf(editor)).toEqual([
      'editor',
      ['edit_project', 'manage_project_members', 'delete_project', 'leave_project'],
    ]);
    // The same lists in GET /org/projects.
    const list = await t.http.get('/api/v1/org/projects', { as: viewer, query: { limit: '200' } });
    expect(list.body.projects.find((project: { id: string }) => project.id === id).permissions).toEqual(['leave_project']);
    expect((await t.http.delete(`/api/v1/org/projects/${id}/members/${viewer.id}`, { as: viewer })).status).toBe(204);
    expect((await t.http.delete(`/api/v1/org/projects/${id}/members/${editor.id}`, { as: editor })).status).toBe(204);
  });

  it('an owner or admin on the team may leave even as its last editor', async () => {
    const created = await t.http.post('/api/v1/org/projects', { as: org.admins[0]!, body: { name: 'Admin made' } });
    expect(created.body.project).toMatchObject({ my_access: 'admin' });
    expect(created.body.project.permissions).toContain('leave_project');
    const id = created.body.project.id;
    expect((await t.http.delete(`/api/v1/org/projects/${id}/members/${org.admins[0]!.id}`, { as: org.admins[0]! })).status).toBe(
      204,
    );
    expect(await team(id)).toEqual({});
    // Still visible and manageable by owners and admins.
    expect((await t.http.get(`/api/v1/org/projects/${id}`, { as: org.admins[0]! })).status).toBe(200);
  });

  it('puts create_project in the org permissions of every role', async () => {
    for (const user of [org.owner, org.admins[0]!, editor]) {
      expect((await t.http.get('/api/v1/me', { as: user })).body.org.permissions).toContain('create_project');
    }
  });

  it('refuses a user in no org: 403 on create and list, 404 on a project', async () => {
    const loner = await t.given.user();
    const id = await newProject();
    expect((await t.http.post('/api/v1/org/projects', { as: loner, body: { name: 'X' } })).status).toBe(403);
    expect((await t.http.get('/api/v1/org/projects', { as: loner })).status).toBe(403);
    const read = await t.http.get(`/api/v1/org/projects/${id}`, { as: loner });
    expect(read.status).toBe(404);
    expect(read.body.error.code).toBe('project_not_found');
  });
});

describe('project ids', () => {
  it("answers 404 project_not_found for malformed ids, unknown ids and another org's project", async () => {
    const foreign = await t.http.post('/api/v1/org/projects', { as: other.owner, body: { name: 'Theirs' } });
    const before = await orgState(other.id);
    for (const id of ['not-a-uuid', '00000000-0000-4000-8000-000000000000', foreign.body.project.id]) {
      for (const request of [
        t.http.get(`/api/v1/org/projects/${id}`, { as: org.owner }),
        t.http.patch(`/api/v1/org/projects/${id}`, { as: org.owner, body: { name: 'Mine now' } }),
        t.http.put(`/api/v1/org/projects/${id}/members/${org.owner.id}`, { as: org.owner, body: { editor: true } }),
        t.http.delete(`/api/v1/org/projects/${id}/members/${other.owner.id}`, { as: org.owner }),
        t.http.delete(`/api/v1/org/projects/${id}`, { as: org.owner }),
      ]) {
        const reply = await request;
        expect(reply.status, `${id}: ${JSON.stringify(reply.body)}`).toBe(404);
        expect(reply.body.error.code).toBe('project_not_found');
      }
    }
    expect(await orgState(other.id)).toEqual(before);
  });
});

describe('PUT /api/v1/org/projects/{id}/members/{user_id}', () => {
  it('refuses a viewer setting its own flag with 403 project_read_only', async () => {
    const id = await newProject();
    const before = await orgState(org.id);
    const reply = await t.http.put(`/api/v1/org/projects/${id}/members/${viewer.id}`, { as: viewer, body: { editor: true } });
    expect(reply.status).toBe(403);
    expect(reply.body.error.code).toBe('project_read_only');
    expect(await orgState(org.id)).toEqual(before);
  });

  it('refuses an editor adding a user of another org (or an unknown or malformed id) with 404 not_a_member', async () => {
    const id = await newProject();
    const before = await orgState(org.id);
    for (const userId of [other.members[0]!.id, '00000000-0000-4000-8000-000000000000', 'nobody']) {
      const reply = await t.http.put(`/api/v1/org/projects/${id}/members/${userId}`, { as: editor, body: { editor: false } });
      expect(reply.status).toBe(404);
      expect(reply.body.error.code).toBe('not_a_member');
    }
    expect(await orgState(org.id)).toEqual(before);
  });

  it('changes the flag, answers the member, and records nothing when nothing changes', async () => {
    const id = await newProject();
    const promoted = await t.http.put(`/api/v1/org/projects/${id}/members/${viewer.id}`, { as: editor, body: { editor: true } });
    expect(promoted.status).toBe(200);
    expect(Object.keys(promoted.body.member).sort()).toEqual(['added_at', 'display_name', 'editor', 'email', 'user_id']);
    expect(promoted.body.member).toMatchObject({ user_id: viewer.id, editor: true, display_name: viewer.name });
    const again = await t.http.put(`/api/v1/org/projects/${id}/members/${viewer.id}`, { as: editor, body: { editor: true } });
    expect(again.status).toBe(200);
    expect(again.body.member.added_at).toBe(promoted.body.member.added_at);
    expect(await auditOf(id, 'project.member_changed')).toEqual([
      { actor_user_id: editor.id, before: null, after: { user_id: viewer.id, editor: false } },
      { actor_user_id: editor.id, before: { user_id: viewer.id, editor: false }, after: { user_id: viewer.id, editor: true } },
    ]);
  });

  it('refuses the last editor demoting themselves with 409 last_editor; an owner may', async () => {
    const id = await newProject();
    const before = await orgState(org.id);
    const self = await t.http.put(`/api/v1/org/projects/${id}/members/${editor.id}`, { as: editor, body: { editor: false } });
    expect(self.status).toBe(409);
    expect(self.body.error.code).toBe('last_editor');
    expect(await orgState(org.id)).toEqual(before);
    const byOwner = await t.http.put(`/api/v1/org/projects/${id}/members/${editor.id}`, {
      as: org.owner,
      body: { editor: false },
    });
    expect(byOwner.status).toBe(200);
    expect(await team(id)).toEqual({ [editor.id]: false, [viewer.id]: false });
  });

  it('refuses to add a disabled member with 409 member_disabled', async () => {
    const id = await newProject();
    const [disabled] = await t.given.addMembers(org.id, 'member', 1);
    expect((await t.http.post(`/api/v1/org/members/${disabled!.id}/disable`, { as: org.owner })).status).toBe(200);
    const reply = await t.http.put(`/api/v1/org/projects/${id}/members/${disabled!.id}`, { as: editor, body: { editor: false } });
    expect(reply.status).toBe(409);
    expect(reply.body.error.code).toBe('member_disabled');
    expect(await team(id)).toEqual({ [editor.id]: true, [viewer.id]: false });
  });

  it('rejects unknown fields and a missing flag with 400 invalid_request', async () => {
    const id = await newProject();
    for (const body of [{ editor: true, role: 'admin' }, {}, { editor: 'yes' }]) {
      const reply = await t.http.put(`/api/v1/org/projects/${id}/members/${extra.id}`, { as: editor, body });
      expect(reply.status).toBe(400);
      expect(reply.body.error.code).toBe('invalid_request');
    }
    expect(await team(id)).toEqual({ [editor.id]: true, [viewer.id]: false });
  });
});

describe('DELETE /api/v1/org/projects/{id}/members/{user_id}', () => {
  it('lets a viewer leave, and answers 404 not_a_project_member for someone not on the team', async () => {
    const id = await newProject();
    expect((await t.http.delete(`/api/v1/org/projects/${id}/members/${viewer.id}`, { as: viewer })).status).toBe(204);
    expect(await team(id)).toEqual({ [editor.id]: true });
    expect((await t.http.get(`/api/v1/org/projects/${id}`, { as: viewer })).status).toBe(404);
    const absent = await t.http.delete(`/api/v1/org/projects/${id}/members/${outsider.id}`, { as: editor });
    expect(absent.status).toBe(404);
    expect(absent.body.error.code).toBe('not_a_project_member');
    expect(await auditOf(id, 'project.member_removed')).toEqual([
      { actor_user_id: viewer.id, before: { user_id: viewer.id, editor: false }, after: null },
    ]);
  });

  it('lets an editor remove another editor while one stays; the last editor cannot leave, an owner can remove them', async () => {
    const id = await newProject();
    await t.http.put(`/api/v1/org/projects/${id}/members/${extra.id}`, { as: editor, body: { editor: true } });
    expect((await t.http.delete(`/api/v1/org/projects/${id}/members/${extra.id}`, { as: editor })).status).toBe(204);
    const last = await t.http.delete(`/api/v1/org/projects/${id}/members/${editor.id}`, { as: editor });
    expect(last.status).toBe(409);
    expect(last.body.error.code).toBe('last_editor');
    expect((await t.http.delete(`/api/v1/org/projects/${id}/members/${editor.id}`, { as: org.owner })).status).toBe(204);
    expect(await team(id)).toEqual({ [viewer.id]: false });
  });
});

describe('settings', () => {
  const settingsOfBytes = (bytes: number) => {
    // {"v":"…"} is 8 bytes around the string; "é" is 2 bytes in UTF-8.
    const body = 'é'.repeat(Math.floor((bytes - 8) / 2)) + 'a'.repeat((bytes - 8) % 2);
    const settings = { v: body };
    expect(Buffer.byteLength(JSON.stringify(settings))).toBe(bytes);
    return settings;
  };

  it('stores exactly 64 KiB (counted in UTF-8 bytes) and refuses one byte more with 400 invalid_settings, storing nothing', async () => {
    const id = await newProject();
    const fits = await t.http.patch(`/api/v1/org/projects/${id}`, { as: editor, body: { settings: settingsOfBytes(65_536) } });
    expect(fits.status, JSON.stringify(fits.body).slice(0, 300)).toBe(200);
    const stored = await orgState(org.id);
    const over = await t.http.patch(`/api/v1/org/projects/${id}`, {
      as: editor,
      body: { name: 'Not this either', settings: settingsOfBytes(65_537) },
    });
    expect(over.status).toBe(400);
    expect(over.body.error.code).toBe('invalid_settings');
    expect(over.body.error.details).toEqual({ max_bytes: 65_536, bytes: 65_537, request_id: expect.any(String) });
    expect(await orgState(org.id)).toEqual(stored);
  });

  it('round-trips a nested object and replaces it whole on the next PATCH', async () => {
    const id = await newProject();
    const settings = { theme: { dark: true, accent: '#ff0' }, flags: [1, 'two', null], ключ: 'значение' };
    const first = await t.http.patch(`/api/v1/org/projects/${id}`, { as: editor, body: { settings } });
    expect(first.body.project.settings).toEqual(settings);
    const second = await t.http.patch(`/api/v1/org/projects/${id}`, { as: editor, body: { settings: { only: 1 } } });
    expect(second.body.project.settings).toEqual({ only: 1 });
    expect((await t.http.get(`/api/v1/org/projects/${id}`, { as: viewer })).body.project.settings).toEqual({ only: 1 });
  });

  it('refuses settings that are not an object or that PostgreSQL cannot store (400 invalid_request), or nested too deep (400 invalid_settings)', async () => {
    const id = await newProject();
    const before = await orgState(org.id);
    for (const settings of [[1, 2], 'text', 3, null]) {
      const reply = await t.http.patch(`/api/v1/org/projects/${id}`, { as: editor, body: { settings } });
      expect(reply.status).toBe(400);
      expect(reply.body.error.code).toBe('invalid_request');
    }
    // Every body is checked for U+0000 and lone surrogates before the route (src/http/request-checks.ts).
    for (const settings of [{ nul: 'a\u0000b' }, { ['\ud800']: 1 }]) {
      const reply = await t.http.patch(`/api/v1/org/projects/${id}`, { as: editor, body: { settings } });
      expect(reply.status).toBe(400);
      expect(reply.body.error.code).toBe('invalid_request');
    }
    const deep = JSON.parse(`${'{"a":'.repeat(100)}1${'}'.repeat(100)}`);
    const tooDeep = await t.http.patch(`/api/v1/org/projects/${id}`, { as: editor, body: { settings: deep } });
    expect(tooDeep.status).toBe(400);
    expect(tooDeep.body.error.code).toBe('invalid_settings');
    expect(await orgState(org.id)).toEqual(before);
  });
});

describe('POST and PATCH bodies', () => {
  it('rejects unknown fields, blank or long names with 400 invalid_request', async () => {
    const before = await orgState(org.id);
    for (const body of [
      { name: 'X', settings: {} },
      { name: '   ' },
      { name: 'x'.repeat(201) },
      { description: 'no name' },
      { name: 'X', owner: 'me' },
    ]) {
      const reply = await t.http.post('/api/v1/org/projects', { as: editor, body });
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expect(reply.body.error.code).toBe('invalid_request');
    }
    const id = await newProject();
    const mid = await orgState(org.id);
    const patch = await t.http.patch(`/api/v1/org/projects/${id}`, { as: editor, body: { name: 'Y', created_by: editor.id } });
    expect(patch.status).toBe(400);
    expect(patch.body.error.code).toBe('invalid_request');
    expect(await orgState(org.id)).toEqual(mid);
    expect(before).not.toEqual(mid);
  });

  it('clears the description with null or an empty string, and records only what changed', async () => {
    const id = await newProject();
    const cleared = await t.http.patch(`/api/v1/org/projects/${id}`, { as: editor, body: { name: 'Apollo', description: '' } });
    expect(cleared.body.project).toMatchObject({ name: 'Apollo', description: null });
    const same = await t.http.patch(`/api/v1/org/projects/${id}`, { as: editor, body: { description: null } });
    expect(same.status).toBe(200);
    expect(await auditOf(id, 'project.updated')).toEqual([
      { actor_user_id: editor.id, before: { description: 'Moon' }, after: { description: null } },
    ]);
  });
});

describe('GET /api/v1/org/projects', () => {
  it('pages by cursor, oldest first, with no project twice or missing; members see only their projects', async () => {
    const fresh = await t.given.org({ members: 2 });
    const [member, stranger] = fresh.members as [TestUser, TestUser];
    const ids: string[] = [];
    for (let index = 0; index < 5; index += 1) {
      const created = await t.http.post('/api/v1/org/projects', {
        as: index % 2 ? member : fresh.owner,
        body: { name: `P${index}` },
      });
      ids.push(created.body.project.id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: any } = await t.http.get('/api/v1/org/projects', {
        as: fresh.owner,
        query: cursor ? { limit: '2', cursor } : { limit: '2' },
      });
      expect(page.status).toBe(200);
      expect(page.body.projects.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.projects.map((project: { id: string }) => project.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    const all = (await t.http.get('/api/v1/org/projects', { as: fresh.owner, query: { limit: '200' } })).body.projects;
    expect(seen).toEqual(all.map((project: { id: string }) => project.id));
    expect([...seen].sort()).toEqual([...ids].sort());
    const mine = await t.http.get('/api/v1/org/projects', { as: member });
    expect(mine.body.projects.map((project: { id: string }) => project.id).sort()).toEqual([ids[1], ids[3]].sort());
    expect(mine.body.projects.every((project: { my_access: string }) => project.my_access === 'editor')).toBe(true);
    expect((await t.http.get('/api/v1/org/projects', { as: stranger })).body).toEqual({ projects: [], next_cursor: null });
  });

  it('refuses a forged cursor with 400 invalid_cursor and a limit over 200 with 400 invalid_request', async () => {
    const forged = await t.http.get('/api/v1/org/projects', { as: org.owner, query: { cursor: 'bm90LWEtY3Vyc29y' } });
    expect(forged.status).toBe(400);
    expect(forged.body.error.code).toBe('invalid_cursor');
    const large = await t.http.get('/api/v1/org/projects', { as: org.owner, query: { limit: '201' } });
    expect(large.status).toBe(400);
    expect(large.body.error.code).toBe('invalid_request');
  });
});

describe('audit', () => {
  it('records each change with before and after, in the project org, by the actor', async () => {
    const created = await t.http.post('/api/v1/org/projects', { as: editor, body: { name: 'Audited' } });
    const id: string = created.body.project.id;
    await t.http.patch(`/api/v1/org/projects/${id}`, { as: editor, body: { name: 'Audited 2', settings: { a: 1 } } });
    await t.http.put(`/api/v1/org/projects/${id}/members/${viewer.id}`, { as: editor, body: { editor: false } });
    await t.http.delete(`/api/v1/org/projects/${id}/members/${viewer.id}`, { as: org.admins[0]! });
    await t.http.delete(`/api/v1/org/projects/${id}`, { as: org.owner });
    const rows = await queryRows<{ org_id: string; action: string; actor_user_id: string; before: unknown; after: unknown }>(
      t.database.db,
      sql`SELECT org_id, action, actor_user_id, before, after FROM audit_log
          WHERE target_type = 'project' AND target_id = ${id} ORDER BY id`,
    );
    expect(rows).toEqual([
      {
        org_id: org.id,
        action: 'project.created',
        actor_user_id: editor.id,
        before: null,
        after: { name: 'Audited', description: null, editor: editor.id },
      },
      {
        org_id: org.id,
        action: 'project.updated',
        actor_user_id: editor.id,
        before: { name: 'Audited', settings: {} },
        after: { name: 'Audited 2', settings: { a: 1 } },
      },
      {
        org_id: org.id,
        action: 'project.member_changed',
        actor_user_id: editor.id,
        before: null,
        after: { user_id: viewer.id, editor: false },
      },
      {
        org_id: org.id,
        action: 'project.member_removed',
        actor_user_id: org.admins[0]!.id,
        before: { user_id: viewer.id, editor: false },
        after: null,
      },
      {
        org_id: org.id,
        action: 'project.deleted',
        actor_user_id: org.owner.id,
        before: { name: 'Audited 2', description: null, settings: { a: 1 } },
        after: null,
      },
    ]);
  });

  it("shows one project's history through GET /org/audit?target_type=project&target_id=", async () => {
    const created = await t.http.post('/api/v1/org/projects', { as: editor, body: { name: 'History' } });
    const id: string = created.body.project.id;
    await newProject('Noise');
    await t.http.patch(`/api/v1/org/projects/${id}`, { as: editor, body: { description: 'Now with one' } });
    const reply = await t.http.get('/api/v1/org/audit', { as: org.owner, query: { target_type: 'project', target_id: id } });
    expect(reply.status).toBe(200);
    expect(reply.body.entries.map((entry: { action: string }) => entry.action)).toEqual(['project.updated', 'project.created']);
    expect(reply.body.entries.every((entry: { target_id: string }) => entry.target_id === id)).toBe(true);
  });
});

describe('OpenAPI', () => {
  it('documents every project route with its error statuses', async () => {
    const paths = (await t.http.get('/api/openapi.json')).body.paths;
    const statuses = (path: string, method: string) => Object.keys(paths[path][method].responses).sort();
    expect(statuses('/api/v1/org/projects', 'post')).toEqual(expect.arrayContaining(['201', '400', '401', '403']));
    expect(statuses('/api/v1/org/projects', 'get')).toEqual(expect.arrayContaining(['200', '400', '401']));
    expect(statuses('/api/v1/org/projects/{id}', 'get')).toEqual(expect.arrayContaining(['200', '401', '404']));
    expect(statuses('/api/v1/org/projects/{id}', 'patch')).toEqual(expect.arrayContaining(['200', '400', '403', '404']));
    expect(statuses('/api/v1/org/projects/{id}', 'delete')).toEqual(expect.arrayContaining(['204', '403', '404']));
    expect(statuses('/api/v1/org/projects/{id}/members/{user_id}', 'put')).toEqual(
      expect.arrayContaining(['200', '403', '404', '409']),
    );
    expect(statuses('/api/v1/org/projects/{id}/members/{user_id}', 'delete')).toEqual(
      expect.arrayContaining(['204', '403', '404', '409']),
    );
    expect(paths['/api/v1/org/audit'].get.parameters.map((parameter: { name: string }) => parameter.name)).toEqual(
      expect.arrayContaining(['target_type', 'target_id']),
    );
  });
});
