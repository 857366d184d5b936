import { request as httpRequest } from 'node:http';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_CONFIG, EXIT_DATAERR, EXIT_NOT_FOUND, EXIT_UNAVAILABLE, EXIT_USAGE } from '../../src/cli/errors.ts';
import { openDatabase, queryRows, type Database } from '../../src/db/client.ts';
import { migrationFiles } from '../../src/db/migrate.ts';
import { withDatabase } from '../kit/engine.ts';
import { PASSWORD, uniqueEmail } from '../kit/given.ts';
import { createScratchDatabase, serverPostgresUrl } from '../kit/postgres.ts';
import { freePort, runRoster, runRosterInProcess, startServerProcess, type ServerProcess } from '../kit/server.ts';

const started: ServerProcess[] = [];
afterAll(async () => {
  await Promise.all(started.map((server) => server.kill()));
});

// Through the CLI's entry in this process (admin-cli.test.ts checks the same entry as a separate process).
function roster(args: string[], env: Record<string, string>) {
  return runRosterInProcess(args, { DATABASE_URL: '', ...env });
}

const oneLine = (stderr: string) => {
  expect(stderr.trim().split('\n')).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
};

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

describe('options of roster itself', () => {
  it('prints the version of package.json with --version and -V, exit 0 (regression: exit 64)', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const result = await roster([flag], {});
      expect([result.code, result.stdout, result.stderr]).toEqual([0, `${version}\n`, '']);
    }
  });

  it('start --workers takes a whole number only, exit 64 (regression: 1.0 was accepted)', async () => {
    // An unresolvable HOST: were the value accepted, start stops there (78) instead of serving.
    for (const value of ['1.0', '2.0', '0x2', '1e1', 'two']) {
      const result = await roster(['start', '--no-build', '--workers', value], { HOST: 'no-such-host.invalid' });
      expect(result.code, result.stderr).toBe(EXIT_USAGE);
      expect(result.stderr.trim()).toBe(`roster: --workers must be a whole number, not "${value}".`);
    }
    const zero = await roster(['start', '--no-build', '--workers', '0'], { HOST: 'no-such-host.invalid' });
    expect(zero.code).toBe(EXIT_USAGE);
    expect(zero.stderr).toContain('--workers must be a whole number from 1 to 64, got "0"');
  });
});

/** A database with no Roster schema, for the CLI (`env`) and for the test to look into (`open`). */
interface EmptyDatabase {
  env: Record<string, string>;
  open(): Promise<Database>;
  drop(): Promise<void>;
}

async function emptyEmbeddedDatabase(): Promise<EmptyDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), 'roster-cli-'));
  await (await openDatabase({ dataDir })).close();
  return {
    env: { DATA_DIR: dataDir },
    open: () => openDatabase({ dataDir }),
    drop: async () => rmSync(dataDir, { recursive: true, force: true }),
  };
}

async function emptyServerDatabase(): Promise<EmptyDatabase> {
  const scratch = await createScratchDatabase(serverPostgresUrl()!, 'roster_cli_empty');
  return {
    env: { DATABASE_URL: scratch.url },
    open: () => openDatabase({ databaseUrl: scratch.url, poolSize: 1 }),
    drop: () => scratch.drop(),
  };
}

async function tableCount(empty: EmptyDatabase): Promise<number> {
  const database = await empty.open();
  try {
    const [row] = await queryRows<{ n: number }>(
      database.db,
      sql`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = current_schema()`,
    );
    return Number(row?.n);
  } finally {
    await database.close();
  }
}

describe.each([
  { engine: 'the embedded engine (DATA_DIR)', make: emptyEmbeddedDatabase, available: true },
  { engine: 'PostgreSQL (DATABASE_URL)', make: emptyServerDatabase, available: Boolean(serverPostgresUrl()) },
])(
  'admin commands never migrate, on $engine (regression: they migrated whatever database they were given)',
  ({ make, available }) => {
    it.skipIf(!available)(
      'refuse a database that holds no Roster data with EXIT_CONFIG, naming what to check, and create no table',
      async () => {
        const empty = await make();
        try {
          for (const args of [
            ['admin', 'show-org', 'acme'],
            ['admin', 'create-service-token', '--name', 't', '--scopes', 'authz:read'],
          ]) {
            const result = await roster(args, { ...empty.env, ROSTER_OPERATOR: 'sam' });
            expect(result.code, result.stderr).toBe(EXIT_CONFIG);
            expect(result.stdout).toBe('');
            expect(result.stderr).toContain('holds no Roster data: check that DATABASE_URL (or DATA_DIR)');
            expect(result.stderr).toContain('run `roster migrate` first');
            oneLine(result.stderr);
          }
          const json = await roster(['admin', 'show-org', 'acme', '--json'], { ...empty.env, ROSTER_OPERATOR: 'sam' });
          expect(JSON.parse(json.stderr)).toMatchObject({ error: { code: 'invalid_config', exit_code: EXIT_CONFIG } });
          expect(await tableCount(empty)).toBe(0);
          // `roster migrate` still creates the schema; then the same command runs (the org is unknown).
          expect((await roster(['migrate'], empty.env)).code).toBe(0);
          const after = await roster(['admin', 'show-org', 'acme'], { ...empty.env, ROSTER_OPERATOR: 'sam' });
          expect(after.code, after.stderr).toBe(EXIT_NOT_FOUND);
        } finally {
          await empty.drop();
        }
      },
    );

    it.skipIf(!available)(
      'refuse a database with migrations pending (mid rolling upgrade) with EXIT_CONFIG: run `roster migrate` first',
      async () => {
        const empty = await make();
        try {
          expect((await roster(['migrate'], empty.env)).code).toBe(0);
          const newest = migrationFiles().at(-1)!.name;
          const database = await empty.open();
          try {
            await database.db.execute(sql`DELETE FROM schema_migrations WHERE name = ${newest}`);
          } finally {
            await database.close();
          }
          const result = await roster(['admin', 'show-org', 'acme'], { ...empty.env, ROSTER_OPERATOR: 'sam' });
          expect(result.code, result.stderr).toBe(EXIT_CONFIG);
          expect(result.stdout).toBe('');
          expect(result.stderr).toContain(
            `is not migrated to this version (1 pending, up to ${newest}): run \`roster migrate\` first.`,
          );
          oneLine(result.stderr);
          const reopened = await empty.open();
          try {
            const rows = await queryRows<{ name: string }>(
              reopened.db,
              sql`SELECT name FROM schema_migrations WHERE name = ${newest}`,
            );
            expect(rows).toEqual([]);
          } finally {
            await reopened.close();
          }
        } finally {
          await empty.drop();
        }
      },
    );
  },
);

describe.skipIf(!serverPostgresUrl())('roster migrate on a database it cannot migrate', () => {
  it('names the migration in one line, exits EX_DATAERR (65), and applies nothing (regression: a stack trace, exit 1)', async () => {
    const empty = await emptyServerDatabase();
    try {
      expect((await roster(['migrate'], empty.env)).code).toBe(0);
      // As after a hand edit or a restore from another version: the schema is there, its record is not.
      const database = await empty.open();
      try {
        await database.db.execute(sql`DELETE FROM schema_migrations WHERE name = '0001_init.sql'`);
      } finally {
        await database.close();
      }
      const result = await roster(['migrate'], empty.env);
      expect(result.code, result.stderr).toBe(EXIT_DATAERR);
      oneLine(result.stderr);
      expect(result.stderr).toMatch(
        /^roster: Migration 0001_init\.sql failed, so none of the pending migrations was applied .*already exists/,
      );
      const reopened = await empty.open();
      try {
        expect(await queryRows(reopened.db, sql`SELECT name FROM schema_migrations WHERE name = '0001_init.sql'`)).toEqual([]);
      } finally {
        await reopened.close();
      }
    } finally {
      await empty.drop();
    }
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
