// Runs only in the Citus pass (.ci/citus sets ROSTER_TEST_CITUS=1; vitest.config.ts includes
// *.citus.test.ts files then and only then), so no other pass reports it skipped.
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

describe('placement on Citus', () => {
  it('places every table as CITUS_LAYOUT says, org-scoped tables colocated with orgs', async () => {
    const placed = await queryRows<{ name: string; method: string; model: string; colocation: number }>(
      database.db,
      sql`SELECT c.relname AS name, d.partmethod::text AS method, d.repmodel::text AS model, d.colocationid AS colocation
          FROM pg_dist_partition d JOIN pg_class c ON c.oid = d.logicalrelid
          WHERE c.relnamespace = current_schema()::regnamespace`,
    );
    const byName = new Map(placed.map((row) => [row.name, row]));
    const orgsGroup = byName.get('orgs')?.colocation;
    expect(orgsGroup).toBeDefined();
    for (const table of await tables()) {
      const want = CITUS_LAYOUT[table.name] ?? ruleOfThumb(table);
      const got = byName.get(table.name);
      if (want.kind === 'distributed')
        expect({ table: table.name, method: got?.method, group: got?.colocation }).toEqual({
          table: table.name,
          method: 'h',
          group: orgsGroup,
        });
      if (want.kind === 'reference') expect({ table: table.name, model: got?.model }).toEqual({ table: table.name, model: 't' });
      if (want.kind === 'local')
        expect({ table: table.name, method: got?.method ?? 'local' }).not.toEqual({ table: table.name, method: 'h' });
    }
  });

  it('keeps the audit log append-only without its trigger', async () => {
    const triggers = await queryRows<{ n: number }>(
      database.db,
      sql`SELECT count(*)::int AS n FROM pg_trigger WHERE tgrelid = to_regclass('audit_log') AND NOT tgisinternal`,
    );
    expect(triggers[0]?.n).toBe(0);
  });
});
