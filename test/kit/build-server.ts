import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Where the suite's server bundle is written: the tests spawn `node <this>` as `npm start` does. */
export const TEST_SERVER_BUNDLE = 'dist/roster-test.mjs';

/**
 * Global setup: bundles the server and CLI once per run (scripts/build-server.mjs, what `npm start`
 * runs), so every spawned `roster` process starts from the same kind of artifact users run, without
 * tsx compiling the sources in each process (seconds per process on a loaded machine).
 */
export default function setup(): void {
  execFileSync(process.execPath, ['scripts/build-server.mjs', 'src/cli/main.ts', TEST_SERVER_BUNDLE], {
    cwd: fileURLToPath(new URL('../../', import.meta.url)),
    stdio: 'inherit',
  });
}
