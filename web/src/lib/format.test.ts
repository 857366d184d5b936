import { describe, expect, it } from 'vitest';
import { formatBytes, periodAfter } from './format';

describe('formatBytes', () => {
  it('regression: labels the binary sizes it computes as GiB/TiB (1 GiB per Team seat), not GB/TB', () => {
    expect(formatBytes(1024 ** 3)).toBe('1.0 GiB');
    expect(formatBytes(5 * 1024 ** 3)).toBe('5.0 GiB');
    expect(formatBytes(25 * 1024 ** 4)).toBe('25 TiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(null)).toBe('Unlimited');
  });
});

describe('periodAfter', () => {
  it('regression: adds no second full stop after a name ending with one ("Acme Rockets Inc..")', () => {
    expect(`to join Acme Rockets Inc.${periodAfter('Acme Rockets Inc.')}`).toBe('to join Acme Rockets Inc.');
    expect(`to join Acme${periodAfter('Acme')}`).toBe('to join Acme.');
    expect(periodAfter('Yahoo!')).toBe('');
  });
});
