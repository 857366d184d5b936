/** A failure the operator can act on; exit codes follow sysexits where one fits. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = 1,
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
/** sysexits' EX_CONFIG: a configuration value is wrong (refused at load, or the port, host or DATA_DIR it names is unusable). */
export const EXIT_CONFIG = 78;
