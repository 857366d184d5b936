import { describe, expect, it } from 'vitest';
import { formatSettings, invalidJsonMessage, parseSettings } from './settingsJson';

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

  it("regression: says where invalid JSON is in a plain sentence, not the parser's message", () => {
    const result = parseSettings('{a: 1}');
    expect(result).toEqual({
      ok: false,
      error: 'This is not valid JSON (line 1, column 2). Check for a missing quote, comma or brace.',
    });
    const multiline = parseSettings('{\n  "a": 1,\n  b\n}');
    expect(multiline).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^This is not valid JSON \(line 3, column 3\)\./),
    });
  });

  it("reads the location from each engine's message, or gives the plain sentence without one", () => {
    const text = '{\n  "a": 1,\n}';
    expect(invalidJsonMessage(text, 'Expected double-quoted property name in JSON at position 12 (line 3 column 1)')).toBe(
      'This is not valid JSON (line 3, column 1). Check for a missing quote, comma or brace.',
    );
    expect(invalidJsonMessage(text, 'Unexpected token } in JSON at position 12')).toBe(
      'This is not valid JSON (line 3, column 1). Check for a missing quote, comma or brace.',
    );
    expect(invalidJsonMessage(text, 'JSON.parse: expected double-quoted property name at line 3 column 1 of the JSON data')).toBe(
      'This is not valid JSON (line 3, column 1). Check for a missing quote, comma or brace.',
    );
    expect(invalidJsonMessage(text, "JSON Parse error: Expected '}'")).toBe(
      'This is not valid JSON. Check for a missing quote, comma or brace.',
    );
  });
});
