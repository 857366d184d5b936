import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';
import { openDatabase } from './db/client.ts';
import { startServer } from './server.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'roster-server-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('startServer', () => {
  it('releases the database (and the embedded DATA_DIR) when it cannot listen', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const config = loadConfig({ PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
      await expect(startServer(config)).rejects.toMatchObject({ code: 'EADDRINUSE' });
      // Before the fix the failed server kept the database open and DATA_DIR locked (another
      // process could not use it while this one lived).
      expect(existsSync(join(dataDir, 'roster.lock'))).toBe(false);
      const reopened = await openDatabase({ dataDir });
      await reopened.close();
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });
});
