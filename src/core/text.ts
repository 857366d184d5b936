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
