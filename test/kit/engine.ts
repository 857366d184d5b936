import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { inject } from 'vitest';
import { openDatabase, type Database, type Engine } from '../../src/db/client.ts';

export const TEMPLATE_DIR = fileURLToPath(new URL('../../.tmp/test-template/', import.meta.url));
export const PGLITE_TEMPLATE_FILE = `${TEMPLATE_DIR}pglite.tar`;

declare module 'vitest' {
  export interface ProvidedContext {
    pgTemplate: string | null;
  }
}

/** TEST_DATABASE_URL switches the whole suite to a PostgreSQL server. */
export function testDatabaseUrl(): string | undefined {
  return process.env.TEST_DATABASE_URL || undefined;
}

export function testEngine(): Engine {
  return testDatabaseUrl() ? 'postgres' : 'pglite';
}

export function adminUrl(url: string): string {
  return url;
}

export function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

export interface TestDatabase extends Database {
  /** Connection string of this file's database (PostgreSQL only): for second processes. */
  url: string | undefined;
}

/** A fresh, migrated database for one test file, on the engine the suite runs on. */
export async function createTestDatabase(options: { poolSize?: number } = {}): Promise<TestDatabase> {
  const url = testDatabaseUrl();
  if (!url) {
    const database = await openDatabase({ loadDataDir: new Blob([readFileSync(PGLITE_TEMPLATE_FILE)]) });
    return { ...database, url: undefined };
  }
  const template = inject('pgTemplate');
  if (!template) throw new Error('The PostgreSQL test template was not prepared by global setup.');
  const name = `${template}_f_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl(url) });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
  } finally {
    await admin.end();
  }
  const databaseUrl = withDatabase(url, name);
  const database = await openDatabase({ databaseUrl, poolSize: options.poolSize ?? 10 });
  return {
    ...database,
    url: databaseUrl,
    async close() {
      await database.close();
      const cleanup = new pg.Client({ connectionString: adminUrl(url) });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
      await cleanup.end();
    },
  };
}
