// Runs one plugin in the local host's lean mode (a ManualClock, ticks only when asked) either
// as TypeScript in-process (NodeHost + the SDK dispatcher) or as its built .wasm, so ONE test
// body checks both, as the Go SDK's proxytest examples do. A missing .wasm fails the test
// (loadWasmModule throws), it never skips. A driver over host/, not another host.

import { existsSync } from 'node:fs';
import { vi } from 'vitest';
import { join } from 'node:path';
import { fromUtf8 } from '../../host/core/bytes.js';
import { ManualClock } from '../../host/core/clock.js';
import type { Upstream } from '../../host/core/http-client.js';
import { HostRuntime, type LogEntry } from '../../host/core/runtime.js';
import type { StreamInput, StreamOutcome } from '../../host/core/stream.js';
import type { Vm } from '../../host/core/vm.js';
import { loadWasmModule } from '../../host/guests/wasm.js';
import { createVm } from '../../host/vm-factory.js';
import { LogLevel, type PluginDefinition } from '../../src/sdk/index.js';
import { REPO_ROOT } from './python.js';

export type PluginMode = 'TypeScript in-process' | 'built .wasm';
export const PLUGIN_MODES: readonly PluginMode[] = ['TypeScript in-process', 'built .wasm'];

export interface PluginUnderTest {
  /** The plugin's definition (in-process) and the name of its built module at the repo root. */
  readonly plugin: PluginDefinition;
  readonly wasm: 'sender.wasm' | 'receiver.wasm';
}

export interface StartedPlugin {
  readonly vm: Vm;
  readonly runtime: HostRuntime;
  readonly clock: ManualClock;
  readonly logs: LogEntry[];
  request(input: StreamInput): StreamOutcome;
  tick(): void;
  /** A plugin stat's value (proxy_define_metric), undefined when never defined. */
  counter(name: string): number | undefined;
  /** Registers a queue as if VM `vmId` owned it (e.g. the receiver's); returns a drain. */
  foreignQueue(vmId: string, name: string): ForeignQueue;
}

export interface ForeignQueue {
  readonly id: number;
  drain(): string[];
  /** The owner goes away (e.g. the receiver VM restarts): the queue is gone, its id unknown. */
  drop(): void;
}

export interface StartOptions {
  readonly vmId?: string;
  readonly pluginConfiguration?: string;
  readonly environment?: Readonly<Record<string, string>>;
  /** Called with the runtime before the VM starts (e.g. to register a foreign queue). */
  readonly beforeStart?: (runtime: HostRuntime) => void;
  /** The ManualClock's start (epoch ms). */
  readonly clockStartMs?: number;
  /** Clusters for proxy_http_call (e.g. in-memory upstreams: Upstream.handle). */
  readonly clusters?: Readonly<Record<string, Upstream>>;
  /** What the host's random source gives (RuntimeOptions.randomFill), e.g. zeros. */
  readonly randomFill?: (bytes: Uint8Array) => void;
  /**
   * The plugin's first Math.random draw (in [0, 1)), e.g. the receiver's send offset at
   * configure: in-process Math.random is mocked once while the VM starts; the built .wasm's
   * generator is seeded (randomFill) so that its first draw is this value (to 2^-27).
   * Overrides randomFill.
   */
  readonly firstRandom?: number;
}

export function startPlugin(mode: PluginMode, subject: PluginUnderTest, options: StartOptions = {}): StartedPlugin {
  const clock = new ManualClock(options.clockStartMs);
  const logs: LogEntry[] = [];
  // every level reaches `logs` (tests look for debug lines too)
  const firstRandom = options.firstRandom;
  const randomFill = firstRandom === undefined || mode === 'TypeScript in-process' ? options.randomFill : seededRandomFill(firstRandom);
  const runtime = new HostRuntime({ clock, manualTicks: true, logLevel: LogLevel.Trace, logSink: (entry) => logs.push(entry), ...(options.clusters ? { clusters: options.clusters } : {}), ...(randomFill ? { randomFill } : {}) });
  options.beforeStart?.(runtime);
  const wasmPath = join(REPO_ROOT, subject.wasm);
  if (mode === 'built .wasm' && !existsSync(wasmPath)) throw new Error(`${subject.wasm} is missing: run node build.mjs first`);
  const random = firstRandom !== undefined && mode === 'TypeScript in-process' ? vi.spyOn(Math, 'random').mockReturnValueOnce(firstRandom) : undefined;
  let vm: Vm;
  try {
    vm = createVm({
      ...(mode === 'built .wasm' ? { wasm: loadWasmModule(wasmPath) } : { plugin: subject.plugin }),
      runtime,
      vmId: options.vmId ?? 'vm',
      ...(options.pluginConfiguration !== undefined ? { pluginConfiguration: options.pluginConfiguration } : {}),
      ...(options.environment !== undefined ? { environment: options.environment } : {}),
    });
  } finally {
    random?.mockRestore();
  }
  const foreignQueue = (vmId: string, name: string): ForeignQueue => {
    const owner = { contextId: 0, notify: () => undefined };
    const id = runtime.sharedQueues.register(vmId, name, owner);
    return {
      id,
      drain: (): string[] => {
        const out: string[] = [];
        for (let r = runtime.sharedQueues.dequeue(id); typeof r !== 'number'; r = runtime.sharedQueues.dequeue(id)) out.push(fromUtf8(r));
        return out;
      },
      drop: () => runtime.sharedQueues.dropOwner(owner),
    };
  };
  return {
    vm, runtime, clock, logs, foreignQueue,
    request: (input) => vm.runStream(input),
    tick: () => vm.tick(),
    counter: (name) => runtime.metrics.get(name)?.value,
  };
}

/**
 * A random source whose 16-byte draws seed the SDK's Math.random in Wasm (xoshiro128**,
 * src/sdk/globals.ts: state = the 16 bytes as four u32) so that its first draw is `fraction`:
 * the draw's top 27 bits are the first output >>> 5, and that output is rotl(s[1] * 5, 7) * 9,
 * which this inverts for s[1]. Other draws are zeros. The test's own assertions on what the
 * draw decides (e.g. the receiver's logged offset) fail if the generator ever changes.
 */
export function seededRandomFill(fraction: number): (bytes: Uint8Array) => void {
  if (!(fraction >= 0 && fraction < 1)) throw new Error(`firstRandom must be in [0, 1), got ${fraction}`);
  const output = (Math.min(Math.ceil(fraction * 2 ** 27), 2 ** 27 - 1) << 5) >>> 0; // ceil: the draw is >= fraction
  const inverse = (odd: number): number => { // of an odd u32, mod 2^32 (Newton's iteration)
    let x = odd;
    for (let i = 0; i < 5; i++) x = Math.imul(x, 2 - Math.imul(odd, x));
    return x >>> 0;
  };
  const rotated = Math.imul(output, inverse(9)) >>> 0;
  const times5 = ((rotated >>> 7) | (rotated << 25)) >>> 0;
  const s1 = Math.imul(times5, inverse(5)) >>> 0;
  const seed = new Uint8Array(new Uint32Array([1, s1, 0, 0]).buffer);
  return (bytes) => {
    bytes.fill(0);
    if (bytes.byteLength === 16) bytes.set(seed);
  };
}
