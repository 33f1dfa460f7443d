// Context classes a plugin extends, in the manner of the proxy-wasm Rust/Go SDKs: every callback
// is an `on…` method with a safe default, every hostcall a convenience method. A plugin
// overrides only what it needs; the dispatcher skips (and tells the bridge to skip) the rest.
//
// All state lives in context objects (no module-level state: in Node mode several VMs share
// one module instance). A RootContext owns what its VM-wide helpers need (logger, pending
// httpCall callbacks); its HttpContexts share those through `root`.

import { Action, BufferType, LogLevel, MapType, propertyPath, Status, StreamType, type BytesIn, type Host } from '../abi/index.js';
import { describeError, HostcallError, UnsupportedError } from './errors.js';
import { getEnv } from './env.js';
import * as hc from './hostcalls.js';
import {
  ALL_BYTES, Counter, Gauge, Histogram, HttpCallResponse, Logger,
  type HeaderPairs, type SharedDataEntry,
} from './hostcalls.js';

/** Header pairs as accepted by setters: any array of [name, value]. */
export type HeaderPairsIn = readonly (readonly [string, string])[];

export type HttpCallCallback = (response: HttpCallResponse) => void;

interface PendingHttpCall {
  readonly callerContextId: number;
  readonly callback: HttpCallCallback | undefined;
}

/**
 * httpCall tokens → callbacks, for one root context and its HTTP contexts (the host issues every
 * call on the root context, so tokens are unique per root). An entry lives until its response
 * arrives (the host always answers: success, failure or timeout); a response whose calling
 * context was deleted meanwhile is dropped by the dispatcher.
 */
export class HttpCallRegistry {
  private readonly pending = new Map<number, PendingHttpCall>();
  /** Dispatcher bookkeeping: told of every call (a stateless HTTP context that makes one is kept). */
  onAdd: ((callerContextId: number) => void) | undefined;
  /**
   * Dispatcher bookkeeping, one object per VM: the context whose callback is running now, 0
   * between callbacks (where async code resumes after an await). Context methods that act on
   * the effective context read it to restore theirs (Context.makeEffective).
   */
  running: { contextId: number } = { contextId: 0 };

  add(token: number, callerContextId: number, callback: HttpCallCallback | undefined): void {
    this.pending.set(token, { callerContextId, callback });
    this.onAdd?.(callerContextId);
  }

  /** Removes and returns the entry for `token` (a response arrives once). */
  take(token: number): PendingHttpCall | undefined {
    const entry = this.pending.get(token);
    if (entry !== undefined) this.pending.delete(token);
    return entry;
  }

  get size(): number {
    return this.pending.size;
  }
}

/** What every context offers: identity, logging, time, properties, shared data/queues, HTTP calls, metrics. */
export abstract class Context {
  // `declare`: assigned in the constructor only. A plain field declaration compiles (ES2022) to a
  // define-semantics field, which costs QuickJS ~0.5 µs per field per construction (per stream).
  declare readonly contextId: number;
  declare readonly host: Host;
  /** Level-checked logging (`this.log.info(...)`); one per root, shared with its HTTP contexts. */
  abstract readonly log: Logger;
  /** Pending httpCall callbacks; one per root, shared with its HTTP contexts (dispatcher bookkeeping). */
  abstract readonly httpCalls: HttpCallRegistry;

  protected constructor(contextId: number, host: Host) {
    this.contextId = contextId;
    this.host = host;
  }

  // -- callbacks ------------------------------------------------------------------------------

  /**
   * The host is about to finish this context. Return false to delay (then call `done()` when
   * ready; root contexts only). Default: true.
   */
  onDone(): boolean {
    return true;
  }

  /** The context is gone: release what it holds. */
  onDelete(): void {}

  /** Response to an httpCall made without a callback. */
  onHttpCallResponse(_token: number, _numHeaders: number, _bodySize: number, _numTrailers: number): void {}

  // -- time, environment, properties ------------------------------------------------------------

  /** Host wall-clock time in milliseconds since the epoch. */
  getCurrentTime(): number {
    return hc.getCurrentTimeMilliseconds(this.host);
  }

  getCurrentTimeNanoseconds(): number {
    // Per request in the sender: the common case without the wrapper's call (QuickJS: ~0.1 µs each).
    const result = this.host.getCurrentTimeNanoseconds();
    return result >= 0 ? result : hc.idOrThrow('proxy_get_current_time_nanoseconds', result);
  }

  /** An environment variable of this VM (read at call time through the host). */
  getEnv(name: string): string | undefined {
    return getEnv(this.host, name);
  }

  /** A host property, e.g. `['request', 'path']`; undefined when it does not exist. */
  getProperty(path: readonly string[]): ArrayBuffer | undefined {
    return hc.getProperty(this.host, path);
  }

  getPropertyString(path: readonly string[]): string | undefined {
    return hc.getPropertyString(this.host, path);
  }

  /**
   * An int64 property as a number (e.g. `['request', 'time']`: ns since the epoch; Envoy's
   * timestamps and durations are never negative); undefined when absent. A hot path may pass
   * the path made once with wirePropertyPath.
   */
  getPropertyU64(path: readonly string[] | hc.WirePropertyPath): number | undefined {
    // per request in the sender: hc.getPropertyU64 inlined (QuickJS: ~0.1 µs per call)
    const result = this.host.getPropertyU64(typeof path === 'string' ? path : propertyPath(path));
    if (result >= 0) return result;
    return result === -Status.NotFound ? undefined : hc.idOrThrow('proxy_get_property', result);
  }

  /**
   * Nanoseconds elapsed since an int64 timestamp property (e.g. `['request', 'time']`: the
   * stream's start, so at onLog the request's latency), read with the host clock in one
   * crossing; undefined when absent or unset (zero). A hot path may pass wirePropertyPath(...).
   */
  getPropertyAgeNanoseconds(path: readonly string[] | hc.WirePropertyPath): number | undefined {
    // per request in the sender: hc.getPropertyU64Age inlined
    const result = this.host.getPropertyU64Age(typeof path === 'string' ? path : propertyPath(path));
    if (result >= 0) return result;
    return result === -Status.NotFound ? undefined : hc.idOrThrow('proxy_get_property', result);
  }

  setProperty(path: readonly string[], value: BytesIn): void {
    hc.setProperty(this.host, path, value);
  }

  // -- shared data and queues -------------------------------------------------------------------

  getSharedData(key: string): SharedDataEntry | undefined {
    return hc.getSharedData(this.host, key);
  }

  /** false on a CAS mismatch; `cas` 0 writes unconditionally. */
  setSharedData(key: string, value: BytesIn, cas = 0): boolean {
    return hc.setSharedData(this.host, key, value, cas);
  }

  registerSharedQueue(name: string): number {
    return hc.registerSharedQueue(this.host, name);
  }

  /** undefined while the owning VM has not registered the queue. */
  resolveSharedQueue(vmId: string, name: string): number | undefined {
    return hc.resolveSharedQueue(this.host, vmId, name);
  }

  /** false when the queue no longer exists (resolve it again later). */
  enqueueSharedQueue(queueId: number, value: BytesIn): boolean {
    return hc.enqueueSharedQueue(this.host, queueId, value);
  }

  /** undefined when the queue is empty. */
  dequeueSharedQueue(queueId: number): ArrayBuffer | undefined {
    return hc.dequeueSharedQueue(this.host, queueId);
  }

  /** undefined when the queue is empty. */
  dequeueSharedQueueString(queueId: number): string | undefined {
    return hc.dequeueSharedQueueString(this.host, queueId);
  }

  // -- HTTP calls -------------------------------------------------------------------------------

  /**
   * Sends an HTTP request to an upstream `cluster`; returns the call's token. `onResponse`
   * runs when the response (or failure: `response.failed`) arrives, with this context effective;
   * without it the response goes to `onHttpCallResponse`. Headers must include `:method`,
   * `:path` and `:authority`.
   */
  httpCall(
    cluster: string, headers: HeaderPairsIn, body: BytesIn, trailers: HeaderPairsIn, timeoutMs: number,
    onResponse?: HttpCallCallback,
  ): number {
    this.makeEffective();
    const token = hc.httpCall(this.host, cluster, headers, body, trailers, timeoutMs);
    this.httpCalls.add(token, this.contextId, onResponse);
    return token;
  }

  /** gRPC is in the ABI but not bridged yet: always throws a clear error. */
  grpcCall(..._args: unknown[]): never {
    throw new UnsupportedError('gRPC is not supported yet: grpcCall (proxy_grpc_call) is not bridged by this SDK; use httpCall');
  }

  // -- foreign functions, metrics, effective context ------------------------------------------------

  /** undefined when the host has no such function. */
  callForeignFunction(name: string, argument: BytesIn): ArrayBuffer | undefined {
    return hc.callForeignFunction(this.host, name, argument);
  }

  /** Defines a host counter (an Envoy stat). Define once (e.g. in onConfigure) and keep it. */
  defineCounter(name: string): Counter {
    return new Counter(this.host, name);
  }

  defineGauge(name: string): Gauge {
    return new Gauge(this.host, name);
  }

  defineHistogram(name: string): Histogram {
    return new Histogram(this.host, name);
  }

  /** The UTF-8 bytes of a string (at Wasm speed in the bridge; lone surrogates become U+FFFD). */
  utf8Bytes(text: string): Uint8Array {
    return new Uint8Array(this.host.utf8Encode(text));
  }

  /** CRC-32 (gzip's) of the bytes, a string's of its UTF-8 (at Wasm speed in the bridge). */
  crc32(data: BytesIn): number {
    return this.host.crc32(data);
  }

  /**
   * Makes this context the one later hostcalls act on. Rarely needed by hand: the SDK's methods
   * that depend on it (httpCall, setTickPeriod, done) restore it themselves when called outside
   * this context's callback (after an await, in runTask), and httpCall callbacks run with it.
   */
  setEffectiveContext(): void {
    hc.setEffectiveContext(this.host, this.contextId);
  }

  /**
   * Restores this context as the effective one when the running callback is not its own (code
   * resumed after an await runs between callbacks, or in another context's): in Envoy a
   * hostcall acts on the context whose callback runs, so without this an http_call made after an
   * await would go to whatever context the host is in.
   */
  protected makeEffective(): void {
    if (this.httpCalls.running.contextId !== this.contextId) hc.setEffectiveContext(this.host, this.contextId);
  }

  /**
   * Runs async work (e.g. SigV4 signing) whose rejection would otherwise escape the
   * dispatcher's exception containment: a failure is logged at error level with its stack.
   * After an await the task runs outside this context's callback; httpCall, setTickPeriod and
   * done restore the effective context themselves (makeEffective), so the task need not.
   */
  runTask(what: string, task: () => Promise<void>): void {
    const report = (error: unknown): void => {
      this.host.log(LogLevel.Error, `${what} failed: ${describeError(error)}`);
    };
    try {
      task().catch(report);
    } catch (error) {
      report(error);
    }
  }
}

/**
 * One per plugin configuration in a VM (context id with parent 0). Owns VM-wide state:
 * configuration, timers, queues, aggregates, and creates the HTTP contexts of its streams.
 */
export class RootContext extends Context {
  readonly log: Logger;
  readonly httpCalls: HttpCallRegistry;

  constructor(contextId: number, host: Host) {
    super(contextId, host);
    this.log = new Logger(host);
    this.httpCalls = new HttpCallRegistry();
  }

  // -- callbacks ------------------------------------------------------------------------------

  /** The VM started; false fails the VM. Default: true. */
  onVmStart(_vmConfigurationSize: number): boolean {
    return true;
  }

  /** The plugin configuration arrived (getPluginConfiguration()); false rejects it. Default: true. */
  onConfigure(_pluginConfigurationSize: number): boolean {
    return true;
  }

  /** Called every tick period (setTickPeriod). */
  onTick(): void {}

  /** A shared queue this VM registered has messages. */
  onQueueReady(_queueId: number): void {}

  /**
   * One stream's values of the plugin's `logCapture` query (definePlugin), read at its end:
   * the headers, then the age entry's ns (number) if the query has one; undefined where absent.
   * In Wasm the values are captured by the bridge and delivered in batches (at the latest
   * before this root's onTick and onDone); in Node, at each stream's log. The array is reused:
   * read it here, do not keep it. `key` stands for the header values (all but the age entry):
   * equal keys, equal values, so a consumer can count by it without building a key of its own
   * (in Wasm it is a slice of the batch, cheaper than anything built from the values in QuickJS).
   */
  onLogValues(_values: readonly (string | number | undefined)[], _key: string): void {}

  /** A foreign function call arrived (ABI 0.2.1; Envoy does not send these to plugins today). */
  onForeignFunction(_functionId: number, _dataSize: number): void {}

  /**
   * The HTTP context for a new stream. Override to build it yourself; by default the plugin's
   * declared `http` class (definePlugin) is constructed with (contextId, root). Return null to
   * leave the stream alone.
   */
  createHttpContext(_contextId: number): HttpContext | null {
    return null;
  }

  // -- helpers --------------------------------------------------------------------------------

  /** The VM configuration as text; undefined when there is none (absent or empty). */
  getVmConfiguration(): string | undefined {
    return hc.getBufferString(this.host, BufferType.VmConfiguration, 0, ALL_BYTES) || undefined;
  }

  getVmConfigurationBytes(): ArrayBuffer | undefined {
    return hc.getBufferBytes(this.host, BufferType.VmConfiguration, 0, ALL_BYTES);
  }

  /** The plugin configuration as text; undefined when there is none (absent or empty). */
  getPluginConfiguration(): string | undefined {
    return hc.getBufferString(this.host, BufferType.PluginConfiguration, 0, ALL_BYTES) || undefined;
  }

  getPluginConfigurationBytes(): ArrayBuffer | undefined {
    return hc.getBufferBytes(this.host, BufferType.PluginConfiguration, 0, ALL_BYTES);
  }

  /** Sets the onTick period; 0 stops ticking. */
  setTickPeriod(milliseconds: number): void {
    this.makeEffective();
    hc.setTickPeriodMilliseconds(this.host, milliseconds);
  }

  /** Tells the host this root context finished (after onDone returned false). */
  done(): void {
    this.makeEffective();
    hc.done(this.host);
  }
}

/**
 * One per HTTP stream, from its create to its delete. `R` is the plugin's root context class,
 * reachable as `this.root`. Fields are per stream. For a filter that needs no per-stream state
 * and wants the cheapest per-request path, extend StatelessHttpContext instead (an explicit
 * opt-in: a plain HttpContext is never reused).
 */
export class HttpContext<R extends RootContext = RootContext> extends Context {
  declare readonly root: R;

  // Created per stream (once per root when stateless): keep construction to three fields
  // (getters reach the root's shared parts).
  constructor(contextId: number, root: R) {
    super(contextId, root.host);
    this.root = root;
  }

  get log(): Logger {
    return this.root.log;
  }

  get httpCalls(): HttpCallRegistry {
    return this.root.httpCalls;
  }

  // -- callbacks (default: Continue) ------------------------------------------------------------

  onRequestHeaders(_numHeaders: number, _endOfStream: boolean): Action {
    return Action.Continue;
  }

  onRequestBody(_bodySize: number, _endOfStream: boolean): Action {
    return Action.Continue;
  }

  onRequestTrailers(_numTrailers: number): Action {
    return Action.Continue;
  }

  onResponseHeaders(_numHeaders: number, _endOfStream: boolean): Action {
    return Action.Continue;
  }

  onResponseBody(_bodySize: number, _endOfStream: boolean): Action {
    return Action.Continue;
  }

  onResponseTrailers(_numTrailers: number): Action {
    return Action.Continue;
  }

  /** The stream is complete (access-log time): request and response headers are readable. */
  onLog(): void {}

  // Per-map header accessors (getRequestHeader, setResponseHeaders, getRequestTrailer, ...) are
  // generated from HEADER_MAPS below, one set per map the stream owns.

  // -- several maps in one crossing -------------------------------------------------------------

  /**
   * Headers of several maps in one crossing, in the query's order (e.g. request headers and the
   * response's :status at onLog); undefined for absent ones. Build the query once (headerQuery).
   */
  getHeaderValuesOfMaps<A extends readonly unknown[]>(query: hc.HeaderQuery<A>): A {
    const result = this.host.getHeaderMapsValues(query);
    // a HeaderQuery has no age entry: one string or undefined per entry, as its type says
    if (typeof result !== 'number') return result as unknown as A;
    throw new HostcallError('proxy_get_header_map_value', result);
  }

  /**
   * As getHeaderValuesOfMaps, then one more element: the ns elapsed since the query's age
   * property (headerAgeQuery, e.g. ['request', 'time']: at onLog, the request's latency), or
   * undefined when absent or unset; all in one crossing.
   */
  getHeaderValuesOfMapsAndAge<A extends readonly unknown[]>(query: hc.HeaderAgeQuery<A>): A {
    const result = this.host.getHeaderMapsValues(query); // hot (the sender, per request): no wrapper call
    if (typeof result === 'number') throw new HostcallError('proxy_get_header_map_value', result);
    const age = result[result.length - 1];
    // the answer's shape is the query's type (headerAgeQuery): headers, then the age
    return (typeof age === 'number' && age < 0 ? hc.ageElementChecked(result) : result) as unknown as A;
  }

  // Body accessors (getRequestBody, getResponseBodyText, setRequestBody, ...; valid inside
  // onRequestBody / onResponseBody) are generated from BODY_BUFFERS below.

  // -- stream control -------------------------------------------------------------------------

  /** Answers the request locally (the upstream is not contacted); return Pause afterwards. */
  sendLocalResponse(statusCode: number, body: BytesIn = '', headers: HeaderPairsIn = [], details = '', grpcStatus = -1): void {
    hc.sendLocalResponse(this.host, statusCode, body, headers, details, grpcStatus);
  }

  /** Resumes a request paused by returning Action.Pause. */
  continueRequest(): void {
    hc.continueStream(this.host, StreamType.Request);
  }

  continueResponse(): void {
    hc.continueStream(this.host, StreamType.Response);
  }

  /** Resets the stream's request side. */
  closeRequest(): void {
    hc.closeStream(this.host, StreamType.Request);
  }

  closeResponse(): void {
    hc.closeStream(this.host, StreamType.Response);
  }
}

/**
 * The header maps an HTTP stream owns, by accessor name: `get<Name>(name)`, `get<Name>s()`,
 * `get<Name>Values(names)` (one crossing), `set<Name>s(pairs)`, `set<Name>(name, value)`
 * (replaces or adds), `add<Name>(name, value)`, `remove<Name>(name)`.
 */
const HEADER_MAPS = [
  ['RequestHeader', MapType.HttpRequestHeaders],
  ['RequestTrailer', MapType.HttpRequestTrailers],
  ['ResponseHeader', MapType.HttpResponseHeaders],
  ['ResponseTrailer', MapType.HttpResponseTrailers],
] as const;

type HeaderMapName = (typeof HEADER_MAPS)[number][0];

/** The accessors of one header map (HEADER_MAPS). */
type HeaderMapAccessors<N extends string> =
  & { [K in `get${N}`]: (name: string) => string | undefined }
  & { [K in `get${N}s`]: () => HeaderPairs }
  & { [K in `get${N}Values`]: (names: readonly string[]) => (string | undefined)[] }
  & { [K in `set${N}s`]: (headers: HeaderPairsIn) => void }
  & { [K in `set${N}` | `add${N}`]: (name: string, value: string) => void }
  & { [K in `remove${N}`]: (name: string) => void };

type AllHeaderMapAccessors = HeaderMapAccessors<'RequestHeader'> & HeaderMapAccessors<'RequestTrailer'>
  & HeaderMapAccessors<'ResponseHeader'> & HeaderMapAccessors<'ResponseTrailer'>;

/**
 * The bodies an HTTP stream owns: `get<Name>Body(start, maxSize)`, `get<Name>BodyText(...)`,
 * `set<Name>Body(data, start, size)` (replaces bytes [start, start + size), default: all of it).
 */
const BODY_BUFFERS = [
  ['Request', BufferType.HttpRequestBody],
  ['Response', BufferType.HttpResponseBody],
] as const;

type BodyAccessors<N extends string> =
  & { [K in `get${N}Body`]: (start?: number, maxSize?: number) => ArrayBuffer | undefined }
  & { [K in `get${N}BodyText`]: (start?: number, maxSize?: number) => string | undefined }
  & { [K in `set${N}Body`]: (data: BytesIn, start?: number, size?: number) => void };

type AllBodyAccessors = BodyAccessors<'Request'> & BodyAccessors<'Response'>;

function bodyAccessors(name: (typeof BODY_BUFFERS)[number][0], type: BufferType): Record<string, (this: HttpContext, ...args: never[]) => unknown> {
  return {
    [`get${name}Body`](this: HttpContext, start = 0, maxSize = ALL_BYTES): ArrayBuffer | undefined {
      return hc.getBufferBytes(this.host, type, start, maxSize);
    },
    [`get${name}BodyText`](this: HttpContext, start = 0, maxSize = ALL_BYTES): string | undefined {
      return hc.getBufferString(this.host, type, start, maxSize);
    },
    [`set${name}Body`](this: HttpContext, data: BytesIn, start = 0, size = ALL_BYTES): void {
      hc.setBufferBytes(this.host, type, data, start, size);
    },
  };
}

// Declaration merging: HttpContext has the generated accessors (installed on its prototype below).
export interface HttpContext<R extends RootContext = RootContext> extends AllHeaderMapAccessors, AllBodyAccessors {}

/** The accessor functions of one map: the hostcall wrappers with the map type bound. */
function headerMapAccessors(name: HeaderMapName, mapType: MapType): Record<string, (this: HttpContext, ...args: never[]) => unknown> {
  return {
    [`get${name}`](this: HttpContext, key: string): string | undefined {
      const result = this.host.getHeaderMapValue(mapType, key); // hot: the common case without a wrapper call
      return typeof result === 'string' ? result : hc.absentOrThrow('proxy_get_header_map_value', result);
    },
    [`get${name}s`](this: HttpContext): HeaderPairs {
      return hc.getHeaderMapPairs(this.host, mapType);
    },
    [`get${name}Values`](this: HttpContext, keys: readonly string[]): (string | undefined)[] {
      return hc.getHeaderMapValues(this.host, mapType, keys);
    },
    [`set${name}s`](this: HttpContext, headers: HeaderPairsIn): void {
      hc.setHeaderMapPairs(this.host, mapType, headers);
    },
    [`set${name}`](this: HttpContext, key: string, value: string): void {
      hc.replaceHeaderMapValue(this.host, mapType, key, value);
    },
    [`add${name}`](this: HttpContext, key: string, value: string): void {
      hc.addHeaderMapValue(this.host, mapType, key, value);
    },
    [`remove${name}`](this: HttpContext, key: string): void {
      hc.removeHeaderMapValue(this.host, mapType, key);
    },
  };
}

const generatedAccessors = [
  ...HEADER_MAPS.map(([name, mapType]) => headerMapAccessors(name, mapType)),
  ...BODY_BUFFERS.map(([name, type]) => bodyAccessors(name, type)),
];
for (const accessors of generatedAccessors) {
  for (const [method, fn] of Object.entries(accessors)) {
    // as class methods are: non-enumerable, writable (a subclass may override one)
    Object.defineProperty(HttpContext.prototype, method, { value: fn, writable: true, configurable: true, enumerable: false });
  }
}

/**
 * An HTTP context that is REUSED across streams (opt in by extending this class): the dispatcher
 * routes no create/delete for streams, constructs ONE context per root (with the VM's single
 * root) and sets its contextId before each callback, so JS is entered once per request.
 *
 * The rules, checked by definePlugin (a TypeError otherwise): the class overrides exactly one
 * per-stream callback (onRequestHeaders/Body/Trailers, onResponseHeaders/Body/Trailers or onLog)
 * and none of onDone, onDelete, onHttpCallResponse. What it means for the plugin: the
 * constructor runs once per root, not per stream, so fields it sets are shared by all streams
 * (treat them as constants); keep cross-request state on the root and per-stream state in
 * locals of the callback (a field written in the callback is seen by the next stream); don't
 * keep references to the context past the callback.
 *
 * Two things end this mode for good, the dispatcher then routing create/delete for streams
 * again: a second root context in the VM (which root would a stream belong to?), and an
 * httpCall made by a stream context (that context is kept, so its response callback finds it,
 * until its delete). Streams already under way at the switch keep getting a context per
 * callback while the VM has a single root.
 */
export abstract class StatelessHttpContext<R extends RootContext = RootContext> extends HttpContext<R> {}

/**
 * Dispatcher only: points a stateless stream context (the flyweight of its root, see
 * HttpContext) at the stream whose callback runs next. Nothing else may change a contextId.
 */
export function rebindStatelessContext(context: HttpContext, contextId: number): void {
  (context as { contextId: number }).contextId = contextId;
}
