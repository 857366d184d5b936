import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { inject } from 'vitest';
import { openDatabase, type Database, type Engine } from '../../src/db/client.ts';
import { MIGRATION_LOCK_KEY, migrate } from '../../src/db/migrate.ts';

export const TEMPLATE_DIR = fileURLToPath(new URL('../../.tmp/test-template/', import.meta.url));
export const PGLITE_TEMPLATE_FILE = `${TEMPLATE_DIR}pglite.tar`;

declare module 'vitest' {
  export interface ProvidedContext {
    pgTemplate: string | null;
    /** TEST_DATABASE_URL names a Citus coordinator's database (the citus extension exists there). */
    citus: boolean;
    /** This run's mark on the server databases its files create (markTestDatabase). */
    runTag: string;
  }
}

/**
 * Marks a database a test file created on a PostgreSQL server as this run's, with a comment: the
 * run's global teardown drops every database so marked (test/kit/global-setup.ts), so a file that
 * fails before it drops its own leaves nothing behind. Outside a vitest run, nothing.
 */
export async function markTestDatabase(admin: pg.Client, name: string): Promise<void> {
  // Outside a test run (a benchmark borrowing the kit) there is no run to mark it for.
  if (!process.env.VITEST) return;
  await admin.query(`COMMENT ON DATABASE ${name} IS '${inject('runTag')}'`);
}

/** Drops the databases on the server at `url` that markTestDatabase marked with `runTag`. */
export async function dropMarkedTestDatabases(url: string, runTag: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl(url) });
  await admin.connect();
  try {
    const marked = await admin.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE shobj_description(oid, 'pg_database') = $1`,
      [runTag],
    );
    for (const row of marked.rows) await admin.query(`DROP DATABASE IF EXISTS ${row.datname} WITH (FORCE)`).catch(() => {});
  } finally {
    await admin.end();
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

/**
 * Citus: each test file gets a fresh schema in the cluster's one database (Citus metadata is per
 * database, so a new database would need the extension and node registration on all three nodes),
 * found through search_path. 2 shards per table instead of 32: one shard on each of the two
 * workers, so every rule still spans shards and nodes, and placing a schema and every fan-out read
 * (a member's org by user id) cost a fraction of what 32 shards do.
 */
export function withSchema(url: string, schema: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('options', `-c search_path=${schema} -c citus.shard_count=2`);
  // Tests that end "every backend of this database" pick this file's by application_name.
  parsed.searchParams.set('application_name', schema);
  return parsed.toString();
}

/** The comment that marks a schema as a test file's: global setup and teardown drop those. */
export const CITUS_TEST_SCHEMA_COMMENT = 'roster test schema';

/** True when the suite runs on a Citus coordinator (global setup found the extension). */
export function onCitus(): boolean {
  return inject('citus');
}

/** True when the server at `url` has the citus extension in that database. */
export async function isCitus(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query(`SELECT count(*)::int AS n FROM pg_extension WHERE extname = 'citus'`);
    return Number(result.rows[0]?.n) > 0;
  } finally {
    await client.end();
  }
}

/**
 * A fresh schema on the Citus cluster at `url`, migrated and placed by `open`. `drop` leaves it to
 * the run's global teardown (test/kit/global-setup.ts): dropping a schema takes the migration lock
 * (dropped while another file's schema is being placed, it deadlocks across nodes), so dropping
 * each file's schema as it ends would hold every other file's set-up back for seconds.
 */
export async function createCitusSchema(
  url: string,
  prefix: string,
): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`CREATE SCHEMA ${name}; COMMENT ON SCHEMA ${name} IS '${CITUS_TEST_SCHEMA_COMMENT}'`);
  } finally {
    await admin.end();
  }
  return { name, url: withSchema(url, name), drop: async () => {} };
}

/** Drops every test schema of the cluster at `url` (one run at a time per cluster), one by one. */
export async function dropCitusTestSchemas(url: string): Promise<number> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    const schemas = await admin.query<{ name: string }>(
      `SELECT nspname AS name FROM pg_namespace WHERE obj_description(oid, 'pg_namespace') = $1 ORDER BY nspname`,
      [CITUS_TEST_SCHEMA_COMMENT],
    );
    for (const { name } of schemas.rows) {
      await admin.query(
        `BEGIN; SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY}); DROP SCHEMA IF EXISTS ${name} CASCADE; COMMIT`,
      );
    }
    return schemas.rows.length;
  } finally {
    await admin.end();
  }
}

export interface TestDatabase extends Database {
  /** Connection string of this file's database (PostgreSQL only): for second processes. */
  url: string | undefined;
}

/** A fresh, migrated database for one test file, on the engine the suite runs on. */
export async function createTestDatabase(options: { poolSize?: number; serverUrl?: string } = {}): Promise<TestDatabase> {
  const url = testDatabaseUrl();
  // A PostgreSQL-only test in the PGlite pass: a fresh database on that server, migrated here.
  if (!url && options.serverUrl) return migratedServerDatabase(options.serverUrl, options.poolSize ?? 10);
  if (!url) {
    const database = await openDatabase({ loadDataDir: new Blob([readFileSync(PGLITE_TEMPLATE_FILE)]) });
    return { ...database, url: undefined };
  }
  if (inject('citus')) {
    const schema = await createCitusSchema(url, 'roster_f');
    const database = await openDatabase({ databaseUrl: schema.url, poolSize: options.poolSize ?? 10 });
    await migrate(database);
    return { ...database, url: schema.url };
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

async function migratedServerDatabase(serverUrl: string, poolSize: number): Promise<TestDatabase> {
  const name = `roster_server_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl(serverUrl) });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
    await markTestDatabase(admin, name);
  } finally {
    await admin.end();
  }
  const databaseUrl = withDatabase(serverUrl, name);
  const database = await openDatabase({ databaseUrl, poolSize });
  await migrate(database);
  return {
    ...database,
    url: databaseUrl,
    async close() {
      await database.close();
      const cleanup = new pg.Client({ connectionString: adminUrl(serverUrl) });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
      await cleanup.end();
    },
  };
}
