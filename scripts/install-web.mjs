// Root postinstall: installs the dashboard's own dependencies (web/ is a separate npm project
// so its front-end toolchain never mixes with the server's), so `npm install` / `npm ci` at the
// root is all a newcomer or CI runs.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

const lock = 'web/package-lock.json';
if (existsSync(lock)) {
  const installed = 'web/node_modules/.package-lock.json';
  const fresh = existsSync(installed) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs;
  if (!fresh) {
    execFileSync('npm', ['ci', '--prefix', 'web', '--no-audit', '--no-fund'], { stdio: 'inherit' });
  }
}
