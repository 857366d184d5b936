import type { SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { Db } from './client.ts';

const dialect = new PgDialect();

/**
 * A named prepared statement from raw SQL with `sql.placeholder(...)` parameters, for hot
 * statements the query builder cannot express (data-modifying CTEs). On pg each pooled
 * connection prepares it once; PGlite ignores the name.
 */
export function prepareStatement<Row>(db: Db, name: string, query: SQL): (values: Record<string, unknown>) => Promise<Row[]> {
  const prepared = db._.session.prepareQuery(dialect.sqlToQuery(query), undefined, name, false);
  return async (values) => {
    const result = (await prepared.execute(values)) as { rows: Row[] };
    return result.rows;
  };
}
