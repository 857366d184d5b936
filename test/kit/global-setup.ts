import { mkdirSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { serverPostgresUrl } from './postgres.ts';
import type { TestProject } from 'vitest/node';
import { openDatabase } from '../../src/db/client.ts';
import { migrate } from '../../src/db/migrate.ts';
import {
  PGLITE_TEMPLATE_FILE,
  TEMPLATE_DIR,
  adminUrl,
  dropCitusTestSchemas,
  dropMarkedTestDatabases,
  isCitus,
  testDatabaseUrl,
  withDatabase,
} from './engine.ts';

/**
 * Migrates one template per run: a PGlite dump that each test file loads, or (with
 * TEST_DATABASE_URL) a PostgreSQL template database that each test file clones.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const url = testDatabaseUrl();
  // PostgreSQL-only tests create databases on the machine's server whatever the engine; those a
  // failed file left are dropped when the run ends (markTestDatabase).
  const runTag = `roster test run ${process.pid}`;
  project.provide('runTag', runTag);
  const server = serverPostgresUrl();
  const dropMarked = async () => {
    if (server && !(await isCitus(server))) await dropMarkedTestDatabases(server, runTag);
  };
  if (!url) {
    mkdirSync(TEMPLATE_DIR, { recursive: true });
    const database = await openDatabase({});
    await migrate(database);
    const dump = await database.snapshot?.();
    if (!dump) throw new Error('PGlite could not dump its data directory');
    writeFileSync(PGLITE_TEMPLATE_FILE, Buffer.from(await dump.arrayBuffer()));
    await database.close();
    project.provide('pgTemplate', null);
    project.provide('citus', false);
    return dropMarked;
  }
  const citus = await isCitus(url);
  if (process.env.ROSTER_TEST_CITUS === '1' && !citus) {
    throw new Error(`ROSTER_TEST_CITUS=1 but TEST_DATABASE_URL has no citus extension: ${url}`);
  }
  if (citus) {
    // Each file migrates its own schema (test/kit/engine.ts); drop what a crashed run left.
    await dropCitusTestSchemas(url);
    project.provide('pgTemplate', null);
    project.provide('citus', true);
    return async () => {
      // .ci/citus destroys the whole cluster right after the run: nothing to drop one by one.
      if (process.env.ROSTER_TEST_CITUS_DISPOSABLE !== '1') await dropCitusTestSchemas(url);
    };
  }
  project.provide('citus', false);
  const templateName = `roster_tmpl_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl(url) });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${templateName} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${templateName}`);
  const database = await openDatabase({ databaseUrl: withDatabase(url, templateName) });
  await migrate(database);
  await database.close();
  project.provide('pgTemplate', templateName);
  return async () => {
    // Test files drop their own databases; drop the template and anything a crashed run left.
    const leftovers = await admin.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname = $1 OR starts_with(datname, $1 || '_f_')`,
      [templateName],
    );
    for (const row of leftovers.rows) {
      await admin.query(`DROP DATABASE IF EXISTS ${row.datname} WITH (FORCE)`).catch(() => {});
    }
    await admin.end();
    await dropMarked();
  };
}
