/** The server's rule for an organization slug (docs/api.md, POST /api/v1/org): 3 to 63 of a-z, 0-9 and "-". */
export const SLUG_PATTERN = /^[a-z0-9-]{3,63}$/;
export const SLUG_MIN_LENGTH = 3;
export const SLUG_MAX_LENGTH = 63;

/** The slug suggested for an organization name: "Acme Inc." -> "acme-inc". */
export function suggestSlug(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, SLUG_MAX_LENGTH);
}

/**
 * Live validation message for a slug, or null when it is fine. Each failing part of the rule gets
 * its own sentence ("Ab" has capitals and is too short), so the message never blames the wrong thing.
 */
export function slugProblem(slug: string): string | null {
  if (slug.length === 0) return 'Choose a slug for your organization’s address.';
  const problems: string[] = [];
  if (/[A-Z]/.test(slug)) problems.push('Use lowercase letters instead of capitals.');
  const others = [...new Set(slug.replace(/[a-zA-Z0-9-]/g, ''))];
  if (others.length > 0) {
    const shown = others.map((character) => (character === ' ' ? 'spaces' : `“${character}”`)).join(', ');
    problems.push(`Use only lowercase letters, digits and hyphens (not ${shown}).`);
  }
  if (slug.length < SLUG_MIN_LENGTH) problems.push(`Use at least ${SLUG_MIN_LENGTH} characters.`);
  if (slug.length > SLUG_MAX_LENGTH) problems.push(`Use at most ${SLUG_MAX_LENGTH} characters.`);
  return problems.length > 0 ? problems.join(' ') : null;
}
