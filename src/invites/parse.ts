import { parseEmail } from '../core/email.ts';

/** One distinct entry of a bulk request, in input order. */
export type BulkAddress =
  { email: string; normalized: string; isValid: true } | { email: string; normalized: null; isValid: false };

// A quoted local part ("john doe"@example.com) is one token, so it is reported whole (and refused),
// not split at its space into fragments.
const TOKEN = /"[^"\r\n]*"@[^\s,;<>()]+|[^\s,;<>()]+/g;
const QUOTED_LOCAL_PART = /^"[^"]*"@/;
// Prose wraps addresses in brackets or quotes and ends sentences with punctuation.
const LEADING_PUNCTUATION = /^[("'[{]+/;
const TRAILING_PUNCTUATION = /[.,:;!?)"'\]}]+$/;

/**
 * Addresses in free text: separated by commas, semicolons, whitespace or newlines, written
 * `Name <addr>`, or sitting inside prose. Words without `@` are prose and ignored; a token with
 * `@` that is not an address Roster accepts is kept as invalid so the caller can report it.
 */
export function extractAddresses(text: string): BulkAddress[] {
  const entries: BulkAddress[] = [];
  for (const match of text.matchAll(TOKEN)) {
    const raw = match[0];
    if (!raw.includes('@')) continue;
    const token = QUOTED_LOCAL_PART.test(raw) ? raw : raw.replace(LEADING_PUNCTUATION, '').replace(TRAILING_PUNCTUATION, '');
    entries.push(classify(token.includes('@') ? token : raw));
  }
  return distinct(entries);
}

/** Addresses given as a list: each entry is one address, optionally written `Name <addr>`. */
export function addressesFromList(emails: readonly string[]): BulkAddress[] {
  return distinct(
    emails
      .map((entry) => {
        const trimmed = entry.trim();
        const angled = /^[^<>]*<([^<>]*)>$/.exec(trimmed);
        return angled?.[1]?.trim() ?? trimmed;
      })
      .filter((entry) => entry.length > 0)
      .map(classify),
  );
}

function classify(token: string): BulkAddress {
  const parsed = parseEmail(token);
  return parsed
    ? { email: parsed.email, normalized: parsed.normalized, isValid: true }
    : { email: token, normalized: null, isValid: false };
}

/** First occurrence wins; valid addresses compare by normalized form, invalid ones case-insensitively. */
function distinct(entries: BulkAddress[]): BulkAddress[] {
  const seen = new Set<string>();
  return entries.filter((entry) => {
    const key = entry.isValid ? `ok:${entry.normalized}` : `bad:${entry.email.toLowerCase()}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
