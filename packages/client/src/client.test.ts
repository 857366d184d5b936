// The typed client against a real Roster server over HTTP: replies typed from the OpenAPI, every
// failure one RosterApiError with Roster's code, request id and Retry-After.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPath, createRosterClient, isRosterApiError, RosterApiError } from './index.ts';
import { closedPort, fakeRoster, serviceToken, startRoster, type LiveRoster } from './test-kit.ts';

let roster: LiveRoster;
beforeAll(async () => {
  roster = await startRoster();
});
afterAll(async () => {
  await roster.close();
});

async function failure(promise: Promise<unknown>): Promise<RosterApiError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(RosterApiError);
  return error as RosterApiError;
}

describe('createRosterClient', () => {
  it('calls typed routes with a bearer token: path parameters, query and body', async () => {
    const org = await roster.given.org({ members: 2 });
    const client = createRosterClient({ baseUrl: `${roster.url}/`, token: org.owner.token });

    const me = await client.GET('/api/v1/me');
    expect(me.user.id).toBe(org.owner.id);
    expect(me.org).toMatchObject({ id: org.id, role: 'owner' });
    expect(me.org?.permissions).toContain('set_usage_limits');

    const page = await client.GET('/api/v1/org/members', { query: { limit: 2 } });
    expect(page.members).toHaveLength(2);
    expect(page.next_cursor).toEqual(expect.any(String));

    const member = org.members[0]!;
    await client.PUT('/api/v1/org/members/{user_id}/usage-limit', {
      params: { user_id: member.id },
      body: { daily: 5, monthly: null },
    });
    const removed = await client.DELETE('/api/v1/org/members/{user_id}', { params: { user_id: org.members[1]!.id } });
    expect(removed).toBeUndefined();
    expect((await client.GET('/api/v1/org')).members_total).toBe(2);
  });

  it("throws RosterApiError with Roster's status, code, message, details and request id", async () => {
    const anonymous = createRosterClient({ baseUrl: roster.url });
    const unauthenticated = await failure(anonymous.GET('/api/v1/me'));
    expect(unauthenticated).toMatchObject({ status: 401, code: 'unauthenticated' });
    expect(unauthenticated.requestId).toMatch(/\S+/);
    expect(unauthenticated.message).not.toBe('');

    const org = await roster.given.org({ members: 1 });
    const client = createRosterClient({ baseUrl: roster.url, token: org.owner.token });
    const invalid = await failure(client.POST('/api/v1/org/invite', { body: { email: 'not-an-address', role: 'member' } }));
    expect(invalid).toMatchObject({ status: 400, code: 'invalid_email' });

    const unknownField = await failure(
      client.PATCH('/api/v1/org', { body: { name: 'x', slug: 'nope' } as unknown as { name: string } }),
    );
    expect(unknownField).toMatchObject({ status: 400, code: 'invalid_request', details: { issues: expect.any(Array) } });
    expect(isRosterApiError(unknownField, 'invalid_request')).toBe(true);
    expect(unknownField.toJSON()).toEqual({
      error: { code: 'invalid_request', message: unknownField.message, details: unknownField.details },
    });
  });

  it('maps a usage 429 to retryAfterSeconds from the Retry-After header, and records nothing past the limit', async () => {
    const org = await roster.given.org({ members: 1 });
    const member = org.members[0]!;
    await roster.given.usageLimit({ as: org.owner, member, daily: 3, monthly: null });
    const client = createRosterClient({ baseUrl: roster.url, token: member.token });

    const receipt = await client.POST('/api/v1/usage', { body: { activity: 'report', quantity: 3 } });
    expect(receipt.day).toMatchObject({ used: 3, limit: 3 });
    const refused = await failure(client.POST('/api/v1/usage', { body: { activity: 'report', quantity: 1 } }));
    expect(refused).toMatchObject({ status: 429, code: 'usage_limit_exceeded' });
    expect(refused.retryAfterSeconds).toBeGreaterThan(0);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(86_400);
    expect((await client.GET('/api/v1/usage')).day.used).toBe(3);
  });

  it('reads the token from a function on every call, so a rotated token is used at once', async () => {
    const first = await roster.given.user();
    const second = await roster.given.user();
    let current = first.token;
    const client = createRosterClient({ baseUrl: roster.url, token: () => current });
    expect((await client.GET('/api/v1/me')).user.id).toBe(first.id);
    current = second.token;
    expect((await client.GET('/api/v1/me')).user.id).toBe(second.id);
  });

  it('reports an unreachable Roster as status 0, network_error', async () => {
    const port = await closedPort();
    const client = createRosterClient({ baseUrl: `http://127.0.0.1:${port}` });
    const unreachable = await failure(client.GET('/api/v1/billing/plans'));
    expect(unreachable).toMatchObject({ status: 0, code: 'network_error' });
  });

  it("refuses an empty, '.' or '..' path parameter before sending anything (regression: DELETE …/members/.. deleted the project)", async () => {
    const org = await roster.given.org({ members: 1 });
    let sent = 0;
    const client = createRosterClient({
      baseUrl: roster.url,
      token: org.owner.token,
      fetch: (input, init) => {
        sent += 1;
        return fetch(input, init);
      },
    });
    const { project } = await client.POST('/api/v1/org/projects', { body: { name: 'Kept' } });
    sent = 0;

    for (const userId of ['..', '.', '']) {
      const refused = await failure(
        client.DELETE('/api/v1/org/projects/{id}/members/{user_id}', { params: { id: project.id, user_id: userId } }),
      );
      expect(refused).toMatchObject({ status: 400, code: 'invalid_request', requestId: undefined });
      expect(refused.message).toContain('user_id');
      expect(refused.details).toEqual({ issues: [{ path: '/user_id', location: 'params', message: refused.message }] });
    }
    // GET /org/projects/{id} with '' would have listed every project instead.
    expect(await failure(client.GET('/api/v1/org/projects/{id}', { params: { id: '' } }))).toMatchObject({ status: 400 });
    expect(sent).toBe(0);
    expect((await client.GET('/api/v1/org/projects/{id}', { params: { id: project.id } })).project.name).toBe('Kept');
  });

  it('encodes path parameters so that URL parsing never reads a dot segment or another separator in them', () => {
    const template = '/api/v1/org/projects/{id}/members/{user_id}';
    for (const value of ['%2e%2e', '%2E.', '.%2e', '...', '../x', 'a/..', '..\\', '%2f..', 'a?b#c', ' .. ']) {
      const path = buildPath(template, { params: { id: 'p', user_id: value } });
      const parsed = new URL(`http://roster.test${path}`);
      expect(parsed.pathname, value).toBe(path);
      expect(decodeURIComponent(parsed.pathname.split('/').at(-1)!), value).toBe(value);
    }
  });

  it('accepts an omitted body where the route takes none too (rotate-secret, whose body schema accepts null)', async () => {
    const client = createRosterClient({ baseUrl: roster.url, token: await serviceToken(roster, 'webhooks:manage') });
    const created = await client.POST('/api/v1/webhooks', { body: { url: 'https://app.example.com/hooks', events: ['*'] } });
    // Type-checked by `tsc -p packages/client`: before, the generated type required `body` here.
    const rotated = await client.POST('/api/v1/webhooks/{id}/rotate-secret', { params: { id: created.webhook.id } });
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(created.secret);
  });
});

describe('createRosterClient when the reply does not come, or is not JSON', () => {
  it('gives up after timeoutMs on a Roster that accepts the connection and never answers: status 0, timeout (regression: hung)', async () => {
    const silent = await fakeRoster(() => {});
    try {
      const startedAt = Date.now();
      const timedOut = await failure(createRosterClient({ baseUrl: silent.url, timeoutMs: 200 }).GET('/api/v1/me'));
      expect(timedOut).toMatchObject({ status: 0, code: 'timeout' });
      expect(Date.now() - startedAt).toBeLessThan(5_000);
    } finally {
      await silent.close();
    }
  }, 15_000);

  it('times out a reply that stalls in the middle of its body too', async () => {
    const stalling = await fakeRoster((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      response.write('{"user":');
    });
    try {
      const client = createRosterClient({ baseUrl: stalling.url, timeoutMs: 200 });
      expect(await failure(client.GET('/api/v1/me'))).toMatchObject({ status: 0, code: 'timeout' });
    } finally {
      await stalling.close();
    }
  }, 15_000);

  it("reports the caller's own abort as aborted, not as a timeout or an unreachable Roster", async () => {
    const silent = await fakeRoster(() => {});
    try {
      const controller = new AbortController();
      const pending = createRosterClient({ baseUrl: silent.url, timeoutMs: 10_000 }).GET('/api/v1/me', {
        signal: controller.signal,
      });
      setTimeout(() => controller.abort(), 50);
      expect(await failure(pending)).toMatchObject({ status: 0, code: 'aborted' });
    } finally {
      await silent.close();
    }
  });

  it('refuses a timeoutMs that is negative or not a whole number; 0 and Infinity mean no time limit', () => {
    for (const timeoutMs of [-1, 1.5, Number.NaN, 2 ** 31]) {
      expect(() => createRosterClient({ baseUrl: '', timeoutMs }), String(timeoutMs)).toThrow(RangeError);
    }
    for (const timeoutMs of [0, Infinity]) expect(() => createRosterClient({ baseUrl: '', timeoutMs })).not.toThrow();
  });

  it('throws RosterApiError network_error for a reply cut in the middle of its body (regression: a raw TypeError)', async () => {
    const cutting = await fakeRoster((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      response.write('{"user":');
      setTimeout(() => response.destroy(), 20);
    });
    try {
      expect(await failure(createRosterClient({ baseUrl: cutting.url }).GET('/api/v1/me'))).toMatchObject({
        status: 0,
        code: 'network_error',
      });
    } finally {
      await cutting.close();
    }
  });

  it('never follows a redirect: 502 invalid_reply, and the write is not sent again as a GET (regression: its reply read as success)', async () => {
    const seen: string[] = [];
    const proxy = await fakeRoster((request, response) => {
      seen.push(`${request.method} ${request.url}`);
      if (request.url?.startsWith('/moved/')) {
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"day":{"used":1}}');
      } else response.writeHead(301, { location: `/moved${request.url}`, 'x-request-id': 'proxy-2' }).end();
    });
    try {
      const client = createRosterClient({ baseUrl: proxy.url, token: 'rs_sess_x' });
      const refused = await failure(client.POST('/api/v1/usage', { body: { activity: 'a', quantity: 1 } }));
      expect(refused).toMatchObject({ status: 502, code: 'invalid_reply', requestId: 'proxy-2' });
      expect(refused.details).toEqual({ reply_status: 301, location: '/moved/api/v1/usage' });
      expect(seen).toEqual(['POST /api/v1/usage']);
    } finally {
      await proxy.close();
    }
  });

  it('throws RosterApiError 502 invalid_reply for a 2xx that is not JSON (regression: resolved undefined); a 204 is undefined', async () => {
    const proxy = await fakeRoster((request, response) => {
      if (request.method === 'DELETE') response.writeHead(204).end();
      else response.writeHead(200, { 'content-type': 'text/html', 'x-request-id': 'proxy-1' }).end('<html>Sign in</html>');
    });
    try {
      const client = createRosterClient({ baseUrl: proxy.url });
      const invalid = await failure(client.GET('/api/v1/org/members'));
      expect(invalid).toMatchObject({ status: 502, code: 'invalid_reply', requestId: 'proxy-1' });
      expect(invalid.details).toEqual({ reply_status: 200, content_type: 'text/html' });
      expect(await client.DELETE('/api/v1/org/invites/{id}', { params: { id: 'x' } })).toBeUndefined();
    } finally {
      await proxy.close();
    }
  });
});
