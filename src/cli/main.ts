import { ignoreClosedPipe } from './output.ts';
import { runCli } from './program.ts';

// The command line entry (`bin/roster.js`, `npm start`); tests call runCli in-process.
ignoreClosedPipe(process.stdout);
ignoreClosedPipe(process.stderr);
const code = await runCli(process.argv.slice(2));
if (code !== undefined) process.exit(code);
