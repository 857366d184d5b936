import pg from 'pg';

/**
 * Fewer round trips per PostgreSQL transaction (bench/README.md, "What sets the ratio"). node-postgres
 * sends one statement and waits for its answer before the next, so a transaction of n statements
 * costs n + 2 round trips (BEGIN, the statements, COMMIT). Installed on every pooled connection
 * (pipelineConnection), this makes it n, or n + 1:
 *
 * - **BEGIN goes with the transaction's first statement.** BEGIN is held back and sent in front
 *   of the next statement, in the same extended-protocol pipeline (Parse/Bind/Execute of BEGIN,
 *   then the statement's, one Sync). A transaction that ends before any statement sends nothing.
 *   When the first statement cannot share the pipeline (simple-protocol text, a named statement
 *   not yet parsed on this connection, a cursor), BEGIN is queued just before it as before.
 * - **COMMIT can go with the transaction's last statement**: a named statement registered with
 *   commitAfter (queryRowsPreparedLast in src/db/client.ts; an invitation's write) carries the
 *   COMMIT in its pipeline, and the transaction's own COMMIT is then answered here. PostgreSQL
 *   skips the COMMIT if the statement fails (everything up to the Sync is skipped after an error),
 *   and the transaction's ROLLBACK follows as usual. Such a statement must be the last of its
 *   transaction: a statement after it is refused (it would run outside the transaction). Outside a
 *   transaction the statement runs as any other.
 *
 * The held-back BEGIN is safe because BEGIN itself cannot fail on a healthy connection, and on a
 * broken one the statement it travels with fails the same way. (From 2026-12-02 to 2026-12-04 only
 * the BEGIN half was here: the COMMIT half's first user, the usage batch, became a transaction of
 * its own, autocommitQuery.)
 */

/** Names of prepared statements that carry their transaction's COMMIT (see commitAfter). */
const committing = new Set<string>();

/**
 * Marks the named prepared statement `name` as the last of its transaction: on PostgreSQL its
 * COMMIT travels in the same round trip. Nothing may run in the transaction after it.
 */
export function commitAfter(name: string): void {
  committing.add(name);
}

interface QueryConfig {
  text?: string;
  name?: string;
  values?: unknown[];
  submit?: unknown;
}

interface Connection {
  parse(config: { text: string; name: string; types: unknown[] }): void;
  bind(config: { portal: string; statement: string; values: unknown[] }): void;
  execute(config: { portal: string; rows: number }): void;
  sync(): void;
  parsedStatements: Record<string, string>;
}

/** The parts of node-postgres's Query that PipelinedQuery builds on (lib/query.js). */
interface QueryInternals {
  portal: string;
  _results: unknown;
  prepare(connection: Connection): void;
  _getRows(connection: Connection, rows?: number): void;
  handleReadyForQuery(connection: Connection): void;
}

const Query = (pg as unknown as { Query: new (config: QueryConfig, values: unknown, callback: unknown) => QueryInternals }).Query;

function sendUnnamed(connection: Connection, text: string): void {
  connection.parse({ text, name: '', types: [] });
  connection.bind({ portal: '', statement: '', values: [] });
  connection.execute({ portal: '', rows: 0 });
}

/** One statement with BEGIN in front of it and/or COMMIT after it, up to one Sync: one round trip. */
class PipelinedQuery extends Query {
  constructor(
    private readonly before: string | undefined,
    private readonly after: string | undefined,
    config: QueryConfig,
    values: unknown,
    callback: (error: Error | null, result?: unknown) => void,
  ) {
    super(config, values, callback);
  }

  requiresPreparation(): boolean {
    return true;
  }

  override prepare(connection: Connection): void {
    if (this.before) sendUnnamed(connection, this.before);
    super.prepare(connection);
  }

  override _getRows(connection: Connection, rows?: number): void {
    connection.execute({ portal: this.portal, rows: rows ?? 0 });
    if (this.after) sendUnnamed(connection, this.after);
    connection.sync();
  }

  override handleReadyForQuery(connection: Connection): void {
    // node-postgres collects one result per command: answer the statement's own.
    if (Array.isArray(this._results)) this._results = this._results[this.before ? 1 : 0];
    super.handleReadyForQuery(connection);
  }
}

interface PipelineState {
  /** A BEGIN not sent yet. */
  begin: string | undefined;
  /** A transaction is open on this connection (BEGIN seen, COMMIT or ROLLBACK not yet). */
  open: boolean;
  /** The transaction's COMMIT went with its last statement. */
  committed: boolean;
}

const TRANSACTION_END = /^(commit|rollback)$/i;
const BEGIN = /^(begin|start transaction)\b/i;
const SAVEPOINT = /^savepoint\b/i;

function answered(command: string) {
  return Promise.resolve({ command, rowCount: null, oid: 0, rows: [], fields: [] });
}

/** Installs the pipelining on one pooled connection (pool 'connect', once per connection). */
export function pipelineConnection(client: pg.PoolClient | pg.Client): void {
  const state: PipelineState = { begin: undefined, open: false, committed: false };
  const target = client as unknown as { query: (...args: unknown[]) => unknown; connection: Connection };
  const send = target.query.bind(client) as (...args: unknown[]) => unknown;
  target.query = (config: unknown, values?: unknown, callback?: unknown): unknown => {
    const query = (typeof config === 'string' ? { text: config } : (config ?? {})) as QueryConfig;
    const params = Array.isArray(values) ? values : query.values;
    const plain = typeof callback !== 'function' && typeof values !== 'function' && typeof query.submit !== 'function';
    const text = query.text?.trim() ?? '';
    const noParams = !params || params.length === 0;
    if (plain && noParams && BEGIN.test(text) && state.begin === undefined) {
      state.begin = text;
      state.open = true;
      state.committed = false;
      return answered('BEGIN');
    }
    if (plain && noParams && TRANSACTION_END.test(text)) {
      const end = text.toUpperCase();
      state.open = false;
      if (state.begin !== undefined) {
        // Nothing was sent: there is no transaction on the server to end.
        state.begin = undefined;
        return answered(end);
      }
      const committed = state.committed;
      state.committed = false;
      if (committed && end === 'COMMIT') return answered(end);
      return send(config, values, callback);
    }
    // In a nested transaction (a savepoint) the last statement's COMMIT would end the outer one.
    if (SAVEPOINT.test(text)) state.open = false;
    if (state.committed) {
      // A statement after the one that carried the COMMIT would run outside the transaction.
      return Promise.reject(new Error('a statement after the last statement of its transaction (commitAfter)'));
    }
    const begin = state.begin;
    state.begin = undefined;
    const parsed = query.name === undefined || target.connection.parsedStatements[query.name] !== undefined;
    const after = state.open && query.name !== undefined && committing.has(query.name) ? 'COMMIT' : undefined;
    // Simple-protocol text, a cursor, a callback, or a statement still to be parsed (its Parse must
    // be the first of its pipeline: node-postgres marks a statement parsed at the first
    // ParseComplete it sees): BEGIN first, queued in order.
    const mergeBegin = begin !== undefined && plain && !noParams && parsed;
    const mergeCommit = after !== undefined && plain;
    if (begin !== undefined && !mergeBegin) void (send(begin) as Promise<unknown>).catch(() => {});
    if (!mergeBegin && !mergeCommit) return send(config, values, callback);
    if (mergeCommit) state.committed = true;
    return new Promise((resolve, reject) => {
      const pipelined = new PipelinedQuery(
        mergeBegin ? begin : undefined,
        mergeCommit ? after : undefined,
        query,
        params,
        (error: Error | null, result?: unknown) => {
          if (error) {
            state.committed = false;
            reject(error);
          } else resolve(result);
        },
      );
      send(pipelined);
    });
  };
}
