// Builds the publishable package in dist/: JavaScript and declarations compiled by tsc (relative
// `.ts` imports rewritten to `.js`), the generated schema.d.ts (tsc does not copy .d.ts files), and
// a package.json whose `exports` point at the compiled files. Publish with `npm publish dist`.
// Inside this repository nothing needs the build: the source is consumed as TypeScript.
import { execFileSync } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
process.chdir(here);
rmSync('dist', { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
copyFileSync('src/schema.d.ts', 'dist/schema.d.ts');
// tsc rewrites relative `.ts` imports in the JavaScript only; declarations get the same `.js` paths.
for (const file of readdirSync('dist').filter((name) => name.endsWith('.d.ts'))) {
  const text = readFileSync(`dist/${file}`, 'utf8');
  writeFileSync(`dist/${file}`, text.replace(/(from '\.\/[\w-]+)\.ts'/g, "$1.js'"));
}

const source = JSON.parse(readFileSync('package.json', 'utf8'));
const entry = (name) => ({ types: `./${name}.d.ts`, default: `./${name}.js` });
const { private: _private, scripts: _scripts, ...published } = source;
published.exports = {
  '.': entry('index'),
  './fastify': entry('fastify'),
  './express': entry('express'),
  './webhooks': entry('webhooks'),
};
writeFileSync('dist/package.json', `${JSON.stringify(published, null, 2)}\n`);
console.log('Built packages/client/dist (publish with `npm publish dist`)');
