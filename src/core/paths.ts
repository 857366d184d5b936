import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository (package) root: the nearest folder above this module with a package.json. The
 * same code runs from src/ (through tsx) and from the bundle in dist/ (`npm start`), so files
 * shipped beside the code (migrations, the dashboard's build) are found from here, not from a
 * path relative to one module.
 */
function packageRoot(): string {
  let folder = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(folder, 'package.json'))) {
    const parent = dirname(folder);
    if (parent === folder) throw new Error(`No package.json above ${fileURLToPath(import.meta.url)}`);
    folder = parent;
  }
  return folder;
}

export const PACKAGE_ROOT = packageRoot();
