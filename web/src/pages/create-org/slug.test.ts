import { describe, expect, it } from 'vitest';
import { slugProblem, suggestSlug } from './slug';

describe('organization slug', () => {
  it('suggests a slug from the name', () => {
    expect(suggestSlug('Acme Inc.')).toBe('acme-inc');
    expect(suggestSlug('  Café Zürich  ')).toBe('cafe-zurich');
  });

  it('validates live against the server’s ^[a-z0-9-]{3,63}$', () => {
    expect(slugProblem('acme-42')).toBeNull();
    expect(slugProblem('ac')).toBe('Use at least 3 characters.');
    expect(slugProblem('Acme')).toBe('Use lowercase letters instead of capitals.');
    expect(slugProblem('acme_inc')).toBe('Use only lowercase letters, digits and hyphens (not “_”).');
    expect(slugProblem('a'.repeat(64))).toBe('Use at most 63 characters.');
    expect(slugProblem('a'.repeat(63))).toBeNull();
  });

  it('regression: "Ab" is told about the capital and the length, not "lowercase letters only" (digits and hyphens are fine)', () => {
    expect(slugProblem('Ab')).toBe('Use lowercase letters instead of capitals. Use at least 3 characters.');
    expect(slugProblem('acme-42')).toBeNull();
  });

  it('names each character that is not allowed, once', () => {
    expect(slugProblem('acme inc.co_uk.')).toBe('Use only lowercase letters, digits and hyphens (not spaces, “.”, “_”).');
  });
});
