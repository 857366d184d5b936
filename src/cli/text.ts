import { CONTROL_CHARACTERS, hasControlCharacter } from '../core/text.ts';
import { CliError, EXIT_USAGE } from './errors.ts';

// In a name printed on one line of the CLI's text output, a control character starts a forged line
// or rewrites the terminal.

/** A value given on the command line or in the environment that is printed later: one line only. */
export function refuseControlCharacters(value: string, name: string): string {
  if (hasControlCharacter(value)) {
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
