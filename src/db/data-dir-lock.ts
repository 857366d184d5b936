import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Another live process holds DATA_DIR (the CLI prints the message alone and exits 75). */
export class DataDirInUseError extends Error {}

/** What the lock file records of its owner: enough to tell it from a later process given the same id. */
interface LockOwner {
  pid: number;
  /** The process's start time (/proc/<pid>/stat, clock ticks since boot); null where /proc is missing. */
  startedAt: string | null;
  /** The kernel's boot id: a lock written before a reboot names no process of this boot. */
  bootId: string | null;
}

/**
 * PGlite is single-process: a second process on the same directory would corrupt it. A lock file
 * names the owner; a stale one is taken over: its process is gone (e.g. after SIGKILL), or its
 * process id now belongs to another process (a later one given the same id after a crash or a
 * reboot: the start time or the boot id differs). Returns the release.
 */
export function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const lockPath = join(dataDir, 'roster.lock');
  const me = ownerOf(process.pid);
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      writeFileSync(lockPath, JSON.stringify(me), { flag: 'wx' });
      return () => rmSync(lockPath, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = parseLock(readFileSync(lockPath, 'utf8'));
      if (owner && owner.pid !== process.pid && isRunning(owner)) {
        throw new DataDirInUseError(
          `DATA_DIR ${dataDir} is already in use by process ${owner.pid}. The embedded engine serves one process: ` +
            'stop that process to use this directory (the CLI included), or set DATABASE_URL to run several processes on PostgreSQL.',
          { cause: error },
        );
      }
      rmSync(lockPath, { force: true });
    }
  }
  throw new Error(`Could not lock DATA_DIR ${dataDir}.`);
}

/** The lock's owner; a file of earlier versions holds the process id alone. */
export function parseLock(text: string): LockOwner | null {
  const trimmed = text.trim();
  if (/^[0-9]+$/.test(trimmed)) return { pid: Number(trimmed), startedAt: null, bootId: null };
  try {
    const value = JSON.parse(trimmed) as Partial<LockOwner>;
    if (!Number.isSafeInteger(value.pid) || (value.pid as number) <= 0) return null;
    return {
      pid: value.pid as number,
      startedAt: typeof value.startedAt === 'string' ? value.startedAt : null,
      bootId: typeof value.bootId === 'string' ? value.bootId : null,
    };
  } catch {
    return null;
  }
}

/** The process with this id as the lock records it (null parts where this system has no /proc). */
export function ownerOf(pid: number): LockOwner {
  return { pid, startedAt: startTimeOf(pid), bootId: readOrNull('/proc/sys/kernel/random/boot_id') };
}

function isRunning(owner: LockOwner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // Alive: the same process only if what the lock recorded still matches (unknown parts match).
  const now = ownerOf(owner.pid);
  if (owner.bootId && now.bootId && owner.bootId !== now.bootId) return false;
  if (owner.startedAt && now.startedAt && owner.startedAt !== now.startedAt) return false;
  return true;
}

/** Field 22 of /proc/<pid>/stat, counted after the command name (which may hold spaces and parentheses). */
function startTimeOf(pid: number): string | null {
  const stat = readOrNull(`/proc/${pid}/stat`);
  if (!stat) return null;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19] ?? null;
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim() || null;
  } catch {
    return null;
  }
}
