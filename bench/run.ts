// `npm run bench`: every benchmark in one run, on loopback. Figures go to bench/README.md.
import { benchFoundation } from './foundation.ts';

const only = process.argv[2];
const suites: Record<string, () => Promise<string>> = {
  foundation: benchFoundation,
};

for (const [name, suite] of Object.entries(suites)) {
  if (only && only !== name) continue;
  console.log(`\n## ${name}\n`);
  console.log(await suite());
}
