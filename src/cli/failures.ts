import { resolve } from 'node:path';
import type { Config } from '../config.ts';
import { isDatabaseUnavailable, sqlState } from '../core/errors.ts';
import { safeMessage, serializeError, type SerializedError } from '../core/logging.ts';
import { CliError, EXIT_CONFIG, EXIT_UNAVAILABLE } from './errors.ts';

// The start-up failures an operator causes or can fix (the database down or misnamed, a data
// directory that cannot be created, the port taken), told in one line that names what to check,
// with a documented exit code instead of a stack trace and 1.

interface SystemError {
  code?: unknown;
  syscall?: unknown;
  path?: unknown;
  address?: unknown;
  port?: unknown;
  message?: unknown;
}

const DATA_DIR_ERRNO = new Set(['ENOTDIR', 'EACCES', 'EPERM', 'EROFS', 'EEXIST', 'ENOSPC', 'ENOENT', 'ELOOP']);

/** The operator's message and exit code for a failure of `roster start`, `migrate` or `admin …`; undefined: a bug. */
export function explainFailure(error: unknown, config: Config | undefined): CliError | undefined {
  if (!config || !error || typeof error !== 'object') return undefined;
  const system = error as SystemError;
  if (system.syscall === 'listen') return listenFailure(system, config);
  if (config.databaseUrl) return databaseFailure(error, config.databaseUrl);
  if (typeof system.code === 'string' && DATA_DIR_ERRNO.has(system.code) && typeof system.path === 'string') {
    const dataDir = resolve(config.dataDir);
    const path = resolve(system.path);
    // The directory itself or a file in it; a parent only when creating the directory failed there.
    if (path.startsWith(dataDir) || (system.syscall === 'mkdir' && dataDir.startsWith(path))) {
      return new CliError(
        `DATA_DIR ${dataDir} cannot be created or written (${system.code}): set DATA_DIR to a directory this user can write, or set DATABASE_URL.`,
        EXIT_CONFIG,
      );
    }
  }
  return undefined;
}

function listenFailure(error: SystemError, config: Config): CliError | undefined {
  const where = `${config.host}:${config.port}`;
  switch (error.code) {
    case 'EADDRINUSE':
      return new CliError(
        `cannot listen on ${where}: the address is already in use (another server running?). Stop it, or set PORT (or HOST) to a free one.`,
        EXIT_CONFIG,
      );
    case 'EACCES':
      return new CliError(
        `cannot listen on ${where}: permission denied (ports below 1024 need privileges). Set PORT to 1024 or above.`,
        EXIT_CONFIG,
      );
    case 'EADDRNOTAVAIL':
      return new CliError(
        `cannot listen on ${where}: HOST ${config.host} is not an address of this machine. Set HOST (127.0.0.1, 0.0.0.0, or one of its addresses).`,
        EXIT_CONFIG,
      );
    default:
      return undefined;
  }
}

function databaseFailure(error: unknown, databaseUrl: string): CliError | undefined {
  const target = describeDatabase(databaseUrl);
  const code = sqlState(error);
  const cause = databaseReason(error);
  // Retrying does not help these two: the URL names a database or a login the server does not have.
  if (code === '3D000') {
    return new CliError(
      `the database ${target} does not exist (${cause}): create it, or fix the database name in DATABASE_URL.`,
      EXIT_CONFIG,
    );
  }
  if (code === '28P01' || code === '28000') {
    return new CliError(
      `the database ${target} refused the login (${cause}): check the user and password in DATABASE_URL.`,
      EXIT_CONFIG,
    );
  }
  if (isDatabaseUnavailable(error)) {
    return new CliError(
      `cannot reach the database ${target} (${cause}): check that PostgreSQL is running and that DATABASE_URL is right.`,
      EXIT_UNAVAILABLE,
    );
  }
  return undefined;
}

/**
 * What the database or its driver said ("Connection terminated unexpectedly"), not the statement
 * that met it: Drizzle wraps the driver's error as "Failed query: <SQL> params: …", which tells an
 * operator nothing they can act on. Never a parameter or a token (safeMessage).
 */
export function databaseReason(error: unknown): string {
  const wrapped = error as { query?: unknown; cause?: unknown };
  return typeof wrapped.query === 'string' && wrapped.cause instanceof Error ? safeMessage(wrapped.cause) : safeMessage(error);
}

/**
 * A failure that is a bug of ours, as the CLI prints it: one line, then the stack trace for whoever
 * reports it, both as the server's log would show them (serializeError): a failed statement's
 * parameters (emails, password and token hashes) or a token never reach the terminal, nor a log
 * that captures the command's output.
 */
export function describeBug(error: unknown): string {
  const lines = [`roster: internal error (a bug; report it with the lines below): ${safeMessage(error)}`];
  for (let shown: SerializedError | undefined = serializeError(error); shown; shown = shown.cause) {
    lines.push(`${lines.length > 1 ? 'caused by: ' : ''}${shown.stack || `${shown.type}: ${shown.message}`}`);
  }
  return lines.join('\n');
}

/** Host, port and database of a DATABASE_URL, never its password. */
export function describeDatabase(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    return `"${decodeURIComponent(url.pathname.slice(1)) || '(default)'}" on ${url.hostname || 'localhost'}:${url.port || 5432} (DATABASE_URL)`;
  } catch {
    return 'of DATABASE_URL';
  }
}
