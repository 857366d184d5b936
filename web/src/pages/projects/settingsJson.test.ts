import { describe, expect, it } from 'vitest';
import { formatSettings, parseSettings } from './settingsJson';

describe('project settings JSON', () => {
  it('pretty-prints with two spaces, and shows missing settings as {}', () => {
    expect(formatSettings({ a: [1, 2] })).toBe('{\n  "a": [\n    1,\n    2\n  ]\n}');
    expect(formatSettings(null)).toBe('{}');
  });

  it('accepts a JSON object', () => {
    expect(parseSettings(' {"theme": "dark", "n": 1} ')).toEqual({ ok: true, settings: { theme: 'dark', n: 1 } });
  });

  it('refuses invalid JSON, an empty field and anything but an object', () => {
    expect(parseSettings('{"a": 1,}')).toMatchObject({ ok: false, error: expect.stringMatching(/^This is not valid JSON/) });
    expect(parseSettings('   ')).toMatchObject({ ok: false, error: expect.stringMatching(/Enter the settings/) });
    for (const text of ['[]', 'null', '"text"', '42', 'true']) {
      expect(parseSettings(text)).toMatchObject({ ok: false, error: expect.stringMatching(/must be a JSON object/) });
    }
  });
});
