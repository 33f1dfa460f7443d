// A minimal proxy-wasm host for the benchmark: instantiates a module, answers the hostcalls the
// sender, the receiver and the peers use, and drives a root context and stream lifecycles
// synchronously. The full local host (host/) is driven by local-host-driver.ts; this one is
// deliberately lean so that host overhead is small and identical for every module measured.

import { BufferType, HOSTCALLS, LogLevel, MapType, Status } from '../../src/abi/table.js';
import { GuestMemory } from './guest-memory.js';
import { EncodedHeaders, NO_HEADERS } from './headers.js';
import { wasiImports } from './wasi.js';
import {
  exportedFunction, exportedMemory, instantiate, moduleImports,
  type CompiledModule, type GuestFunction, type HostFunction, type ImportObject,
} from './wasm-api.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** proxy_get_property's path for request.time (segments joined by NUL), compared byte by byte. */
const REQUEST_TIME_PATH = encoder.encode('request\0time');
/** The answer to request.time, rewritten in place per call (returnBytes copies it into the guest). */
const requestTimeBytes = new Uint8Array(8);
const requestTimeView = new DataView(requestTimeBytes.buffer);

function isRequestTimePath(path: Uint8Array): boolean {
  if (path.byteLength !== REQUEST_TIME_PATH.byteLength) return false;
  for (let i = 0; i < path.byteLength; i++) if (path[i] !== REQUEST_TIME_PATH[i]) return false;
  return true;
}

export interface VmSpec {
  readonly vmId: string;
  readonly rootId: string;
  readonly vmConfiguration: string;
  readonly pluginConfiguration: string;
  /** WASI environment, 'KEY=VALUE'. */
  readonly environment?: readonly string[];
  /** Count calls per imported function (MiniVm.importCalls); off for timed runs. */
  readonly countImports?: boolean;
}

export interface HttpCallRecord {
  readonly cluster: string;
  readonly headers: Uint8Array;
  readonly body: Uint8Array;
  readonly timeoutMs: number;
}

/** What one host process shares between its VMs: the clock, shared queues and outbound calls. */
export class MiniHost {
  /** Added to the wall clock: lets a benchmark jump past a publish interval without waiting. */
  clockOffsetNs = 0n;
  readonly httpCalls: HttpCallRecord[] = [];
  private readonly queueIds = new Map<string, number>();
  private readonly queueItems = new Map<number, Uint8Array[]>();
  private readonly queueOwners = new Map<number, MiniVm>();

  nowNanoseconds(): bigint {
    return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6)) + this.clockOffsetNs;
  }

  registerQueue(vm: MiniVm, name: string): number {
    const key = `${vm.spec.vmId}\0${name}`;
    let id = this.queueIds.get(key);
    if (id === undefined) {
      id = this.queueIds.size + 1;
      this.queueIds.set(key, id);
      this.queueItems.set(id, []);
    }
    this.queueOwners.set(id, vm);
    return id;
  }

  resolveQueue(vmId: string, name: string): number | undefined {
    return this.queueIds.get(`${vmId}\0${name}`);
  }

  enqueue(id: number, data: Uint8Array): boolean {
    const items = this.queueItems.get(id);
    if (items === undefined) return false;
    items.push(data);
    return true;
  }

  dequeue(id: number): Uint8Array | undefined | null {
    const items = this.queueItems.get(id);
    if (items === undefined) return null;
    return items.shift();
  }

  /** Items waiting on a queue (the benchmark delivers them explicitly, see MiniVm.queueReady). */
  pending(id: number): number {
    return this.queueItems.get(id)?.length ?? 0;
  }

  /** Drops everything queued: the per-request benchmark has no receiver draining the queue. */
  drain(id: number): Uint8Array[] {
    const items = this.queueItems.get(id) ?? [];
    this.queueItems.set(id, []);
    return items;
  }

  createVm(module: CompiledModule, spec: VmSpec): MiniVm {
    return new MiniVm(this, module, spec);
  }
}

const ROOT_CONTEXT_ID = 1;

export class MiniVm {
  readonly logCounts = [0, 0, 0, 0, 0, 0];
  readonly warnings: string[] = [];
  tickPeriodMs = 0;
  /** Calls per imported function ("env.proxy_log", ...), when spec.countImports is set. */
  readonly importCalls = new Map<string, number>();
  private readonly memory: GuestMemory;
  private readonly call: (name: string) => GuestFunction;
  private nextContextId = ROOT_CONTEXT_ID + 1;
  private request = NO_HEADERS;
  private response = NO_HEADERS;
  /** performance.now() at the current stream's start (Envoy's StreamInfo start time). */
  private streamStartMs = 0;
  private callResponseHeaders = NO_HEADERS;
  private callResponseBody: Uint8Array = new Uint8Array(0);
  private readonly onRequestHeaders: GuestFunction;
  private readonly onResponseHeaders: GuestFunction;
  private readonly onContextCreate: GuestFunction;
  private readonly onLog: GuestFunction;
  private readonly onDone: GuestFunction;
  private readonly onDelete: GuestFunction;
  private readonly onTick: GuestFunction;

  constructor(private readonly host: MiniHost, module: CompiledModule, readonly spec: VmSpec) {
    let memory: GuestMemory | undefined;
    const mem = (): GuestMemory => {
      if (memory === undefined) throw new Error('hostcall before the instance exists');
      return memory;
    };
    const wasi = wasiImports(mem, {
      environment: spec.environment ?? [],
      nowNanoseconds: () => host.nowNanoseconds(),
      onOutput: (_fd, text) => this.note(LogLevel.Warn, `stdio: ${text}`),
    });
    const exports = instantiate(module, this.imports(module, mem, wasi));
    memory = new GuestMemory(exportedMemory(exports));
    this.memory = memory;
    memory.allocate = exportedFunction(exports, 'proxy_on_memory_allocate') ?? exportedFunction(exports, 'malloc');
    const noop: GuestFunction = () => 0;
    this.call = (name) => exportedFunction(exports, name) ?? noop;
    this.onContextCreate = this.call('proxy_on_context_create');
    this.onRequestHeaders = this.call('proxy_on_request_headers');
    this.onResponseHeaders = this.call('proxy_on_response_headers');
    this.onLog = this.call('proxy_on_log');
    this.onDone = this.call('proxy_on_done');
    this.onDelete = this.call('proxy_on_delete');
    this.onTick = this.call('proxy_on_tick');

    // Reactor start (WASI), then the root context's life: create, vm_start, configure.
    (exportedFunction(exports, '_initialize') ?? exportedFunction(exports, '_start') ?? noop)();
    this.onContextCreate(ROOT_CONTEXT_ID, 0);
    // A module that does not export them succeeds, as in proxy-wasm-cpp-host (the build drops unused callbacks).
    const succeed: GuestFunction = () => 1;
    if ((exportedFunction(exports, 'proxy_on_vm_start') ?? succeed)(ROOT_CONTEXT_ID, encoder.encode(spec.vmConfiguration).byteLength) === 0) {
      throw new Error(`${spec.vmId}: proxy_on_vm_start returned false${this.lastWarning()}`);
    }
    if ((exportedFunction(exports, 'proxy_on_configure') ?? succeed)(ROOT_CONTEXT_ID, encoder.encode(spec.pluginConfiguration).byteLength) === 0) {
      throw new Error(`${spec.vmId}: proxy_on_configure returned false${this.lastWarning()}`);
    }
  }

  /** One full HTTP stream: create -> request headers -> response headers -> log -> done -> delete. */
  stream(request: EncodedHeaders, response: EncodedHeaders): void {
    const id = this.nextContextId++;
    this.request = request;
    this.response = NO_HEADERS;
    this.streamStartMs = performance.now();
    this.onContextCreate(id, ROOT_CONTEXT_ID);
    this.onRequestHeaders(id, request.size, 1);
    this.response = response;
    this.onResponseHeaders(id, response.size, 1);
    this.onLog(id);
    this.onDone(id);
    this.onDelete(id);
    this.request = NO_HEADERS;
    this.response = NO_HEADERS;
  }

  /** stream(), timing each callback: adds milliseconds to phases[0..5] in lifecycle order. */
  streamTimed(request: EncodedHeaders, response: EncodedHeaders, phases: Float64Array): void {
    const id = this.nextContextId++;
    this.request = request;
    this.response = NO_HEADERS;
    let t = performance.now();
    this.streamStartMs = t;
    const lap = (i: number): void => {
      const now = performance.now();
      phases[i]! += now - t;
      t = now;
    };
    this.onContextCreate(id, ROOT_CONTEXT_ID); lap(0);
    this.onRequestHeaders(id, request.size, 1); lap(1);
    this.response = response;
    this.onResponseHeaders(id, response.size, 1); lap(2);
    this.onLog(id); lap(3);
    this.onDone(id); lap(4);
    this.onDelete(id); lap(5);
    this.request = NO_HEADERS;
    this.response = NO_HEADERS;
  }

  tick(): void {
    this.onTick(ROOT_CONTEXT_ID);
  }

  queueReady(queueId: number): void {
    this.call('proxy_on_queue_ready')(ROOT_CONTEXT_ID, queueId);
  }

  /** Delivers the answer to an outbound call (token from MiniHost.httpCalls: index + 1). */
  httpCallResponse(token: number, headers: EncodedHeaders, body: Uint8Array): void {
    this.callResponseHeaders = headers;
    this.callResponseBody = body;
    this.call('proxy_on_http_call_response')(ROOT_CONTEXT_ID, token, headers.size, body.byteLength, 0);
    this.callResponseHeaders = NO_HEADERS;
    this.callResponseBody = new Uint8Array(0);
  }

  get memoryBytes(): number {
    return this.memory.byteLength;
  }

  get errorCount(): number {
    return this.logCounts[LogLevel.Error]! + this.logCounts[LogLevel.Critical]!;
  }

  private lastWarning(): string {
    const last = this.warnings[this.warnings.length - 1];
    return last === undefined ? '' : ` (last log: ${last})`;
  }

  private note(level: number, message: string): void {
    this.logCounts[Math.min(Math.max(level, 0), 5)]! += 1;
    if (level >= LogLevel.Warn) {
      this.warnings.push(message);
      if (this.warnings.length > 20) this.warnings.shift();
    }
  }

  private headerMap(mapType: number): EncodedHeaders | undefined {
    if (mapType === MapType.HttpRequestHeaders) return this.request;
    if (mapType === MapType.HttpResponseHeaders) return this.response;
    if (mapType === MapType.HttpCallResponseHeaders) return this.callResponseHeaders;
    if (mapType === MapType.HttpRequestTrailers || mapType === MapType.HttpResponseTrailers) return NO_HEADERS;
    return undefined;
  }

  private property(path: string): string | undefined {
    switch (path) {
      case 'plugin_root_id': return this.spec.rootId;
      case 'plugin_name': return this.spec.rootId;
      case 'plugin_vm_id': return this.spec.vmId;
      default: return undefined;
    }
  }

  private imports(module: CompiledModule, mem: () => GuestMemory, wasi: Record<string, HostFunction>): ImportObject {
    const proxy = this.hostcalls(mem);
    const known = new Set<string>(HOSTCALLS.map((h) => h.abi));
    for (const name of Object.keys(proxy)) {
      if (!known.has(name)) throw new Error(`mini host implements ${name}, which table.ts does not list`);
    }
    const out: ImportObject = {};
    for (const imp of moduleImports(module)) {
      if (imp.kind !== 'function') throw new Error(`module imports a ${imp.kind} (${imp.module}.${imp.name}): unsupported`);
      const table = (out[imp.module] ??= {});
      const impl = imp.module === 'env' ? proxy[imp.name] : wasi[imp.name];
      // Anything else answers Unimplemented (proxy) / ENOSYS (WASI), as a host lacking it would.
      const fn: HostFunction = impl ?? ((): number => (imp.module === 'env' ? Status.Unimplemented : 52));
      const key = `${imp.module}.${imp.name}`;
      table[imp.name] = this.spec.countImports !== true ? fn : (...args) => {
        this.importCalls.set(key, (this.importCalls.get(key) ?? 0) + 1);
        return fn(...args);
      };
    }
    return out;
  }

  private hostcalls(mem: () => GuestMemory): Record<string, HostFunction> {
    const host = this.host;
    const str = (ptr: number | bigint, len: number | bigint): string => decoder.decode(mem().slice(Number(ptr), Number(len)));
    return {
      proxy_log: (level, ptr, len) => {
        const lvl = Number(level);
        this.note(lvl, lvl >= LogLevel.Warn ? str(ptr, len) : '');
        return Status.Ok;
      },
      proxy_get_log_level: (retPtr) => {
        mem().writeU32(Number(retPtr), LogLevel.Info);
        return Status.Ok;
      },
      proxy_get_current_time_nanoseconds: (retPtr) => {
        mem().writeU64(Number(retPtr), host.nowNanoseconds());
        return Status.Ok;
      },
      proxy_set_tick_period_milliseconds: (period) => {
        this.tickPeriodMs = Number(period);
        return Status.Ok;
      },
      proxy_get_buffer_bytes: (type, start, maxSize, retPtr, retLen) => {
        let text: string | undefined;
        if (type === BufferType.VmConfiguration) text = this.spec.vmConfiguration;
        else if (type === BufferType.PluginConfiguration) text = this.spec.pluginConfiguration;
        else if (type === BufferType.HttpCallResponseBody) text = undefined;
        else return Status.NotFound;
        const all = text === undefined ? this.callResponseBody : encoder.encode(text);
        // start and max size are u32: 0xffffffff ("all") arrives as -1 through an i32 parameter.
        const from = Math.min(Number(start) >>> 0, all.byteLength);
        mem().returnBytes(all.subarray(from, from + (Number(maxSize) >>> 0)), Number(retPtr), Number(retLen));
        return Status.Ok;
      },
      proxy_get_header_map_value: (mapType, keyPtr, keyLen, retPtr, retLen) => {
        const map = this.headerMap(Number(mapType));
        if (map === undefined) return Status.BadArgument;
        const value = map.find(mem().slice(Number(keyPtr), Number(keyLen)));
        if (value === undefined) return Status.NotFound;
        mem().returnBytes(value, Number(retPtr), Number(retLen));
        return Status.Ok;
      },
      proxy_get_header_map_pairs: (mapType, retPtr, retLen) => {
        const map = this.headerMap(Number(mapType));
        if (map === undefined) return Status.BadArgument;
        mem().returnBytes(map.serialized, Number(retPtr), Number(retLen));
        return Status.Ok;
      },
      proxy_get_header_map_size: (mapType, retSize) => {
        const map = this.headerMap(Number(mapType));
        if (map === undefined) return Status.BadArgument;
        mem().writeU32(Number(retSize), map.size);
        return Status.Ok;
      },
      proxy_get_property: (pathPtr, pathLen, retPtr, retLen) => {
        // request.time is read per request: matched on the raw bytes and answered from one
        // reused 8-byte buffer, so the harness adds no decode/regex/allocation to the guest's cost
        if (isRequestTimePath(mem().slice(Number(pathPtr), Number(pathLen)))) {
          // Envoy: int64 ns since the epoch, little-endian; the clock of proxy_get_current_time_nanoseconds
          const ns = (performance.timeOrigin + this.streamStartMs) * 1e6 + Number(host.clockOffsetNs);
          const high = Math.floor(ns / 4294967296);
          requestTimeView.setUint32(0, ns - high * 4294967296, true);
          requestTimeView.setUint32(4, high, true);
          mem().returnBytes(requestTimeBytes, Number(retPtr), Number(retLen));
          return Status.Ok;
        }
        const value = this.property(str(pathPtr, pathLen).replace(/\0/g, '.'));
        if (value === undefined) return Status.NotFound;
        mem().returnBytes(encoder.encode(value), Number(retPtr), Number(retLen));
        return Status.Ok;
      },
      proxy_register_shared_queue: (namePtr, nameLen, retId) => {
        mem().writeU32(Number(retId), host.registerQueue(this, str(namePtr, nameLen)));
        return Status.Ok;
      },
      proxy_resolve_shared_queue: (vmPtr, vmLen, namePtr, nameLen, retId) => {
        const id = host.resolveQueue(str(vmPtr, vmLen), str(namePtr, nameLen));
        if (id === undefined) return Status.NotFound;
        mem().writeU32(Number(retId), id);
        return Status.Ok;
      },
      proxy_enqueue_shared_queue: (id, ptr, len) =>
        host.enqueue(Number(id), mem().copyOut(Number(ptr), Number(len))) ? Status.Ok : Status.NotFound,
      proxy_dequeue_shared_queue: (id, retPtr, retLen) => {
        const item = host.dequeue(Number(id));
        if (item === null) return Status.NotFound;
        if (item === undefined) return Status.Empty;
        mem().returnBytes(item, Number(retPtr), Number(retLen));
        return Status.Ok;
      },
      proxy_http_call: (upPtr, upLen, hPtr, hLen, bPtr, bLen, _tPtr, _tLen, timeout, retToken) => {
        host.httpCalls.push({
          cluster: str(upPtr, upLen),
          headers: mem().copyOut(Number(hPtr), Number(hLen)),
          body: mem().copyOut(Number(bPtr), Number(bLen)),
          timeoutMs: Number(timeout),
        });
        mem().writeU32(Number(retToken), host.httpCalls.length);
        return Status.Ok;
      },
      proxy_set_effective_context: () => Status.Ok,
      proxy_done: () => Status.Ok,
      proxy_continue_stream: () => Status.Ok,
      proxy_close_stream: () => Status.Ok,
      proxy_define_metric: (_type, _namePtr, _nameLen, retId) => {
        mem().writeU32(Number(retId), 1);
        return Status.Ok;
      },
      proxy_increment_metric: () => Status.Ok,
      proxy_record_metric: () => Status.Ok,
    };
  }
}
