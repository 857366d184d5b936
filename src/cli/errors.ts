/** A failure the operator can act on; exit codes follow sysexits where one fits. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = 1,
    /** The API's error code when the refusal is the domain's (`org_not_found`); else one per exit code. */
    readonly code: string = codeOfExit(exitCode),
  ) {
    super(message);
  }
}

export const EXIT_NOT_FOUND = 3;
export const EXIT_REFUSED = 4;
export const EXIT_USAGE = 64;
/** sysexits' EX_TEMPFAIL: try again later (the embedded engine's directory is held by another process). */
export const EXIT_TEMPFAIL = 75;
/** sysexits' EX_UNAVAILABLE: the database cannot be reached (down, refusing, unknown host); try again when it is up. */
export const EXIT_UNAVAILABLE = 69;
/** sysexits' EX_DATAERR: the database refused a migration (its schema is not what this version expects). */
export const EXIT_DATAERR = 65;
/** sysexits' EX_CONFIG: a configuration value is wrong (refused at load, or the port, host or DATA_DIR it names is unusable). */
export const EXIT_CONFIG = 78;

/** The `code` of a `--json` error without a domain code of its own: one per exit code. */
export function codeOfExit(exitCode: number): string {
  switch (exitCode) {
    case EXIT_NOT_FOUND:
      return 'not_found';
    case EXIT_REFUSED:
      return 'refused';
    case EXIT_USAGE:
      return 'invalid_usage';
    case EXIT_UNAVAILABLE:
      return 'unavailable';
    case EXIT_TEMPFAIL:
      return 'data_dir_in_use';
    case EXIT_CONFIG:
      return 'invalid_config';
    case EXIT_DATAERR:
      return 'migration_failed';
    default:
      return 'internal';
  }
}
