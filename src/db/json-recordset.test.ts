import { sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/kit/engine.ts';
import { arrayRecordset, jsonRecordset, queryRows } from './client.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => database.close());

describe("a batch's rows sent as one JSON parameter", () => {
  it('reads every row in input order, with text as written, nested jsonb objects, and NULL for null or missing values', async () => {
    const awkward = 'quote " backslash \\ comma, brace } newline\n tab\t é ✓ 😀';
    const input = [
      { name: awkward, data: { nested: { list: [1, 'two', null] } }, amount: 3 },
      { name: null, data: null, amount: null },
      { name: 'no data key', amount: 7 },
      ...Array.from({ length: 1000 }, (_, index) => ({ name: `row ${index}`, data: { index }, amount: index })),
    ];
    // A jsonb column: the parameter is jsonb, parsed once (src/db/client.ts).
    const recordset = jsonRecordset(input, { name: 'text', data: 'jsonb', amount: 'bigint' });
    expect(new PgDialect().sqlToQuery(recordset).sql).toContain('jsonb_to_recordset(');
    const rows = await queryRows<{
      name: string | null;
      data: unknown;
      amount: string | number | null;
      position: string | number;
    }>(
      database.db,
      sql`SELECT r.name, r.data, r.amount, r.position
          FROM ${recordset}
               WITH ORDINALITY AS r(name, data, amount, position)
          ORDER BY r.position`,
    );
    expect(rows).toHaveLength(input.length);
    expect(rows.slice(0, 3).map((row) => ({ ...row, amount: row.amount === null ? null : Number(row.amount) }))).toEqual([
      { name: awkward, data: { nested: { list: [1, 'two', null] } }, amount: 3, position: expect.anything() },
      { name: null, data: null, amount: null, position: expect.anything() },
      { name: 'no data key', data: null, amount: 7, position: expect.anything() },
    ]);
    expect(rows.map((row) => row.name)).toEqual(input.map((row) => row.name));
    expect(rows.map((row) => Number(row.position))).toEqual(input.map((_, index) => index + 1));
  });

  it('reads the same values when no column is jsonb (then the parameter is json, not jsonb)', async () => {
    const awkward = 'quote " backslash \\ comma, brace } newline\n tab\t é ✓ 😀';
    const input = [{ name: awkward, amount: 3 }, { name: null, amount: null }, { amount: 7 }];
    const query = jsonRecordset(input, { name: 'text', amount: 'bigint' });
    expect(new PgDialect().sqlToQuery(query).sql).toContain('(json_to_recordset(');
    const rows = await queryRows<{ name: string | null; amount: string | number | null }>(
      database.db,
      sql`SELECT r.name, r.amount FROM ${query} WITH ORDINALITY AS r(name, amount, position) ORDER BY r.position`,
    );
    expect(rows.map((row) => ({ name: row.name, amount: row.amount === null ? null : Number(row.amount) }))).toEqual([
      { name: awkward, amount: 3 },
      { name: null, amount: null },
      { name: null, amount: 7 },
    ]);
  });

  it('refuses a column name or type that is not a plain word (they are written into the SQL)', () => {
    expect(() => jsonRecordset([{ a: 1 }], { a: 'int); DROP TABLE users; --' })).toThrow();
    expect(() => jsonRecordset([{ 'a b': 1 }], { 'a b': 'int' })).toThrow();
  });
});

describe("a batch's columns sent as one text parameter each (arrayRecordset)", () => {
  it('reads every row in input order, with each value as written and typed by its column', async () => {
    const awkward = 'quote " backslash \\ comma, brace {} newline\n tab\t é ✓ 😀 NULL';
    const input = [
      { id: '0190f0a0-0000-7000-8000-000000000001', name: awkward },
      ...Array.from({ length: 1000 }, (_, index) => ({
        id: `0190f0a0-0000-7000-8000-${String(index + 2).padStart(12, '0')}`,
        name: `row ${index}`,
      })),
    ];
    const rows = await queryRows<{ id: string; name: string; position: string | number }>(
      database.db,
      sql`SELECT r.id, r.name, r.position, pg_typeof(r.id)::text AS id_type
          FROM ${arrayRecordset(input, { id: 'uuid', name: 'text' })} WITH ORDINALITY AS r(id, name, position)
          ORDER BY r.position`,
    );
    expect(rows).toHaveLength(input.length);
    expect(rows[0]).toMatchObject({ id: input[0]!.id, name: awkward, id_type: 'uuid' });
    expect(rows.map((row) => [row.id, row.name])).toEqual(input.map((row) => [row.id, row.name]));
    expect(rows.map((row) => Number(row.position))).toEqual(input.map((_, index) => index + 1));
  });

  it('refuses a value that the split would lose or cut (empty, null, the separator), and a column that is not a plain word', () => {
    expect(() => arrayRecordset([{ a: 'x' }, { a: '' }], { a: 'text' })).toThrow(/non-empty strings/);
    expect(() => arrayRecordset([{ a: null }], { a: 'text' })).toThrow(/non-empty strings/);
    expect(() => arrayRecordset([{ a: 'x\u001fy' }], { a: 'text' })).toThrow(/non-empty strings/);
    expect(() => arrayRecordset([{ a: 'x' }], { a: 'int); DROP TABLE users; --' })).toThrow();
    expect(() => arrayRecordset([{ 'a b': 'x' }], { 'a b': 'text' })).toThrow();
  });
});
