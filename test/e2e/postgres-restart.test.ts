import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callServer as call, freePort, startServerProcess, type ServerProcess } from '../kit/server.ts';

// PostgreSQL restarted under a running server. A PRIVATE PostgreSQL (initdb + pg_ctl in a temp dir
// on a random port), never the shared server on 5432 that other tests use. Run as the postgres OS
// user when this process is root (initdb refuses root).
const BIN = '/usr/lib/postgresql/15/bin';
const HAVE_BINARIES = existsSync(join(BIN, 'initdb'));
const PASSWORD = 'correct horse battery staple';

if (process.env.CI === 'true' && !HAVE_BINARIES) throw new Error(`PostgreSQL 15 binaries missing in ${BIN}`);

function asPostgres(command: string, args: string[]): string {
  const root = userInfo().uid === 0;
  return execFileSync(
    root ? 'runuser' : join(BIN, command),
    root ? ['-u', 'postgres', '--', join(BIN, command), ...args] : args,
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
}

describe.skipIf(!HAVE_BINARIES)('PostgreSQL restarted while the server runs', () => {
  let dir: string;
  let port: number;
  let server: ServerProcess;
  let url: string;

  const pgCtl = (action: 'start' | 'stop') =>
    asPostgres('pg_ctl', [
      '-D',
      join(dir, 'data'),
      '-l',
      join(dir, 'log'),
      '-w',
      ...(action === 'start' ? ['-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`] : ['-m', 'fast']),
      action,
    ]);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'roster-pg-'));
    if (userInfo().uid === 0) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString()), 0);
    port = await freePort();
    asPostgres('initdb', ['-D', join(dir, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8']);
    pgCtl('start');
    url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    server = await startServerProcess({ env: { DATABASE_URL: url } });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    try {
      pgCtl('stop');
    } catch {
      // already stopped
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('readyz goes 503 not_ready, then the server reconnects on its own; sessions and disabled users survive', async () => {
    const signup = (email: string) =>
      call(server, 'POST', '/api/v1/auth/signup', { body: { email, password: PASSWORD, name: 'U' } });
    const owner = (await signup('owner@restart.test')).body;
    expect(
      (
        await call(server, 'POST', '/api/v1/billing/checkout', {
          token: owner.token,
          body: { plan: 'team', seats: 3, scope: 'personal' },
        })
      ).status,
    ).toBe(200);
    const org = await call(server, 'POST', '/api/v1/org', { token: owner.token, body: { name: 'Restart', slug: 'restart' } });
    expect(org.status).toBe(201);
    const member = (await signup('member@restart.test')).body;
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    // Test-only shortcut: in the product members join by invitation.
    await db.query(`INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, 'member')`, [
      org.body.org.id,
      member.user.id,
    ]);
    await db.query(`INSERT INTO user_orgs (user_id, org_id) VALUES ($1, $2)`, [member.user.id, org.body.org.id]);
    await db.end();
    expect((await call(server, 'POST', `/api/v1/org/members/${member.user.id}/disable`, { token: owner.token })).status).toBe(
      200,
    );
    expect((await call(server, 'GET', '/api/v1/me', { token: member.token })).status).toBe(401);

    pgCtl('stop');
    const ready = await call(server, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.error.code).toBe('not_ready');
    const down = await call(server, 'GET', '/api/v1/me', { token: owner.token });
    expect(down.status).toBe(503);
    expect(down.body.error.code).toBe('database_unavailable');
    expect(down.body.error.details.request_id).toBe(down.headers.get('x-request-id'));

    pgCtl('start');
    // No restart of the server: its pool opens new connections on the next requests.
    for (let round = 0; (await call(server, 'GET', '/readyz')).status !== 200; round += 1) expect(round).toBeLessThan(1000);
    expect((await call(server, 'GET', '/api/v1/me', { token: owner.token })).status).toBe(200);
    expect((await call(server, 'GET', '/api/v1/me', { token: member.token })).status).toBe(401);
    const login = await call(server, 'POST', '/api/v1/auth/login', {
      body: { email: 'member@restart.test', password: PASSWORD },
    });
    expect(login.status).toBe(403);
    expect(login.body.error.code).toBe('user_disabled');
    expect(server.child.exitCode).toBeNull();
  }, 120_000);
});
