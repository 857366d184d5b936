import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD } from '../kit/given.ts';
import { createScratchDatabase, serverPostgresUrl, type ScratchDatabase } from '../kit/postgres.ts';
import { callServer as call, startServerProcess, type ServerProcess } from '../kit/server.ts';

/**
 * Disabling on one server process takes effect on the very next request served by another
 * process of the same PostgreSQL: nothing is cached per process. Runs in CI (on the suite's
 * PostgreSQL, or the CI service's default address); elsewhere only with TEST_DATABASE_URL.
 */
const serverUrl = serverPostgresUrl();
const PUBLIC_URL = 'http://roster.test';

describe.skipIf(!serverUrl)('disabling across server processes (PostgreSQL)', () => {
  let scratch: ScratchDatabase;
  let name = '';
  let databaseUrl: string;
  let first: ServerProcess | undefined;
  let second: ServerProcess | undefined;

  beforeAll(async () => {
    scratch = await createScratchDatabase(serverUrl!, 'roster_e2e_disable');
    name = scratch.name;
    databaseUrl = scratch.url;
    // Both start at once: migrations serialize on their advisory lock.
    const env = { DATABASE_URL: databaseUrl, PUBLIC_URL };
    [first, second] = await Promise.all([startServerProcess({ env }), startServerProcess({ env })]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([first?.stop(), second?.stop()]);
    await scratch?.drop();
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
    await memberDb.query(`INSERT INTO user_orgs (user_id, org_id) VALUES ($1, $2)`, [member.user.id, orgId]);
    await memberDb.end();
    const login = await call(b, 'POST', '/api/v1/auth/login', { body: { email: member.user.email, password: PASSWORD } });
    const cookieToken = /roster_session=([^;]+)/.exec(login.headers.getSetCookie().join('\n'))?.[1];
    expect(cookieToken).toBeTruthy();
    const apiToken = (await call(b, 'POST', '/api/v1/tokens', { token: member.token, body: { name: 'ci' } })).body.token;

    const record = { activity: 'api.call', quantity: 1 };
    expect((await call(b, 'GET', '/api/v1/me', { token: member.token })).status).toBe(200);
    expect((await call(b, 'POST', '/api/v1/usage', { cookie: cookieToken, origin: PUBLIC_URL, body: record })).status).toBe(201);
    expect((await call(b, 'POST', '/api/v1/usage', { token: apiToken, body: record })).status).toBe(201);

    const disabled = await call(a, 'POST', `/api/v1/org/members/${member.user.id}/disable`, { token: owner.token });
    expect(disabled.status).toBe(200);

    expect((await call(b, 'GET', '/api/v1/me', { token: member.token })).status).toBe(401);
    expect((await call(b, 'POST', '/api/v1/usage', { token: member.token, body: record })).status).toBe(401);
    expect((await call(b, 'GET', '/api/v1/me', { cookie: cookieToken, origin: PUBLIC_URL })).status).toBe(401);
    expect((await call(b, 'POST', '/api/v1/usage', { cookie: cookieToken, origin: PUBLIC_URL, body: record })).status).toBe(401);
    expect((await call(b, 'GET', '/api/v1/me', { token: apiToken })).status).toBe(401);
    expect((await call(b, 'POST', '/api/v1/usage', { token: apiToken, body: record })).status).toBe(401);
    const again = await call(b, 'POST', '/api/v1/auth/login', { body: { email: member.user.email, password: PASSWORD } });
    expect(again.status).toBe(403);
    expect(again.body.error.code).toBe('user_disabled');
  });
});
