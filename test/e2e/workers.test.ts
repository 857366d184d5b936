import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import pg from 'pg';
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { createScratchDatabase, serverPostgresUrl, type ScratchDatabase } from '../kit/postgres.ts';
import { callServer, runRosterInProcess, startServerProcess, type ServerProcess } from '../kit/server.ts';

// `roster start --workers N` (node:cluster). Needs PostgreSQL except for the PGlite refusal.
const SERVER_URL = serverPostgresUrl();
const PASSWORD = 'correct horse battery staple';

/** GET /healthz on a new connection (a kept-alive one may belong to the worker the test killed). */
function health(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(`${url}/healthz`, { agent: false, timeout: 5_000 }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      })
      .on('timeout', function (this: http.ClientRequest) {
        this.destroy(new Error('no answer within 5 s'));
      })
      .on('error', reject);
  });
}

function childrenOf(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

const started: ServerProcess[] = [];
const scratches: ScratchDatabase[] = [];
afterAll(async () => {
  await Promise.all(started.map((server) => server.kill()));
  await Promise.all(scratches.map((scratch) => scratch.drop()));
});

describe('roster start --workers', () => {
  it('refuses N > 1 on the embedded engine, naming DATABASE_URL', async () => {
    const result = await runRosterInProcess(['start', '--no-build', '--workers', '2'], { DATABASE_URL: '' });
    expect(result.code).toBe(64);
    expect(result.stderr).toContain('DATABASE_URL');
    expect(result.stderr).toContain('--workers 2');
    const bad = await runRosterInProcess(['start', '--no-build', '--workers', 'two'], { DATABASE_URL: '' });
    expect(bad.code).toBe(64);
  });

  describe.skipIf(!SERVER_URL)('on PostgreSQL', () => {
    it('restarts a crashed worker, and SIGTERM drains every in-flight request: each 2xx is in the database with its mail', async () => {
      const scratch = await createScratchDatabase(SERVER_URL!, 'roster_workers');
      scratches.push(scratch);
      const server = await startServerProcess({ env: { DATABASE_URL: scratch.url }, args: ['--workers', '2'] });
      started.push(server);
      const primary = server.child.pid!;
      onTestFailed(() => console.log(server.output()));
      await bothWorkersListening(server);
      const workers = childrenOf(primary);
      expect(workers).toHaveLength(2);

      // A worker dies: the primary forks a replacement. A connection handed to the dying worker
      // may fail; the port keeps answering through the other one.
      process.kill(workers[0]!, 'SIGKILL');
      for (let round = 0; ; round += 1) {
        const now = childrenOf(primary);
        if (now.length === 2 && !now.includes(workers[0]!)) break;
        expect(round).toBeLessThan(600);
        await health(server.url).catch(() => 0);
      }
      for (const _ of [1, 2, 3, 4]) expect(await health(server.url)).toBe(200);
      expect(server.output()).toMatch(/worker \d+ exited \(SIGKILL\); starting a new one/);

      // Load, then SIGTERM as soon as the first reply arrives (requests are in flight then).
      await expectDrained(server, scratch, () => server.child.kill('SIGTERM'));
      expect(childrenOf(primary)).toEqual([]);
    }, 180_000);

    it('SIGTERM to every process at once, as systemd stops a unit (KillMode=control-group), still drains every worker', async () => {
      const scratch = await createScratchDatabase(SERVER_URL!, 'roster_workers_group');
      scratches.push(scratch);
      const server = await startServerProcess({ env: { DATABASE_URL: scratch.url }, args: ['--workers', '2'], detached: true });
      started.push(server);
      onTestFailed(() => console.log(server.output()));
      await bothWorkersListening(server);
      // Each worker gets the signal from the group kill and again from its primary: before
      // stopSignals (src/cli/start.ts) the second one made it exit at once, dropping what it held,
      // and the primary exits 1 when a worker does not drain. The kernel merges the two when the
      // second arrives before the first is handled, so without the fix this fails only in some
      // runs; src/cli/start.test.ts checks the rule itself.
      await expectDrained(server, scratch, () => process.kill(-server.child.pid!, 'SIGTERM'));
      expect(server.output()).not.toMatch(/did not drain/);
    }, 180_000);
  });
});

/** Ready means one worker listens: waits for the primary to report both. */
async function bothWorkersListening(server: ServerProcess): Promise<void> {
  for (let round = 0; !/with 2 workers/.test(server.output()); round += 1) {
    expect(round).toBeLessThan(600);
    expect(await health(server.url)).toBe(200);
  }
}

/**
 * 30 sign-ups at once; `stop` runs as soon as the first is answered (the others are in flight).
 * The server must exit 0, and every sign-up answered 201 must be in the database with its mail.
 */
async function expectDrained(server: ServerProcess, scratch: ScratchDatabase, stop: () => void): Promise<void> {
  const emails = Array.from({ length: 30 }, (_, index) => `drain-${index}-${randomBytes(3).toString('hex')}@example.com`);
  let signalled = false;
  const replies = await Promise.all(
    emails.map((email) =>
      callServer(server, 'POST', '/api/v1/auth/signup', { body: { email, password: PASSWORD, name: 'Drain' } }).then(
        (reply) => {
          if (!signalled) {
            signalled = true;
            stop();
          }
          return { email, status: reply.status, code: reply.body?.error?.code as string | undefined };
        },
        // Refused after the listener closed: never accepted, so nothing is owed.
        () => ({ email, status: 0, code: undefined }),
      ),
    ),
  );
  expect(await server.stop()).toBe(0);
  // Refused before acceptance (0), or accepted and done (201); under this machine's load a request
  // may wait too long for a pool connection (503 database_unavailable, nothing written). Never a 500.
  for (const reply of replies) {
    if (reply.status === 503) expect(reply.code).toBe('database_unavailable');
    else expect([0, 201]).toContain(reply.status);
  }
  const accepted = replies.filter((reply) => reply.status === 201).map((reply) => reply.email);
  expect(accepted.length).toBeGreaterThan(0);

  const db = new pg.Client({ connectionString: scratch.url });
  await db.connect();
  try {
    const users = await db.query(`SELECT email FROM users WHERE email = ANY($1::text[])`, [accepted]);
    expect(users.rows.map((row) => row.email).sort()).toEqual([...accepted].sort());
    const mails = await db.query(`SELECT DISTINCT to_address FROM mail_outbox WHERE to_address = ANY($1::text[])`, [accepted]);
    expect(mails.rows).toHaveLength(accepted.length);
  } finally {
    await db.end();
  }
}
