import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

export const BENCH_ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A fresh PostgreSQL database for one benchmark, dropped afterwards. */
export async function withBenchDatabase<T>(name: string, work: (url: string) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: BENCH_ADMIN_URL });
  await admin.connect();
  const database = `roster_bench_${name}_${process.pid}`;
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${database}`);
  const url = new URL(BENCH_ADMIN_URL);
  url.pathname = `/${database}`;
  try {
    return await work(url.toString());
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  }
}

export interface BenchServer {
  url: string;
  /** The server process: its peak RSS is read from /proc (see peakRss). */
  pid: number;
  stop(): Promise<void>;
}

/** The server process and its children: with BENCH_WORKERS, node:cluster's workers. */
function serverPids(pid: number): string[] {
  const found = [String(pid)];
  for (const other of readdirSync('/proc')) {
    if (!/^\d+$/.test(other)) continue;
    try {
      const stat = readFileSync(`/proc/${other}/stat`, 'utf8');
      // The parent's pid is the second field after the command name.
      if (stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] === String(pid)) found.push(other);
    } catch {
      // The process ended meanwhile.
    }
  }
  return found;
}

/**
 * The server's peak resident memory in MB since start or the last resetPeakRss (VmHWM); with
 * workers, the sum of its processes' peaks.
 */
export function peakRssMb(pid: number): number {
  let kb = 0;
  for (const one of serverPids(pid)) {
    try {
      kb += Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${one}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // The process ended meanwhile.
    }
  }
  return Math.round(kb / 1024);
}

/** CPU seconds used so far (from /proc; Linux's USER_HZ of 100 ticks a second). */
export interface CpuSnapshot {
  /** The server process (with BENCH_WORKERS, and its workers). */
  server: number;
  /**
   * Every PostgreSQL process of the machine, by pid (the benchmark's database is the only busy one).
   * By pid because a pooled connection left idle closes (node-postgres: after 10 s), and its
   * backend's CPU would leave a sum with it.
   */
  postgres: Map<string, number>;
  /** This process: the load generator (autocannon). */
  loadGenerator: number;
  /** The machine's idle and I/O-wait time, and its total time, over all cores. */
  idle: number;
  total: number;
}

const USER_HZ = 100;

function processCpu(pid: string): { comm: string; seconds: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime: fields 14 and 15 of the line, 12 and 13 after the command name.
    return {
      comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
      seconds: (Number(fields[11]) + Number(fields[12])) / USER_HZ,
    };
  } catch {
    return { comm: '', seconds: 0 }; // the process ended meanwhile
  }
}

export function cpuSnapshot(serverPid: number): CpuSnapshot {
  const postgres = new Map<string, number>();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const found = processCpu(pid);
    if (found.comm.startsWith('postgres')) postgres.set(pid, found.seconds);
  }
  const machine = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return {
    server: serverPids(serverPid).reduce((sum, pid) => sum + processCpu(pid).seconds, 0),
    postgres,
    loadGenerator: processCpu(String(process.pid)).seconds,
    idle: (machine[3]! + machine[4]!) / USER_HZ,
    total: machine.reduce((sum, ticks) => sum + ticks, 0) / USER_HZ,
  };
}

/** CPU per answered request between two snapshots (µs), and the share of the machine left idle (%). */
export interface CpuPerRequest {
  server: number;
  postgres: number;
  loadGenerator: number;
  idlePercent: number;
}

export function cpuPerRequest(before: CpuSnapshot, after: CpuSnapshot, requests: number): CpuPerRequest {
  const micros = (seconds: number) => (seconds * 1e6) / Math.max(requests, 1);
  // A backend that started meanwhile counts whole; one that ended meanwhile (an idle pooled
  // connection closing) counts nothing.
  let postgres = 0;
  for (const [pid, seconds] of after.postgres) postgres += seconds - (before.postgres.get(pid) ?? 0);
  return {
    server: micros(after.server - before.server),
    postgres: micros(postgres),
    loadGenerator: micros(after.loadGenerator - before.loadGenerator),
    idlePercent: (100 * (after.idle - before.idle)) / Math.max(after.total - before.total, 1e-9),
  };
}

/** Starts a new peak for peakRssMb (writing 5 to clear_refs resets VmHWM to the current RSS). */
export function resetPeakRss(pid: number): void {
  for (const one of serverPids(pid)) {
    try {
      writeFileSync(`/proc/${one}/clear_refs`, '5');
    } catch {
      // Not permitted here: the peak then covers everything since the process started.
    }
  }
}

/**
 * Starts bench/server.ts (the real app + baseline routes) in a child process, bundled as
 * `npm start` runs the server (scripts/build-server.mjs): plain node, no tsx, so its memory and
 * start-up are those of the production server.
 */
export async function startBenchServer(env: Record<string, string>): Promise<BenchServer> {
  execFileSync(process.execPath, ['scripts/build-server.mjs', 'bench/server.ts', 'dist/bench-server.mjs'], { cwd: ROOT });
  const child: ChildProcess = spawn(process.execPath, ['dist/bench-server.mjs'], {
    cwd: ROOT,
    // As docs/operations.md recommends for production on Linux: the 19 MiB block of each sign-up's
    // password hash goes back to the system once freed ("Memory held after sign-ups"), and a bulk's
    // megabyte buffers are reused instead of faulted in afresh ("glibc's thresholds and a bulk").
    env: { ...process.env, MALLOC_MMAP_THRESHOLD_: '4194304', MALLOC_TRIM_THRESHOLD_: '8388608', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening (\S+)/.exec(output);
      if (match?.[1]) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}: ${output}`)));
  });
  return {
    url,
    pid: child.pid!,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export interface LoadResult {
  name: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
}

/** Loopback load with autocannon: a short warm-up, then the measured run. */
export async function load(
  name: string,
  options: {
    url: string;
    method?: 'GET' | 'POST';
    headers?: Record<string, string>;
    /** A request per connection, in turn (connection i sends the i-th, modulo their number), instead of the url's path and headers. */
    connectionRequests?: { path?: string; headers?: Record<string, string> }[];
    body?: string;
    seconds?: number;
    connections?: number;
    warmupSeconds?: number;
  },
): Promise<LoadResult> {
  const base = {
    url: options.url,
    method: options.method ?? 'GET',
    headers: options.headers,
    body: options.body,
    connections: options.connections ?? 32,
  };
  const perConnection = options.connectionRequests;
  const setupClient = () => {
    let connection = 0;
    return perConnection
      ? (client: { setRequests(requests: object[]): void }) => {
          client.setRequests([perConnection[connection++ % perConnection.length]!]);
        }
      : undefined;
  };
  await autocannon({ ...base, setupClient: setupClient(), duration: options.warmupSeconds ?? 2 });
  const result = await autocannon({ ...base, setupClient: setupClient(), duration: options.seconds ?? 8 });
  return {
    name,
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
  };
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}
