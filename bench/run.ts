// `npm run bench`: every benchmark in one run, on loopback (`npm run bench -- usage` runs one).
// Figures go to bench/README.md.
import { benchFoundation } from './foundation.ts';
import { benchGrowth } from './growth.ts';
import { benchInvites } from './invites.ts';
import { benchPeers } from './peers.ts';
import { benchProcesses } from './processes.ts';
import { benchUsage } from './usage.ts';

const only = process.argv[2];
const suites: Record<string, () => Promise<string>> = {
  foundation: benchFoundation,
  usage: benchUsage,
  invites: benchInvites,
  peers: benchPeers,
  growth: benchGrowth,
  processes: benchProcesses,
};

for (const [name, suite] of Object.entries(suites)) {
  if (only && only !== name) continue;
  console.log(`\n## ${name}\n`);
  console.log(await suite());
}
