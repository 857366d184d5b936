/**
 * `roster admin show-org acme | head -3`: once the reader has gone, writing to the pipe fails with
 * EPIPE, an 'error' event that, unhandled, ends the process with a stack trace. Like other command
 * line tools, stop writing quietly instead: the command still finishes (a change it made is
 * committed, the database closed) and exits with its own code. Any other write error still throws.
 */
export function ignoreClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') return;
    throw error;
  });
}

/** A value as `--json` prints it on stdout. */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

export const JSON_OPTION = ['--json', 'print JSON (what changed, for scripts)'] as const;

/** A command's outcome: `json` with --json, else the text lines for a person. */
export function reply(options: { json?: boolean }, json: unknown, text: () => (string | false)[]): void {
  if (options.json) return printJson(json);
  for (const line of text()) if (line !== false) console.log(line);
}
