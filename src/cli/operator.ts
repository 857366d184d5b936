import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { createBillingProvider } from '../billing/select-provider.ts';
import { loadConfig } from '../config.ts';
import { systemClock, type Ctx } from '../core/context.ts';
import { AppError } from '../core/errors.ts';
import { openDatabase, type Database } from '../db/client.ts';
import { schemaStatus } from '../db/migrate.ts';
import { CliError, EXIT_CONFIG, EXIT_NOT_FOUND, EXIT_REFUSED, EXIT_USAGE } from './errors.ts';
import { describeDatabase } from './failures.ts';
import { refuseControlCharacters } from './text.ts';

/** Longest operator name: the audit log's actor label is `operator:<name>`, shown on one line. */
export const MAX_OPERATOR_NAME = 100;

/**
 * Who runs an admin command, as the audit log names them (`operator:<name>`): ROSTER_OPERATOR;
 * unset, the person who ran sudo (SUDO_USER: under `sudo roster …` the login name is root, which
 * names nobody); else the login name. `loginName` is the system's lookup (replaced in tests).
 */
export function operatorName(env: NodeJS.ProcessEnv = process.env, loginName: () => string = () => userInfo().username): string {
  if (env.ROSTER_OPERATOR) return checkedName(env.ROSTER_OPERATOR, 'ROSTER_OPERATOR');
  if (env.SUDO_USER?.trim()) return checkedName(env.SUDO_USER, 'SUDO_USER');
  let login: string;
  try {
    login = loginName();
  } catch {
    // In a container the uid often has no passwd entry: os.userInfo() throws (uv_os_get_passwd ENOENT).
    const uid = process.getuid?.();
    throw new CliError(
      `cannot tell who you are: ${uid === undefined ? 'this user' : `user id ${uid}`} has no login name (no passwd entry). ` +
        'Set ROSTER_OPERATOR to your name (the audit log records you as operator:<name>).',
      EXIT_CONFIG,
    );
  }
  return checkedName(login, 'your login name');
}

/** One line, not blank, at most MAX_OPERATOR_NAME characters; surrounding spaces dropped. */
function checkedName(value: string, source: string): string {
  // The audit log's actor label: one line, so it cannot forge entries in the text output.
  const name = refuseControlCharacters(value, source).trim();
  if (!name) throw new CliError(`${source} must name you: it is blank.`, EXIT_USAGE);
  if ([...name].length > MAX_OPERATOR_NAME) {
    throw new CliError(`${source} must be at most ${MAX_OPERATOR_NAME} characters.`, EXIT_USAGE);
  }
  return name;
}

/** Opens the configured database and a context whose actor is the operator running the CLI. */
export async function withOperator<T>(work: (ctx: Ctx, database: Database) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const operator = operatorName();
  if (!config.databaseUrl) requireEmbeddedDatabase(config.dataDir);
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  try {
    await requireCurrentSchema(
      database,
      config.databaseUrl ? describeDatabase(config.databaseUrl) : `in DATA_DIR ${resolve(config.dataDir)}`,
    );
    const ctx: Ctx = {
      db: database.db,
      config,
      clock: systemClock,
      // The server's provider (Stripe when configured): set-plan --cancel-subscription cancels there.
      billing: createBillingProvider(config),
      requestId: `cli-${randomUUID()}`,
      actor: {
        userId: '00000000-0000-0000-0000-000000000000',
        email: `${operator}@operator`,
        name: operator,
        emailVerified: true,
        membership: null,
        via: 'operator',
        credentialId: null,
      },
    };
    return await work(ctx, database);
  } catch (error) {
    throw error instanceof AppError ? toCliError(error) : error;
  } finally {
    await database.close();
  }
}

/**
 * Admin commands never migrate: on a database that is not the server's (DATABASE_URL or DATA_DIR
 * mistyped) they would create Roster's tables and act there, e.g. print a service token that no
 * server knows; on one not migrated yet (a rolling upgrade before `roster migrate`) they would
 * migrate it from under the running servers. Only `start` and `migrate` migrate.
 */
async function requireCurrentSchema(database: Database, where: string): Promise<void> {
  const status = await schemaStatus(database.db);
  if (status.state === 'none') {
    throw new CliError(
      `the database ${where} holds no Roster data: check that DATABASE_URL (or DATA_DIR) names the server's database; ` +
        'for a new one, run `roster migrate` first.',
      EXIT_CONFIG,
    );
  }
  if (status.state === 'behind') {
    throw new CliError(
      `the database ${where} is not migrated to this version (${status.pending.length} pending, up to ${status.pending.at(-1)}): ` +
        'run `roster migrate` first.',
      EXIT_CONFIG,
    );
  }
}

/**
 * An admin command acts on the server's data: on a DATA_DIR that holds no database yet (unset or
 * mistyped) it would create an empty one (seconds and most of a gigabyte) and act on that, e.g.
 * print a service token that no server knows. Only `start` and `migrate` create the directory.
 */
function requireEmbeddedDatabase(dataDir: string): void {
  if (existsSync(join(dataDir, 'PG_VERSION'))) return;
  throw new CliError(
    `DATA_DIR ${resolve(dataDir)} holds no Roster database. Set DATA_DIR to the server's data directory ` +
      "(or DATABASE_URL to the server's PostgreSQL); `roster migrate` or `roster start` creates a new one.",
    EXIT_NOT_FOUND,
  );
}

/** Domain refusals become operator messages with an exit code per kind of failure. */
function toCliError(error: AppError): CliError {
  if (error.code.endsWith('_not_found')) return new CliError(error.message, EXIT_NOT_FOUND, error.code);
  if (error.code.startsWith('invalid_')) return new CliError(`${error.message} (${error.code})`, EXIT_USAGE, error.code);
  return new CliError(`${error.message} (${error.code})`, EXIT_REFUSED, error.code);
}
