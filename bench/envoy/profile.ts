// Where Envoy's time goes with one filter: starts the benchmark's Envoy for one .wasm (or none),
// loads it with wrk at 1 connection and records it with `perf record -g` meanwhile, then prints
// perf's report by shared object and by symbol ([JIT] = V8-compiled Wasm and V8 stubs).
//
//   node --import tsx bench/envoy/profile.ts [FILTER.wasm] [seconds]

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_DIR } from '../modules.js';
import { measureEnvoy } from './measure.js';

const [filter, secondsText] = process.argv.slice(2);
const seconds = Number(secondsText ?? 10);
const dir = mkdtempSync(join(tmpdir(), 'acpw-perf-'));
const data = join(dir, 'perf.data');

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', () => undefined);
    child.once('error', reject);
    child.once('exit', () => resolve(out));
  });
}

let recorder: Promise<string> | undefined;
await measureEnvoy(
  [{ id: 'sender', label: filter ?? 'no filter', ...(filter ? { filter } : {}) }],
  {
    rounds: 1, seconds1: seconds, seconds16: 1, warmupSeconds: 2, soakRequests: 0, wrk: 'wrk',
    receiver: join(REPO_DIR, 'receiver.wasm'),
    onRound: (pid) => {
      recorder = run('perf', ['record', '-g', '-o', data, '-p', String(pid), '--', 'sleep', String(seconds)]);
    },
  },
  () => loadavg()[0]!,
).then((results) => console.log(`Envoy CPU µs/request: ${results.rows[0]?.cpuUs.median.toFixed(1)}`));
await recorder;
for (const sort of ['dso', 'dso,sym']) {
  const report = await run('perf', ['report', '-i', data, '--no-children', '--sort', sort, '--stdio', '--percent-limit', '0.7', '-g', 'none']);
  console.log(report.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#')).slice(0, 45).join('\n'));
}
rmSync(dir, { recursive: true, force: true });
