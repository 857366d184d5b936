import { sql } from 'drizzle-orm';
import { queryRows, type Queryable } from './client.ts';
// Citus (ARCHITECTURE principle 12, docs/citus.md): where each table lives when the database has
// the citus extension. The migrations are the same plain SQL on every engine; on Citus, migrate()
// then places every table that is not placed yet, in the same transaction.

/** How a table is placed on Citus. */
export type CitusPlacement =
  /** Sharded by this column, colocated with orgs (org-scoped tables; orgs itself by id). */
  | { kind: 'distributed'; column: string }
  /** A copy on every node: read anywhere, joined with any shard; writes are 2PC and serialized. */
  | { kind: 'reference' }
  /** Kept on the coordinator only (queues, hot global writes, global keys). */
  | { kind: 'local' };

const byOrg: CitusPlacement = { kind: 'distributed', column: 'org_id' };
const reference: CitusPlacement = { kind: 'reference' };
const local: CitusPlacement = { kind: 'local' };

/**
 * Every table of the schema. A migration that adds a table adds it here; a table missing from this
 * map is placed by ruleOfThumb (distributed by org_id when its primary key leads with org_id,
 * otherwise kept on the coordinator).
 */
export const CITUS_LAYOUT: Record<string, CitusPlacement> = {
  // Global and read on every hot path (joined with org-scoped rows): reference tables. Writes are
  // rare (sign-up, profile, billing) and serialize table-wide; that is their cost.
  users: reference,
  subscriptions: reference,
  // Global (created with a service token), joined with every org's events when they are appended,
  // and referenced by webhook_deliveries (ON DELETE CASCADE): Citus allows a foreign key from a
  // distributed table only to a colocated or reference table. Endpoints are created and deleted
  // rarely; each such write is a 2PC that serializes with the other endpoint writes.
  webhook_endpoints: reference,
  // Global, written often or looked up alone: on the coordinator (no 2PC, no table-wide lock).
  sessions: local,
  api_tokens: local,
  service_tokens: local,
  email_verifications: local,
  rate_limits: local,
  server_keys: local,
  billing_customers: local,
  billing_events: local,
  org_slugs: local,
  user_orgs: local,
  // Global and rarely written (operator and host-app changes outside any org); keeps its trigger.
  global_audit_log: local,
  schema_migrations: local,
  // A queue claimed with FOR UPDATE SKIP LOCKED across orgs: Citus allows that only on one node.
  mail_outbox: local,
  // Read with the outbox rows that name it (the claim renders the message in one statement).
  mail_templates: local,
  // The org row, and everything that belongs to one org, in one shard per org.
  orgs: { kind: 'distributed', column: 'id' },
  memberships: byOrg,
  invitations: byOrg,
  audit_log: byOrg,
  usage_limits: byOrg,
  usage_counters: byOrg,
  usage_activity: byOrg,
  org_usage: byOrg,
  org_allocations: byOrg,
  allocation_notices: byOrg,
  events: byOrg,
  projects: byOrg,
  project_members: byOrg,
  storage_reservations: byOrg,
  usage_keys: byOrg,
  usage_limit_notices: byOrg,
  webhook_deliveries: byOrg,
};

/**
 * Triggers Citus refuses on distributed tables, dropped before the table is distributed. Each
 * one's rule is held otherwise on Citus (docs/citus.md says how).
 */
export const CITUS_DROPPED_TRIGGERS: { table: string; trigger: string }[] = [
  // Append-only audit log: on Citus, privileges (REVOKE UPDATE, DELETE, TRUNCATE) hold it.
  { table: 'audit_log', trigger: 'audit_log_append_only' },
];

type Run = (script: string) => Promise<Record<string, unknown>[]>;

/**
 * Turns off, until the end of the migration's transaction or until placement turns it back on,
 * Citus's check after every statement that drops a constraint: whether a Citus local table lost its
 * last foreign key to a reference table. The check locks every Citus local table of the database in
 * turn (ShareRowExclusiveLock: it waits for each one's open writes) and rebuilds the foreign-key
 * graph for each. On a schema nothing of which is placed yet (the plain migrations of a fresh
 * database, and placement's dropping of foreign keys) no table of the schema is a Citus local table,
 * so the check can find nothing; it only waits on the writers of other schemas of the database.
 * The tests place one schema per file in one database, where a migration and a sign-up in another
 * schema deadlocked (locally, and across nodes as a distributed deadlock, a 500), and each placement
 * took longer the more schemas there were (15-19 s with 56). Used only before anything is placed.
 */
export const SKIP_CITUS_LOCAL_TABLE_CHECK = `SET LOCAL citus.enable_local_reference_table_foreign_keys TO off`;

function literal(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** True when the database has the citus extension (then migrate() places the tables). */
export async function hasCitus(run: Run): Promise<boolean> {
  const rows = await run(`SELECT count(*)::int AS n FROM pg_extension WHERE extname = 'citus'`);
  return Number(rows[0]?.n) > 0;
}

/** True once orgs is distributed: later migrations then run on a distributed schema. */
export async function isDistributed(run: Run): Promise<boolean> {
  const rows = await run(
    `SELECT count(*)::int AS n FROM pg_dist_partition WHERE logicalrelid = to_regclass('orgs') AND partmethod = 'h'`,
  );
  return Number(rows[0]?.n) > 0;
}

interface TableInfo {
  name: string;
  /** Tables of this schema that its foreign keys reference. */
  references: string[];
  /** Columns of the primary key, in order. */
  primaryKey: string[];
  /** Already distributed ('h') or a reference table ('n' with replication model 't'). */
  placed: 'distributed' | 'reference' | null;
}

/** The placement of a table not in CITUS_LAYOUT. */
export function ruleOfThumb(table: { primaryKey: string[] }): CitusPlacement {
  return table.primaryKey[0] === 'org_id' ? byOrg : local;
}

async function tablesOfSchema(run: Run): Promise<TableInfo[]> {
  const rows = await run(`
    SELECT c.relname AS name,
           coalesce((SELECT array_agg(DISTINCT r.relname::text)
                       FROM pg_constraint f JOIN pg_class r ON r.oid = f.confrelid
                      WHERE f.conrelid = c.oid AND f.contype = 'f' AND f.confrelid <> c.oid), '{}') AS refs,
           coalesce((SELECT array_agg(a.attname::text ORDER BY k.ord)
                       FROM pg_constraint p
                       CROSS JOIN LATERAL unnest(p.conkey) WITH ORDINALITY AS k(attnum, ord)
                       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
                      WHERE p.conrelid = c.oid AND p.contype = 'p'), '{}') AS pk,
           (SELECT CASE WHEN d.partmethod = 'h' THEN 'distributed'
                        WHEN d.partmethod = 'n' AND d.repmodel = 't' THEN 'reference' END
              FROM pg_dist_partition d WHERE d.logicalrelid = c.oid) AS placed
    FROM pg_class c
    WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')`);
  return rows.map((row) => ({
    name: String(row.name),
    references: toArray(row.refs),
    primaryKey: toArray(row.pk),
    placed: (row.placed as TableInfo['placed']) ?? null,
  }));
}

function toArray(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  return String(value ?? '{}')
    .replace(/^\{|\}$/g, '')
    .split(',')
    .filter(Boolean);
}

/**
 * Places every table of the current schema that CITUS_LAYOUT (or ruleOfThumb) says to distribute
 * or replicate and that is not placed yet: orgs, then the org-scoped tables (their foreign keys taken
 * off while they are distributed), then the reference tables, then the foreign keys again. Citus
 * refuses to distribute a table with an identity column once it is coordinator-local, which is
 * what a table referencing a reference table becomes: hence this order. Idempotent; runs inside migrate()'s transaction, so a failure
 * leaves nothing half-placed. Returns what it placed, e.g. `orgs: distributed by id`.
 */
export async function placeTables(run: Run): Promise<string[]> {
  // One connection per worker: a foreign key to a reference table added after
  // create_distributed_table is refused after a parallel operation in the same transaction, and so
  // is a write to a reference table (users) after a fan-out read of a table with a foreign key to
  // it. Every session of the app needs it (disabling a user reads the user's membership first), so
  // it becomes the database's default; this session (pooled afterwards) sets it too.
  await run(`SET citus.multi_shard_modify_mode TO 'sequential'`);
  // Only when not set yet: migrate() holds its advisory lock, so concurrent start-ups do not race.
  await run(`DO $$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
                      WHERE d.datname = current_database() AND s.setrole = 0
                        AND 'citus.multi_shard_modify_mode=sequential' = ANY (s.setconfig)) THEN
        EXECUTE format('ALTER DATABASE %I SET citus.multi_shard_modify_mode TO %L', current_database(), 'sequential');
      END IF;
    END $$`);
  const tables = await tablesOfSchema(run);
  const placementOf = (table: TableInfo) => CITUS_LAYOUT[table.name] ?? ruleOfThumb(table);
  const placed: string[] = [];

  const distributed = tables.filter((table) => placementOf(table).kind === 'distributed' && table.placed === null);
  let keys: Record<string, unknown>[] = [];
  if (distributed.length > 0) {
    // Citus refuses to distribute a table that a not-yet-distributed table references, and tables
    // referencing a reference table were turned into coordinator-local ones: take the foreign keys
    // of the tables being distributed off, distribute them all, then put the keys back.
    const names = distributed.map((table) => literal(table.name)).join(', ');
    keys = await run(`
      SELECT c.conname AS name, t.relname AS table, pg_get_constraintdef(c.oid) AS definition
      FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
      WHERE c.contype = 'f' AND t.relnamespace = current_schema()::regnamespace AND t.relname IN (${names})
      ORDER BY t.relname, c.conname`);
    for (const key of keys) await run(`ALTER TABLE ${String(key.table)} DROP CONSTRAINT ${String(key.name)}`);
    for (const table of inForeignKeyOrder(distributed, tables)) {
      const placement = placementOf(table) as { kind: 'distributed'; column: string };
      for (const dropped of CITUS_DROPPED_TRIGGERS.filter((entry) => entry.table === table.name)) {
        await run(`DROP TRIGGER IF EXISTS ${dropped.trigger} ON ${dropped.table}`);
      }
      const colocate = table.name === 'orgs' ? `'default'` : `'orgs'`;
      await run(
        `SELECT create_distributed_table(${literal(table.name)}, ${literal(placement.column)}, colocate_with => ${colocate})`,
      );
      placed.push(`${table.name}: distributed by ${placement.column}`);
    }
  }
  // Back on (SKIP_CITUS_LOCAL_TABLE_CHECK): creating a reference table turns the local tables with
  // foreign keys to it into Citus local tables only with it on, and later migrations need the check.
  await run(`SET LOCAL citus.enable_local_reference_table_foreign_keys TO DEFAULT`);
  const references = tables.filter((table) => placementOf(table).kind === 'reference' && table.placed === null);
  for (const table of inForeignKeyOrder(references, tables)) {
    await run(`SELECT create_reference_table(${literal(table.name)})`);
    placed.push(`${table.name}: reference`);
  }

  // Foreign keys to reference tables can be added only once those are reference tables.
  for (const key of keys) {
    await run(`ALTER TABLE ${String(key.table)} ADD CONSTRAINT ${String(key.name)} ${String(key.definition)}`);
  }
  // The append-only audit log: no role but the owner may change or remove entries (docs/citus.md).
  if (placed.includes('audit_log: distributed by org_id')) {
    await run(`REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC`);
  }
  return placed;
}

/**
 * The privileges of the app's role on Citus (docs/citus.md, setup): every statement on every table
 * of the schema, but only SELECT and INSERT on the audit log, which holds it append-only there.
 */
export function appRoleGrants(role: string, schema = 'public'): string {
  return [
    `GRANT USAGE ON SCHEMA ${schema} TO ${role}`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${schema} TO ${role}`,
    `GRANT USAGE ON ALL SEQUENCES IN SCHEMA ${schema} TO ${role}`,
    `REVOKE UPDATE, DELETE, TRUNCATE ON ${schema}.audit_log FROM ${role}`,
    `REVOKE UPDATE, DELETE, TRUNCATE ON ${schema}.global_audit_log FROM ${role}`,
  ].join(';\n');
}

/** `batch` ordered so that a table comes after every table of the batch its foreign keys reference. */
function inForeignKeyOrder(batch: TableInfo[], all: TableInfo[]): TableInfo[] {
  const pending = new Map(batch.map((table) => [table.name, table]));
  const known = new Set(all.map((table) => table.name));
  const ordered: TableInfo[] = [];
  while (pending.size > 0) {
    const ready = [...pending.values()].filter((table) =>
      table.references.every((name) => name === table.name || !pending.has(name) || !known.has(name)),
    );
    if (ready.length === 0) throw new Error(`Citus: foreign keys form a cycle among ${[...pending.keys()].join(', ')}`);
    for (const table of ready.sort((a, b) => (a.name === 'orgs' ? -1 : b.name === 'orgs' ? 1 : a.name.localeCompare(b.name)))) {
      pending.delete(table.name);
      ordered.push(table);
    }
  }
  return ordered;
}

const citusOfDb = new WeakMap<object, Promise<boolean>>();

/**
 * True when the database behind `db` has the citus extension; asked once per handle and cached
 * (the usage batch runs its org-scoped statements per org there, src/usage/batch.ts).
 */
export function onCitusDb(db: Queryable): Promise<boolean> {
  let answer = citusOfDb.get(db);
  if (!answer) {
    answer = queryRows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM pg_extension WHERE extname = 'citus'`).then(
      (rows) => Number(rows[0]?.n) > 0,
    );
    citusOfDb.set(db, answer);
    answer.catch(() => citusOfDb.delete(db));
  }
  return answer;
}
