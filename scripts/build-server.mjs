// Bundles the server and CLI (src/cli/main.ts) into dist/roster.mjs with esbuild: `npm start` runs
// it with plain node, without tsx compiling every module at start-up and keeping the results in
// memory (idle RSS measured here: 200 MB through tsx, 115 MB bundled). Dependencies stay in
// node_modules (not bundled); migrations and the dashboard's build are read from the package root.
// Usage: node scripts/build-server.mjs [entry.ts out.mjs] (bench/ bundles its server the same way).
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const [entry = 'src/cli/main.ts', outfile = 'dist/roster.mjs'] = process.argv.slice(2);

await build({
  absWorkingDir: root,
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
});
