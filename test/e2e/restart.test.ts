import { afterAll, describe, expect, it } from 'vitest';
import { runRosterInProcess, startServerProcess, type ServerProcess } from '../kit/server.ts';
import { PASSWORD, uniqueEmail } from '../kit/given.ts';

// These tests are about the embedded engine: they always run the server on PGlite.
const started: ServerProcess[] = [];
afterAll(async () => {
  await Promise.all(started.map((server) => server.kill()));
});

async function start(dataDir?: string): Promise<ServerProcess> {
  const server = await startServerProcess({ dataDir, env: { DATABASE_URL: '' } });
  started.push(server);
  return server;
}

async function call(server: ServerProcess, method: string, path: string, token?: string, body?: unknown) {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

async function ownerWithOrg(server: ServerProcess, slug: string) {
  const email = uniqueEmail('restart');
  const signup = await call(server, 'POST', '/api/v1/auth/signup', undefined, { email, password: PASSWORD, name: 'Rita' });
  expect(signup.status).toBe(201);
  const token: string = signup.body.token;
  expect(
    (await call(server, 'POST', '/api/v1/billing/checkout', token, { plan: 'team', seats: 3, scope: 'personal' })).status,
  ).toBe(200);
  expect((await call(server, 'POST', '/api/v1/org', token, { name: 'Durable', slug })).status).toBe(201);
  return { email, token };
}

describe('the embedded engine keeps committed data', () => {
  it('refuses a second process on the same data directory, server or CLI: the message alone, exit 75', async () => {
    const first = await start();
    const refused = await startServerProcess({ dataDir: first.dataDir, env: { DATABASE_URL: '' } }).then(
      (second) => second.kill().then(() => 'a second server started on the same DATA_DIR'),
      (error: Error) => error.message,
    );
    expect(refused).toMatch(/^server exited with 75:\n/);
    expect(refused).toContain(`roster: DATA_DIR ${first.dataDir} is already in use by process ${first.child.pid}.`);
    // No stack trace under the message (it printed one before).
    expect(refused).not.toMatch(/^\s+at /m);
    const cli = await runRosterInProcess(['admin', 'show-org', 'any-org'], { DATABASE_URL: '', DATA_DIR: first.dataDir });
    expect(cli.code).toBe(75);
    expect(cli.stderr).toContain(`is already in use by process ${first.child.pid}`);
    expect(cli.stderr).not.toMatch(/^\s+at /m);
    expect(await first.stop()).toBe(0);
  });

  it('survives a graceful restart (SIGTERM exits 0)', async () => {
    const first = await start();
    const { token } = await ownerWithOrg(first, 'durable-term');
    expect(await first.stop()).toBe(0);

    const second = await start(first.dataDir);
    const org = await call(second, 'GET', '/api/v1/org', token);
    expect(org.status).toBe(200);
    expect(org.body.org.slug).toBe('durable-term');
    expect(org.body.members).toHaveLength(1);
    await second.stop();
  });

  it('loses no committed change when the server is killed with SIGKILL', async () => {
    const first = await start();
    const { token } = await ownerWithOrg(first, 'durable-kill');
    // A stream of writes; SIGKILL lands right after the 20th is acknowledged, while the 21st is
    // in flight. Every acknowledged write must be there after the restart.
    let acknowledged = 0;
    for (let round = 1; round <= 20; round += 1) {
      const renamed = await call(first, 'PATCH', '/api/v1/org', token, { name: `Write ${round}` });
      expect(renamed.status).toBe(200);
      acknowledged = round;
    }
    void call(first, 'PATCH', '/api/v1/org', token, { name: 'Write 21' }).catch(() => undefined);
    await first.kill();

    const second = await start(first.dataDir);
    const org = await call(second, 'GET', '/api/v1/org', token);
    expect(org.status).toBe(200);
    const survivingRound = Number(String(org.body.org.name).replace('Write ', ''));
    expect(survivingRound).toBeGreaterThanOrEqual(acknowledged);
    await second.stop();
  });
});
