import { getTableConfig, PgTable } from 'drizzle-orm/pg-core';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/kit/engine.ts';
import { queryRows } from './client.ts';
import { isMigrated, migrate, migrationFiles } from './migrate.ts';
import * as schema from './schema.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.close();
});

describe('migrations', () => {
  it('are numbered, forward-only files applied in order', () => {
    const names = migrationFiles().map((file) => file.name);
    expect(names).toEqual([...names].sort());
    const numbers = names.map((name) => Number(name.slice(0, 4)));
    expect(new Set(numbers).size).toBe(numbers.length);
  });

  it('produce exactly the tables and columns that src/db/schema.ts expects', async () => {
    const rows = await queryRows<{ table_name: string; column_name: string; is_nullable: string }>(
      database.db,
      sql`SELECT table_name, column_name, is_nullable FROM information_schema.columns
          WHERE table_schema = current_schema() AND table_name <> 'schema_migrations'`,
    );
    const actual = rows.map((row) => `${row.table_name}.${row.column_name}${row.is_nullable === 'YES' ? '?' : ''}`).sort();
    const values: unknown[] = Object.values(schema);
    const expected = values
      .filter((value): value is PgTable => value instanceof PgTable)
      .flatMap((table) => {
        const config = getTableConfig(table);
        return config.columns.map((column) => `${config.name}.${column.name}${column.notNull ? '' : '?'}`);
      })
      .sort();
    expect(actual).toEqual(expected);
  });

  it('are idempotent and report readiness', async () => {
    expect(await migrate(database)).toEqual([]);
    expect(await isMigrated(database.db)).toBe(true);
  });

  it('serialize concurrent runs under the advisory lock (two processes starting at once)', async () => {
    const results = await Promise.all([migrate(database), migrate(database), migrate(database)]);
    expect(results).toEqual([[], [], []]);
  });
});

describe('constraints that hold invariants', () => {
  it('allow at most one owner per org, one org per user, and one pending invitation per address', async () => {
    const names = await queryRows<{ indexname: string }>(
      database.db,
      sql`SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()`,
    );
    expect(names.map((row) => row.indexname)).toEqual(
      expect.arrayContaining([
        'memberships_one_owner_key',
        'memberships_user_id_key',
        'users_email_normalized_key',
        'orgs_slug_key',
        'invitations_one_pending_key',
      ]),
    );
  });
});
