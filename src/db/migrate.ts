import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { queryRows, type Database, type Db } from './client.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));
// Any constant shared by every Roster process; serializes concurrent start-ups.
const MIGRATION_LOCK_KEY = 727_001;

export function migrationFiles(): { name: string; sql: string }[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((file) => /^\d{4}_.*\.sql$/.test(file))
    .sort()
    .map((name) => ({ name, sql: readFileSync(join(MIGRATIONS_DIR, name), 'utf8') }));
}

/**
 * Applies pending migrations in order, all in one transaction under an advisory lock, so two
 * processes starting at once neither race nor half-apply: the second waits, then finds nothing to do.
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
    for (const migration of migrationFiles()) {
      if (applied.has(migration.name)) continue;
      await run(migration.sql);
      // File names are ^\d{4}_[^']*\.sql$ by construction of migrationFiles(); quote anyway.
      await run(`INSERT INTO schema_migrations (name) VALUES ('${migration.name.replaceAll("'", "''")}')`);
      newlyApplied.push(migration.name);
    }
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
