import { sql } from 'drizzle-orm';
import { queryRows, type Queryable } from '../../src/db/client.ts';

/** The tables of the current schema with their primary-key columns (the Citus checks read them). */
export async function tablesOf(db: Queryable): Promise<{ name: string; primaryKey: string[] }[]> {
  const rows = await queryRows<{ name: string; pk: string[] | string | null }>(
    db,
    sql`SELECT c.relname AS name,
               (SELECT array_agg(a.attname::text ORDER BY k.ord)
                  FROM pg_constraint p
                  CROSS JOIN LATERAL unnest(p.conkey) WITH ORDINALITY AS k(attnum, ord)
                  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
                 WHERE p.conrelid = c.oid AND p.contype = 'p') AS pk
        FROM pg_class c
        WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'`,
  );
  return rows.map((row) => ({
    name: row.name,
    primaryKey: Array.isArray(row.pk)
      ? row.pk
      : String(row.pk ?? '{}')
          .replace(/^\{|\}$/g, '')
          .split(',')
          .filter(Boolean),
  }));
}
