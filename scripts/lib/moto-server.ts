// Starts and stops moto's server (the CloudWatch emulator from .venv) on a loopback port.
// Shared by the demo (`npm start`) and the tests (test/support/moto.ts).

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface MotoServer {
  /** e.g. http://127.0.0.1:5000 */
  readonly endpoint: string;
  readonly port: number;
  /** The last lines moto printed (requests and errors), for failure messages. */
  recentOutput(): string;
  /** SIGTERM, then SIGKILL after 5 s; resolves once the process is gone. Idempotent. */
  stop(): Promise<void>;
}

export interface MotoServerOptions {
  readonly venv: string;
  readonly port: number;
  /** Extra environment for moto, e.g. INITIAL_NO_AUTH_ACTION_COUNT. */
  readonly env?: Readonly<Record<string, string>>;
  readonly readyTimeoutMs?: number;
  /**
   * Own process group: a Ctrl-C in the terminal then reaches only the caller, which stops moto
   * after everything that still publishes to it (the demo's final flush) is done.
   */
  readonly detached?: boolean;
  /** Every output line, e.g. to write a log file; the last lines are kept in any case. */
  readonly onOutput?: (line: string) => void;
}

const KEPT_LINES = 40;

export function motoServerBinary(venv: string): string {
  return join(venv, 'bin', 'moto_server');
}

export async function startMotoServer(options: MotoServerOptions): Promise<MotoServer> {
  const binary = motoServerBinary(options.venv);
  if (!existsSync(binary)) {
    throw new Error(`${binary} not found: run \`npm test\` or \`npm start\` once to create .venv`);
  }
  const endpoint = `http://127.0.0.1:${options.port}`;
  const child = spawn(binary, ['-H', '127.0.0.1', '-p', String(options.port)], {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  const lines: string[] = [];
  const keep = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line === '') continue;
      lines.push(line);
      if (lines.length > KEPT_LINES) lines.shift();
      options.onOutput?.(line);
    }
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  // Safety net: a test runner that exits (or a worker killed on timeout) must not leave moto behind.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const exited = new Promise<void>((resolve) => child.once('exit', () => {
    process.off('exit', killOnExit);
    resolve();
  }));
  const server: MotoServer = {
    endpoint,
    port: options.port,
    recentOutput: () => lines.join('\n'),
    stop: () => stopChild(child, exited),
  };
  try {
    await waitUntilReady(endpoint, child, options.readyTimeoutMs ?? 30_000);
  } catch (error) {
    await server.stop();
    const detail = lines.length > 0 ? `\nmoto said:\n${server.recentOutput()}` : '';
    throw new Error(`${(error as Error).message}${detail}`);
  }
  return server;
}

async function waitUntilReady(endpoint: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`moto_server exited (${child.exitCode ?? child.signalCode}) before it was ready on ${endpoint}`);
    }
    try {
      // The moto-api dashboard answers as soon as the WSGI app is up.
      const response = await fetch(`${endpoint}/moto-api/data.json`);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`moto_server was not ready on ${endpoint} within ${timeoutMs} ms`);
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const killTimer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(killTimer);
}

/**
 * Turns moto's authentication on or off at run time (its /moto-api/reset-auth): after
 * `allowedUnauthenticated` more requests, every request must carry a valid SigV4 signature
 * from a known IAM access key whose policies allow the action. `Infinity` turns it off.
 */
export async function setMotoAuthentication(endpoint: string, allowedUnauthenticated: number): Promise<void> {
  const response = await fetch(`${endpoint}/moto-api/reset-auth`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: Number.isFinite(allowedUnauthenticated) ? String(allowedUnauthenticated) : 'inf',
  });
  if (!response.ok) throw new Error(`moto reset-auth answered ${response.status}: ${await response.text()}`);
}

/** Drops every resource moto holds (metrics, IAM users), between tests sharing one server. */
export async function resetMoto(endpoint: string): Promise<void> {
  const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
  if (!response.ok) throw new Error(`moto reset answered ${response.status}: ${await response.text()}`);
}
