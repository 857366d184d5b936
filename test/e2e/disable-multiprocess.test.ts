import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD } from '../kit/given.ts';
import { withDatabase } from '../kit/engine.ts';
import { startServerProcess, type ServerProcess } from '../kit/server.ts';

/**
 * Disabling on one server process takes effect on the very next request served by another
 * process of the same PostgreSQL: nothing is cached per process. Runs in CI (on the suite's
 * PostgreSQL, or the CI service's default address); elsewhere only with TEST_DATABASE_URL.
 */
const serverUrl =
  process.env.TEST_DATABASE_URL || (process.env.CI === 'true' ? 'postgres://postgres@127.0.0.1:5432/test' : undefined);
const PUBLIC_URL = 'http://roster.test';

async function call(
  server: ServerProcess,
  method: string,
  path: string,
  options: { token?: string; cookie?: string; body?: unknown } = {},
) {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.cookie) {
    headers.cookie = `roster_session=${options.cookie}`;
    headers.origin = PUBLIC_URL;
  }
  if (options.body !== undefined || options.cookie) headers['content-type'] = 'application/json';
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null, cookie: response.headers.getSetCookie() };
}

describe.skipIf(!serverUrl)('disabling across server processes (PostgreSQL)', () => {
  const name = `roster_e2e_disable_${randomBytes(4).toString('hex')}`;
  let admin: pg.Client;
  let databaseUrl: string;
  let first: ServerProcess | undefined;
  let second: ServerProcess | undefined;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    databaseUrl = withDatabase(serverUrl ?? '', name);
    // Both start at once: migrations serialize on their advisory lock.
    const env = { DATABASE_URL: databaseUrl, PUBLIC_URL };
    [first, second] = await Promise.all([startServerProcess({ env }), startServerProcess({ env })]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([first?.stop(), second?.stop()]);
    await admin?.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
    await admin?.end();
  });

  it('refuses the disabled member on the other process at once: bearer session, cookie session and API token', async () => {
    const a = first!;
    const b = second!;
    const signup = (email: string) =>
      call(a, 'POST', '/api/v1/auth/signup', { body: { email, password: PASSWORD, name: email.split('@')[0] } });
    const owner = (await signup(`owner-${name}@example.com`)).body;
    expect(
      (
        await call(a, 'POST', '/api/v1/billing/checkout', {
          token: owner.token,
          body: { plan: 'team', seats: 5, scope: 'personal' },
        })
      ).status,
    ).toBe(200);
    expect(
      (await call(a, 'POST', '/api/v1/org', { token: owner.token, body: { name: 'Multi', slug: `m-${name.slice(-8)}` } })).status,
    ).toBe(201);
    const memberSignup = await signup(`member-${name}@example.com`);
    const member = memberSignup.body;
    const orgId = (await call(a, 'GET', '/api/v1/org', { token: owner.token })).body.org.id;
    // Test-only shortcut: in the product members join by invitation.
    const memberDb = new pg.Client({ connectionString: databaseUrl });
    await memberDb.connect();
    await memberDb.query(`INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, 'member')`, [orgId, member.user.id]);
    await memberDb.end();
    const login = await call(b, 'POST', '/api/v1/auth/login', { body: { email: member.user.email, password: PASSWORD } });
    const cookieToken = /roster_session=([^;]+)/.exec(login.cookie.join('\n'))?.[1];
    expect(cookieToken).toBeTruthy();
    const apiToken = (await call(b, 'POST', '/api/v1/tokens', { token: member.token, body: { name: 'ci' } })).body.token;

    const record = { activity: 'api.call', quantity: 1 };
    expect((await call(b, 'GET', '/api/v1/me', { token: member.token })).status).toBe(200);
    expect((await call(b, 'POST', '/api/v1/usage', { cookie: cookieToken, body: record })).status).toBe(201);
    expect((await call(b, 'POST', '/api/v1/usage', { token: apiToken, body: record })).status).toBe(201);

    const disabled = await call(a, 'POST', `/api/v1/org/members/${member.user.id}/disable`, { token: owner.token });
    expect(disabled.status).toBe(200);

    expect((await call(b, 'GET', '/api/v1/me', { token: member.token })).status).toBe(401);
    expect((await call(b, 'POST', '/api/v1/usage', { token: member.token, body: record })).status).toBe(401);
    expect((await call(b, 'GET', '/api/v1/me', { cookie: cookieToken })).status).toBe(401);
    expect((await call(b, 'POST', '/api/v1/usage', { cookie: cookieToken, body: record })).status).toBe(401);
    expect((await call(b, 'GET', '/api/v1/me', { token: apiToken })).status).toBe(401);
    expect((await call(b, 'POST', '/api/v1/usage', { token: apiToken, body: record })).status).toBe(401);
    const again = await call(b, 'POST', '/api/v1/auth/login', { body: { email: member.user.email, password: PASSWORD } });
    expect(again.status).toBe(403);
    expect(again.body.error.code).toBe('user_disabled');
  });
});
