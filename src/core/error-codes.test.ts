import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_STATUS } from './error-codes.ts';

// docs/api.md's "Error codes" is the reference users read for every stable code: a table of the
// codes the HTTP API answers with their statuses, then a sentence naming the operator CLI's own.
const apiDoc = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
const section = apiDoc.slice(apiDoc.indexOf('\n## Error codes'));
const tableRows = [...section.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)].map(
  ([, code, status]) => [code!, Number(status)] as const,
);
const cliSentence = /The operator CLI also reports ([^]*?)the HTTP API never answers with them\./.exec(section)?.[1] ?? '';
// Codes are the sentence's backticked words with an underscore (not `unlimited` or an option).
const cliOnly = [...cliSentence.matchAll(/`([a-z]+_[a-z_]+)`/g)].map(([, code]) => code!);

describe('docs/api.md "Error codes"', () => {
  it('lists every code the HTTP API can answer, once, with the status the server sends', () => {
    const documented = new Map(tableRows);
    expect(tableRows.length, 'a code listed twice').toBe(documented.size);
    const answeredOverHttp = Object.entries(ERROR_STATUS).filter(([code]) => !cliOnly.includes(code));
    expect(Object.fromEntries(answeredOverHttp)).toEqual(Object.fromEntries(documented));
  });

  it('names as CLI-only only codes that exist and that the table does not list', () => {
    expect(cliOnly.length).toBeGreaterThan(0);
    for (const code of cliOnly) {
      expect(ERROR_STATUS, code).toHaveProperty(code);
      expect(tableRows.map(([listed]) => listed)).not.toContain(code);
    }
  });
});
