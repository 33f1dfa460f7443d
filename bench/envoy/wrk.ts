// One wrk run against an Envoy listener, with the benchmark's traffic (traffic.lua).

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { BENCH_DIR } from '../modules.js';

const SCRIPT = join(BENCH_DIR, 'envoy', 'traffic.lua');

export interface WrkResult {
  readonly requestsPerSecond: number;
  /** 99th percentile latency, in milliseconds (wrk --latency). */
  readonly p99Ms: number;
  readonly requests: number;
  /** Socket errors and non-2xx/3xx answers wrk counted. */
  readonly errors: number;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

export function parseWrk(text: string): WrkResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$/m.exec(text);
  const total = /(\d+) requests in /.exec(text);
  if (!rps || !p99 || !total) throw new Error(`wrk printed no results:\n${text}`);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  const errors = (socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0) + (non2xx ? Number(non2xx[1]) : 0);
  return { requestsPerSecond: Number(rps[1]), p99Ms: Number(p99[1]) * UNIT_MS[p99[2]!]!, requests: Number(total[1]), errors };
}

/** Runs wrk (one thread: the other core is Envoy's) for `seconds` over `connections` keep-alive connections. */
export function runWrk(wrk: string, port: number, connections: number, seconds: number): Promise<WrkResult> {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '--timeout', '10s', '-s', SCRIPT, `http://127.0.0.1:${port}/`];
  return new Promise((resolve, reject) => {
    const child = spawn(wrk, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`wrk exited ${code}:\n${out}`));
      try {
        resolve(parseWrk(out));
      } catch (err) {
        reject(err);
      }
    });
  });
}
