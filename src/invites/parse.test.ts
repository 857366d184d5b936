import { describe, expect, it } from 'vitest';
import { addressesFromList, extractAddresses } from './parse.ts';

/** [email, normalized or 'invalid'] per distinct entry, in input order. */
function parsed(text: string) {
  return extractAddresses(text).map((entry) => [entry.email, entry.isValid ? entry.normalized : 'invalid']);
}

describe('extractAddresses', () => {
  const table: [string, string, (string | null)[][]][] = [
    [
      'commas',
      'a@example.com,b@example.com',
      [
        ['a@example.com', 'a@example.com'],
        ['b@example.com', 'b@example.com'],
      ],
    ],
    [
      'semicolons',
      'a@example.com; b@example.com;c@example.com',
      [
        ['a@example.com', 'a@example.com'],
        ['b@example.com', 'b@example.com'],
        ['c@example.com', 'c@example.com'],
      ],
    ],
    [
      'spaces and tabs',
      'a@example.com \t b@example.com',
      [
        ['a@example.com', 'a@example.com'],
        ['b@example.com', 'b@example.com'],
      ],
    ],
    [
      'newlines (LF and CRLF)',
      'a@example.com\nb@example.com\r\nc@example.com',
      [
        ['a@example.com', 'a@example.com'],
        ['b@example.com', 'b@example.com'],
        ['c@example.com', 'c@example.com'],
      ],
    ],
    [
      'Name <addr>',
      'Alice Smith <alice@example.com>, "Bob, Jr." <bob@example.com>',
      [
        ['alice@example.com', 'alice@example.com'],
        ['bob@example.com', 'bob@example.com'],
      ],
    ],
    [
      'addresses inside prose',
      'Hi! Please invite alice@example.com and (bob@example.org), also "carol@example.net". Thanks, Dave',
      [
        ['alice@example.com', 'alice@example.com'],
        ['bob@example.org', 'bob@example.org'],
        ['carol@example.net', 'carol@example.net'],
      ],
    ],
    [
      'mixed-case duplicates count once (first spelling kept)',
      'Alice@Example.com alice@example.COM ALICE@EXAMPLE.COM',
      [['Alice@Example.com', 'alice@example.com']],
    ],
    [
      'internationalized domains compare in punycode',
      'user@bücher.de user@xn--bcher-kva.de',
      [['user@bücher.de', 'user@xn--bcher-kva.de']],
    ],
    [
      'upper-case international domains fold to the same address',
      'x@Éxample.com x@ÉXAMPLE.COM x@éxample.com',
      [['x@Éxample.com', 'x@xn--xample-9ua.com']],
    ],
    ['non-ASCII local parts are refused', 'ünïcode@example.com', [['ünïcode@example.com', 'invalid']]],
    [
      'quoted local parts are refused whole',
      '"john doe"@example.com, "x"@example.com',
      [
        ['"john doe"@example.com', 'invalid'],
        ['"x"@example.com', 'invalid'],
      ],
    ],
    [
      'a trailing dot ending a sentence is punctuation',
      'Write to alice@example.com.',
      [['alice@example.com', 'alice@example.com']],
    ],
    [
      'dots inside the local part that make it invalid',
      'alice.@example.com .bob@example.com c..d@example.com',
      [
        ['alice.@example.com', 'invalid'],
        ['.bob@example.com', 'invalid'],
        ['c..d@example.com', 'invalid'],
      ],
    ],
    [
      'tokens with @ that are not addresses',
      '@ foo@ @example.com a@b a@@b.com',
      [
        ['@', 'invalid'],
        ['foo@', 'invalid'],
        ['@example.com', 'invalid'],
        ['a@b', 'invalid'],
        ['a@@b.com', 'invalid'],
      ],
    ],
    ['words without @ are ignored', 'please add these people', []],
    ['empty input', '', []],
    ['whitespace and separators only', ' ,;\n\t ; ', []],
  ];
  it.each(table)('%s', (_name, text, expected) => {
    expect(parsed(text)).toEqual(expected);
  });

  it('refuses addresses of 320+ characters (and any over 254)', () => {
    const long = `${'a'.repeat(64)}@${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.${'e'.repeat(60)}.${'f'.repeat(10)}.com`;
    expect(long.length).toBeGreaterThan(320);
    const justOver = `${'a'.repeat(59)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.com`;
    expect(justOver.length).toBe(255);
    expect(parsed(`${long} ok@example.com ${justOver}`)).toEqual([
      [long, 'invalid'],
      ['ok@example.com', 'ok@example.com'],
      [justOver, 'invalid'],
    ]);
  });

  it('keeps lookalike addresses apart from the ASCII ones', () => {
    // Kelvin sign U+212A and dotless ı: refused in local parts, never folded into ASCII in domains.
    expect(parsed('\u212Aate@example.com kate@\u212Aite.com al\u0131ce@example.com')).toEqual([
      ['\u212Aate@example.com', 'invalid'],
      ['kate@\u212Aite.com', 'invalid'],
      ['al\u0131ce@example.com', 'invalid'],
    ]);
    const [dotless] = extractAddresses('alice@l\u0131nk.com');
    expect(dotless?.isValid && dotless.normalized).not.toBe('alice@link.com');
  });
});

describe('addressesFromList', () => {
  it('takes each entry as one address, with Name <addr>, deduplicated case-insensitively', () => {
    const entries = addressesFromList([
      'a@example.com',
      ' Bob <b@example.com> ',
      'A@EXAMPLE.COM',
      'broken@',
      '',
      'x@example.com.',
    ]);
    expect(entries.map((entry) => [entry.email, entry.isValid ? entry.normalized : 'invalid'])).toEqual([
      ['a@example.com', 'a@example.com'],
      ['b@example.com', 'b@example.com'],
      ['broken@', 'invalid'],
      // In a list an entry is an address, not prose: the trailing dot makes it invalid.
      ['x@example.com.', 'invalid'],
    ]);
  });
});
