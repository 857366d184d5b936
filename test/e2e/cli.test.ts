import { request as httpRequest } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PASSWORD, uniqueEmail } from '../kit/given.ts';
import { runRosterInProcess, startServerProcess, type ServerProcess } from '../kit/server.ts';

const started: ServerProcess[] = [];
afterAll(async () => {
  await Promise.all(started.map((server) => server.kill()));
});

// Through the CLI's entry in this process (admin-cli.test.ts checks the same entry as a separate process).
function roster(args: string[], env: Record<string, string>) {
  return runRosterInProcess(args, { DATABASE_URL: '', ...env });
}

describe('roster CLI', () => {
  it('refuses a bad configuration value with a message naming the variable', async () => {
    const result = await roster(['start', '--no-build'], { PORT: 'eighty' });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('PORT');
  });

  it('migrate applies migrations once, then says the database is up to date', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'roster-cli-'));
    const first = await roster(['migrate'], { DATA_DIR: dataDir });
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('Applied 0001_init.sql');
    const second = await roster(['migrate'], { DATA_DIR: dataDir });
    expect(second.stdout).toContain('up to date');
  });

  it('admin show-org prints the org, and exits 3 for an unknown slug', async () => {
    const server = await startServerProcess({ env: { DATABASE_URL: '' } });
    started.push(server);
    const post = (path: string, body: unknown, token?: string) =>
      fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      }).then((response) => response.json() as Promise<any>);
    const email = uniqueEmail('cli');
    const { token } = await post('/api/v1/auth/signup', { email, password: PASSWORD, name: 'Cli Owner' });
    await post('/api/v1/billing/checkout', { plan: 'team', seats: 6, scope: 'personal' }, token);
    await post('/api/v1/org', { name: 'Cli Org', slug: 'cli-org' }, token);
    expect(await server.stop()).toBe(0);

    const shown = await roster(['admin', 'show-org', 'cli-org', '--json'], { DATA_DIR: server.dataDir });
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({
      slug: 'cli-org',
      plan: 'team',
      seats: { limit: 6, active_members: 1, pending_invites: 0 },
      members: [{ email, role: 'owner', status: 'active' }],
    });
    const missing = await roster(['admin', 'show-org', 'no-such-org'], { DATA_DIR: server.dataDir });
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('no-such-org');
  });
});

describe('graceful shutdown', () => {
  it('on SIGTERM finishes the request in flight, then exits 0', async () => {
    const server = await startServerProcess({ env: { DATABASE_URL: '', LOG_LEVEL: 'info' } });
    started.push(server);
    // Signals from the server's own log lines, not sleeps: the request has arrived; the shutdown began.
    const logged = async (pattern: RegExp) => {
      await expect.poll(() => pattern.test(server.output()), { timeout: 30_000, interval: 20 }).toBe(true);
    };
    const body = JSON.stringify({ email: uniqueEmail('inflight'), password: PASSWORD, name: 'In flight' });
    // Send the headers and half the body, then SIGTERM, then the rest: the request is in flight.
    const request = httpRequest(`${server.url}/api/v1/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
    });
    const status = new Promise<number>((resolve, reject) => {
      request.on('response', (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('error', reject);
    });
    request.write(body.slice(0, 10));
    await logged(/"url":"\/api\/v1\/auth\/signup"[^\n]*"msg":"incoming request"/);
    const exit = server.stop();
    await logged(/shutting down: finishing in-flight requests/);
    request.end(body.slice(10));
    expect(await status).toBe(201);
    expect(await exit).toBe(0);
  });
});
