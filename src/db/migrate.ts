import { readdirSync, readFileSync } from 'node:fs';
import { PACKAGE_ROOT } from '../core/paths.ts';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { SKIP_CITUS_LOCAL_TABLE_CHECK, hasCitus, isDistributed, placeTables } from './citus.ts';
import { queryRows, type Database, type Db } from './client.ts';

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
      await run(distributed && migration.citusSql ? migration.citusSql : migration.sql);
      // File names are ^\d{4}_[^']*\.sql$ by construction of migrationFiles(); quote anyway.
      await run(`INSERT INTO schema_migrations (name) VALUES ('${migration.name.replaceAll("'", "''")}')`);
      newlyApplied.push(migration.name);
    }
    if (citus) await placeTables(run);
    return newlyApplied;
  });
}

/** True when every migration file has been applied (readiness). */
export async function isMigrated(db: Db): Promise<boolean> {
  try {
    const rows = await queryRows<{ count: number }>(db, sql`SELECT count(*)::int AS count FROM schema_migrations`);
    return Number(rows[0]?.count) === migrationFiles().length;
  } catch {
    return false;
  }
}
