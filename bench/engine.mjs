#!/usr/bin/env node
// Engine numbers (issue 2 targets), printed, not asserted:
//   module size; instantiate + first callback from a compiled Module; empty HTTP callback round
//   trip; one getHeaderMapValue from TypeScript; SHA-256 of 1 MB in the bridge.
// Uses the probe fixture (built into build/bench/ if missing) and, when present, the products.
//   node bench/engine.mjs [--rebuild]

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomFillSync } from 'node:crypto';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const probePath = join(root, 'build', 'bench', 'probe.wasm');

const signerPath = join(root, 'build', 'bench', 'signer-probe.wasm');

for (const [entry, out] of [['test/fixtures/engine/probe.ts', probePath], ['test/fixtures/engine/signer-probe.ts', signerPath]]) {
  if (process.argv.includes('--rebuild') || !existsSync(out)) {
    mkdirSync(dirname(out), { recursive: true });
    const r = spawnSync(process.execPath, ['build.mjs', '--skip-typecheck', '--quiet', '--entry', entry, '--out', out], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) process.exit(1);
  }
}

/** Just enough of a proxy-wasm host: headers, call data, logs, WASI. */
function instantiate(module, headers = new Map([['x-probe', 'hello'], [':path', '/bench']])) {
  let ex;
  const mem = () => new Uint8Array(ex.memory.buffer);
  const view = () => new DataView(ex.memory.buffer);
  const text = (p, l) => Buffer.from(mem().subarray(p, p + l)).toString('utf8');
  const state = { callData: new Uint8Array(0), logs: 0 };
  const give = (bytes, pp, lp) => {
    const p = bytes.length ? ex.proxy_on_memory_allocate(bytes.length) : 0;
    mem().set(bytes, p);
    view().setUint32(pp, p, true);
    view().setUint32(lp, bytes.length, true);
    return 0;
  };
  const env = {
    proxy_log: () => { state.logs++; return 0; },
    proxy_get_header_map_value: (_t, kp, kl, rp, rl) => {
      const v = headers.get(text(kp, kl));
      return v === undefined ? 1 : give(Buffer.from(v), rp, rl);
    },
    proxy_get_buffer_bytes: (_t, s, n, rp, rl) => give(state.callData.subarray(s >>> 0, Math.min(state.callData.length, (s >>> 0) + (n >>> 0))), rp, rl),
  };
  const wasi = {
    environ_sizes_get: (c, s) => { view().setUint32(c, 0, true); view().setUint32(s, 0, true); return 0; },
    environ_get: () => 0,
    random_get: (p, l) => { randomFillSync(mem().subarray(p, p + l)); return 0; },
    clock_time_get: (_i, _p, o) => { view().setBigUint64(o, process.hrtime.bigint(), true); return 0; },
  };
  const imports = { env: {}, wasi_snapshot_preview1: {} };
  for (const imp of WebAssembly.Module.imports(module)) {
    const table = imp.module === 'env' ? env : wasi;
    imports[imp.module][imp.name] = table[imp.name] ?? (() => (imp.module === 'env' ? 12 : 52));
  }
  ex = new WebAssembly.Instance(module, imports).exports;
  return { ex, state };
}

function timeIt(fn, iterations) {
  for (let i = 0; i < Math.min(1000, iterations / 10); i++) fn(i);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn(i);
  return Number(process.hrtime.bigint() - t0) / iterations; // ns per iteration
}

const fmt = (ns) => (ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1e3 ? `${(ns / 1e3).toFixed(2)} µs` : `${ns.toFixed(0)} ns`);
const line = (label, value, target) => console.log(`${label.padEnd(46)} ${value.padStart(10)}   (target ${target})`);

for (const name of ['sender', 'receiver']) {
  const p = join(root, `${name}.wasm`);
  if (existsSync(p)) line(`module size ${name}.wasm`, `${(readFileSync(p).length / 1024 / 1024).toFixed(2)} MB`, '≤ 1.5 MB');
}
const probeBytes = readFileSync(probePath);
line('module size probe fixture', `${(probeBytes.length / 1024 / 1024).toFixed(2)} MB`, '≤ 1.5 MB');

const probe = new WebAssembly.Module(probeBytes);
for (const [name, mod] of [['probe', probe], ...['sender', 'receiver'].filter((n) => existsSync(join(root, `${n}.wasm`))).map((n) => [n, new WebAssembly.Module(readFileSync(join(root, `${n}.wasm`)))])]) {
  const ns = timeIt(() => { instantiate(mod).ex.proxy_on_context_create(1, 0); }, 200);
  line(`instantiate + first callback (${name})`, fmt(ns), '≤ 2 ms');
}

const { ex, state } = instantiate(probe);
ex.proxy_on_context_create(1, 0);
ex.proxy_on_vm_start(1, 0);
ex.proxy_on_context_create(2, 1);
const empty = timeIt(() => ex.proxy_on_response_headers(2, 3, 0), 200_000);
line('empty HTTP callback round trip', fmt(empty), '≤ 1.5 µs');
const skipped = timeIt(() => ex.proxy_on_request_body(2, 10, 0), 1_000_000);
line('callback the plugin does not implement', fmt(skipped), '(no JS entered)');

const N = 10_000;
const loop = timeIt(() => ex.proxy_on_foreign_function(1, 10, N), 20) / N;
const loop0 = timeIt(() => ex.proxy_on_foreign_function(1, 10, 0), 2000);
line('getHeaderMapValue from TS (key in, string out)', fmt(loop - loop0 / N), '≤ 2 µs');

const mb = Buffer.alloc(1024 * 1024);
randomFillSync(mb);
state.callData = mb;
const sha = timeIt(() => ex.proxy_on_foreign_function(1, 11, mb.length), 5) / 10;
line('SHA-256 of 1 MB (bridge, in place)', fmt(sha), '≤ 10 ms');

// The receiver's hot path: SigV4 of a ~700 KB PutMetricData-sized body (payload hash in the bridge,
// HMACs in JS), promise jobs drained inside the callback.
{
  const { ex: sx, state: ss } = instantiate(new WebAssembly.Module(readFileSync(signerPath)));
  sx.proxy_on_context_create(1, 0);
  const body = Buffer.from(JSON.stringify({ MetricData: Array.from({ length: 6000 }, (_, i) => ({ MetricName: `m${i}`, Value: i, Unit: 'Count' })) }).padEnd(700_000, ' '));
  ss.callData = body;
  const ns = timeIt(() => sx.proxy_on_foreign_function(1, 1, body.length), 10);
  line(`SigV4 sign of a ${(body.length / 1024).toFixed(0)} KB body in the module`, fmt(ns), 'informational');
}
