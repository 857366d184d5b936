export const SLUG_PATTERN = /^[a-z0-9-]{3,}$/;

/** The slug suggested for an organization name: "Acme Inc." -> "acme-inc". */
export function suggestSlug(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);
}

/** Live validation message for a slug, or null when it is fine. */
export function slugProblem(slug: string): string | null {
  if (slug.length === 0) return 'Choose a slug for your organization’s address.';
  if (/[A-Z]/.test(slug)) return 'Use lowercase letters only.';
  if (!/^[a-z0-9-]*$/.test(slug)) return 'Use only lowercase letters, digits and hyphens.';
  if (!SLUG_PATTERN.test(slug)) return 'Use at least 3 characters.';
  return null;
}
