import { request as httpRequest } from 'node:http';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_CONFIG, EXIT_NOT_FOUND, EXIT_UNAVAILABLE } from '../../src/cli/errors.ts';
import { withDatabase } from '../kit/engine.ts';
import { PASSWORD, uniqueEmail } from '../kit/given.ts';
import { serverPostgresUrl } from '../kit/postgres.ts';
import { freePort, runRoster, runRosterInProcess, startServerProcess, type ServerProcess } from '../kit/server.ts';

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

describe('admin commands on a DATA_DIR without a database (regression: they created an empty one and acted on it)', () => {
  it.each([
    ['a directory that does not exist', () => join(mkdtempSync(join(tmpdir(), 'roster-cli-')), 'typo')],
    ['an empty directory', () => mkdtempSync(join(tmpdir(), 'roster-cli-'))],
  ])('refuse on %s, naming it, with EXIT_NOT_FOUND, and create nothing', async (_case, makeDir) => {
    const dataDir = makeDir();
    const existed = existsSync(dataDir);
    for (const args of [
      ['admin', 'create-service-token', '--name', 't', '--scopes', 'authz:read'],
      ['admin', 'show-org', 'acme'],
    ]) {
      const result = await roster(args, { DATA_DIR: dataDir });
      expect(result.code, result.stderr).toBe(EXIT_NOT_FOUND);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain(`DATA_DIR ${dataDir} holds no Roster database`);
      expect(result.stderr).toContain('DATABASE_URL');
    }
    expect(existsSync(dataDir)).toBe(existed);
    if (existed) expect(readdirSync(dataDir)).toEqual([]);
  });
});

describe('start-up failures: one line naming the cause and a documented exit code, no stack trace', () => {
  const oneLine = (stderr: string) => {
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).not.toMatch(/\n\s+at /);
  };

  it('an unreachable database exits EXIT_UNAVAILABLE (69) naming DATABASE_URL, for start, migrate and admin commands', async () => {
    const DATABASE_URL = 'postgres://postgres:secret-password@127.0.0.1:1/x';
    for (const args of [['start', '--no-build'], ['migrate'], ['admin', 'show-org', 'acme']]) {
      const result = await roster(args, { DATABASE_URL });
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(EXIT_UNAVAILABLE);
      expect(result.stderr).toContain('cannot reach the database "x" on 127.0.0.1:1 (DATABASE_URL)');
      expect(result.stderr).not.toContain('secret-password');
      oneLine(result.stderr);
    }
  });

  it.skipIf(!serverPostgresUrl())('a database that does not exist exits EXIT_CONFIG naming DATABASE_URL', async () => {
    const DATABASE_URL = withDatabase(serverPostgresUrl()!, 'roster_no_such_database');
    const result = await roster(['migrate'], { DATABASE_URL });
    expect(result.code, result.stderr).toBe(EXIT_CONFIG);
    expect(result.stderr).toMatch(/the database "roster_no_such_database" on .* does not exist .*DATABASE_URL/);
    oneLine(result.stderr);
  });

  it('a DATA_DIR that cannot be created exits EXIT_CONFIG naming DATA_DIR', async () => {
    const result = await roster(['start', '--no-build'], { DATA_DIR: '/dev/null/x' });
    expect(result.code, result.stderr).toBe(EXIT_CONFIG);
    expect(result.stderr).toContain('DATA_DIR /dev/null/x cannot be created or written (ENOTDIR)');
    oneLine(result.stderr);
  });

  it('a HOST that does not resolve exits EXIT_CONFIG naming HOST, before opening the database', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'roster-cli-')), 'data');
    const result = await roster(['start', '--no-build'], { HOST: 'no-such-host.invalid', DATA_DIR: dataDir });
    expect(result.code, result.stderr).toBe(EXIT_CONFIG);
    expect(result.stderr).toContain('HOST no-such-host.invalid does not resolve');
    oneLine(result.stderr);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('a port already in use exits EXIT_CONFIG naming PORT (a separate process: the server is half started)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'roster-cli-'));
    expect((await roster(['migrate'], { DATA_DIR: dataDir })).code).toBe(0);
    const port = await freePort();
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
    try {
      const result = await runRoster(['start', '--no-build'], {
        DATABASE_URL: '',
        DATA_DIR: dataDir,
        PORT: String(port),
        LOG_LEVEL: 'silent',
      });
      expect(result.code, result.stderr).toBe(EXIT_CONFIG);
      expect(result.stderr).toContain(`cannot listen on 127.0.0.1:${port}: the address is already in use`);
      expect(result.stderr).toContain('PORT');
      oneLine(result.stderr);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
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
