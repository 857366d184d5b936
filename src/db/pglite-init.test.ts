import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, queryRows } from './client.ts';
import { initializeDataDir } from './pglite-init.ts';

describe('a new embedded data directory, created in a child process (src/db/pglite-init.ts)', () => {
  const dirs: string[] = [];
  const newDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'roster-pglite-init-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('is created whole, opens with the durable settings, and keeps what was written across a reopen', async () => {
    const dir = newDir();
    await initializeDataDir(dir);
    expect(existsSync(join(dir, 'PG_VERSION'))).toBe(true);

    const first = await openDatabase({ dataDir: dir });
    try {
      // As an embedded directory always was (fsync stays PGlite's own: the README's "What the
      // embedded engine does not promise").
      const settings = await queryRows<{ sync: string; fpw: string }>(
        first.db,
        sql`SELECT current_setting('synchronous_commit') AS sync, current_setting('full_page_writes') AS fpw`,
      );
      expect(settings[0]).toEqual({ sync: 'on', fpw: 'on' });
      await first.db.execute(sql`CREATE TABLE kept (n int)`);
      await first.db.execute(sql`INSERT INTO kept VALUES (42)`);
    } finally {
      await first.close();
    }
    // A directory that exists is opened as it is: nothing created again over it.
    await initializeDataDir(dir);
    const again = await openDatabase({ dataDir: dir });
    try {
      expect(await queryRows<{ n: number }>(again.db, sql`SELECT n FROM kept`)).toEqual([{ n: 42 }]);
    } finally {
      await again.close();
    }
  });

  it('a directory that cannot be created fails with the reason and leaves DATA_DIR unlocked', async () => {
    const dir = newDir();
    // PGlite cannot make its directories under a file.
    writeFileSync(join(dir, 'base'), 'not a directory');
    await expect(openDatabase({ dataDir: dir })).rejects.toThrow(/creating the embedded database in .* failed \(exit 1\)/);
    expect(existsSync(join(dir, 'roster.lock'))).toBe(false);
  });
});
