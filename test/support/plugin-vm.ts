// Runs one plugin in the local host's lean mode (a ManualClock, ticks only when asked) either
// as TypeScript in-process (NodeHost + the SDK dispatcher) or as its built .wasm, so ONE test
// body checks both, as the Go SDK's proxytest examples do. A missing .wasm fails the test
// (loadWasmModule throws), it never skips. A driver over host/, not another host.

import { existsSync } from 'node:fs';
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
  foreignQueue(vmId: string, name: string): { id: number; drain(): string[] };
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
}

export function startPlugin(mode: PluginMode, subject: PluginUnderTest, options: StartOptions = {}): StartedPlugin {
  const clock = new ManualClock(options.clockStartMs);
  const logs: LogEntry[] = [];
  // every level reaches `logs` (tests look for debug lines too)
  const runtime = new HostRuntime({ clock, manualTicks: true, logLevel: LogLevel.Trace, logSink: (entry) => logs.push(entry), ...(options.clusters ? { clusters: options.clusters } : {}), ...(options.randomFill ? { randomFill: options.randomFill } : {}) });
  options.beforeStart?.(runtime);
  const wasmPath = join(REPO_ROOT, subject.wasm);
  if (mode === 'built .wasm' && !existsSync(wasmPath)) throw new Error(`${subject.wasm} is missing: run node build.mjs first`);
  const vm = createVm({
    ...(mode === 'built .wasm' ? { wasm: loadWasmModule(wasmPath) } : { plugin: subject.plugin }),
    runtime,
    vmId: options.vmId ?? 'vm',
    ...(options.pluginConfiguration !== undefined ? { pluginConfiguration: options.pluginConfiguration } : {}),
    ...(options.environment !== undefined ? { environment: options.environment } : {}),
  });
  const foreignQueue = (vmId: string, name: string) => {
    const id = runtime.sharedQueues.register(vmId, name, { contextId: 0, notify: () => undefined });
    return {
      id,
      drain: (): string[] => {
        const out: string[] = [];
        for (let r = runtime.sharedQueues.dequeue(id); typeof r !== 'number'; r = runtime.sharedQueues.dequeue(id)) out.push(fromUtf8(r));
        return out;
      },
    };
  };
  return {
    vm, runtime, clock, logs, foreignQueue,
    request: (input) => vm.runStream(input),
    tick: () => vm.tick(),
    counter: (name) => runtime.metrics.get(name)?.value,
  };
}
