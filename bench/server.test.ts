import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { startBenchServer } from './harness.ts';

// `npm run bench` is how issue 13's figures are taken; nothing else in the suite starts its server.
describe('the benchmark server', () => {
  it('starts as `npm run bench` starts it, without PORT (regression: PORT=0 was refused once PORT had to be 1-65535)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'roster-bench-'));
    const server = await startBenchServer({ DATA_DIR: dataDir });
    try {
      expect(new URL(server.url).port).not.toBe('0');
      const constant = await fetch(`${server.url}/bench/constant`);
      expect([constant.status, await constant.json()]).toEqual([200, { ok: true }]);
      const select = await fetch(`${server.url}/bench/one-select?id=${randomUUID()}`);
      expect([select.status, await select.json()]).toEqual([200, { id: null, email: null, name: null }]);
    } finally {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
