import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/kit/engine.ts';
import { tablesOf } from '../../test/kit/schema.ts';
import { CITUS_LAYOUT, ruleOfThumb } from './citus.ts';
import { queryRows } from './client.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.close();
});

const tables = () => tablesOf(database.db);

describe('the schema Citus can distribute (every engine)', () => {
  it('every unique index of a distributed table includes its distribution column', async () => {
    const indexes = await queryRows<{ table: string; index: string; columns: string[] | string }>(
      database.db,
      sql`SELECT t.relname AS table, i.relname AS index,
                 (SELECT array_agg(a.attname::text) FROM pg_attribute a
                   WHERE a.attrelid = t.oid AND a.attnum = ANY (x.indkey)) AS columns
          FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
          WHERE x.indisunique AND t.relnamespace = current_schema()::regnamespace`,
    );
    const all = await tables();
    const placement = new Map(all.map((table) => [table.name, CITUS_LAYOUT[table.name] ?? ruleOfThumb(table)]));
    const offending = indexes.filter((index) => {
      const place = placement.get(index.table);
      if (place?.kind !== 'distributed') return false;
      const columns = Array.isArray(index.columns) ? index.columns : String(index.columns);
      return !columns.includes(place.column);
    });
    expect(offending.map((index) => `${index.table}.${index.index}`)).toEqual([]);
  });

  it('no global table has a foreign key to a distributed one', async () => {
    const keys = await queryRows<{ from: string; to: string }>(
      database.db,
      sql`SELECT f.relname AS from, r.relname AS to FROM pg_constraint c
          JOIN pg_class f ON f.oid = c.conrelid JOIN pg_class r ON r.oid = c.confrelid
          WHERE c.contype = 'f' AND f.relnamespace = current_schema()::regnamespace`,
    );
    const all = await tables();
    const placement = new Map(all.map((table) => [table.name, CITUS_LAYOUT[table.name] ?? ruleOfThumb(table)]));
    const refused = keys.filter(
      (key) => placement.get(key.from)?.kind !== 'distributed' && placement.get(key.to)?.kind === 'distributed',
    );
    expect(refused.map((key) => `${key.from} -> ${key.to}`)).toEqual([]);
  });
});
