// `npm run bench`: runs every benchmark and prints its markdown table (copy the figures into bench/README.md).
import { benchUsage } from './usage.ts';

console.log('## Usage hot path\n');
console.log(await benchUsage());
