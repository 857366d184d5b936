import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { loadConfig, type Config } from '../../src/config.ts';
import { buildApp } from '../../src/http/app.ts';
import { createLocalBillingProvider } from '../../src/billing/local-provider.ts';
import type { Actor, Ctx } from '../../src/core/context.ts';
import { TestClock } from './clock.ts';
import { createTestDatabase, type TestDatabase } from './engine.ts';
import { createGiven, type Given } from './given.ts';
import { createHttp, type Http } from './http.ts';

export interface TestApp {
  app: FastifyInstance;
  database: TestDatabase;
  config: Config;
  clock: TestClock;
  http: Http;
  given: Given;
  close(): Promise<void>;
}

export const TEST_PUBLIC_URL = 'http://roster.test';

/**
 * The test apps' DATA_DIR, in the checkout's ignored .tmp/. Their database is elsewhere (in memory
 * or on the test server), but development keeps its generated webhook key in DATA_DIR
 * (src/webhooks/key.ts), which would otherwise land in ./data of wherever the tests run.
 */
export const TEST_DATA_DIR = fileURLToPath(new URL('../../.tmp/test-data/', import.meta.url));

/** The real app on a fresh database of the suite's engine, driven through app.inject. */
/**
 * The real app on a fresh database of the suite's engine; with `serverUrl` (a PostgreSQL server),
 * on that server even in the PGlite pass, for tests that need several sessions.
 */
export async function startApp(options: { env?: Record<string, string>; serverUrl?: string } = {}): Promise<TestApp> {
  const database = await createTestDatabase({ serverUrl: options.serverUrl });
  const config = loadConfig({ PUBLIC_URL: TEST_PUBLIC_URL, LOG_LEVEL: 'silent', DATA_DIR: TEST_DATA_DIR, ...options.env });
  const clock = new TestClock();
  // TEST_LOG=info (or any pino level) shows the app's whole log. Without it, only what the error
  // handler logs for a 5xx reply (src/http/app.ts), so a CI log shows the cause of an unexpected 500.
  const logger = process.env.TEST_LOG
    ? { level: process.env.TEST_LOG }
    : { level: 'warn', stream: failedRequestStream, serializers: { err: pino.stdSerializers.errWithCause } };
  const app = await buildApp({ config, database, clock, logger });
  await app.ready();
  const http = createHttp(app);
  return {
    app,
    database,
    config,
    clock,
    http,
    given: createGiven({ database, http, clock }),
    async close() {
      await app.close();
      await database.close();
    },
  };
}

/**
 * Prints each failed-request log line of the in-process app (5xx: `request failed`, 503:
 * `database unavailable`) to stderr as the error's type, code, message and stack, through
 * console.error so that vitest names the test it belongs to.
 */
const printedStacks = new Set<string>();
const failedRequestStream = {
  write(line: string): void {
    let entry: { msg?: string; reqId?: string; err?: LoggedError };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      console.error(`[test app] ${line.trimEnd()}`);
      return;
    }
    const heading = `[test app] ${entry.msg ?? 'log'} (request ${entry.reqId ?? '?'})`;
    // The error and its causes (a query error wraps the driver's, which has the SQLSTATE).
    const chain: string[] = [];
    for (let err = entry.err, depth = 0; err && depth < 5; err = err.cause, depth += 1) {
      const fields = (['code', 'detail', 'hint', 'where', 'routine'] as const)
        .filter((key) => err?.[key] !== undefined && err[key] !== null && err[key] !== '')
        .map((key) => `${key}=${JSON.stringify(err?.[key])}`);
      chain.push(
        `${depth ? 'caused by ' : ''}${err.type ?? 'Error'}: ${err.message ?? ''}${fields.length ? ` [${fields.join(' ')}]` : ''}`,
      );
    }
    // A test that makes 30 requests fail on purpose prints the stack once, then one line each.
    const stack = entry.err?.stack ?? '';
    if (printedStacks.has(stack)) {
      console.error(`${heading}: again ${chain.at(-1) ?? ''}`);
      return;
    }
    printedStacks.add(stack);
    console.error([heading, chain[0], ...(stack ? [stack] : []), ...chain.slice(1)].filter(Boolean).join('\n'));
  },
};

interface LoggedError {
  type?: string;
  message?: string;
  stack?: string;
  code?: unknown;
  detail?: unknown;
  hint?: unknown;
  where?: unknown;
  routine?: unknown;
  cause?: LoggedError;
}

/**
 * The context the operator CLI runs operations with (`roster admin …`), on a test app's database
 * and clock: the actor is the operator `name`, audited as `operator:<name>`.
 */
export function operatorCtx(t: TestApp, name = 'alice'): Ctx & { actor: Actor } {
  return {
    db: t.database.db,
    config: t.config,
    clock: t.clock,
    billing: createLocalBillingProvider(t.config.publicUrl),
    requestId: 'cli-test',
    actor: {
      userId: '00000000-0000-0000-0000-000000000000',
      email: `${name}@operator`,
      name,
      emailVerified: true,
      membership: null,
      via: 'operator',
      credentialId: null,
    },
  };
}
