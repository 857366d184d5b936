import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataDirInUseError, lockDataDir, ownerOf, parseLock } from './data-dir-lock.ts';

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function dirWithLock(content: string | null): { dir: string; lockPath: string } {
  const dir = mkdtempSync(join(tmpdir(), 'roster-lock-'));
  dirs.push(dir);
  const lockPath = join(dir, 'roster.lock');
  if (content !== null) writeFileSync(lockPath, content);
  return { dir, lockPath };
}

/** Another live process (not this one), running until the suite ends. */
async function liveProcess(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  children.push(child);
  await new Promise<void>((resolve, reject) => child.once('spawn', resolve).once('error', reject));
  return child.pid!;
}

const onLinux = existsSync('/proc/self/stat');

describe('the DATA_DIR lock', () => {
  it('records this process with its start time and boot id, and releases the file', () => {
    const { dir, lockPath } = dirWithLock(null);
    const release = lockDataDir(dir);
    const owner = parseLock(readFileSync(lockPath, 'utf8'));
    expect(owner).toEqual(ownerOf(process.pid));
    if (onLinux) expect(owner).toMatchObject({ startedAt: expect.stringMatching(/^[0-9]+$/), bootId: expect.any(String) });
    release();
    expect(existsSync(lockPath)).toBe(false);
  });

  it('refuses while the process that wrote it runs', async () => {
    const pid = await liveProcess();
    const { dir } = dirWithLock(JSON.stringify(ownerOf(pid)));
    expect(() => lockDataDir(dir)).toThrow(DataDirInUseError);
    expect(() => lockDataDir(dir)).toThrow(`is already in use by process ${pid}`);
  });

  it('takes over a lock whose process is gone', async () => {
    const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    const pid = await new Promise<number>((resolve) => child.once('exit', () => resolve(child.pid!)));
    const { dir, lockPath } = dirWithLock(JSON.stringify(ownerOf(pid)));
    lockDataDir(dir)();
    expect(existsSync(lockPath)).toBe(false);
  });

  it.runIf(onLinux || process.env.CI)(
    'takes over a lock whose process id now belongs to another process (a crash, then the id reused)',
    async () => {
      const pid = await liveProcess();
      const earlier = { ...ownerOf(pid), startedAt: '1' };
      const { dir, lockPath } = dirWithLock(JSON.stringify(earlier));
      const release = lockDataDir(dir);
      expect(parseLock(readFileSync(lockPath, 'utf8'))?.pid).toBe(process.pid);
      release();

      const beforeReboot = { ...ownerOf(pid), bootId: '00000000-0000-0000-0000-000000000000' };
      writeFileSync(lockPath, JSON.stringify(beforeReboot));
      lockDataDir(dir)();
    },
  );

  it('reads the lock of earlier versions (the process id alone)', async () => {
    const pid = await liveProcess();
    expect(parseLock(`${pid}\n`)).toEqual({ pid, startedAt: null, bootId: null });
    expect(() => lockDataDir(dirWithLock(String(pid)).dir)).toThrow(DataDirInUseError);
    expect(parseLock('garbage')).toBeNull();
    lockDataDir(dirWithLock('garbage').dir)();
  });
});
