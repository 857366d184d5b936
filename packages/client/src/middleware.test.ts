// The Fastify and Express middleware against a real Roster server: each host app (test-kit.ts)
// listens on loopback and calls Roster over HTTP, as a host app in production does. Both adapters
// share one core, and every rule is checked through both. When Roster fails or refuses the host
// itself: middleware-failures.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RosterMiddlewareOptions } from './middleware.ts';
import {
  bearer,
  browserSession,
  call,
  expressHost,
  fastifyHost,
  serviceToken,
  startRoster,
  type HostApp,
  type LiveRoster,
} from './test-kit.ts';

let roster: LiveRoster;
beforeAll(async () => {
  roster = await startRoster();
});
afterAll(async () => {
  await roster.close();
});

describe.each([
  ['Fastify', fastifyHost],
  ['Express', expressHost],
])('%s middleware with the Roster session or token of the request', (_name, startHost) => {
  let host: HostApp;
  beforeAll(async () => {
    host = await startHost({ baseUrl: roster.url });
  });
  afterAll(async () => {
    await host.close();
  });

  it("exposes the member, org, role and permissions from a bearer token, and the member's own session cookie", async () => {
    const org = await roster.given.org({ members: 1 });
    const member = org.members[0]!;
    const byToken = await call(host, 'GET', '/whoami', bearer(member.token));
    expect(byToken.status).toBe(200);
    expect(byToken.body.roster).toMatchObject({
      via: 'session',
      user: { id: member.id, email: member.email },
      org: { id: org.id, slug: org.slug },
      role: 'member',
    });
    expect(byToken.body.roster.permissions).toContain('leave_org');
    expect(byToken.body.roster.permissions).not.toContain('invite');

    const { session } = await browserSession(roster, org.owner.email);
    const byCookie = await call(host, 'GET', '/whoami', { cookie: `theme=dark; roster_session=${session}` });
    expect(byCookie.status).toBe(200);
    expect(byCookie.body.roster).toMatchObject({ user: { id: org.owner.id }, role: 'owner' });
    expect(byCookie.body.roster.permissions).toContain('invite');
  });

  it("answers 401 without a credential and passes on Roster's 401 for a bad or disabled one", async () => {
    const none = await call(host, 'GET', '/whoami');
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('unauthenticated');

    const bad = await call(host, 'GET', '/whoami', bearer('rs_sess_not-a-real-token'));
    expect(bad.status).toBe(401);
    expect(bad.body.error.code).toEqual(expect.any(String));

    const org = await roster.given.org({ members: 1 });
    const member = org.members[0]!;
    expect((await call(host, 'GET', '/whoami', bearer(member.token))).status).toBe(200);
    const disabled = await roster.http.post(`/api/v1/org/members/${member.id}/disable`, { as: org.owner });
    expect(disabled.status).toBe(200);
    const after = await call(host, 'GET', '/whoami', bearer(member.token));
    expect(after.status).toBe(401);
  });

  it('answers 403 not_a_member for a signed-in user in no organization', async () => {
    const loner = await roster.given.user();
    const reply = await call(host, 'GET', '/whoami', bearer(loner.token));
    expect(reply.status).toBe(403);
    expect(reply.body.error.code).toBe('not_a_member');
  });

  it('follows a role change on the very next request (nothing cached)', async () => {
    const org = await roster.given.org({ admins: 1 });
    const admin = org.admins[0]!;
    expect((await call(host, 'GET', '/whoami', bearer(admin.token))).body.roster.role).toBe('admin');
    const demoted = await roster.http.put(`/api/v1/org/members/${admin.id}/role`, { as: org.owner, body: { role: 'member' } });
    expect(demoted.status).toBe(200);
    const after = await call(host, 'GET', '/whoami', bearer(admin.token));
    expect(after.body.roster.role).toBe('member');
    expect(after.body.roster.permissions).not.toContain('invite');
  });

  it("records usage with the member's token and answers Roster's 429 with Retry-After past the limit, concurrently without overshoot", async () => {
    const org = await roster.given.org({ members: 1 });
    const member = org.members[0]!;
    await roster.given.usageLimit({ as: org.owner, member, daily: 4, monthly: null });

    const replies = await Promise.all(Array.from({ length: 10 }, () => call(host, 'POST', '/reports', bearer(member.token))));
    const accepted = replies.filter((reply) => reply.status === 201);
    const refused = replies.filter((reply) => reply.status === 429);
    expect(accepted).toHaveLength(4);
    expect(refused).toHaveLength(6);
    for (const reply of refused) {
      expect(reply.body.error.code).toBe('usage_limit_exceeded');
      expect(reply.body.error.message).toMatch(/administrator/i);
      expect(Number(reply.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    const recorded = await roster.http.get('/api/v1/usage', { as: member });
    expect(recorded.body.day.used).toBe(4);
  });

  it("forwards a browser session's CSRF pair when recording usage, so Roster's CSRF rule still decides", async () => {
    const org = await roster.given.org({ members: 1 });
    const member = org.members[0]!;
    const { session, csrf } = await browserSession(roster, member.email);
    const cookie = `roster_session=${session}; roster_csrf=${csrf}`;

    const withToken = await call(host, 'POST', '/reports', { cookie, 'x-csrf-token': csrf });
    expect(withToken.status, JSON.stringify(withToken.body)).toBe(201);
    expect(withToken.body.used_today).toBe(1);

    const forged = await call(host, 'POST', '/reports', { cookie });
    expect(forged.status).toBe(403);
    expect(forged.body.error.code).toBe('csrf_failed');
    expect((await roster.http.get('/api/v1/usage', { as: member })).body.day.used).toBe(1);
  });
});

describe.each([
  ['Fastify', fastifyHost],
  ['Express', expressHost],
])('%s middleware in service mode (the host signs its users in; a service token asks Roster)', (_name, startHost) => {
  let host: HostApp;
  beforeAll(async () => {
    // The host's own session is stood in for by a header naming the Roster user id.
    host = await startHost({
      baseUrl: roster.url,
      serviceToken: await serviceToken(roster, 'authz:read,usage:write'),
      resolveUserId: (request: { headers: Record<string, unknown> }) => {
        const id = request.headers['x-host-user'];
        return typeof id === 'string' ? id : undefined;
      },
    } as RosterMiddlewareOptions<never>);
  });
  afterAll(async () => {
    await host.close();
  });
  const as = (userId: string) => ({ 'x-host-user': userId });

  it('exposes the member looked up by id, and refuses the unknown, the org-less and the disabled', async () => {
    const org = await roster.given.org({ members: 1 });
    const member = org.members[0]!;
    const reply = await call(host, 'GET', '/whoami', as(member.id));
    expect(reply.status).toBe(200);
    expect(reply.body.roster).toMatchObject({
      via: 'service',
      user: { id: member.id },
      org: { id: org.id, slug: org.slug },
      role: 'member',
    });

    expect((await call(host, 'GET', '/whoami')).status).toBe(401);
    const unknown = await call(host, 'GET', '/whoami', as('00000000-0000-4000-8000-000000000000'));
    expect([unknown.status, unknown.body.error.code]).toEqual([403, 'not_a_member']);
    const loner = await roster.given.user();
    const orgless = await call(host, 'GET', '/whoami', as(loner.id));
    expect([orgless.status, orgless.body.error.code]).toEqual([403, 'not_a_member']);

    expect((await roster.http.post(`/api/v1/org/members/${member.id}/disable`, { as: org.owner })).status).toBe(200);
    const disabled = await call(host, 'GET', '/whoami', as(member.id));
    expect([disabled.status, disabled.body.error.code]).toEqual([403, 'user_disabled']);
  });

  it("answers may-I questions with Roster's policy for the member's current role", async () => {
    const org = await roster.given.org({ admins: 1, members: 1 });
    const refused = await call(host, 'GET', '/may/invite', as(org.members[0]!.id));
    expect(refused.body).toEqual({ allowed: false, role: 'member', org_id: org.id, reason: 'insufficient_role' });
    const allowed = await call(host, 'GET', '/may/invite', as(org.admins[0]!.id));
    expect(allowed.body).toMatchObject({ allowed: true, role: 'admin', reason: null });
  });

  it('records usage on behalf of the member: no overshoot under concurrent calls, 429 with Retry-After, a retried key counted once', async () => {
    const org = await roster.given.org({ members: 1 });
    const member = org.members[0]!;
    await roster.given.usageLimit({ as: org.owner, member, daily: 3, monthly: null });

    const first = await call(host, 'POST', '/reports', { ...as(member.id), 'idempotency-key': 'report-1' });
    const retried = await call(host, 'POST', '/reports', { ...as(member.id), 'idempotency-key': 'report-1' });
    expect([first.status, retried.status]).toEqual([201, 201]);
    expect(retried.body.used_today).toBe(1);

    const replies = await Promise.all(Array.from({ length: 6 }, () => call(host, 'POST', '/reports', as(member.id))));
    expect(replies.filter((reply) => reply.status === 201)).toHaveLength(2);
    const refused = replies.filter((reply) => reply.status === 429);
    expect(refused).toHaveLength(4);
    for (const reply of refused) {
      expect(reply.body.error.code).toBe('usage_limit_exceeded');
      expect(Number(reply.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect((await roster.http.get('/api/v1/usage', { as: member })).body.day.used).toBe(3);
  });
});

describe.each([
  ['Fastify', fastifyHost],
  ['Express', expressHost],
])('%s middleware with allowNoOrg', (_name, startHost) => {
  const lonerId = (request: { headers: Record<string, unknown> }) => {
    const id = request.headers['x-host-user'];
    return typeof id === 'string' ? id : undefined;
  };

  it('lets a user in no org through with request.roster null, and refuses their usage with 403 not_a_member (regression: 500)', async () => {
    const loner = await roster.given.user();
    const token = await serviceToken(roster, 'authz:read,usage:write');
    const bySession = await startHost({ baseUrl: roster.url, allowNoOrg: true });
    const byService = await startHost({
      baseUrl: roster.url,
      serviceToken: token,
      resolveUserId: lonerId,
      allowNoOrg: true,
    } as RosterMiddlewareOptions<never>);
    try {
      for (const [host, credential] of [
        [bySession, bearer(loner.token)],
        [byService, { 'x-host-user': loner.id }],
      ] as const) {
        const whoami = await call(host, 'GET', '/whoami', credential);
        expect([whoami.status, whoami.body.roster]).toEqual([200, null]);
        const usage = await call(host, 'POST', '/reports', credential);
        expect([usage.status, usage.body.error.code]).toEqual([403, 'not_a_member']);
      }
      // check answers as Roster does for a user in no org, without a user id to ask about.
      const decision = await call(byService, 'GET', '/may/invite', { 'x-host-user': loner.id });
      expect(decision.body).toEqual({ allowed: false, role: null, org_id: null, reason: 'not_a_member' });
    } finally {
      await bySession.close();
      await byService.close();
    }
  });
});
