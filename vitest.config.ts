import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'bench/**/*.test.ts', 'packages/*/src/**/*.test.ts'],
    // *.citus.test.ts check what only a Citus cluster has: only the Citus pass (.ci/citus) runs them.
    exclude: ['node_modules/**', 'web/**', ...(process.env.ROSTER_TEST_CITUS === '1' ? [] : ['**/*.citus.test.ts'])],
    globalSetup: ['test/kit/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    dangerouslyIgnoreUnhandledErrors: false,
  },
});
