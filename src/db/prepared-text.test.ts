import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/kit/engine.ts';
import { queryRowsPrepared } from './client.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => database.close());

describe("a prepared statement's text, built once per name (src/db/client.ts)", () => {
  it('sends each call its own parameters: values in the template, sql.param arrays, nested fragments, lists, null', async () => {
    const read = async (id: number, tags: string[], since: Date | null) =>
      (
        await queryRowsPrepared<{ id: number; tags: string[]; since: Date | string | null; listed: boolean }>(
          database.db,
          'prepared_text_test_read',
          sql`SELECT ${id}::int AS id, ${sql.param(tags)}::text[] AS tags, ${sql`${since}::timestamptz`} AS since,
                   ${id}::int IN ${[1, 2, 3]} AS listed`,
        )
      ).map((row) => ({ ...row, since: row.since === null ? null : new Date(row.since).toISOString() }));
    const first = new Date('2026-12-04T10:00:00Z');
    expect(await read(1, ['a', 'b'], first)).toEqual([{ id: 1, tags: ['a', 'b'], since: first.toISOString(), listed: true }]);
    // The second call reuses the first call's text: its own values must come back, not the first's.
    expect(await read(7, ['c'], null)).toEqual([{ id: 7, tags: ['c'], since: null, listed: false }]);
  });

  it('refuses a name whose text changed between calls (PostgreSQL would run the first text)', async () => {
    await queryRowsPrepared(database.db, 'prepared_text_test_varies', sql`SELECT ${1}::int AS n`);
    expect(() => queryRowsPrepared(database.db, 'prepared_text_test_varies', sql`SELECT ${1}::int + 1 AS n`)).toThrow(
      /changed its text/,
    );
  });
});
