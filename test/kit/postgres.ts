import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createCitusSchema, isCitus, markTestDatabase, testDatabaseUrl, withDatabase } from './engine.ts';

/**
 * The PostgreSQL server for tests that need one whatever engine the suite runs on (several
 * processes, killed backends): TEST_DATABASE_URL, or in CI the machine's server. Elsewhere
 * undefined, and such tests are skipped; under CI=true they never are.
 */
export function serverPostgresUrl(): string | undefined {
  return testDatabaseUrl() ?? (process.env.CI === 'true' ? 'postgres://postgres@127.0.0.1:5432/test' : undefined);
}

export interface ScratchDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** An empty database on that server (a server process migrates it at start-up); dropped by `drop`. */
export async function createScratchDatabase(serverUrl: string, prefix = 'roster_scratch'): Promise<ScratchDatabase> {
  // On Citus a schema of the cluster's database stands for a database (test/kit/engine.ts).
  if (await isCitus(serverUrl)) return createCitusSchema(serverUrl, prefix);
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
    await markTestDatabase(admin, name);
  } finally {
    await admin.end();
  }
  return {
    url: withDatabase(serverUrl, name),
    name,
    async drop() {
      const cleanup = new pg.Client({ connectionString: serverUrl });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
      await cleanup.end();
    },
  };
}

export interface SuiteDatabase {
  /** What a server process needs to run on it: DATABASE_URL, or nothing (PGlite in its own DATA_DIR). */
  env: Record<string, string>;
  drop(): Promise<void>;
}

/**
 * A fresh database on the suite's own engine, for a test that runs the server as a process (the
 * browser tests): with TEST_DATABASE_URL a scratch database on that server (a schema on Citus),
 * without it none, and the server process makes its PGlite data directory.
 */
export async function suiteDatabase(prefix: string): Promise<SuiteDatabase> {
  const url = testDatabaseUrl();
  if (!url) return { env: {}, drop: async () => {} };
  const scratch = await createScratchDatabase(url, prefix);
  return { env: { DATABASE_URL: scratch.url }, drop: () => scratch.drop() };
}
