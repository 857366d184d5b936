import { defineConfig } from 'vitest/config';

/**
 * Test files whose outcome does not depend on the engine the suite runs on (TEST_DATABASE_URL):
 * they always spawn their server on embedded PGlite, or always use the PostgreSQL server of
 * `serverPostgresUrl()` (which CI=true provides in the PGlite pass too), or start a private
 * PostgreSQL. The PostgreSQL pass of `.ci/run` sets ROSTER_TEST_ENGINE_ONLY=1 to leave them out,
 * because the PGlite pass (under CI=true) just ran them, identically. `npm test` runs them always.
 */
export const ENGINE_INDEPENDENT_FILES = [
  // Server processes on PGlite whatever the engine (CLI, durability).
  'test/e2e/cli.test.ts',
  'test/e2e/restart.test.ts',
  'test/e2e/retention.test.ts',
  'src/server.test.ts',
  'src/db/data-dir-lock.test.ts',
  'bench/server.test.ts',
  // Several processes or killed backends on the PostgreSQL server, whatever the engine.
  'test/e2e/invites-multiprocess.test.ts',
  'test/e2e/disable-multiprocess.test.ts',
  'test/e2e/allocation-multiprocess.test.ts',
  'test/e2e/load-balancer.test.ts',
  'test/e2e/db-outage.test.ts',
  'test/e2e/workers.test.ts',
  'src/db/client.test.ts',
  // A private PostgreSQL started and restarted by the test.
  'test/e2e/postgres-restart.test.ts',
];

/**
 * The browser tests run their server on the suite's engine (suiteDatabase in test/kit/postgres.ts):
 * `npm test` with TEST_DATABASE_URL drives the dashboard against that server. CI runs them once, in
 * its PGlite pass, and ROSTER_TEST_ENGINE_ONLY=1 leaves them out of the engine passes as well. On a
 * 2-core machine the three files take about 160 s of test time per pass, and in the PostgreSQL and
 * Citus passes they brought a whole `.ci/run` to 18 min 43 s, against its limit of 20.
 */
export const BROWSER_TEST_FILES = ['test/e2e/dashboard.test.ts', 'test/e2e/billing.test.ts', 'test/e2e/projects.test.ts'];

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'bench/**/*.test.ts', 'packages/*/src/**/*.test.ts'],
    exclude: [
      'node_modules/**',
      'web/**',
      // *.citus.test.ts check what only a Citus cluster has: only the Citus pass (.ci/citus) runs them.
      ...(process.env.ROSTER_TEST_CITUS === '1' ? [] : ['**/*.citus.test.ts']),
      ...(process.env.ROSTER_TEST_ENGINE_ONLY === '1' ? [...ENGINE_INDEPENDENT_FILES, ...BROWSER_TEST_FILES] : []),
    ],
    globalSetup: ['test/kit/global-setup.ts', 'test/kit/build-server.ts'],
    pool: 'forks',
    maxWorkers: 2,
    // One module graph per worker, not per file: each file re-importing the app (Fastify, every
    // module's schemas) cost 60-70 s of import per pass on 2 cores; shared, about 10 s. The PostgreSQL
    // pass went from 142 to 77 s. Module state that tests set (test hooks) is reset in afterEach.
    isolate: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    dangerouslyIgnoreUnhandledErrors: false,
  },
});
