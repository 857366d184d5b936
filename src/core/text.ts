// Text that PostgreSQL cannot store in `text` or `jsonb`: U+0000, and half of a surrogate pair
// (JSON can spell both with \u escapes; JavaScript strings can hold them).
// eslint-disable-next-line no-control-regex -- U+0000 is exactly what must be found
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function hasUnstorableText(text: string): boolean {
  return UNSTORABLE.test(text);
}

// C0 and C1 controls (a newline, a carriage return, an escape sequence) and the Unicode line and
// paragraph separators: in text meant for one line (a mail header, a line of CLI output) they start
// another line.
const CONTROL_CHARACTER = /[\p{Cc}\u2028\u2029]/u;
/** Every control character, for replacing them (a global expression: use with `replace` only). */
export const CONTROL_CHARACTERS = new RegExp(CONTROL_CHARACTER.source, 'gu');

export function hasControlCharacter(text: string): boolean {
  return CONTROL_CHARACTER.test(text);
}

/**
 * A name as stored (a person's, an org's, a project's, a token's): trimmed, on one line. Undefined
 * when blank or when it holds a control character: a line break or an escape sequence in a name
 * would forge lines wherever it is shown on its own line (a CLI listing, a log, a mail header).
 */
export function cleanName(value: string): string | undefined {
  const name = value.trim();
  return name && !hasControlCharacter(name) ? name : undefined;
}
