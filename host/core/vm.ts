// One proxy-wasm VM as Envoy runs it: one plugin (vm_id, root_id, configurations), its root
// context, stream contexts, and every hostcall's behaviour with Envoy's status codes. Guest-kind
// independent: a Guest (wasm module or in-process plugin) supplies the callbacks, and the
// hostcall methods here take and return plain JS values (marshalling lives in the guests).

import zlib from 'node:zlib';
import type { FlatPairs, GuestCallbacks } from '../../src/abi/host.js';
import { BufferType, CALLBACKS, LogLevel, MapType, MetricType, Status, StreamType } from '../../src/abi/table.js';
import { EMPTY_BYTES, type Bytes } from './bytes.js';
import { HeaderMap } from './header-map.js';
import { envoyLocalReply, sendHttpCall, type HttpCallResponse } from './http-client.js';
import { MetricStore, type Metric } from './metrics.js';
import { lookupProperty } from './properties.js';
import type { HostRuntime } from './runtime.js';
import type { QueueOwner } from './shared.js';
import { Exposed, type StreamState } from './stream-state.js';
import { runStream, type StreamInput, type StreamOutcome } from './stream.js';

export interface PluginSpec {
  /** `config.name` of the filter / service. */
  readonly name: string;
  readonly rootId: string;
  readonly vmId: string;
  readonly vmConfiguration: Bytes;
  readonly pluginConfiguration: Bytes;
  /** What WASI environ_* shows the VM (host_env_keys resolved + key_values). */
  readonly environment: Readonly<Record<string, string>>;
  /** Envoy's failure_policy FAIL_OPEN: a failed plugin is skipped instead of answering 503. */
  readonly failOpen?: boolean;
}

/** What a guest offers the VM: its callbacks (absent ones fall back) and its memory size. */
export interface Guest {
  readonly kind: 'wasm' | 'in-process';
  readonly callbacks: GuestCallbacks;
  /** Linear memory in bytes (0 for an in-process guest). */
  memoryBytes(): number;
  /** A wasm guest's raw exports (tests call re-exported hostcalls through them). */
  readonly exports?: Readonly<Record<string, unknown>>;
}

export type GuestFactory = (vm: Vm) => Guest;

export type VmState = 'created' | 'running' | 'failed' | 'closed';

interface ContextState {
  readonly id: number;
  /** 0 for a root context. */
  readonly rootId: number;
  readonly stream?: StreamState;
  /** Exposed.* bits: the stream maps/buffers this context may use now (Envoy's per-filter pointers). */
  exposed: number;
  /** Root only: the response being delivered to proxy_on_http_call_response. */
  httpCallResponse?: HttpCallResponse;
  /** Root only: plugin configuration readable (start / configure). */
  pluginConfigurationVisible: boolean;
}

const FALLBACKS: Readonly<Record<string, number>> = Object.fromEntries(CALLBACKS.map((c) => [c.name, c.fallback]));
const METRIC_TYPE_MASK = 0x3;
const METRIC_ID_INCREMENT = 0x4;
const MAX_I32 = 0x7fffffff;

export class Vm implements QueueOwner {
  readonly spec: PluginSpec;
  readonly runtime: HostRuntime;
  /** Which worker this VM belongs to (-1 = main thread, e.g. a singleton service). */
  readonly worker: number;
  state: VmState = 'created';
  /** Why the VM or plugin failed, for reports. */
  failure?: string;
  rootContextId = 0;
  /** The root's tick period as last set (0: none); in lean mode nothing ticks but vm.tick(). */
  tickPeriodMs = 0;
  /** What the root's proxy_on_done answered at shutdown (1: done now; 0: wait for proxy_done). */
  onDoneResult: number | undefined;
  /** proxy_done calls the host accepted (a root finishing after returning false from on_done). */
  doneCalls = 0;
  /**
   * Shutdown has begun: as after Envoy's main loop has exited, no tick fires, no queue delivery
   * runs, no http_call answer arrives through the loop, and no new http_call is made.
   */
  stopping = false;
  contextId = 0; // QueueOwner: the root context that gets proxy_on_queue_ready
  private guestImpl?: Guest;
  private callbacks: GuestCallbacks = {};
  private readonly contexts = new Map<number, ContextState>();
  private nextContextId = 1;
  private currentContextId = 0;
  private effectiveContextId = 0;
  private depth = 0;
  private afterCall: (() => void)[] = [];
  private tickTimer?: NodeJS.Timeout;
  private readonly httpCalls = new Map<number, { contextId: number; cancel: () => void }>();
  private nextHttpCallToken = 1;
  private readonly metricsById = new Map<number, Metric>();
  private readonly nextMetricId = [0, 1, 2];
  /** The root returned false from proxy_on_done and has not called proxy_done yet. */
  private awaitingDone = false;
  /** Buffer CallData while invokeForeignFunction runs. */
  private callData?: Bytes;
  /** What proxy_get_status reports (Envoy sets BrokenConnection/"reset" for a failed http_call). */
  private callStatus: { code: number; message: string } = { code: 0, message: '' };

  constructor(spec: PluginSpec, runtime: HostRuntime, worker = -1) {
    this.spec = spec;
    this.runtime = runtime;
    this.worker = worker;
  }

  get guest(): Guest {
    if (!this.guestImpl) throw new Error(`VM '${this.spec.vmId}' has no guest attached`);
    return this.guestImpl;
  }

  get vmId(): string {
    return this.spec.vmId;
  }

  /** Attaches the guest (instantiation happens in the guest factory, which may call hostcalls). */
  attach(factory: GuestFactory): void {
    this.guestImpl = factory(this);
    this.callbacks = this.guestImpl.callbacks;
  }

  // -- lifecycle --------------------------------------------------------------------------------

  /**
   * Envoy's start sequence: root context create, proxy_on_vm_start, proxy_on_configure.
   * Returns false (and records `failure`) when the VM or the plugin fails.
   */
  start(): boolean {
    const rootId = this.nextContextId++;
    this.rootContextId = rootId;
    this.contextId = rootId;
    const root: ContextState = { id: rootId, rootId: 0, exposed: 0, pluginConfigurationVisible: true };
    this.contexts.set(rootId, root);
    this.state = 'running';
    this.invoke(rootId, 'proxy_on_context_create', rootId, 0);
    if (this.isFailed()) return false;
    const started = this.invoke(rootId, 'proxy_on_vm_start', rootId, this.spec.vmConfiguration.byteLength);
    if (this.isFailed()) return false;
    if (started === 0) return this.fail(`proxy_on_vm_start returned false: failed to start the Wasm VM '${this.vmId}'`);
    const configured = this.invoke(rootId, 'proxy_on_configure', rootId, this.spec.pluginConfiguration.byteLength);
    root.pluginConfigurationVisible = false;
    if (this.isFailed()) return false;
    if (configured === 0) {
      return this.fail(`proxy_on_configure returned false: plugin '${this.spec.name}' (vm '${this.vmId}') rejected its configuration`);
    }
    return true;
  }

  isFailed(): boolean {
    return this.state === 'failed' || this.state === 'closed';
  }

  private fail(reason: string): false {
    if (this.state !== 'closed') this.state = 'failed';
    this.failure ??= reason;
    this.runtime.hostLog(LogLevel.Critical, `[vm ${this.vmId}] ${reason}`);
    return false;
  }

  /** Creates a stream context under the root (proxy_on_context_create) and returns its id. */
  createStreamContext(stream: StreamState): number {
    const id = this.nextContextId++;
    this.contexts.set(id, { id, rootId: this.rootContextId, stream, exposed: 0, pluginConfigurationVisible: false });
    this.invoke(id, 'proxy_on_context_create', id, this.rootContextId);
    return id;
  }

  /**
   * Lean mode, for drivers that call a module's exports themselves (the engine tests): records a
   * context the driver creates with its own proxy_on_context_create call, so that hostcalls made
   * under `id` see `stream`'s maps (with `exposed` bits, default all) as a stream context's.
   */
  registerContext(id: number, rootId: number, stream?: StreamState, exposed: number = Exposed.All): void {
    this.contexts.set(id, { id, rootId, ...(stream ? { stream } : {}), exposed: stream ? exposed : 0, pluginConfigurationVisible: rootId === 0 });
    if (rootId === 0 && this.rootContextId === 0) this.rootContextId = this.contextId = id;
    if (id >= this.nextContextId) this.nextContextId = id + 1;
  }

  /**
   * proxy_on_foreign_function(contextId, functionId, size) with `data` readable as buffer CallData
   * during the call (cpp-host's onForeignFunction); returns the callback's result.
   */
  invokeForeignFunction(contextId: number, functionId: number, data: Bytes): number {
    this.callData = data;
    try {
      return this.invoke(contextId, 'proxy_on_foreign_function', contextId, functionId, data.byteLength);
    } finally {
      this.callData = undefined;
    }
  }

  /** Adds (or, with `on` false, removes) Exposed.* bits for a stream context. */
  expose(contextId: number, bits: number, on = true): void {
    const ctx = this.contexts.get(contextId);
    if (ctx) ctx.exposed = on ? ctx.exposed | bits : ctx.exposed & ~bits;
  }

  /** proxy_on_delete, then the context is forgotten and its pending http calls cancelled. */
  deleteContext(id: number): void {
    if (!this.contexts.has(id)) return;
    this.invoke(id, 'proxy_on_delete', id);
    this.contexts.delete(id);
    if (this.httpCalls.size === 0) return;
    for (const [token, call] of this.httpCalls) {
      if (call.contextId === id) {
        call.cancel();
        this.httpCalls.delete(token);
      }
    }
  }

  /**
   * One VM's shutdown, in Envoy 1.40's order (see host/README.md "Shutdown"): the loop stops
   * (beginShutdown), then a worker VM's proxy_on_done runs before its calls in flight are reset,
   * while a main-thread (singleton service) VM's calls are reset first and its proxy_on_done runs
   * last; then the root is deleted. Synchronous, as in Envoy: nothing waits for proxy_done (a
   * root that returned false would wait forever there; it is logged and deleted). Resolves
   * when done; the argument of older callers (a proxy_done wait) is ignored.
   */
  async shutdown(_timeoutMs?: number): Promise<void> {
    this.beginShutdown();
    if (this.worker === -1) {
      this.resetHttpCalls();
      this.callOnDone();
    } else {
      this.callOnDone();
      this.resetHttpCalls();
    }
    this.finishShutdown();
    return Promise.resolve();
  }

  /** Envoy's main loop has exited: no more ticks, queue deliveries, call answers or new calls. */
  beginShutdown(): void {
    this.stopping = true;
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.tickTimer = undefined;
  }

  /** cpp-host's startShutdown: proxy_on_done on the root; false parks it until proxy_done. */
  callOnDone(): void {
    if (this.state !== 'running' || this.rootContextId === 0 || this.onDoneResult !== undefined) return;
    const finished = this.invoke(this.rootContextId, 'proxy_on_done', this.rootContextId);
    this.onDoneResult = finished;
    if (finished === 0 && !this.isFailed()) this.awaitingDone = true;
  }

  /**
   * The cluster manager's shutdown: every call in flight is reset, and Envoy's router answers
   * each one now (outside any loop) with 503 `… reset reason: connection termination`.
   */
  resetHttpCalls(): void {
    const calls = [...this.httpCalls];
    this.httpCalls.clear();
    for (const [token, call] of calls) {
      call.cancel();
      this.deliverHttpCallResponse(call.contextId, token, envoyLocalReply('disconnect'));
    }
  }

  /** Deletes the root (a root still waiting for proxy_done is logged: it would hang in Envoy). */
  finishShutdown(): void {
    if (this.state === 'closed') return;
    if (this.awaitingDone) {
      this.awaitingDone = false;
      this.runtime.hostLog(LogLevel.Warn, `[vm ${this.vmId}] proxy_on_done returned false and proxy_done was never called: `
        + 'this root would hang in Envoy (nothing can call it back after shutdown starts); deleting it');
    }
    if (this.state === 'running' && this.rootContextId !== 0) this.deleteContext(this.rootContextId);
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.tickTimer = undefined;
    for (const call of this.httpCalls.values()) call.cancel();
    this.httpCalls.clear();
    this.runtime.sharedQueues.dropOwner(this);
    this.state = 'closed';
  }

  /** Drives one whole HTTP stream through this VM's filter synchronously (no network). */
  /** One proxy_on_tick of the root context now (lean mode's manual ticks; also fine with timers). */
  tick(): void {
    if (this.state === 'running' && !this.stopping && this.contexts.has(this.rootContextId)) this.invoke(this.rootContextId, 'proxy_on_tick', this.rootContextId);
  }

  runStream(input: StreamInput = {}): StreamOutcome {
    return runStream(this, input);
  }

  // -- calling into the guest -------------------------------------------------------------------

  /**
   * Calls one callback with `contextId` as the current context. A trap or exception fails the
   * VM (as a Wasm trap does in Envoy) and the callback's fallback is returned.
   */
  invoke(contextId: number, name: string, a = 0, b = 0, c = 0, d = 0, e = 0): number {
    const fn = this.callbacks[name];
    if (!fn || this.isFailed()) return FALLBACKS[name] ?? 0;
    const savedCurrent = this.currentContextId;
    const savedEffective = this.effectiveContextId;
    this.currentContextId = contextId;
    this.effectiveContextId = 0;
    this.depth++;
    let result: number;
    try {
      result = fn(a, b, c, d, e) ?? 0;
    } catch (err) {
      result = FALLBACKS[name] ?? 0;
      this.restore(savedCurrent, savedEffective);
      this.fail(`${name} failed: ${err instanceof Error ? err.message : String(err)}`);
      if (this.depth === 0 && this.afterCall.length > 0) this.runAfterCall();
      return result >>> 0;
    }
    this.restore(savedCurrent, savedEffective);
    if (this.depth === 0 && this.afterCall.length > 0) this.runAfterCall();
    return result >>> 0;
  }

  /** Leaves a callback: the caller's current and effective contexts come back. */
  private restore(savedCurrent: number, savedEffective: number): void {
    this.currentContextId = savedCurrent;
    this.effectiveContextId = savedEffective;
    this.depth--;
  }

  /**
   * A stream callback with `bits` exposed for the call (Envoy sets the filter's pointers for it)
   * and dropped again when the filter continues (a paused filter keeps them).
   */
  invokeExposed(contextId: number, bits: number, name: string, a: number, b: number): number {
    const ctx = this.contexts.get(contextId);
    if (ctx) ctx.exposed |= bits;
    const action = this.invoke(contextId, name, contextId, a, b);
    if (action === 0 && ctx) ctx.exposed &= ~bits; // Action.Continue
    return action;
  }

  /**
   * Runs `fn` as if inside a callback of `contextId` (hostcalls see that context); for tests and
   * tools that call guest exports directly.
   */
  withContext<T>(contextId: number, fn: () => T): T {
    const savedCurrent = this.currentContextId;
    const savedEffective = this.effectiveContextId;
    this.currentContextId = contextId;
    this.effectiveContextId = 0;
    this.depth++;
    try {
      return fn();
    } finally {
      this.restore(savedCurrent, savedEffective);
      if (this.depth === 0 && this.afterCall.length > 0) this.runAfterCall();
    }
  }

  private runAfterCall(): void {
    while (this.afterCall.length > 0) {
      const actions = this.afterCall;
      this.afterCall = [];
      for (const action of actions) action();
    }
  }

  /** Envoy defers stream actions requested from inside a callback until the call returns. */
  private defer(action: () => void): void {
    if (this.depth === 0) action();
    else this.afterCall.push(action);
  }

  /** Delivered by the shared queue (asynchronously) to the registering root context. */
  notify(queueId: number, contextId: number): void {
    if (this.state !== 'running' || this.stopping || !this.contexts.has(contextId)) return;
    this.invoke(contextId, 'proxy_on_queue_ready', contextId, queueId);
  }

  /** The context hostcalls act on: proxy_set_effective_context's choice, else the current one. */
  private context(): ContextState | undefined {
    if (this.effectiveContextId !== 0) {
      const effective = this.contexts.get(this.effectiveContextId);
      if (effective) return effective;
    }
    return this.contexts.get(this.currentContextId);
  }

  private rootOf(ctx: ContextState | undefined): ContextState | undefined {
    if (!ctx) return undefined;
    return ctx.rootId === 0 ? ctx : this.contexts.get(ctx.rootId);
  }

  /** The environment WASI environ_* exposes. */
  environ(): string[] {
    return Object.entries(this.spec.environment).map(([k, v]) => `${k}=${v}`);
  }

  // -- hostcalls: logging, time ----------------------------------------------------------------

  log(level: number, message: string): Status {
    if (level > LogLevel.Critical) return Status.BadArgument;
    // The level test first: a filtered-out message costs no entry object.
    if (level >= this.runtime.logLevel) this.runtime.log({ level, vmId: this.vmId, rootId: this.spec.rootId, message });
    return Status.Ok;
  }

  getLogLevel(): number {
    return this.runtime.logLevel;
  }

  getCurrentTimeNanoseconds(): bigint {
    return this.runtime.clock.nowNs();
  }

  monotonicTimeNanoseconds(): bigint {
    return process.hrtime.bigint();
  }

  setTickPeriodMilliseconds(period: number): Status {
    const root = this.rootOf(this.context());
    if (!root) return Status.BadArgument;
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.tickTimer = undefined;
    this.tickPeriodMs = period;
    if (period > 0 && !this.runtime.manualTicks && !this.stopping) { // no timer once the loop has exited
      const rootId = root.id;
      this.tickTimer = setInterval(() => {
        if (this.state === 'running' && !this.stopping && this.contexts.has(rootId)) this.invoke(rootId, 'proxy_on_tick', rootId);
      }, period);
      this.tickTimer.unref();
    }
    return Status.Ok;
  }

  // -- buffers ----------------------------------------------------------------------------------

  /** undefined = no such buffer (NotFound); a body not exposed now reads as empty, as in Envoy. */
  private buffer(type: number): Bytes | undefined {
    const ctx = this.context();
    switch (type) {
      case BufferType.HttpRequestBody:
        return ctx && ctx.exposed & Exposed.RequestBody ? ctx.stream?.requestBody ?? EMPTY_BYTES : EMPTY_BYTES;
      case BufferType.HttpResponseBody:
        return ctx && ctx.exposed & Exposed.ResponseBody ? ctx.stream?.responseBody ?? EMPTY_BYTES : EMPTY_BYTES;
      case BufferType.DownstreamData:
      case BufferType.UpstreamData:
      case BufferType.GrpcReceiveBuffer:
        return EMPTY_BYTES;
      case BufferType.HttpCallResponseBody: return this.rootOf(ctx)?.httpCallResponse?.body;
      case BufferType.VmConfiguration: return this.spec.vmConfiguration;
      case BufferType.CallData: return this.callData;
      case BufferType.PluginConfiguration:
        return this.rootOf(ctx)?.pluginConfigurationVisible ? this.spec.pluginConfiguration : undefined;
      default: return undefined;
    }
  }

  getBufferBytes(type: number, start: number, maxSize: number): Bytes | Status {
    if (type > BufferType.CallData) return Status.BadArgument;
    const buffer = this.buffer(type);
    if (!buffer) return Status.NotFound;
    if (start + maxSize > 0xffffffff) return Status.BadArgument;
    if (start > buffer.byteLength) return EMPTY_BYTES;
    return buffer.subarray(start, Math.min(buffer.byteLength, start + maxSize));
  }

  /** Envoy's Buffer::copyFrom: prepend (start 0, size 0), replace all, or append; else BadArgument. */
  setBufferBytes(type: number, start: number, size: number, data: Bytes): Status {
    if (type > BufferType.CallData) return Status.BadArgument;
    const ctx = this.context();
    const stream = ctx?.stream;
    const current = this.buffer(type);
    if (!current) return Status.NotFound;
    const bit = type === BufferType.HttpRequestBody ? Exposed.RequestBody : type === BufferType.HttpResponseBody ? Exposed.ResponseBody : 0;
    if (!stream || bit === 0 || !(ctx!.exposed & bit)) return Status.BadArgument;
    let next: Bytes;
    if (start === 0 && size === 0) next = concat(data, current);
    else if (start === 0 && size >= current.byteLength) next = data.slice();
    else if (start >= current.byteLength) next = concat(current, data);
    else return Status.BadArgument;
    if (type === BufferType.HttpRequestBody) stream.requestBody = next;
    else stream.responseBody = next;
    return Status.Ok;
  }

  /** Extra 0.2.0-era call: length and flags of a buffer. */
  getBufferStatus(type: number): { length: number; flags: number } | Status {
    if (type > BufferType.CallData) return Status.BadArgument;
    const buffer = this.buffer(type);
    return buffer ? { length: buffer.byteLength, flags: 0 } : Status.NotFound;
  }

  // -- header maps ------------------------------------------------------------------------------

  /** Readable map (Envoy's getConstMap): exposed now, or the access-log snapshot. */
  private constMap(mapType: number): HeaderMap | undefined {
    const ctx = this.context();
    const stream = ctx?.stream;
    const log = stream?.accessLogPhase === true;
    const exposed = ctx?.exposed ?? 0;
    switch (mapType) {
      case MapType.HttpRequestHeaders: return log || exposed & Exposed.RequestHeaders ? stream?.requestHeaders : undefined;
      case MapType.HttpRequestTrailers: return !log && exposed & Exposed.RequestTrailers ? stream?.requestTrailers : undefined;
      case MapType.HttpResponseHeaders: return log || exposed & Exposed.ResponseHeaders ? stream?.responseHeaders : undefined;
      case MapType.HttpResponseTrailers: return log || exposed & Exposed.ResponseTrailers ? stream?.responseTrailers : undefined;
      case MapType.HttpCallResponseHeaders: {
        const response = this.rootOf(ctx)?.httpCallResponse;
        return response ? HeaderMap.fromFlat(response.headers) : undefined;
      }
      case MapType.HttpCallResponseTrailers: {
        const response = this.rootOf(ctx)?.httpCallResponse;
        return response ? HeaderMap.fromFlat(response.trailers) : undefined;
      }
      default: return undefined;
    }
  }

  /** Writable map (Envoy's getMap): a stream map exposed to this context now. */
  private mutableMap(mapType: number): HeaderMap | undefined {
    const ctx = this.context();
    const stream = ctx?.stream;
    if (!stream || stream.accessLogPhase) return undefined;
    const exposed = ctx!.exposed;
    switch (mapType) {
      case MapType.HttpRequestHeaders: return exposed & Exposed.RequestHeaders ? stream.requestHeaders : undefined;
      case MapType.HttpRequestTrailers: return exposed & Exposed.RequestTrailers ? stream.requestTrailers : undefined;
      case MapType.HttpResponseHeaders: return exposed & Exposed.ResponseHeaders ? stream.responseHeaders : undefined;
      case MapType.HttpResponseTrailers: return exposed & Exposed.ResponseTrailers ? stream.responseTrailers : undefined;
      default: return undefined;
    }
  }

  getHeaderMapPairs(mapType: number): FlatPairs | Status {
    if (mapType > MapType.HttpCallResponseTrailers) return Status.BadArgument;
    return this.constMap(mapType)?.toFlat() ?? [];
  }

  setHeaderMapPairs(mapType: number, pairs: FlatPairs): Status {
    return this.editMap(mapType, (map) => map.setAll(pairs));
  }

  getHeaderMapValue(mapType: number, key: string): string | Status {
    if (mapType > MapType.HttpCallResponseTrailers) return Status.BadArgument;
    const map = this.constMap(mapType);
    if (!map) return this.context()?.stream?.accessLogPhase ? Status.NotFound : Status.BadArgument;
    return map.get(key) ?? Status.NotFound;
  }

  addHeaderMapValue(mapType: number, key: string, value: string): Status {
    return this.editMap(mapType, (map) => map.add(key, value));
  }

  replaceHeaderMapValue(mapType: number, key: string, value: string): Status {
    return this.editMap(mapType, (map) => map.replace(key, value));
  }

  removeHeaderMapValue(mapType: number, key: string): Status {
    return this.editMap(mapType, (map) => map.remove(key));
  }

  /** Applies `edit` to a writable map; BadArgument for an unknown type or a map not exposed now. */
  private editMap(mapType: number, edit: (map: HeaderMap) => void): Status {
    if (mapType > MapType.HttpCallResponseTrailers) return Status.BadArgument;
    const map = this.mutableMap(mapType);
    if (!map) return Status.BadArgument;
    edit(map);
    return Status.Ok;
  }

  /** Envoy answers with the map's byte size (keys + values), not the pair count. */
  getHeaderMapSize(mapType: number): number {
    if (mapType > MapType.HttpCallResponseTrailers) return -Status.BadArgument;
    const map = this.mutableMap(mapType);
    return map ? map.byteSize() : -Status.BadArgument;
  }

  // -- properties -------------------------------------------------------------------------------

  getProperty(path: string): Bytes | Status {
    const parts = path.split('\u0000');
    if (parts[parts.length - 1] === '') parts.pop(); // a trailing NUL ends the path, it adds no part
    return lookupProperty(parts, this.spec, this.context()?.stream) ?? Status.NotFound;
  }

  setProperty(path: string, value: Bytes): Status {
    const stream = this.context()?.stream;
    if (!stream) return Status.NotFound;
    (stream.filterState ??= new Map()).set(path, value.slice());
    return Status.Ok;
  }

  // -- shared data and queues -------------------------------------------------------------------

  getSharedData(key: string): [Bytes, number] | Status {
    const entry = this.runtime.sharedData.get(this.vmId, key);
    return typeof entry === 'number' ? entry : [entry.value, entry.cas];
  }

  setSharedData(key: string, value: Bytes, cas: number): Status {
    return this.runtime.sharedData.set(this.vmId, key, value.slice(), cas);
  }

  registerSharedQueue(name: string): number {
    const root = this.rootOf(this.context());
    if (!root) return -Status.BadArgument;
    this.contextId = root.id;
    return this.runtime.sharedQueues.register(this.vmId, name, this);
  }

  resolveSharedQueue(vmId: string, name: string): number {
    if (this.isFailed()) return -Status.NotFound;
    return this.runtime.sharedQueues.resolve(vmId === '' ? this.vmId : vmId, name) ?? -Status.NotFound;
  }

  enqueueSharedQueue(queueId: number, value: Bytes): Status {
    return this.runtime.sharedQueues.enqueue(queueId, value.slice());
  }

  dequeueSharedQueue(queueId: number): Bytes | Status {
    return this.runtime.sharedQueues.dequeue(queueId);
  }

  // -- stream control ---------------------------------------------------------------------------

  continueStream(streamType: number): Status {
    if (streamType > StreamType.Upstream) return Status.BadArgument;
    if (streamType !== StreamType.Request && streamType !== StreamType.Response) return Status.BadArgument;
    const ctx = this.context();
    // Envoy drops the filter's request-side pointers on continue, whichever direction.
    if (ctx?.stream) ctx.exposed &= ~(Exposed.RequestHeaders | Exposed.RequestBody | Exposed.RequestTrailers);
    const hooks = ctx?.stream?.hooks;
    if (hooks) this.defer(() => hooks.continueStream(streamType));
    return Status.Ok;
  }

  closeStream(streamType: number): Status {
    if (streamType > StreamType.Upstream) return Status.BadArgument;
    const hooks = this.context()?.stream?.hooks;
    if (hooks && (streamType === StreamType.Request || streamType === StreamType.Response)) {
      this.defer(() => hooks.closeStream(streamType));
    }
    return Status.Ok;
  }

  sendLocalResponse(statusCode: number, details: string, body: Bytes, headers: FlatPairs, grpcStatus: number): Status {
    const hooks = this.context()?.stream?.hooks;
    if (hooks) {
      const reply = { statusCode, details, body: body.slice(), headers: [...headers], grpcStatus };
      this.defer(() => hooks.sendLocalReply(reply));
    }
    return Status.Ok;
  }

  // -- http_call --------------------------------------------------------------------------------

  httpCall(cluster: string, headers: FlatPairs, body: Bytes, trailers: FlatPairs, timeoutMs: number): number {
    if (timeoutMs > MAX_I32) return -Status.BadArgument;
    if (this.stopping) {
      // Envoy cannot send it: its loop has exited and the cluster manager is (being) torn down
      // (1.40 crashed on a call from a singleton's proxy_on_done). Refused here, loudly.
      this.runtime.hostLog(LogLevel.Error, `[vm ${this.vmId}] proxy_http_call to '${cluster}' during shutdown refused `
        + '(InternalFailure): Envoy cannot make a call once shutdown has started');
      return -Status.InternalFailure;
    }
    const upstream = this.runtime.clusters.get(cluster);
    if (!upstream) {
      this.runtime.hostLog(LogLevel.Debug, `[vm ${this.vmId}] http_call to unknown cluster '${cluster}'`);
      return -Status.BadArgument;
    }
    const map = HeaderMap.fromFlat(headers);
    if (map.get(':path') === undefined || map.get(':method') === undefined || map.get(':authority') === undefined) {
      return -Status.BadArgument;
    }
    const ctx = this.context();
    if (!ctx) return -Status.BadArgument;
    const token = this.nextHttpCallToken++;
    if (this.nextHttpCallToken > 0xffffffff) this.nextHttpCallToken = 1;
    const contextId = ctx.id;
    const cancel = sendHttpCall({ upstream, headers: map.toFlat(), body: body.slice(), trailers: [...trailers], timeoutMs }, (outcome) => {
      // After shutdown began, no answer comes through the loop: the call stays in flight and
      // resetHttpCalls answers it as Envoy's cluster manager shutdown does.
      if (this.stopping || !this.httpCalls.delete(token)) return;
      if (outcome.ok) {
        if (outcome.localReply) {
          this.runtime.hostLog(LogLevel.Debug, `[vm ${this.vmId}] http_call ${token} to '${cluster}' failed (${outcome.localReply.reason}: ${outcome.localReply.detail}); answered as Envoy does: ${outcome.response.headers[1]}`);
        }
        this.deliverHttpCallResponse(contextId, token, outcome.response);
      } else {
        this.runtime.hostLog(LogLevel.Debug, `[vm ${this.vmId}] http_call ${token} to '${cluster}' failed (${outcome.reason}): ${outcome.detail}`);
        this.deliverHttpCallResponse(contextId, token, undefined);
      }
    });
    this.httpCalls.set(token, { contextId, cancel });
    return token;
  }

  /** Calls proxy_on_http_call_response; a failure is reported as 0 headers, 0 body, 0 trailers. */
  private deliverHttpCallResponse(contextId: number, token: number, response: HttpCallResponse | undefined): void {
    const ctx = this.contexts.get(contextId);
    const root = this.rootOf(ctx);
    if (!ctx || !root || this.state !== 'running') return;
    root.httpCallResponse = response;
    this.callStatus = response ? { code: 0, message: '' } : { code: Status.BrokenConnection, message: 'reset' };
    try {
      this.invoke(contextId, 'proxy_on_http_call_response', contextId, token,
        response ? response.headers.length >> 1 : 0, response ? response.body.byteLength : 0,
        response ? response.trailers.length >> 1 : 0);
    } finally {
      root.httpCallResponse = undefined;
      this.callStatus = { code: 0, message: '' };
    }
  }

  /** proxy_get_status: the status of the call being delivered (0.2.0-era hostcall). */
  getStatus(): { code: number; message: string } {
    return this.callStatus;
  }

  /** Number of http_calls still waiting for an answer. */
  pendingHttpCalls(): number {
    return this.httpCalls.size;
  }

  // -- contexts, done, foreign functions --------------------------------------------------------

  setEffectiveContext(contextId: number): Status {
    if (!this.contexts.has(contextId)) return Status.BadArgument;
    this.effectiveContextId = contextId;
    return Status.Ok;
  }

  done(): Status {
    const ctx = this.context();
    // cpp-host: only a root parked by proxy_on_done returning false (not yet, inside on_done).
    if (!ctx || ctx.rootId !== 0 || !this.awaitingDone) return Status.NotFound;
    this.awaitingDone = false;
    this.doneCalls++;
    return Status.Ok;
  }

  /** Envoy's registered foreign functions we model: compress / uncompress (zlib). */
  callForeignFunction(name: string, argument: Bytes): Bytes | Status {
    try {
      if (name === 'compress') return new Uint8Array(zlib.deflateSync(argument));
      if (name === 'uncompress') return new Uint8Array(zlib.inflateSync(argument));
    } catch {
      return Status.SerializationFailure;
    }
    return Status.NotFound;
  }

  // -- metrics ----------------------------------------------------------------------------------

  defineMetric(metricType: number, name: string): number {
    if (metricType > MetricType.Histogram) return -Status.BadArgument;
    const metric = this.runtime.metrics.define(metricType, name);
    for (const [id, m] of this.metricsById) if (m === metric) return id;
    const id = (this.nextMetricId[metricType]! += METRIC_ID_INCREMENT);
    this.metricsById.set(id, metric);
    return id;
  }

  incrementMetric(metricId: number, offset: number | bigint): Status {
    const type = metricId & METRIC_TYPE_MASK;
    const metric = this.metricsById.get(metricId);
    const delta = Number(offset);
    if (type === MetricType.Counter) {
      if (!metric) return Status.NotFound;
      if (delta <= 0) return Status.BadArgument;
      metric.value += delta;
      return Status.Ok;
    }
    if (type === MetricType.Gauge) {
      if (!metric) return Status.NotFound;
      metric.value += delta;
      return Status.Ok;
    }
    return Status.BadArgument;
  }

  recordMetric(metricId: number, value: number | bigint): Status {
    const metric = this.metricsById.get(metricId);
    if (!metric || metric.type !== (metricId & METRIC_TYPE_MASK)) return Status.NotFound;
    const v = Number(BigInt.asUintN(64, BigInt(value)));
    if (metric.type === MetricType.Counter) metric.value += v;
    else if (metric.type === MetricType.Gauge) metric.value = v;
    else MetricStore.record(metric, v);
    return Status.Ok;
  }

  getMetric(metricId: number): number {
    const type = metricId & METRIC_TYPE_MASK;
    if (type !== MetricType.Counter && type !== MetricType.Gauge) return -Status.BadArgument;
    const metric = this.metricsById.get(metricId);
    return metric ? metric.value : -Status.NotFound;
  }
}


function concat(a: Bytes, b: Bytes): Bytes {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}
