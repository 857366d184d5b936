import { readdirSync, readFileSync } from 'node:fs';
import { PACKAGE_ROOT } from '../core/paths.ts';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { SKIP_CITUS_LOCAL_TABLE_CHECK, hasCitus, isDistributed, placeTables } from './citus.ts';
import { queryRows, type Database, type Db, type Queryable } from './client.ts';

const MIGRATIONS_DIR = join(PACKAGE_ROOT, 'src', 'db', 'migrations');
// Any constant shared by every Roster process; serializes concurrent start-ups.
export const MIGRATION_LOCK_KEY = 727_001;

export interface MigrationFile {
  name: string;
  sql: string;
  /**
   * `NNNN_name.citus.sql`, if present: applied instead of `sql` on a database whose tables are
   * already distributed (Citus refuses, e.g., a CREATE TABLE with a foreign key to a distributed
   * table; the twin creates the table, places it, then adds the keys). See docs/citus.md.
   */
  citusSql: string | undefined;
}

export function migrationFiles(): MigrationFile[] {
  const files = readdirSync(MIGRATIONS_DIR);
  return files
    .filter((file) => /^\d{4}_.*\.sql$/.test(file) && !file.endsWith('.citus.sql'))
    .sort()
    .map((name) => {
      const twin = name.replace(/\.sql$/, '.citus.sql');
      return {
        name,
        sql: readFileSync(join(MIGRATIONS_DIR, name), 'utf8'),
        citusSql: files.includes(twin) ? readFileSync(join(MIGRATIONS_DIR, twin), 'utf8') : undefined,
      };
    });
}

let knownNames: readonly string[] | undefined;

/**
 * The names of this code's migrations, read from disk once: they are part of the code a process
 * runs, and `/readyz` asks on every probe (regression: every probe read every SQL file).
 */
function migrationNames(): readonly string[] {
  knownNames ??= migrationFiles().map((migration) => migration.name);
  return knownNames;
}

/** A migration the database refused: the whole run rolled back, so nothing of it was applied. */
export class MigrationError extends Error {
  constructor(
    readonly migration: string,
    cause: unknown,
  ) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      `Migration ${migration} failed, so none of the pending migrations was applied (they run in one transaction): ${reason}. ` +
        'The database does not match what this version expects: was it changed by hand, or restored from another version?',
      { cause },
    );
  }
}

/**
 * Applies pending migrations in order, all in one transaction under an advisory lock, so two
 * processes starting at once neither race nor half-apply: the second waits, then finds nothing to do.
 * On Citus (the citus extension exists), the same transaction then places every table not placed
 * yet (src/db/citus.ts): a fresh database gets all plain migrations, then its distribution.
 */
export async function migrate(database: Database): Promise<string[]> {
  return database.inScriptTransaction(async (run) => {
    await run(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
    await run(
      'CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const done = await run('SELECT name FROM schema_migrations');
    const applied = new Set(done.map((row) => String(row.name)));
    const newlyApplied: string[] = [];
    const citus = await hasCitus(run);
    const distributed = citus && (await isDistributed(run));
    // A fresh database on Citus: no table is placed yet, so Citus's check after each dropped
    // constraint can find nothing here and would only wait on other schemas' writers (citus.ts).
    if (citus && !distributed) await run(SKIP_CITUS_LOCAL_TABLE_CHECK);
    for (const migration of migrationFiles()) {
      if (applied.has(migration.name)) continue;
      try {
        await run(distributed && migration.citusSql ? migration.citusSql : migration.sql);
      } catch (error) {
        throw new MigrationError(migration.name, error);
      }
      // File names are ^\d{4}_[^']*\.sql$ by construction of migrationFiles(); quote anyway.
      await run(`INSERT INTO schema_migrations (name) VALUES ('${migration.name.replaceAll("'", "''")}')`);
      newlyApplied.push(migration.name);
    }
    if (citus) await placeTables(run);
    return newlyApplied;
  });
}

/**
 * Where a database stands against this code's migrations: `none` holds no Roster schema (a new or
 * another application's database), `behind` lacks some of them (not migrated yet, e.g. during a
 * rolling upgrade before `roster migrate`), `current` has every one (and maybe newer ones: a later
 * version migrated it, and migrations are additive, so this code still runs on it). Reads only.
 */
export type SchemaStatus = { state: 'none' } | { state: 'behind'; pending: string[] } | { state: 'current' };

export async function schemaStatus(db: Queryable): Promise<SchemaStatus> {
  // to_regclass: NULL for a missing table instead of an error that would abort a transaction.
  const [table] = await queryRows<{ present: boolean }>(db, sql`SELECT to_regclass('schema_migrations') IS NOT NULL AS present`);
  if (!table?.present) return { state: 'none' };
  const rows = await queryRows<{ name: string }>(db, sql`SELECT name FROM schema_migrations`);
  if (rows.length === 0) return { state: 'none' };
  const applied = new Set(rows.map((row) => row.name));
  const pending = migrationNames().filter((name) => !applied.has(name));
  return pending.length > 0 ? { state: 'behind', pending } : { state: 'current' };
}

/**
 * True when every migration of this code has been applied (readiness). A database a newer version
 * has migrated further is ready too: during a rolling upgrade the processes still running the
 * previous version keep serving (counting rows instead took them all out of the balancer).
 */
export async function isMigrated(db: Db): Promise<boolean> {
  try {
    return (await schemaStatus(db)).state === 'current';
  } catch {
    return false;
  }
}
