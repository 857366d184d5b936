import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatWithOptions } from 'node:util';
import { fileURLToPath } from 'node:url';
import { TEST_SERVER_BUNDLE } from './build-server.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ServerProcess {
  url: string;
  port: number;
  dataDir: string;
  child: ChildProcess;
  /** Everything the process printed so far. */
  output(): string;
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL: no chance to flush or close anything. */
  kill(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Spawns the real server (`roster start`) as a separate process, as a user runs it: on PGlite in
 * a temporary DATA_DIR unless `env.DATABASE_URL` is given (then `dataDir` is ''). Resolves once it accepts requests.
 */
export async function startServerProcess(
  options: {
    env?: Record<string, string>;
    dataDir?: string;
    build?: boolean;
    args?: string[];
    /** A process group of its own (as a service manager starts it): `process.kill(-child.pid, signal)` signals every process of it. */
    detached?: boolean;
  } = {},
): Promise<ServerProcess> {
  const port = options.env?.PORT ? Number(options.env.PORT) : await freePort();
  // On PostgreSQL no data directory is used, so none is made (and none is left behind).
  const usesPglite = !options.env?.DATABASE_URL;
  const dataDir = options.dataDir ?? (usesPglite ? mkdtempSync(join(tmpdir(), 'roster-data-')) : '');
  const url = `http://127.0.0.1:${port}`;
  const args = [TEST_SERVER_BUNDLE, 'start'];
  if (!options.build) args.push('--no-build');
  if (options.args) args.push(...options.args);
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      PUBLIC_URL: url,
      ...options.env,
      PORT: String(port),
      ...(dataDir ? { DATA_DIR: dataDir } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${output}`);
    const ready = await fetch(`${url}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server did not become ready:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    port,
    dataDir,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

export interface ServerReply {
  status: number;
  body: any;
  headers: Headers;
}

/**
 * One JSON request to a server process: bearer `token`, or the session `cookie` (sent with a
 * same-origin `Origin` and a JSON content type, as the dashboard does).
 */
export async function callServer(
  server: ServerProcess,
  method: string,
  path: string,
  options: { token?: string; cookie?: string; origin?: string; body?: unknown } = {},
): Promise<ServerReply> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.cookie) {
    headers.cookie = `roster_session=${options.cookie}`;
    headers.origin = options.origin ?? server.url;
  }
  if (options.body !== undefined || options.cookie) headers['content-type'] = 'application/json';
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers };
}

/**
 * Runs the `roster` command as an operator does (`roster <args>`), in a new process (the suite's
 * bundle, as `npm start` runs), with `env` over this process's. Costs a process and engine start:
 * use it where the process boundary is the point; otherwise `runRosterInProcess`.
 */
export function runRoster(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [TEST_SERVER_BUNDLE, ...args],
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/**
 * Runs the `roster` command (`bin/roster.js`, package.json's bin: what `roster` and `npx roster`
 * start) as a separate process whose stdout is a pipe its reader has closed, as under
 * `roster … | head -3` once head has exited: every write to stdout fails with EPIPE. Resolves with
 * the exit code, the signal and stderr.
 */
export function runRosterIntoClosedPipe(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const child = spawn(process.execPath, ['bin/roster.js', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // The reader goes away before the command writes anything (it opens the database first).
  child.stdout?.destroy();
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal, stderr })));
}

/**
 * Runs `roster <args>` in this test process through the CLI's own entry (`runCli`, which
 * `src/cli/main.ts` calls): same commands, configuration, messages and exit codes as the real
 * command, without a process start per command. `env` is set over `process.env` for the run
 * (an empty value is set as empty, as for a process) and put back after; stdout and stderr
 * (console and direct writes) are captured. Runs are serialised: the environment is process-wide.
 */
export async function runRosterInProcess(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const previous = inProcessQueue;
  let release!: () => void;
  inProcessQueue = new Promise<void>((resolve) => (release = resolve));
  await previous;
  const { runCli } = await import('../../src/cli/program.ts');
  const savedEnv = new Map(Object.keys(env).map((key) => [key, process.env[key]]));
  let stdout = '';
  let stderr = '';
  const format = (values: unknown[]) => `${formatWithOptions({ colors: false }, ...values)}\n`;
  const saved = {
    log: console.log,
    info: console.info,
    warn: console.warn,
    error: console.error,
    out: process.stdout.write,
    err: process.stderr.write,
  };
  console.log = console.info = (...values: unknown[]) => void (stdout += format(values));
  console.warn = console.error = (...values: unknown[]) => void (stderr += format(values));
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += chunk.toString()), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += chunk.toString()), true)) as typeof process.stderr.write;
  Object.assign(process.env, env);
  try {
    const code = await runCli(args);
    return { code: code ?? 0, stdout, stderr };
  } finally {
    console.log = saved.log;
    console.info = saved.info;
    console.warn = saved.warn;
    console.error = saved.error;
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
    for (const [key, value] of savedEnv) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    release();
  }
}
let inProcessQueue: Promise<void> = Promise.resolve();
