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
