// The typed client's request/reply types (@roster/client, used by the dashboard and host apps) are
// generated from this server's OpenAPI document; a committed packages/client/src/schema.d.ts that
// no longer matches it would let the client drift from the server.
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

describe("the typed client's generated API types", () => {
  it('match the OpenAPI document the server publishes now (run `npm run gen:api` when this fails)', async () => {
    const expected = await renderApiTypes(await buildOpenApiDocument());
    const committed = readFileSync(SCHEMA_FILE, 'utf8');
    const isCurrent = committed === expected;
    expect(
      isCurrent,
      isCurrent
        ? ''
        : `packages/client/src/schema.d.ts is stale: run \`npm run gen:api\` and commit the result (${firstDifference(committed, expected)})`,
    ).toBe(true);
  });
});
