// The typed client against a real Roster server over HTTP: replies typed from the OpenAPI, every
// failure one RosterApiError with Roster's code, request id and Retry-After.
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRosterClient, isRosterApiError, RosterApiError } from './index.ts';
import { startRoster, type LiveRoster } from './test-kit.ts';

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
});

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
