import { describe, expect, it } from 'vitest';
import { isUuid, newRowId } from './ids.ts';

describe('newRowId', () => {
  it('makes a UUIDv7 whose first 48 bits are the time in milliseconds', () => {
    const before = Date.now();
    const id = newRowId();
    const after = Date.now();
    expect(isUuid(id)).toBe(true);
    expect(id[14]).toBe('7'); // version
    expect('89ab').toContain(id[19]); // RFC 9562 variant
    const millis = parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
    expect(millis).toBeGreaterThanOrEqual(before);
    expect(millis).toBeLessThanOrEqual(after);
  });

  it('orders ids of later milliseconds after earlier ones, and never repeats one', async () => {
    const first = newRowId();
    const sameMillisecond = Array.from({ length: 1000 }, () => newRowId());
    const start = Date.now();
    while (Date.now() === start) await new Promise((resolve) => setImmediate(resolve));
    const later = newRowId();
    expect(later > first).toBe(true);
    expect(sameMillisecond.every((id) => id < later)).toBe(true);
    expect(new Set([first, ...sameMillisecond, later]).size).toBe(1002);
  });
});
