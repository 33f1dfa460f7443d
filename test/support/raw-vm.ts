// A built module on host/'s lean mode, driven export by export: the engine tests call the
// module's raw callbacks (proxy_on_context_create, proxy_on_log, …) with the context ids they
// choose, give the stream context header maps and properties of their own (no :authority
// needed), pass call data to proxy_on_foreign_function, and see every import the module calls.
// A driver over host/ (Vm.registerContext, Vm.invokeForeignFunction, wasmGuest's import
// observer), not another host: the hostcalls answered are host/'s, with Envoy's statuses.

import { toBytes, type Bytes } from '../../host/core/bytes.js';
import { ManualClock } from '../../host/core/clock.js';
import { HeaderMap } from '../../host/core/header-map.js';
import type { HttpCallRequest } from '../../host/core/http-client.js';
import { HostRuntime } from '../../host/core/runtime.js';
import type { StreamState } from '../../host/core/stream-state.js';
import type { Vm } from '../../host/core/vm.js';
import { wasmGuest } from '../../host/guests/wasm.js';
import type { WasmModule } from '../../host/guests/webassembly.js';
import { createVm } from '../../host/vm-factory.js';
import { LogLevel, MapType } from '../../src/abi/table.js';

export interface RawVmOptions {
  /** `vm_config.environment_variables.key_values`, served through WASI environ_*. */
  readonly environment?: Readonly<Record<string, string>>;
  /** What WASI random_get fills (default node:crypto). */
  readonly randomFill?: (bytes: Uint8Array) => void;
  readonly pluginConfiguration?: string;
  /** Run Envoy's start sequence (root 1: create, vm_start, configure). Default false: the test calls the exports. */
  readonly start?: boolean;
  /** Clusters answering proxy_http_call; every call is recorded and left unanswered. */
  readonly clusters?: readonly string[];
}

export interface LogLine { readonly level: LogLevel; readonly message: string }

type Pairs = readonly (readonly [string, string])[];
type RawExport = (...args: number[]) => number;

export class RawVm {
  readonly vm: Vm;
  readonly runtime: HostRuntime;
  readonly clock = new ManualClock();
  readonly logs: LogLine[] = [];
  /** Every import the module called ("proxy_log", "random_get", …), in call order. */
  readonly calls: string[] = [];
  readonly httpCalls: HttpCallRequest[] = [];
  private readonly streams = new Map<number, StreamState>();

  constructor(module: WasmModule, options: RawVmOptions = {}) {
    const clusters = Object.fromEntries((options.clusters ?? []).map((name) => [name, {
      host: name, port: 0,
      handle: (request: HttpCallRequest) => { this.httpCalls.push(request); return () => undefined; },
    }]));
    this.runtime = new HostRuntime({
      clock: this.clock, manualTicks: true, logLevel: LogLevel.Trace, clusters,
      logSink: (entry) => this.logs.push({ level: entry.level, message: entry.message }),
      ...(options.randomFill ? { randomFill: options.randomFill } : {}),
    });
    this.vm = createVm({
      guest: wasmGuest(module, 'module', (_ns, name) => this.calls.push(name)),
      runtime: this.runtime, vmId: 'vm', rootId: 'root', noStart: options.start !== true,
      ...(options.environment ? { environment: options.environment } : {}),
      ...(options.pluginConfiguration !== undefined ? { pluginConfiguration: options.pluginConfiguration } : {}),
    });
    if (options.start !== true) this.vm.registerContext(1, 0);
  }

  /** Context `id` (under root 1) as a stream context whose maps and buffers are all readable and writable. */
  stream(id: number, maps: { request?: Pairs; response?: Pairs; properties?: ReadonlyMap<string, Bytes> } = {}): StreamState {
    const state: StreamState = {
      requestHeaders: new HeaderMap(maps.request ?? []),
      responseHeaders: new HeaderMap(maps.response ?? []),
      accessLogPhase: false,
      info: { startTimeMs: this.clock.nowMs(), protocol: 'HTTP/1.1', sourceAddress: '127.0.0.1', sourcePort: 40000,
        destinationAddress: '127.0.0.1', destinationPort: 10000, connectionId: 1, responseCodeDetails: '' },
      ...(maps.properties ? { filterState: new Map(maps.properties) } : {}),
    };
    this.streams.set(id, state);
    this.vm.registerContext(id, 1, state);
    return state;
  }

  /** Replaces a stream map of context `id` (request or response headers). */
  setMap(id: number, type: MapType.HttpRequestHeaders | MapType.HttpResponseHeaders, pairs: Pairs): void {
    const state = this.streams.get(id) ?? this.stream(id);
    if (type === MapType.HttpRequestHeaders) state.requestHeaders = new HeaderMap(pairs);
    else state.responseHeaders = new HeaderMap(pairs);
  }

  /** A stream map of context `id` as the module left it. */
  map(id: number, type: MapType.HttpRequestHeaders | MapType.HttpResponseHeaders): Pairs | undefined {
    const state = this.streams.get(id);
    return (type === MapType.HttpRequestHeaders ? state?.requestHeaders : state?.responseHeaders)?.pairs();
  }

  /** Calls export `name` as the host would, the first argument being the current context. */
  call(name: string, ...args: number[]): number {
    const fn = this.vm.guest.exports?.[name];
    if (typeof fn !== 'function') throw new Error(`no export ${name}`);
    return this.vm.withContext(args[0] ?? 0, () => (fn as RawExport)(...args));
  }

  /** Lines logged at `level` (all levels when omitted), messages only. */
  messages(level?: LogLevel): string[] {
    return this.logs.filter((l) => level === undefined || l.level === level).map((l) => l.message);
  }

  /** Runs a probe foreign function with `data` as call data (on the root unless told); returns the messages it logged. */
  foreign(fn: number, data: Uint8Array | string, contextId = 1): string[] {
    const before = this.logs.length;
    this.vm.invokeForeignFunction(contextId, fn, toBytes(data));
    return this.logs.slice(before).map((l) => l.message);
  }
}
