// The dashboard's request/reply types are generated from this server's OpenAPI document; a
// committed web/src/api/schema.d.ts that no longer matches it would let the two drift apart.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument, renderApiTypes, SCHEMA_FILE } from '../../scripts/gen-api.ts';

function firstDifference(committed: string, expected: string): string {
  const committedLines = committed.split('\n');
  const expectedLines = expected.split('\n');
  const index = expectedLines.findIndex((line, at) => committedLines[at] !== line);
  const at = index === -1 ? expectedLines.length : index;
  return `line ${at + 1}: committed ${JSON.stringify(committedLines[at])}, expected ${JSON.stringify(expectedLines[at])}`;
}

describe("the dashboard's generated API types", () => {
  it('match the OpenAPI document the server publishes now (run `npm run gen:api` when this fails)', async () => {
    const expected = await renderApiTypes(await buildOpenApiDocument());
    const committed = readFileSync(SCHEMA_FILE, 'utf8');
    const isCurrent = committed === expected;
    expect(
      isCurrent,
      isCurrent
        ? ''
        : `web/src/api/schema.d.ts is stale: run \`npm run gen:api\` and commit the result (${firstDifference(committed, expected)})`,
    ).toBe(true);
  });
});
