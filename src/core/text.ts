// Text that PostgreSQL cannot store in `text` or `jsonb`: U+0000, and half of a surrogate pair
// (JSON can spell both with \u escapes; JavaScript strings can hold them).
// eslint-disable-next-line no-control-regex -- U+0000 is exactly what must be found
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function hasUnstorableText(text: string): boolean {
  return UNSTORABLE.test(text);
}
