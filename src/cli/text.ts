import { CliError, EXIT_USAGE } from './errors.ts';

// C0 and C1 controls (a newline, a carriage return, an escape sequence) and the Unicode line and
// paragraph separators: in a name printed on one line of the CLI's text output they start a
// forged line or rewrite the terminal.
const CONTROL_CHARACTER = /[\p{Cc}\u2028\u2029]/u;
const CONTROL_CHARACTERS = new RegExp(CONTROL_CHARACTER.source, 'gu');

/** A value given on the command line or in the environment that is printed later: one line only. */
export function refuseControlCharacters(value: string, name: string): string {
  if (CONTROL_CHARACTER.test(value)) {
    throw new CliError(
      `${name} must not contain control characters such as a line break or a tab; give it on one line.`,
      EXIT_USAGE,
    );
  }
  return value;
}

/** Text for one line of output: control characters escaped (`\n`, `\u001b`), so stored text cannot add lines. */
export function printable(text: string): string {
  return text.replace(CONTROL_CHARACTERS, (character) => {
    if (character === '\n') return '\\n';
    if (character === '\r') return '\\r';
    if (character === '\t') return '\\t';
    return `\\u${character.codePointAt(0)!.toString(16).padStart(4, '0')}`;
  });
}
