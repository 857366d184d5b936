import { defineConfig } from 'vitest/config';

/**
 * Test files whose outcome does not depend on the engine the suite runs on (TEST_DATABASE_URL):
 * they always spawn their server on embedded PGlite, or always use the PostgreSQL server of
 * `serverPostgresUrl()` (which CI=true provides in the PGlite pass too), or start a private
 * PostgreSQL. The PostgreSQL pass of `.ci/run` sets ROSTER_TEST_ENGINE_ONLY=1 to leave them out,
 * because the PGlite pass (under CI=true) just ran them, identically. `npm test` runs them always.
 */
export const ENGINE_INDEPENDENT_FILES = [
  // Server processes on PGlite whatever the engine (CLI, durability). The browser tests run their
  // server on the suite's engine (suiteDatabase in test/kit/postgres.ts), so every pass runs them.
  'test/e2e/cli.test.ts',
  'test/e2e/restart.test.ts',
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

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'bench/**/*.test.ts', 'packages/*/src/**/*.test.ts'],
    exclude: [
      'node_modules/**',
      'web/**',
      // *.citus.test.ts check what only a Citus cluster has: only the Citus pass (.ci/citus) runs them.
      ...(process.env.ROSTER_TEST_CITUS === '1' ? [] : ['**/*.citus.test.ts']),
      ...(process.env.ROSTER_TEST_ENGINE_ONLY === '1' ? ENGINE_INDEPENDENT_FILES : []),
    ],
    globalSetup: ['test/kit/global-setup.ts', 'test/kit/build-server.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    dangerouslyIgnoreUnhandledErrors: false,
  },
});
