import pg from 'pg';

/**
 * One round trip fewer per PostgreSQL transaction (bench/README.md, "What sets the ratio").
 * node-postgres sends one statement and waits for its answer before the next, so a transaction of
 * n statements costs n + 2 round trips (BEGIN, the statements, COMMIT). Installed on every pooled
 * connection (pipelineConnection), this makes it n + 1: **BEGIN goes with the transaction's first
 * statement.** BEGIN is held back and sent in front of the next statement, in the same
 * extended-protocol pipeline (Parse/Bind/Execute of BEGIN, then the statement's, one Sync). A
 * transaction that ends before any statement sends nothing. When the first statement cannot share
 * the pipeline (simple-protocol text, a named statement not yet parsed on this connection, a
 * cursor), BEGIN is queued just before it as before.
 *
 * The held-back BEGIN is safe because BEGIN itself cannot fail on a healthy connection, and on a
 * broken one the statement it travels with fails the same way. (Until 2026-12-02 a registered last
 * statement could also carry the COMMIT; its one user, the usage batch, is now a transaction of its
 * own: autocommitQuery in src/db/client.ts.)
 */

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
  parsedStatements: Record<string, string>;
}

/** The parts of node-postgres's Query that PipelinedQuery builds on (lib/query.js). */
interface QueryInternals {
  _results: unknown;
  prepare(connection: Connection): void;
  handleReadyForQuery(connection: Connection): void;
}

const Query = (pg as unknown as { Query: new (config: QueryConfig, values: unknown, callback: unknown) => QueryInternals }).Query;

function sendUnnamed(connection: Connection, text: string): void {
  connection.parse({ text, name: '', types: [] });
  connection.bind({ portal: '', statement: '', values: [] });
  connection.execute({ portal: '', rows: 0 });
}

/** One statement with BEGIN in front of it, up to one Sync: one round trip. */
class PipelinedQuery extends Query {
  constructor(
    private readonly before: string,
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
    sendUnnamed(connection, this.before);
    super.prepare(connection);
  }

  override handleReadyForQuery(connection: Connection): void {
    // node-postgres collects one result per command: answer the statement's own.
    if (Array.isArray(this._results)) this._results = this._results[1];
    super.handleReadyForQuery(connection);
  }
}

const TRANSACTION_END = /^(commit|rollback)$/i;
const BEGIN = /^(begin|start transaction)\b/i;

function answered(command: string) {
  return Promise.resolve({ command, rowCount: null, oid: 0, rows: [], fields: [] });
}

/** Installs the pipelining on one pooled connection (pool 'connect', once per connection). */
export function pipelineConnection(client: pg.PoolClient | pg.Client): void {
  /** A BEGIN not sent yet. */
  let pending: string | undefined;
  const target = client as unknown as { query: (...args: unknown[]) => unknown; connection: Connection };
  const send = target.query.bind(client) as (...args: unknown[]) => unknown;
  target.query = (config: unknown, values?: unknown, callback?: unknown): unknown => {
    const query = (typeof config === 'string' ? { text: config } : (config ?? {})) as QueryConfig;
    const params = Array.isArray(values) ? values : query.values;
    const plain = typeof callback !== 'function' && typeof values !== 'function' && typeof query.submit !== 'function';
    const text = query.text?.trim() ?? '';
    const noParams = !params || params.length === 0;
    if (plain && noParams && BEGIN.test(text) && pending === undefined) {
      pending = text;
      return answered('BEGIN');
    }
    if (plain && noParams && TRANSACTION_END.test(text) && pending !== undefined) {
      // Nothing was sent: there is no transaction on the server to end.
      pending = undefined;
      return answered(text.toUpperCase());
    }
    const begin = pending;
    pending = undefined;
    if (begin === undefined) return send(config, values, callback);
    const parsed = query.name === undefined || target.connection.parsedStatements[query.name] !== undefined;
    // Simple-protocol text, a cursor, a callback, or a statement still to be parsed (its Parse must
    // be the first of its pipeline: node-postgres marks a statement parsed at the first
    // ParseComplete it sees): BEGIN first, queued in order.
    if (!(plain && !noParams && parsed)) {
      void (send(begin) as Promise<unknown>).catch(() => {});
      return send(config, values, callback);
    }
    return new Promise((resolve, reject) => {
      send(
        new PipelinedQuery(begin, query, params, (error: Error | null, result?: unknown) =>
          error ? reject(error) : resolve(result),
        ),
      );
    });
  };
}
