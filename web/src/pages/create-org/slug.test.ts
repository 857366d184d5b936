import { describe, expect, it } from 'vitest';
import { slugProblem, suggestSlug } from './slug';

describe('organization slug', () => {
  it('suggests a slug from the name', () => {
    expect(suggestSlug('Acme Inc.')).toBe('acme-inc');
    expect(suggestSlug('  Café Zürich  ')).toBe('cafe-zurich');
  });

  it('validates live against ^[a-z0-9-]{3,}$', () => {
    expect(slugProblem('acme-42')).toBeNull();
    expect(slugProblem('ac')).toBe('Use at least 3 characters.');
    expect(slugProblem('Acme')).toBe('Use lowercase letters only.');
    expect(slugProblem('acme_inc')).toBe('Use only lowercase letters, digits and hyphens.');
  });
});
