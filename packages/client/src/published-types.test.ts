// The package's public types compile for a Node-only consumer: lib ES2022 and the Node types, no
// DOM. The package's own tsconfig includes the DOM (the dashboard bundles the client), so a DOM-only
// name in a published signature (RequestCredentials was one: TS2304 for such a consumer) would pass
// there unseen. Checked on the source, which the published declarations are compiled from.
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ENTRY_POINTS = ['index.ts', 'fastify.ts', 'express.ts', 'webhooks.ts'].map((file) =>
  fileURLToPath(new URL(file, import.meta.url)),
);

describe('the published types', () => {
  it('compile for a Node-only consumer (lib ES2022, types node, no DOM)', () => {
    const program = ts.createProgram(ENTRY_POINTS, {
      target: ts.ScriptTarget.ES2022,
      lib: ['lib.es2022.d.ts'],
      types: ['node'],
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
      allowImportingTsExtensions: true,
      noEmit: true,
      // The dependencies' own declarations are theirs to check; the package's files are all checked.
      skipLibCheck: true,
    });
    const problems = ts
      .getPreEmitDiagnostics(program)
      .map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    expect(problems).toEqual([]);
  }, 60_000);
});
