// Engine numbers (issue 2's targets), printed, not asserted: module size; instantiate + first
// callback from a compiled Module; an empty HTTP callback round trip; one getHeaderMapValue from
// TypeScript; SHA-256 of 1 MB in the bridge; SigV4 of a PutMetricData-sized body in the module.
// The probe fixtures (test/fixtures/engine, built into build/bench/ when missing) run on host/'s
// lean mode (ManualClock, manual ticks), driven export by export as the engine tests drive them:
// the hostcalls they make are host/'s, with Envoy's statuses. `npm run bench -- --engine`.

import { execFileSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { HeaderMap } from '../../host/core/header-map.js';
import { HostRuntime } from '../../host/core/runtime.js';
import type { StreamState } from '../../host/core/stream-state.js';
import type { GuestFactory, Vm } from '../../host/core/vm.js';
import { ManualClock } from '../../host/core/clock.js';
import { loadWasmModule, wasmGuest } from '../../host/guests/wasm.js';
import type { WasmModule } from '../../host/guests/webassembly.js';
import { createVm } from '../../host/vm-factory.js';
import { LogLevel } from '../../src/abi/table.js';
import { REPO_DIR } from '../modules.js';

const PROBES = { probe: 'test/fixtures/engine/probe.ts', 'signer-probe': 'test/fixtures/engine/signer-probe.ts' } as const;

/** build/bench/<name>.wasm, built with build.mjs when missing (or asked to). */
function probePath(name: keyof typeof PROBES, rebuild: boolean): string {
  const out = join(REPO_DIR, 'build', 'bench', `${name}.wasm`);
  if (rebuild || !existsSync(out)) {
    mkdirSync(dirname(out), { recursive: true });
    console.error(`bench: building ${PROBES[name]}`);
    execFileSync(process.execPath, ['build.mjs', '--skip-typecheck', '--quiet', '--entry', PROBES[name], '--out', out],
      { cwd: REPO_DIR, stdio: ['ignore', 'inherit', 'inherit'] });
  }
  return out;
}

/** Mean ns per call of `fn` over `iterations`, after a warm-up of a tenth of them (at most 1,000). */
function timeIt(fn: (i: number) => void, iterations: number): number {
  for (let i = 0; i < Math.min(1000, iterations / 10); i++) fn(i);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn(i);
  return Number(process.hrtime.bigint() - t0) / iterations;
}

const fmt = (ns: number): string => (ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1e3 ? `${(ns / 1e3).toFixed(2)} µs` : `${ns.toFixed(0)} ns`);
const line = (label: string, value: string, target: string): void => console.log(`${label.padEnd(46)} ${value.padStart(10)}   (target ${target})`);

/** One lean host for every VM here; a plugin error (a failed sign, a trap) fails the benchmark. */
class LeanHost {
  readonly errors: string[] = [];
  /** Messages below Error, logged only while the log level is lowered for a check. */
  readonly messages: string[] = [];
  readonly runtime = new HostRuntime({
    clock: new ManualClock(), manualTicks: true, logLevel: LogLevel.Warn,
    logSink: (entry) => (entry.level >= LogLevel.Error ? this.errors : this.messages).push(entry.message),
  });

  /** A VM of the module with root context 1 registered and nothing called yet. */
  vm(guest: GuestFactory): Vm {
    const vm = createVm({ guest, runtime: this.runtime, vmId: 'engine', rootId: 'engine', noStart: true });
    vm.registerContext(1, 0);
    return vm;
  }

  /** Context `id` under root 1 as a stream context whose request headers are `request`. */
  stream(vm: Vm, id: number, request: readonly string[]): void {
    const state: StreamState = {
      requestHeaders: HeaderMap.fromFlat(request), accessLogPhase: false,
      info: { startTimeMs: this.runtime.clock.nowMs(), protocol: 'HTTP/1.1', sourceAddress: '127.0.0.1', sourcePort: 0,
        destinationAddress: '127.0.0.1', destinationPort: 0, connectionId: 1, responseCodeDetails: '' },
    };
    vm.registerContext(id, 1, state);
  }

  check(vm: Vm): void {
    if (vm.failure !== undefined || this.errors.length > 0) throw new Error(`engine benchmark: ${vm.failure ?? this.errors.join('; ')}`);
  }
}

export function printEngineNumbers(rebuild: boolean): void {
  const probeFile = probePath('probe', rebuild);
  const signerFile = probePath('signer-probe', rebuild);
  const products = ['sender', 'receiver'].map((name) => [name, join(REPO_DIR, `${name}.wasm`)] as const).filter(([, p]) => existsSync(p));
  for (const [name, path] of products) line(`module size ${name}.wasm`, `${(readFileSync(path).length / 1024 / 1024).toFixed(2)} MB`, '≤ 1.5 MB');
  line('module size probe fixture', `${(readFileSync(probeFile).length / 1024 / 1024).toFixed(2)} MB`, '≤ 1.5 MB');

  const host = new LeanHost();
  const probe = loadWasmModule(probeFile);
  const modules: [string, WasmModule][] = [['probe', probe], ...products.map(([name, path]) => [name, loadWasmModule(path)] as [string, WasmModule])];
  for (const [name, module] of modules) {
    const guest = wasmGuest(module, name);
    const ns = timeIt(() => { host.vm(guest).invoke(1, 'proxy_on_context_create', 1, 0); }, 200);
    line(`instantiate + first callback (${name})`, fmt(ns), '≤ 2 ms');
  }

  const vm = host.vm(wasmGuest(probe, 'probe'));
  vm.invoke(1, 'proxy_on_context_create', 1, 0);
  vm.invoke(1, 'proxy_on_vm_start', 1, 0);
  host.stream(vm, 2, ['x-probe', 'hello', ':path', '/bench']);
  vm.invoke(2, 'proxy_on_context_create', 2, 1);
  const empty = timeIt(() => vm.invoke(2, 'proxy_on_response_headers', 2, 3, 0), 200_000);
  line('empty HTTP callback round trip', fmt(empty), '≤ 1.5 µs');
  const skipped = timeIt(() => vm.invoke(2, 'proxy_on_request_body', 2, 10, 0), 1_000_000);
  line('callback the plugin does not implement', fmt(skipped), '(no JS entered)');

  // Foreign function 10: `size` lookups of x-probe in the stream's request headers, no call data.
  // They must find it: a NotFound or BadArgument answer would be cheaper, and wrong.
  host.runtime.logLevel = LogLevel.Info;
  vm.invoke(2, 'proxy_on_request_headers', 2, 2, 1);
  host.runtime.logLevel = LogLevel.Warn;
  if (!host.messages.includes('x-probe=hello')) throw new Error(`engine benchmark: the probe did not read x-probe: ${host.messages.join('; ')}`);
  const N = 10_000;
  const loop = timeIt(() => vm.invoke(2, 'proxy_on_foreign_function', 2, 10, N), 20) / N;
  const loop0 = timeIt(() => vm.invoke(2, 'proxy_on_foreign_function', 2, 10, 0), 2000);
  line('getHeaderMapValue from TS (key in, string out)', fmt(loop - loop0 / N), '≤ 2 µs');

  // Foreign function 11: ten SHA-256 of the call data.
  const mb = new Uint8Array(1024 * 1024);
  randomFillSync(mb);
  const sha = timeIt(() => vm.invokeForeignFunction(1, 11, mb), 5) / 10;
  line('SHA-256 of 1 MB (bridge, in place)', fmt(sha), '≤ 10 ms');
  host.check(vm);

  // The receiver's hot path: SigV4 of a ~700 KB PutMetricData-sized body (payload hash in the
  // bridge, HMACs in JS), promise jobs drained inside the callback.
  const signer = host.vm(wasmGuest(loadWasmModule(signerFile), 'signer-probe'));
  signer.invoke(1, 'proxy_on_context_create', 1, 0);
  const body = new TextEncoder().encode(JSON.stringify({
    MetricData: Array.from({ length: 6000 }, (_, i) => ({ MetricName: `m${i}`, Value: i, Unit: 'Count' })),
  }).padEnd(700_000, ' '));
  const sign = timeIt(() => signer.invokeForeignFunction(1, 1, body), 10);
  line(`SigV4 sign of a ${(body.length / 1024).toFixed(0)} KB body in the module`, fmt(sign), 'informational');
  host.check(signer);
}
