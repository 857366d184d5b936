import { domainToASCII, domainToUnicode } from 'node:url';
import { AppError } from './errors.ts';

export interface NormalizedEmail {
  /** As the person wrote it, trimmed. */
  email: string;
  /** The comparison form: lower-cased local part, domain in lower-case ASCII (punycode). */
  normalized: string;
}

// RFC 5322 dot-atom, ASCII only. Quoted local parts are refused on purpose: they are legal but
// rare, and allowing them opens lookalike and parsing ambiguities.
const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const ASCII_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Returns the normalized form, or undefined when `input` is not an address Roster accepts. */
export function parseEmail(input: string): NormalizedEmail | undefined {
  const email = input.trim();
  if (email.length === 0 || email.length > 254) return undefined;
  const at = email.lastIndexOf('@');
  if (at <= 0 || at === email.length - 1) return undefined;
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  if (local.length > 64 || !LOCAL_PART.test(local)) return undefined;
  const asciiDomain = canonicalDomain(domain);
  if (!asciiDomain) return undefined;
  return { email, normalized: `${local.toLowerCase()}@${asciiDomain}` };
}

export function normalizeEmail(input: string): NormalizedEmail {
  const parsed = parseEmail(input);
  if (!parsed) throw new AppError('invalid_email', 'Enter a valid email address, like name@example.com.');
  return parsed;
}

/**
 * The domain in lower-case ASCII, or undefined. Only ASCII letters are case-folded; any other
 * character must already be in its canonical IDNA form. UTS #46 mapping would otherwise fold
 * lookalikes (the Kelvin sign U+212A into "k", full-width letters into ASCII) and let two
 * different addresses normalize to one.
 */
function canonicalDomain(domain: string): string | undefined {
  // A bulk invitation's 1,000 addresses share a few domains: each is checked once (a pure function
  // of its input; the map starts over when it is full).
  const known = canonicalDomains.get(domain);
  if (known !== undefined) return known || undefined;
  const canonical = checkDomain(domain);
  if (canonicalDomains.size >= 10_000) canonicalDomains.clear();
  canonicalDomains.set(domain, canonical ?? '');
  return canonical;
}

/** Domain as written → its canonical form, or '' when refused. */
const canonicalDomains = new Map<string, string>();

function checkDomain(domain: string): string | undefined {
  if (domain.endsWith('.') || domain.length > 253) return undefined;
  // Case only: an upper-case letter whose lower case maps back to it (É ↔ é). The Kelvin sign
  // (U+212A) lower-cases to ASCII k but does not come back: kept, and refused below.
  const folded = domain.replace(/\p{Lu}/gu, (letter) => {
    const lower = letter.toLowerCase();
    return lower.toUpperCase() === letter ? lower : letter;
  });
  const ascii = domainToASCII(folded);
  if (!ascii || (ascii !== folded && domainToUnicode(ascii) !== folded)) return undefined;
  const labels = ascii.split('.');
  if (labels.length < 2 || !labels.every((label) => ASCII_LABEL.test(label))) return undefined;
  if (/^[0-9]+$/.test(labels[labels.length - 1] ?? '')) return undefined;
  return ascii;
}
