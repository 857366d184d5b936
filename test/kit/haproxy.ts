import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './server.ts';

export const HAPROXY = ['/usr/sbin/haproxy', '/usr/bin/haproxy', '/usr/local/sbin/haproxy'].find((path) => existsSync(path));

export interface LoadBalancer {
  url: string;
  port: number;
  config: string;
  /** One command on HAProxy's runtime API (its admin socket), e.g. `set server roster_app/app0 state drain`; its answer. */
  command(line: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * A real HAProxy (Debian's package) on loopback, round-robin over `backends` (http://127.0.0.1:port),
 * named app0, app1, ... in backend roster_app, with the configuration docs/operations.md recommends:
 * kept-alive connections to the backends, a retry that failed to connect goes to another backend,
 * health checks on /readyz, X-Forwarded-For; and its runtime API on a socket of its own (command).
 * Resolves once a request through it reaches a ready backend.
 */
export async function startHaproxy(backends: string[]): Promise<LoadBalancer> {
  if (!HAPROXY) throw new Error('haproxy is not installed: apt-get install -y haproxy');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'roster-haproxy-'));
  const socket = join(dir, 'admin.sock');
  const servers = backends.map((backend, index) => {
    const { hostname, port: backendPort } = new URL(backend);
    return `  server app${index} ${hostname}:${backendPort} check inter 500ms fall 2 rise 1`;
  });
  const config = [
    'global',
    '  maxconn 2000',
    `  stats socket ${socket} level admin`,
    'defaults',
    '  mode http',
    '  timeout connect 5s',
    '  timeout client 60s',
    '  timeout server 60s',
    '  option forwardfor',
    '  option redispatch 1',
    'frontend roster',
    `  bind 127.0.0.1:${port}`,
    '  default_backend roster_app',
    'backend roster_app',
    '  balance roundrobin',
    '  option httpchk GET /readyz',
    '  http-check expect status 200',
    ...servers,
    '',
  ].join('\n');
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, config);
  const child: ChildProcess = spawn(HAPROXY, ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`haproxy exited with ${child.exitCode}:\n${output}`);
    const ready = await fetch(`${url}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`haproxy did not pass requests:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    port,
    config,
    command: (line) =>
      new Promise((resolve, reject) => {
        let answer = '';
        const client = connect(socket, () => client.end(`${line}\n`));
        client.on('data', (chunk: Buffer) => (answer += chunk.toString()));
        client.once('error', reject);
        client.once('close', () => resolve(answer.trim()));
      }),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
