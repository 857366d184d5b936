import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { PgDialect, type PgDatabase, type PgQueryResultHKT, type PgTransaction } from 'drizzle-orm/pg-core';
import {
  entityKind,
  isSQLWrapper,
  Param,
  Placeholder,
  SQL,
  sql,
  StringChunk,
  type ExtractTablesWithRelations,
} from 'drizzle-orm';
import { isDeepStrictEqual } from 'node:util';
import pg from 'pg';
import { lockDataDir } from './data-dir-lock.ts';
import { commitAfter, pipelineConnection } from './pipeline.ts';
import { initializeDataDir, PGLITE_DURABLE } from './pglite-init.ts';
import { listenPostgres, type ListenHandlers, type Listening } from './listen.ts';

export { DataDirInUseError } from './data-dir-lock.ts';

export type { ListenHandlers, Listening } from './listen.ts';

/**
 * No relational schema: every query goes through the query builder or SQL, never `db.query.<table>`.
 * Given one, drizzle built a relational query builder for each of the tables at every transaction
 * (37 µs of a single invitation's CPU in a profile of the server).
 */
export type Schema = Record<string, never>;
/** The query handle every service uses: the root database or an open transaction. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
export type Tx = PgTransaction<PgQueryResultHKT, Schema, ExtractTablesWithRelations<Schema>>;
export type Queryable = Db | Tx;
export type Engine = 'pglite' | 'postgres';

export interface Database {
  db: Db;
  engine: Engine;
  /** Closes the pool or the embedded engine; waits for running queries. */
  close(): Promise<void>;
  /**
   * Runs `work` in one transaction whose `run` executes multi-statement SQL text (migrations)
   * and returns the rows of the last statement.
   */
  inScriptTransaction<T>(work: (run: (script: string) => Promise<Record<string, unknown>[]>) => Promise<T>): Promise<T>;
  /** LISTEN on `channel`: notifications of committed transactions of every process (worker wake-ups). */
  listen(channel: string, handlers: ListenHandlers): Promise<Listening>;
  /** Embedded only: a copy of the whole data directory (test templates). */
  snapshot?: () => Promise<Blob>;
  /** PostgreSQL only: the pool's connections now (metrics). */
  poolStats?: () => { total: number; idle: number; waiting: number; max: number };
}

// Read timestamps and bigints as strings/Date consistently on both engines: pg returns
// int8 as string by default, PGlite as number; we keep them as strings and convert in presenters.
const INT8_OID = 20;

export interface OpenOptions {
  databaseUrl?: string;
  dataDir?: string;
  /** Embedded only: start from this dump instead of an empty data directory (tests). */
  loadDataDir?: Blob;
  poolSize?: number;
  /**
   * PostgreSQL only: a session that sits idle inside a transaction longer than this is ended by
   * the server (`idle_in_transaction_session_timeout`), so a stuck request cannot hold row locks
   * (the org row, counters) forever. 0 turns the bound off.
   */
  idleInTransactionTimeoutMs?: number;
  /** Told about connection errors that were handled (the operation in flight fails on its own). */
  onConnectionError?: (error: Error) => void;
}

export const DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS = 30_000;

const pools = new WeakMap<Queryable, pg.Pool>();

/**
 * PostgreSQL: runs ONE statement on its own (autocommit: its own transaction, committed when it
 * ends) as the named prepared statement `name`, on a pooled connection, without drizzle's query
 * building and transaction wrapper; PGlite, or a transaction handle: undefined (the caller takes its
 * usual path). For a hot path whose statement is one whole transaction (the usage batch: bench/README.md,
 * "The batch on its own"). `text` must be the same for every call with that name.
 */
export function autocommitQuery<Row>(db: Queryable, name: string, text: string, values: unknown[]): Promise<Row[]> | undefined {
  const pool = pools.get(db);
  if (!pool) return undefined;
  return pool.query({ name, text, values }).then((result) => result.rows as Row[]);
}

export async function openDatabase(options: OpenOptions): Promise<Database> {
  if (options.databaseUrl) return openPostgres(options.databaseUrl, options);
  return openPglite(options);
}

function openPostgres(url: string, options: OpenOptions): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs ?? DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    // A request waits at most this long for a connection; then it fails with database_unavailable.
    connectionTimeoutMillis: 10_000,
  });
  const onConnectionError = options.onConnectionError ?? (() => {});
  // pg emits 'error' on the client whose backend went away (a terminated backend, a restart, a
  // network reset). Idle clients are covered by the pool's listener; a client checked out for a
  // transaction has no listener of its own, and an unheard 'error' event kills the process. With
  // this one, the query in flight (or the next one) rejects, the transaction fails as a whole on
  // the server, and pg-pool discards the client on release because it is no longer queryable.
  pool.on('connect', (client) => {
    client.on('error', onConnectionError);
    // BEGIN with the first statement (src/db/pipeline.ts).
    pipelineConnection(client);
  });
  pool.on('error', onConnectionError);
  const db = drizzlePg(pool);
  pools.set(db, pool);
  return {
    db,
    engine: 'postgres',
    close: () => pool.end(),
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max: pool.options.max }),
    listen: (channel, handlers) => listenPostgres(url, channel, handlers),
    async inScriptTransaction(work) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await work(async (script) => {
          const results = (await client.query(script)) as unknown as pg.QueryResult | pg.QueryResult[];
          const last = Array.isArray(results) ? results[results.length - 1] : results;
          return (last?.rows ?? []) as Record<string, unknown>[];
        });
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
  };
}

async function openPglite(options: OpenOptions): Promise<Database> {
  const dataDir = options.loadDataDir ? undefined : options.dataDir;
  const releaseLock = dataDir ? lockDataDir(dataDir) : () => {};
  try {
    if (dataDir) await initializeDataDir(dataDir);
  } catch (error) {
    releaseLock();
    throw error;
  }
  const client = new PGlite({
    dataDir,
    loadDataDir: options.loadDataDir,
    ...PGLITE_DURABLE,
    parsers: { [INT8_OID]: (value: string) => value },
  });
  await client.waitReady;
  const db = drizzlePglite(client);
  return {
    db,
    engine: 'pglite',
    close: async () => {
      await client.close();
      releaseLock();
    },
    snapshot: () => client.dumpDataDir('none'),
    listen: (channel, handlers) => listenPglite(client, channel, handlers),
    inScriptTransaction: (work) =>
      client.transaction((tx) =>
        work(async (script) => {
          const results = await tx.exec(script);
          return (results[results.length - 1]?.rows ?? []) as Record<string, unknown>[];
        }),
      ),
  };
}

/** PGlite: one session in this process; a NOTIFY reaches it when the notifying transaction commits. */
async function listenPglite(client: PGlite, channel: string, handlers: ListenHandlers): Promise<Listening> {
  const unlisten = await client.listen(channel, handlers.onNotification);
  return { close: () => (client.closed ? Promise.resolve() : unlisten()) };
}

const dialect = new PgDialect();

/**
 * A named prepared statement, parsed and planned once per pooled connection (PGlite ignores the
 * name): on this machine that doubles the throughput of a one-query route. Values are
 * `sql.placeholder(...)` parameters, or values embedded in `query`; the SQL text for a name must
 * never vary, or PostgreSQL rejects the statement.
 */
export function prepareStatement<Row>(
  db: Queryable,
  name: string,
  query: SQL,
): (values?: Record<string, unknown>) => Promise<Row[]> {
  const prepared = db._.session.prepareQuery(statementQuery(name, query), undefined, name, false);
  return async (values = {}) => {
    const result = (await prepared.execute(values)) as { rows: Row[] };
    return result.rows;
  };
}

/** Each prepared statement's text, by name, as drizzle built it the first time. */
const statementTexts = new Map<string, string>();
/** Under the test runner every statement is built by drizzle too, and the two must agree. */
const compareWithDrizzle = process.env.VITEST !== undefined;

/**
 * The text and parameters of the prepared statement `name`. Its text never varies for a name
 * (PostgreSQL would refuse the statement), so drizzle builds it once per process; later calls only
 * collect the parameters (collectParams). Building the text walked every fragment of the query
 * through drizzle's type checks: about 0.16 ms of a single invitation's server CPU in a profile,
 * on four statements. Under the test runner the statement is built by drizzle as well and must
 * come out the same, text and parameters.
 */
function statementQuery(name: string, query: SQL): { sql: string; params: unknown[] } {
  const text = statementTexts.get(name);
  const params: unknown[] = [];
  const collected = text !== undefined && collectParams(query.queryChunks, params);
  if (collected && !compareWithDrizzle) return { sql: text, params };
  const built = dialect.sqlToQuery(query);
  if (text !== undefined && built.sql !== text) throw new Error(`The prepared statement ${name} changed its text between calls.`);
  if (collected && !isDeepStrictEqual(built.params, params)) {
    throw new Error(`The prepared statement ${name}: parameters differ from drizzle's.`);
  }
  statementTexts.set(name, built.sql);
  // Under the test runner, the collected parameters (checked just above) go out, as in production.
  return collected ? { sql: built.sql, params } : built;
}

/**
 * A query's parameters in the order drizzle numbers them, for the fragments a raw statement is
 * made of: text, nested `sql`, `sql.param` (through its encoder) and values written into the
 * template (a JavaScript array there is a list of parameters, as drizzle writes it). Anything else
 * (a table or column object, a placeholder, inlined parameters) answers false: drizzle builds it.
 */
function collectParams(chunks: readonly unknown[], params: unknown[]): boolean {
  for (const chunk of chunks) {
    if (chunk instanceof StringChunk || chunk === undefined) continue;
    if (chunk instanceof SQL) {
      if ((chunk as unknown as { shouldInlineParams?: boolean }).shouldInlineParams) return false;
      if (!collectParams(chunk.queryChunks, params)) return false;
    } else if (chunk instanceof Param) {
      const value: unknown = chunk.value;
      if (value instanceof Placeholder) return false;
      const mapped: unknown = value === null ? null : chunk.encoder.mapToDriverValue(value);
      if (mapped instanceof SQL || isDrizzleObject(mapped)) return false;
      params.push(mapped);
    } else if (Array.isArray(chunk)) {
      if (!collectParams(chunk, params)) return false;
    } else if (isDrizzleObject(chunk) || typeof chunk === 'function') {
      return false;
    } else {
      params.push(chunk);
    }
  }
  return true;
}

/** A drizzle entity (a table, column, name, view, …) or anything drizzle renders as SQL. */
function isDrizzleObject(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (isSQLWrapper(value)) return true;
  const constructor = (value as { constructor?: unknown }).constructor;
  return typeof constructor === 'function' && entityKind in constructor;
}

/** Runs `query` once as the named prepared statement `name` (see prepareStatement). */
export function queryRowsPrepared<T>(db: Queryable, name: string, query: SQL): Promise<T[]> {
  return prepareStatement<T>(db, name, query)();
}

/**
 * queryRowsPrepared for the LAST statement of a transaction: on PostgreSQL its COMMIT travels in
 * the same round trip (src/db/pipeline.ts), one round trip fewer. Nothing may run in the
 * transaction after it (it would run outside the transaction, and is refused), and a check that
 * the caller would make on its result must be made inside the statement (roster_refuse, migration
 * 0040): the transaction is committed before the result is read. PGlite commits as usual.
 */
export function queryRowsPreparedLast<T>(tx: Queryable, name: string, query: SQL): Promise<T[]> {
  commitAfter(name);
  return queryRowsPrepared<T>(tx, name, query);
}

/**
 * A batch's rows as a FROM item, sent as ONE JSON parameter:
 * `ROWS FROM (json_to_recordset($1::json) AS (name type, …))`; follow it with
 * `WITH ORDINALITY AS alias(names…, position)` to keep the input order. For rows that carry JSON
 * values (audit entries, events): node-postgres builds an array literal in JavaScript on the
 * request's thread, escaping every element (a JSON value twice); in a CPU profile of a bulk of
 * 1,000 invitations that was 14-26 ms, where `JSON.stringify` of the same rows takes about 1 ms
 * (bench/README.md). Rows of plain scalars read faster as arrays (arrayRecordset). A jsonb column
 * takes its value as a nested JSON object (no string inside a string); a JSON null or a missing key
 * is NULL.
 */
export function jsonRecordset<Row extends object>(rows: readonly Row[], columns: { [K in keyof Row & string]: string }): SQL {
  const definitions = Object.entries(columns).map(([name, type]) => {
    assertSqlName(name);
    if (!/^[a-z][a-z0-9 ]*$/.test(String(type))) throw new Error(`bad column type ${type}`);
    return `${name} ${type}`;
  });
  // A jsonb column's values from a json parameter are parsed twice (the parameter, then each value
  // again as jsonb); from a jsonb parameter, once (bench/README.md: half the time for 1,000 audit rows).
  const type = Object.values(columns).includes('jsonb') ? 'jsonb' : 'json';
  return sql`ROWS FROM (${sql.raw(`${type}_to_recordset`)}(${JSON.stringify(rows)}::${sql.raw(type)}) AS (${sql.raw(definitions.join(', '))}))`;
}

/**
 * A batch's rows as a FROM item of one text parameter per column, its values joined by U+001F and
 * split again in SQL: `unnest((SELECT string_to_array($1::text, chr(31))::type[]), …)`; follow it
 * with `WITH ORDINALITY AS alias(names…, position)`. For columns of plain scalars (ids, hex, email
 * addresses, links): PostgreSQL reads them several times faster than json_to_recordset reads the
 * same values out of JSON objects, and faster than array parameters, which node-postgres builds
 * element by element with escapes and PostgreSQL parses back (1,000 invitation rows of nine columns,
 * timed from node-postgres: 15.5 ms a statement as JSON, 9.4 as arrays, 6.7 joined; bench/README.md).
 * Every value must be a non-empty string without U+001F (a batch that breaks this throws before
 * anything is sent): an empty string would vanish in the split and shift the column. Values that
 * are JSON themselves belong in jsonRecordset. Each column sits in a sub-select, so a prepared
 * statement's plan does not depend on the batch's size (PostgreSQL plans a statement with a
 * constant array again at every call).
 */
export function arrayRecordset<Row extends object>(rows: readonly Row[], columns: { [K in keyof Row & string]: string }): SQL {
  const arrays = Object.entries(columns).map(([name, type]) => {
    assertSqlName(name);
    if (!/^[a-z][a-z0-9]*$/.test(String(type))) throw new Error(`bad column type ${type}`);
    const values = rows.map((row) => {
      const value = (row as Record<string, unknown>)[name];
      if (typeof value !== 'string' || value === '' || value.includes(COLUMN_SEPARATOR)) {
        throw new Error(`arrayRecordset: column ${name} needs non-empty strings without U+001F`);
      }
      return value;
    });
    return sql`(SELECT string_to_array(${values.join(COLUMN_SEPARATOR)}::text, chr(31))::${sql.raw(String(type))}[])`;
  });
  return sql`unnest(${sql.join(arrays, sql`, `)})`;
}

const COLUMN_SEPARATOR = '\u001f';

/**
 * The rows a data-modifying CTE writes: values (sent as one JSON parameter, jsonRecordset), or a
 * query over a relation that an earlier CTE of the same statement defines, whose columns come in
 * the recordset's order with the rows' ordinal last. A bulk invitation reads its rows once and
 * selects its invitations, emails, audit entries and events from them (src/invites/queries.ts).
 */
export type RowSource<Row> = readonly Row[] | { query: SQL };

/** `rows` as a FROM item: the recordset WITH ORDINALITY, or the query; the caller names its columns. */
export function rowsFrom<Row extends object>(rows: RowSource<Row>, toRecordset: (rows: readonly Row[]) => SQL): SQL {
  return isRowQuery(rows) ? sql`(${rows.query})` : sql`${toRecordset(rows)} WITH ORDINALITY`;
}

function isRowQuery<Row>(rows: RowSource<Row>): rows is { query: SQL } {
  return !Array.isArray(rows);
}

/**
 * Refuses a name that would not be a plain lower-case SQL identifier: names that code splices into
 * a statement's text (columns, CTE results) come from code, never from input, and this keeps it so.
 */
export function assertSqlName(name: string): void {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad SQL name ${name}`);
}

/**
 * A module's share of a statement that several modules write together: its data-modifying CTEs
 * (`name AS (INSERT …)`, each name unique in the statement) and the values it reads back, as
 * named scalar expressions of the statement's one result row (a count, a wake-up's pg_notify). A
 * result is never `void` (cast a pg_notify to text): Citus refuses a pseudo-type column in the
 * intermediate result it makes of a statement with distributed CTEs.
 */
export interface StatementPart {
  ctes: SQL[];
  results: Record<string, SQL>;
}

/** Runs parts as one prepared statement `name`: `WITH <ctes> SELECT <results>`; returns its row. */
export async function runStatementParts(db: Queryable, name: string, parts: StatementPart[]): Promise<Record<string, unknown>> {
  const rows = await queryRowsPrepared<Record<string, unknown>>(db, name, statementOf(parts));
  return rows[0] ?? {};
}

/** `WITH <every part's CTEs> SELECT <every part's results>` (`SELECT 1` when none reads anything back). */
export function statementOf(parts: StatementPart[], before: SQL[] = []): SQL {
  const ctes = [...before, ...parts.flatMap((part) => part.ctes)];
  const results = parts.flatMap((part) => Object.entries(part.results));
  for (const [name] of results) assertSqlName(name);
  return sql`WITH ${sql.join(ctes, sql`, `)} SELECT ${
    results.length === 0
      ? sql`1`
      : sql.join(
          results.map(([name, value]) => sql`${value} AS ${sql.raw(name)}`),
          sql`, `,
        )
  }`;
}

/** Batches of at most this many rows run their statement prepared (queryRowsBySize). */
const SMALL_BATCH_ROWS = 10;

/**
 * The rows of a statement whose array parameters hold `rows` rows: prepared as `name` for a small
 * batch (a single invitation saves its parse and plan), unprepared for a large one. One prepared
 * statement for every size would soon run on a generic plan made for a guessed array length, and a
 * bulk of 1,000 after a few single invitations ran 4-8× slower on it (bench/README.md, peers).
 */
export function queryRowsBySize<T>(db: Queryable, name: string, rows: number, query: SQL): Promise<T[]> {
  return rows <= SMALL_BATCH_ROWS ? queryRowsPrepared<T>(db, name, query) : queryRows<T>(db, query);
}

/** Runs a raw statement and returns its rows, on either engine. */
export async function queryRows<T>(db: Queryable, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as { rows: T[] };
  return result.rows;
}

/**
 * One chunk of a retention sweep (src/retention): deletes at most `limit` rows of `table` that
 * `where` selects, found by their `key` columns, and answers how many. Several processes may run
 * it at once: a row is deleted once, and one that another deleted first is skipped.
 */
export async function deleteChunk(db: Queryable, input: { table: SQL; key: SQL; where: SQL; limit: number }): Promise<number> {
  const rows = await queryRows<Record<string, unknown>>(
    db,
    sql`DELETE FROM ${input.table} WHERE (${input.key}) IN (SELECT ${input.key} FROM ${input.table} WHERE ${input.where} LIMIT ${input.limit})
        RETURNING 1 AS deleted`,
  );
  return rows.length;
}
