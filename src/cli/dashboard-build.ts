import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../core/paths.ts';

const WEB = join(PACKAGE_ROOT, 'web');

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path)
    .filter((name) => name !== 'node_modules' && name !== 'dist')
    .reduce((newest, name) => Math.max(newest, newestMtime(join(path, name))), stat.mtimeMs);
}

/** Builds web/dist when it is missing or older than web/ sources, so `npm start` shows the dashboard. */
export function ensureDashboardBuilt(log: (message: string) => void): void {
  if (!existsSync(join(WEB, 'package.json'))) return;
  const index = join(WEB, 'dist', 'index.html');
  // The dashboard also bundles the typed client's source (@roster/client in packages/client).
  const sources = ['src', 'index.html', 'package.json', 'vite.config.ts', '../packages/client/src']
    .map((name) => join(WEB, name))
    .filter((path) => existsSync(path));
  if (existsSync(index) && statSync(index).mtimeMs >= Math.max(...sources.map(newestMtime))) return;
  log('Building the dashboard (web/dist is missing or stale)…');
  if (!existsSync(join(WEB, 'node_modules'))) execFileSync('npm', ['ci', '--prefix', WEB], { stdio: 'inherit' });
  execFileSync('npm', ['run', 'build', '--prefix', WEB], { stdio: 'inherit' });
}
