import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorCtx, startApp, type TestApp } from '../../test/kit/app.ts';
import type { TestOrg, TestUser } from '../../test/kit/given.ts';
import { createServiceToken, enableUser, revokeServiceToken } from '../admin/service.ts';
import { CHECK_REASONS, CHECKABLE_PERMISSION_NAMES, ORG_PERMISSION_NAMES } from '../auth/permissions.ts';

let t: TestApp;
let org: TestOrg;
let authz: { id: string; token: string };

beforeAll(async () => {
  t = await startApp();
  org = await t.given.org({ admins: 1, members: 3 });
  authz = await serviceToken('authz:read');
});
afterAll(async () => {
  await t.close();
});

async function serviceToken(scopes: string): Promise<{ id: string; token: string }> {
  const { token, record } = await createServiceToken(operatorCtx(t), { name: `authz ${scopes}`, scopes });
  return { id: record.id, token };
}

type Check = { allowed: boolean; role: string | null; org_id: string | null; reason: string | null };

async function check(userId: string, action: string, projectId?: string, as: { token: string } = authz): Promise<Check> {
  const query: Record<string, string> = { user_id: userId, action, ...(projectId ? { project_id: projectId } : {}) };
  const reply = await t.http.get('/api/v1/authz/check', { as, query });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body as Check;
}

const PROJECT_NAMES = ['view_project', 'edit_project', 'manage_project_members', 'delete_project', 'leave_project'];

describe('GET /authz/check', () => {
  it('answers every org permission exactly as GET /org lists it for the user, with role and org', async () => {
    const people: [TestUser, string][] = [
      [org.owner, 'owner'],
      [org.admins[0]!, 'admin'],
      [org.members[0]!, 'member'],
    ];
    for (const [user, role] of people) {
      const listed: string[] = (await t.http.get('/api/v1/org', { as: user })).body.permissions;
      for (const name of ORG_PERMISSION_NAMES) {
        const answer = await check(user.id, name);
        const expected = listed.includes(name);
        expect([role, name, answer.allowed]).toEqual([role, name, expected]);
        expect(answer).toMatchObject({ role, org_id: org.id });
        if (expected) expect(answer.reason).toBeNull();
        else if (name === 'leave_org') expect(answer.reason).toBe('owner_must_transfer');
        else expect([name, answer.reason]).toEqual([name, 'insufficient_role']);
      }
    }
  });

  it('answers project permissions as each project reply lists them, with the reason of each refusal', async () => {
    const [editor, viewer, outsider] = org.members as [TestUser, TestUser, TestUser];
    const created = await t.http.post('/api/v1/org/projects', { as: editor, body: { name: 'Apollo' } });
    const projectId: string = created.body.project.id;
    const added = await t.http.put(`/api/v1/org/projects/${projectId}/members/${viewer.id}`, {
      as: editor,
      body: { editor: false },
    });
    expect(added.status).toBe(200);

    const expectedReasons: Record<string, Record<string, string | null>> = {
      owner: {
        view_project: null,
        edit_project: null,
        manage_project_members: null,
        delete_project: null,
        leave_project: 'not_on_project',
      },
      admin: {
        view_project: null,
        edit_project: null,
        manage_project_members: null,
        delete_project: null,
        leave_project: 'not_on_project',
      },
      // The project's only editor cannot leave it.
      editor: {
        view_project: null,
        edit_project: null,
        manage_project_members: null,
        delete_project: null,
        leave_project: 'last_editor',
      },
      viewer: {
        view_project: null,
        edit_project: 'project_read_only',
        manage_project_members: 'project_read_only',
        delete_project: 'project_read_only',
        leave_project: null,
      },
      outsider: Object.fromEntries(PROJECT_NAMES.map((name) => [name, 'not_on_project'])),
    };
    const people: Record<string, TestUser> = { owner: org.owner, admin: org.admins[0]!, editor, viewer, outsider };
    for (const [who, user] of Object.entries(people)) {
      const reply = await t.http.get(`/api/v1/org/projects/${projectId}`, { as: user });
      // What the API itself shows this person: the project (and its permissions) or a 404.
      const listed: string[] = reply.status === 200 ? ['view_project', ...reply.body.project.permissions] : [];
      for (const name of PROJECT_NAMES) {
        const answer = await check(user.id, name, projectId);
        expect([who, name, answer.allowed]).toEqual([who, name, listed.includes(name)]);
        expect([who, name, answer.reason]).toEqual([who, name, expectedReasons[who]![name]]);
      }
    }

    const elsewhere = await t.given.org();
    const foreign = await t.http.post('/api/v1/org/projects', { as: elsewhere.owner, body: { name: 'Theirs' } });
    for (const id of [foreign.body.project.id, '00000000-0000-4000-8000-000000000000']) {
      expect(await check(org.owner.id, 'view_project', id)).toEqual({
        allowed: false,
        role: 'owner',
        org_id: org.id,
        reason: 'project_not_found',
      });
    }
  });

  it('follows the current role and account state on the very next call', async () => {
    const o = await t.given.org({ admins: 1 });
    const admin = o.admins[0]!;
    expect((await check(admin.id, 'invite')).allowed).toBe(true);

    const demoted = await t.http.put(`/api/v1/org/members/${admin.id}/role`, { as: o.owner, body: { role: 'member' } });
    expect(demoted.status).toBe(200);
    expect(await check(admin.id, 'invite')).toEqual({
      allowed: false,
      role: 'member',
      org_id: o.id,
      reason: 'insufficient_role',
    });

    const disabled = await t.http.post(`/api/v1/org/members/${admin.id}/disable`, { as: o.owner });
    expect(disabled.status, JSON.stringify(disabled.body)).toBe(200);
    // Never allowed, not even what every member may do.
    for (const name of ['leave_org', 'create_project']) {
      expect(await check(admin.id, name)).toEqual({ allowed: false, role: 'member', org_id: o.id, reason: 'user_disabled' });
    }
    await enableUser(operatorCtx(t), { email: admin.email });
    expect((await check(admin.id, 'create_project')).allowed).toBe(true);

    const removed = await t.http.delete(`/api/v1/org/members/${admin.id}`, { as: o.owner });
    expect(removed.status).toBe(204);
    expect(await check(admin.id, 'create_project')).toEqual({ allowed: false, role: null, org_id: null, reason: 'not_a_member' });
  });

  it('answers not_a_member for a user in no org and for an id no user has', async () => {
    const loner = await t.given.user();
    for (const id of [loner.id, '00000000-0000-4000-8000-000000000000']) {
      expect(await check(id, 'create_project')).toEqual({ allowed: false, role: null, org_id: null, reason: 'not_a_member' });
      expect((await check(id, 'view_project', '00000000-0000-4000-8000-000000000001')).reason).toBe('not_a_member');
    }
  });

  it('refuses bad input with 400 and a stable code', async () => {
    const user = org.members[0]!.id;
    const cases: [Record<string, string>, string][] = [
      [{ user_id: user, action: 'launch_rockets' }, 'invalid_action'],
      [{ user_id: user, action: 'projects.read' }, 'invalid_action'],
      [{ user_id: user, action: '' }, 'invalid_action'],
      [{ user_id: 'not-a-uuid', action: 'invite' }, 'invalid_request'],
      [{ user_id: user }, 'invalid_request'],
      [{ action: 'invite' }, 'invalid_request'],
      [{ user_id: user, action: 'edit_project', project_id: 'nope' }, 'invalid_request'],
      [{ user_id: user, action: 'edit_project' }, 'invalid_request'],
      [{ user_id: user, action: 'invite', project_id: '00000000-0000-4000-8000-000000000000' }, 'invalid_request'],
      [{ user_id: user, action: 'invite', extra: '1' }, 'invalid_request'],
    ];
    for (const [query, code] of cases) {
      const reply = await t.http.get('/api/v1/authz/check', { as: authz, query });
      expect([query, reply.status, reply.body.error?.code]).toEqual([query, 400, code]);
    }
  });

  it('lists every checkable name and reason in the OpenAPI', async () => {
    const spec = (await t.http.get('/api/openapi.json')).body;
    const operation = spec.paths['/api/v1/authz/check'].get;
    const action = operation.parameters.find((parameter: { name: string }) => parameter.name === 'action');
    expect(action.schema.enum).toEqual(CHECKABLE_PERMISSION_NAMES);
    const reply = operation.responses['200'].content['application/json'].schema;
    expect(reply.properties.reason.anyOf[0].enum).toEqual(CHECK_REASONS);
    // Each reason is explained where a client developer reads it.
    for (const reason of CHECK_REASONS) expect(reply.properties.reason.description).toContain(`\`${reason}\``);
    expect(operation.security).toEqual([{ service_token: ['authz:read'] }]);
  });
});

describe('GET /users/{user_id}/membership', () => {
  it("answers the member's org, role, status and limits, read now", async () => {
    const o = await t.given.org({ members: 1 });
    const member = o.members[0]!;
    await t.given.usageLimit({ as: o.owner, member, daily: 10, monthly: null });
    const reply = await t.http.get(`/api/v1/users/${member.id}/membership`, { as: authz });
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect(reply.body).toEqual({
      org: { id: o.id, slug: o.slug, name: `Org ${o.slug}`, tier: 'team' },
      role: 'member',
      status: 'active',
      usage_limit: { daily: 10, monthly: null },
    });
    expect((await t.http.get(`/api/v1/users/${o.owner.id}/membership`, { as: authz })).body).toMatchObject({
      role: 'owner',
      usage_limit: { daily: null, monthly: null },
    });

    await t.http.post(`/api/v1/org/members/${member.id}/disable`, { as: o.owner });
    expect((await t.http.get(`/api/v1/users/${member.id}/membership`, { as: authz })).body).toMatchObject({
      role: 'member',
      status: 'disabled',
    });
  });

  it('answers {org: null} alike for a user in no org and an unknown id, and 400 for a malformed id', async () => {
    const loner = await t.given.user();
    for (const id of [loner.id, '00000000-0000-4000-8000-000000000000']) {
      const reply = await t.http.get(`/api/v1/users/${id}/membership`, { as: authz });
      expect([reply.status, reply.body]).toEqual([200, { org: null }]);
    }
    const malformed = await t.http.get('/api/v1/users/not-a-uuid/membership', { as: authz });
    expect([malformed.status, malformed.body.error.code]).toEqual([400, 'invalid_request']);
  });
});

describe('who may ask', () => {
  it('only a service token with authz:read: 401 without or with a revoked token, 403 otherwise', async () => {
    const member = org.members[0]!;
    const requests = [
      (as: { token: string } | null) =>
        t.http.get('/api/v1/authz/check', { as, query: { user_id: member.id, action: 'invite' } }),
      (as: { token: string } | null) => t.http.get(`/api/v1/users/${member.id}/membership`, { as }),
    ];
    const others = await serviceToken('usage:write,storage:write,webhooks:manage');
    const revoked = await serviceToken('authz:read');
    await revokeServiceToken(operatorCtx(t), { id: revoked.id });
    const apiToken = await t.given.apiToken(org.owner);
    for (const send of requests) {
      expect((await send(null)).status).toBe(401);
      expect((await send(revoked)).status).toBe(401);
      for (const user of [org.owner, member, apiToken]) {
        const reply = await send(user);
        expect([reply.status, reply.body.error.code]).toEqual([403, 'forbidden']);
      }
      const lacking = await send(others);
      expect([lacking.status, lacking.body.error.code]).toEqual([403, 'forbidden']);
      expect(lacking.body.error.message).toContain('authz:read');
      expect((await send(authz)).status).toBe(200);
    }
  });
});
