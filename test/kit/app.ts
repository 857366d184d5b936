import type { FastifyInstance } from 'fastify';
import { loadConfig, type Config } from '../../src/config.ts';
import { buildApp } from '../../src/http/app.ts';
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
export async function startApp(options: { env?: Record<string, string> } = {}): Promise<TestApp> {
  const database = await createTestDatabase();
  const config = loadConfig({ PUBLIC_URL: TEST_PUBLIC_URL, LOG_LEVEL: 'silent', ...options.env });
  const clock = new TestClock();
  const app = await buildApp({ config, database, clock, logger: false });
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
