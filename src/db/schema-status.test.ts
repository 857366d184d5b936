import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/kit/engine.ts';
import type { Queryable } from './client.ts';
import { isMigrated, migrationFiles, schemaStatus, type SchemaStatus } from './migrate.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.close();
});

/** The status seen inside a transaction after `change`, which is then rolled back. */
async function statusAfter(change: (tx: Queryable) => Promise<unknown>): Promise<SchemaStatus> {
  const rollback = new Error('rollback');
  let status: SchemaStatus | undefined;
  await database.db
    .transaction(async (tx) => {
      await change(tx);
      status = await schemaStatus(tx);
      throw rollback;
    })
    .catch((error: unknown) => {
      if (error !== rollback) throw error;
    });
  return status!;
}

describe('schema status (admin commands run only on a current schema; readiness)', () => {
  it('is current on a migrated database, which is ready', async () => {
    expect(await schemaStatus(database.db)).toEqual({ state: 'current' });
    expect(await isMigrated(database.db)).toBe(true);
  });

  it('is behind, naming the pending migrations, when some of this code are not applied', async () => {
    const [first, ...rest] = migrationFiles().map((migration) => migration.name);
    expect(await statusAfter((tx) => tx.execute(sql`DELETE FROM schema_migrations WHERE name <> ${first}`))).toEqual({
      state: 'behind',
      pending: rest,
    });
  });

  it('is none when no migration is recorded', async () => {
    expect(await statusAfter((tx) => tx.execute(sql`DELETE FROM schema_migrations`))).toEqual({ state: 'none' });
  });

  it('stays current and ready when a newer version applied more migrations (regression: readiness failed every process of the previous version mid rolling upgrade)', async () => {
    const newer = '9999_from_a_newer_version.sql';
    await database.db.execute(sql`INSERT INTO schema_migrations (name) VALUES (${newer})`);
    try {
      expect(await schemaStatus(database.db)).toEqual({ state: 'current' });
      expect(await isMigrated(database.db)).toBe(true);
    } finally {
      await database.db.execute(sql`DELETE FROM schema_migrations WHERE name = ${newer}`);
    }
  });
});
