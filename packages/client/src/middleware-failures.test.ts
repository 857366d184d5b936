// What a host app answers when Roster is unavailable, or refuses the host's own calls, with each
// framework's DEFAULT error handler (the host apps of test-kit.ts set none): 503 (with Roster's
// Retry-After) while Roster is unreachable, hangs or fails; 500 when the host's service token or
// call is wrong, never the user's 401/403, which would make them look signed out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RosterMiddlewareOptions } from './middleware.ts';
import {
  bearer,
  call,
  closedPort,
  expressHost,
  fakeRoster,
  fastifyHost,
  revokedServiceToken,
  serviceToken,
  startRoster,
  type FakeRoster,
  type HostApp,
  type HostFactory,
  type LiveRoster,
} from './test-kit.ts';

let roster: LiveRoster;
beforeAll(async () => {
  roster = await startRoster();
});
afterAll(async () => {
  await roster.close();
});

const hosts: [string, HostFactory][] = [
  ['Fastify', fastifyHost],
  ['Express', expressHost],
];
const asUser = (userId: string) => ({ 'x-host-user': userId });
const hostUser = (request: { headers: Record<string, unknown> }) => {
  const id = request.headers['x-host-user'];
  return typeof id === 'string' ? id : undefined;
};

async function withHost<T>(startHost: HostFactory, options: object, run: (host: HostApp) => Promise<T>): Promise<T> {
  const host = await startHost(options as RosterMiddlewareOptions<never>);
  try {
    return await run(host);
  } finally {
    await host.close();
  }
}

describe.each(hosts)('%s host whose service token Roster refuses', (name, startHost) => {
  const serviceMode = (token: string) => ({ baseUrl: roster.url, serviceToken: token, resolveUserId: hostUser });

  it('answers 500, not the 401 that would sign the user out, for a revoked or unknown service token', async () => {
    const org = await roster.given.org({ members: 1 });
    const member = org.members[0]!;
    for (const token of [await revokedServiceToken(roster, 'authz:read,usage:write'), 'rs_svc_never-issued']) {
      const reply = await withHost(startHost, serviceMode(token), (host) => call(host, 'GET', '/whoami', asUser(member.id)));
      expect(reply.status).toBe(500);
      // Fastify's default handler shows the error's code and message (Express's shows an HTML page).
      if (name === 'Fastify') {
        expect(reply.body).toMatchObject({ code: 'service_token_refused', message: expect.stringMatching(/service token/) });
      }
    }
  });

  it('answers 500, not 403, when the service token lacks the scope: authz:read to look members up, usage:write to record', async () => {
    const org = await roster.given.org({ members: 1 });
    const member = org.members[0]!;
    const noAuthz = await withHost(startHost, serviceMode(await serviceToken(roster, 'storage:write')), (host) =>
      call(host, 'GET', '/whoami', asUser(member.id)),
    );
    expect(noAuthz.status).toBe(500);

    await withHost(startHost, serviceMode(await serviceToken(roster, 'authz:read')), async (host) => {
      expect((await call(host, 'GET', '/whoami', asUser(member.id))).status).toBe(200);
      const noUsage = await call(host, 'POST', '/reports', asUser(member.id));
      expect(noUsage.status).toBe(500);
      if (name === 'Fastify') expect(noUsage.body.message).toMatch(/usage:write/);
    });
    // Nothing was recorded.
    expect((await roster.http.get('/api/v1/usage', { as: member })).body.day.used).toBe(0);
  });

  it("answers 500, not Roster's 400, for a call that is the host's bug (an unknown action in check)", async () => {
    const org = await roster.given.org({ members: 1 });
    const token = await serviceToken(roster, 'authz:read');
    const reply = await withHost(startHost, serviceMode(token), (host) =>
      call(host, 'GET', '/may/bogus', asUser(org.members[0]!.id)),
    );
    expect(reply.status).toBe(500);
    if (name === 'Fastify') expect(reply.body.code).toBe('invalid_host_request');
  });

  it("still passes on the user's own refusals: 403 user_disabled, and the user's own bad credential 401", async () => {
    const org = await roster.given.org({ members: 1 });
    const member = org.members[0]!;
    await withHost(startHost, serviceMode(await serviceToken(roster, 'authz:read,usage:write')), async (host) => {
      expect((await roster.http.post(`/api/v1/org/members/${member.id}/disable`, { as: org.owner })).status).toBe(200);
      const disabled = await call(host, 'GET', '/whoami', asUser(member.id));
      expect([disabled.status, disabled.body.error.code]).toEqual([403, 'user_disabled']);
    });
    // Session mode with a service token: the user's own credential is judged as theirs.
    await withHost(startHost, { baseUrl: roster.url, serviceToken: await serviceToken(roster, 'usage:write') }, async (host) => {
      const bad = await call(host, 'POST', '/reports', bearer('rs_sess_not-a-real-token'));
      expect(bad.status).toBe(401);
    });
  });
});

describe.each(hosts)('%s host while Roster is unavailable', (name, startHost) => {
  let fake: FakeRoster | undefined;
  afterAll(async () => {
    await fake?.close();
  });
  const whoami = (baseUrl: string, options: object = {}) =>
    withHost(startHost, { baseUrl, ...options }, (host) => call(host, 'GET', '/whoami', bearer('rs_sess_any')));

  it('answers 503 when Roster cannot be reached (regression: 500)', async () => {
    const reply = await whoami(`http://127.0.0.1:${await closedPort()}`);
    expect(reply.status).toBe(503);
    if (name === 'Fastify') expect(reply.body.code).toBe('roster_unavailable');
  });

  it("answers 503 with Roster's Retry-After for its 503 (regression: Retry-After lost), and 503 for its 500", async () => {
    let status = 503;
    fake = await fakeRoster((_request, response) => {
      const headers = { 'content-type': 'application/json', ...(status === 503 ? { 'retry-after': '30' } : {}) };
      response.writeHead(status, headers).end(JSON.stringify({ error: { code: 'unavailable', message: 'Restarting.' } }));
    });
    const restarting = await whoami(fake.url);
    expect([restarting.status, restarting.headers.get('retry-after')]).toEqual([503, '30']);
    status = 500;
    const failing = await whoami(fake.url);
    expect([failing.status, failing.headers.get('retry-after')]).toEqual([503, null]);
    await fake.close();
    fake = undefined;
  });

  it('answers 503 after timeoutMs when Roster accepts the connection and never answers (regression: hung ~300 s)', async () => {
    fake = await fakeRoster(() => {});
    const startedAt = Date.now();
    const reply = await whoami(fake.url, { timeoutMs: 300 });
    expect(reply.status).toBe(503);
    expect(Date.now() - startedAt).toBeLessThan(5_000);
    await fake.close();
    fake = undefined;
  }, 15_000);

  it('answers 503 when something else answers 200 with an HTML page (a proxy or captive portal)', async () => {
    fake = await fakeRoster((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' }).end('<html>Sign in to the network</html>');
    });
    const reply = await whoami(fake.url);
    expect(reply.status).toBe(503);
    await fake.close();
    fake = undefined;
  });
});
