import type { FastifyInstance } from 'fastify';
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

/** The real app on a fresh database of the suite's engine, driven through app.inject. */
/**
 * The real app on a fresh database of the suite's engine; with `serverUrl` (a PostgreSQL server),
 * on that server even in the PGlite pass, for tests that need several sessions.
 */
export async function startApp(options: { env?: Record<string, string>; serverUrl?: string } = {}): Promise<TestApp> {
  const database = await createTestDatabase({ serverUrl: options.serverUrl });
  const config = loadConfig({ PUBLIC_URL: TEST_PUBLIC_URL, LOG_LEVEL: 'silent', ...options.env });
  const clock = new TestClock();
  // TEST_LOG=error (or any pino level) shows the app's log, e.g. the cause of an unexpected 500.
  const logger = process.env.TEST_LOG ? { level: process.env.TEST_LOG } : false;
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
