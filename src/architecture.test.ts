import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Principle 9 and the layering, checked from the source text (docs/architecture.md explains them).

const SRC = fileURLToPath(new URL('./', import.meta.url));

/** Who owns each table: only `src/<owner>/queries.ts` runs SQL on it. Keep in step with docs/architecture.md. */
const OWNERS: Record<string, string> = {
  users: 'auth',
  sessions: 'auth',
  api_tokens: 'auth',
  service_tokens: 'auth',
  email_verifications: 'auth',
  rate_limits: 'auth',
  orgs: 'orgs',
  memberships: 'orgs',
  org_slugs: 'orgs',
  user_orgs: 'orgs',
  subscriptions: 'billing',
  billing_customers: 'billing',
  billing_events: 'billing',
  storage_reservations: 'billing',
  invitations: 'invites',
  server_keys: 'invites',
  usage_limits: 'usage',
  usage_counters: 'usage',
  usage_activity: 'usage',
  org_usage: 'usage',
  org_allocations: 'usage',
  allocation_notices: 'usage',
  usage_keys: 'usage',
  usage_limit_notices: 'usage',
  audit_log: 'audit',
  global_audit_log: 'audit',
  mail_outbox: 'mail',
  mail_templates: 'mail',
  events: 'events',
  projects: 'projects',
  project_members: 'projects',
  webhook_endpoints: 'webhooks',
  webhook_deliveries: 'webhooks',
};

/**
 * Files allowed to touch tables they do not own, each with its reason. A path ending in '/'
 * covers a folder. Remove an entry as soon as its reason is gone.
 */
const EXCEPTIONS: { path: string; tables: string[] | 'all'; reason: string }[] = [
  {
    path: 'auth/credential-query.ts',
    tables: ['users', 'sessions', 'api_tokens', 'service_tokens', 'memberships', 'orgs', 'user_orgs'],
    reason:
      'THE authentication rule (credential → user → membership), shared by the request hook and the usage batch on Citus; there the org comes from user_orgs first (PostgreSQL and PGlite: migration 0029 repeats it, and 0032 with service tokens, docs/architecture.md)',
  },
  {
    path: 'events/wakeup.ts',
    tables: [],
    reason: "the pg_notify fragment that a queue's insert carries so its wake-up follows the commit; it touches no table",
  },
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return entry === 'migrations' ? [] : sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
  });
}

const files = sourceFiles(SRC).map((path) => ({ path: relative(SRC, path), text: readFileSync(path, 'utf8') }));

/** The literal text of every sql`…` template and sql.raw('…') string in `source` (not the ${…} parts). */
export function sqlTexts(source: string): string[] {
  const texts: string[] = [];
  for (const match of source.matchAll(/\bsql\s*`|\bsql\.raw\(\s*(['"`])/g)) {
    const quote = match[1] ?? '`';
    let index = (match.index ?? 0) + match[0].length;
    let text = '';
    while (index < source.length && source[index] !== quote) {
      if (source[index] === '\\') {
        text += source.slice(index, index + 2);
        index += 2;
      } else if (quote === '`' && source.startsWith('${', index)) {
        index = skipExpression(source, index + 2);
        text += ' ? ';
      } else {
        text += source[index];
        index += 1;
      }
    }
    texts.push(text);
  }
  return texts;
}

/** Index just past the `}` closing a template expression that starts at `index`. */
function skipExpression(source: string, index: number): number {
  let depth = 1;
  while (index < source.length && depth > 0) {
    const char = source[index];
    if (char === '`') {
      index += 1;
      while (index < source.length && source[index] !== '`') {
        if (source[index] === '\\') index += 1;
        else if (source.startsWith('${', index)) index = skipExpression(source, index + 2) - 1;
        index += 1;
      }
    } else if (char === "'" || char === '"') {
      const end = source.indexOf(char, index + 1);
      index = end < 0 ? source.length : end;
    } else if (char === '{') depth += 1;
    else if (char === '}') depth -= 1;
    index += 1;
  }
  return index;
}

/** drizzle table objects by their TypeScript name, read from the schema file. */
const TABLE_OBJECTS = new Map(
  [...readFileSync(join(SRC, 'db/schema.ts'), 'utf8').matchAll(/export const (\w+) = pgTable\(\s*'(\w+)'/g)].map((match) => [
    match[1] ?? '',
    match[2] ?? '',
  ]),
);

/** Tables a file touches: named in its SQL text, or used as drizzle table objects imported from db/schema.ts. */
function tablesTouched(file: { path: string; text: string }): Set<string> {
  const touched = new Set<string>();
  for (const text of sqlTexts(file.text)) {
    for (const table of Object.keys(OWNERS)) {
      // A bare word, not a column of an alias (`m.orgs`) nor part of a longer name (`orgs_slug_key`).
      if (new RegExp(`(?<![\\w.])${table}(?!\\w)`).test(text)) touched.add(table);
    }
  }
  for (const match of file.text.matchAll(/import\s+(?!type\b)\{([^}]*)\}\s+from\s+'[^']*db\/schema\.ts'/g)) {
    for (const name of (match[1] ?? '').split(',').map((part) => part.trim())) {
      if (name.startsWith('type ')) continue;
      const table = TABLE_OBJECTS.get(name.split(/\s+as\s+/)[0] ?? '');
      if (table) touched.add(table);
    }
  }
  return touched;
}

function isExcepted(path: string, table: string): boolean {
  return EXCEPTIONS.some(
    (exception) =>
      (exception.path.endsWith('/') ? path.startsWith(exception.path) : path === exception.path) &&
      (exception.tables === 'all' || exception.tables.includes(table)),
  );
}

// ---- the import graph ------------------------------------------------------------------------

function importsOf(file: { path: string; text: string }): string[] {
  const specifiers = [...file.text.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s+'(\.[^']+)'/gm)].map(
    (match) => match[1] ?? '',
  );
  return specifiers.map((specifier) => relative(SRC, resolve(dirname(join(SRC, file.path)), specifier)));
}

/** The module a file belongs to. Route files are the HTTP face (src/http assembles them). */
function moduleOf(path: string): string {
  if (path.endsWith('/routes.ts')) return 'http';
  const [first] = path.split('/');
  return (first ?? path).replace(/\.ts$/, '');
}

function findCycle(graph: Map<string, Set<string>>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | null => {
    if (state.get(node) === 'done') return null;
    if (state.get(node) === 'open') return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(node, 'done');
    return null;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return null;
}

describe('architecture', () => {
  it('runs SQL on a table only in the queries.ts of the module that owns it', () => {
    const violations: string[] = [];
    for (const file of files) {
      for (const table of tablesTouched(file)) {
        const owner = OWNERS[table];
        if (file.path === `${owner}/queries.ts` || isExcepted(file.path, table)) continue;
        violations.push(`${file.path} touches ${table} (owned by src/${owner}/queries.ts)`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('runs no SQL outside queries.ts files and src/db (services call queries)', () => {
    const withSql = files
      .filter((file) => !file.path.endsWith('/queries.ts') && !file.path.startsWith('db/'))
      .filter(
        (file) =>
          !EXCEPTIONS.some((exception) =>
            exception.path.endsWith('/') ? file.path.startsWith(exception.path) : file.path === exception.path,
          ),
      )
      .filter((file) => sqlTexts(file.text).length > 0)
      .map((file) => file.path);
    expect(withSql).toEqual([]);
  });

  it('finds SQL table names in templates and drizzle table objects (self-check)', () => {
    expect(sqlTexts("sql`SELECT 1 FROM orgs o WHERE ${sql`x`} AND ${fn(`a${b}`)}` + sql.raw('JOIN users u')")).toEqual([
      'SELECT 1 FROM orgs o WHERE  ?  AND  ? ',
      'x',
      'JOIN users u',
    ]);
    expect(tablesTouched({ path: 'x.ts', text: "import { orgs, type Role } from '../db/schema.ts';" })).toEqual(
      new Set(['orgs']),
    );
    expect(tablesTouched({ path: 'x.ts', text: "sql`SELECT m.orgs FROM t WHERE c = 'memberships_user_id_key'`" })).toEqual(
      new Set(),
    );
  });

  it('has no import cycles between files', () => {
    const graph = new Map(files.map((file) => [file.path, new Set(importsOf(file))]));
    expect(findCycle(graph)).toBeNull();
  });

  it("has no import cycles between modules (calling another module's queries.ts is not a dependency on its rules)", () => {
    const graph = new Map<string, Set<string>>();
    for (const file of files) {
      const from = moduleOf(file.path);
      for (const target of importsOf(file)) {
        const to = moduleOf(target);
        if (to === from || target.endsWith('/queries.ts')) continue;
        graph.set(from, (graph.get(from) ?? new Set()).add(to));
      }
    }
    expect(findCycle(graph)).toBeNull();
  });

  it('keeps src/core a leaf: it imports nothing outside src/core', () => {
    const outside = files
      .filter((file) => file.path.startsWith('core/'))
      .flatMap((file) =>
        importsOf(file)
          .filter((target) => !target.startsWith('core/'))
          .map((target) => `${file.path} -> ${target}`),
      );
    expect(outside).toEqual([]);
  });
});
