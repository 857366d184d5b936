import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { ConfigError, loadConfig } from '../config.ts';
import { safeMessage } from '../core/logging.ts';
import { PACKAGE_ROOT } from '../core/paths.ts';
import { DataDirInUseError, openDatabase } from '../db/client.ts';
import { migrate, MigrationError } from '../db/migrate.ts';
import { registerAdminCommands } from './admin.ts';
import { CliError, EXIT_CONFIG, EXIT_DATAERR, EXIT_TEMPFAIL, EXIT_USAGE } from './errors.ts';
import { describeBug, explainFailure } from './failures.ts';
import { wholeNumber } from './numbers.ts';
import { runStart, type StartOptions } from './start.ts';

/** The `roster` command tree; a new one per run, so that a run leaves no parsed state behind. */
export function createProgram(options: { json?: boolean } = {}): Command {
  const program = new Command();
  program
    .name('roster')
    .description('Roster: organizations, members, invitations, seats and usage limits.')
    .version(packageVersion(), '-V, --version', 'print the version of Roster');
  // Usage mistakes (unknown option, missing --seats) exit with EXIT_USAGE, not commander's 1.
  program.exitOverride();
  // With --json, the parser's own refusals are JSON too, like every other failure (runCli).
  if (options.json) {
    program.configureOutput({
      outputError: (message, write) =>
        write(`${jsonFailure(new CliError(message.replace(/^error: /, '').trim(), EXIT_USAGE))}\n`),
    });
  }

  program
    .command('start')
    .description('Run migrations and serve the API and dashboard')
    .option('--no-build', 'do not build the dashboard even when it is missing or stale')
    .option(
      '--workers <n>',
      'processes serving the port (node:cluster; more than 1 needs DATABASE_URL)',
      wholeNumber('--workers'),
      1,
    )
    .action((options: StartOptions) => runStart(options));

  program
    .command('migrate')
    .description('Apply pending database migrations and exit')
    .action(async () => {
      const config = loadConfig();
      const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
      try {
        const applied = await migrate(database);
        console.log(applied.length ? `Applied ${applied.join(', ')}` : 'The database is up to date.');
      } finally {
        await database.close();
      }
    });

  registerAdminCommands(program);
  return program;
}

/**
 * Runs `roster <args>` in this process (configuration from `process.env`). Resolves with the
 * exit code the process must exit with at once, or `undefined` when the command finished normally
 * and the process ends by itself (`start` keeps serving). Errors are printed to stderr here.
 */
export async function runCli(args: string[]): Promise<number | undefined> {
  // With --json a script reads stdout as JSON; its failures are JSON on stderr too, in the API's
  // error shape with the exit code beside it.
  const json = args.includes('--json');
  const report = (failure: CliError): number => {
    console.error(json ? jsonFailure(failure) : `roster: ${failure.message}`);
    return failure.exitCode;
  };
  try {
    await createProgram({ json }).parseAsync(args, { from: 'user' });
    return undefined;
  } catch (error: unknown) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : EXIT_USAGE;
    if (error instanceof CliError) return report(error);
    if (error instanceof ConfigError) return report(new CliError(error.message, EXIT_CONFIG));
    // Another process (a running server) holds the embedded engine's directory: the operator's to
    // resolve, so the message alone, no stack trace.
    if (error instanceof DataDirInUseError) return report(new CliError(error.message, EXIT_TEMPFAIL));
    // The database's to fix (or the operator's to explain), not a bug of ours: one line, no stack.
    // (A database lost during the run is explained as any lost database is, below.)
    if (error instanceof MigrationError && !explainFailure(error.cause, configOrUndefined())) {
      return report(new CliError(error.message, EXIT_DATAERR));
    }
    const explained = explainFailure(error instanceof MigrationError ? error.cause : error, configOrUndefined());
    if (explained) return report(explained);
    // A bug: the JSON line for the script, then the stack trace for whoever reports it.
    if (json) report(new CliError(safeMessage(error), 1));
    console.error(describeBug(error));
    return 1;
  }
}

/** A failure as `--json` prints it on stderr: the API's error shape, with the exit code beside it. */
function jsonFailure(failure: CliError): string {
  return JSON.stringify({ error: { code: failure.code, message: failure.message, exit_code: failure.exitCode } });
}

/** package.json's version: the one place it is written (read at run time, also by the bundle). */
function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version?: unknown };
  return typeof manifest.version === 'string' ? manifest.version : 'unknown';
}

/** The configuration the failed command ran with (it loaded before anything could fail on it). */
function configOrUndefined() {
  try {
    return loadConfig();
  } catch {
    return undefined;
  }
}
