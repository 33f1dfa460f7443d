// Typed wrappers over `Host`, one per hostcall: the only place that knows the result
// conventions of host.ts. NotFound / Empty become `undefined` (or `false` where a boolean reads
// better); any other unexpected status throws a HostcallError naming the hostcall.
// Every function takes the Host first: no module-level state (several VMs share this module).

import {
  BufferType, LogLevel, MapType, MetricType, propertyPath, Status, StreamType,
  type BytesIn, type FlatPairs, type HeaderAgeQuery, type HeaderQuery, type Host,
} from '../abi/index.js';
import { HostcallError, UnsupportedError } from './errors.js';

// The wire encoders plugins build their queries and paths with (src/abi/wire.ts).
export { headerAgeQuery, headerQuery, propertyPath } from '../abi/index.js';
export type { HeaderAgeQuery, HeaderQuery, HeaderQueryEntry, HeaderValues } from '../abi/index.js';

/** Header name/value pairs, in order (a name may repeat). */
export type HeaderPairs = [name: string, value: string][];

/** Largest size the ABI can express: "everything" for buffer reads (as the Rust SDK's usize::MAX). */
export const ALL_BYTES = 0xffffffff;

// -- result-convention helpers ---------------------------------------------------------------

function check(hostcall: string, status: Status): void {
  if (status !== Status.Ok) throw new HostcallError(hostcall, status);
}

/** A failed `T | Status` result: NotFound (and Empty where allowed) → undefined, other statuses throw. */
export function absentOrThrow(hostcall: string, status: Status, emptyToo = false): undefined {
  if (status === Status.NotFound || (emptyToo && status === Status.Empty)) return undefined;
  throw new HostcallError(hostcall, status);
}

/** `T | Status` results: NotFound (and Empty where allowed) → undefined, other statuses throw. */
function valueOrUndefined<T>(hostcall: string, result: T | Status, emptyToo = false): T | undefined {
  return typeof result !== 'number' ? result : absentOrThrow(hostcall, result, emptyToo);
}

/** `number` results (>= 0 value, else -Status) that must succeed. */
export function idOrThrow(hostcall: string, result: number): number {
  if (result < 0) throw new HostcallError(hostcall, -result as Status);
  return result;
}

export function toHeaderPairs(flat: FlatPairs): HeaderPairs {
  const pairs: HeaderPairs = new Array(flat.length >> 1);
  for (let i = 0, j = 0; i + 1 < flat.length; i += 2, j++) pairs[j] = [flat[i]!, flat[i + 1]!];
  return pairs;
}

export function toFlatPairs(pairs: readonly (readonly [string, string])[]): FlatPairs {
  const flat: FlatPairs = new Array(pairs.length * 2);
  for (let i = 0; i < pairs.length; i++) {
    const pair = pairs[i]!;
    flat[2 * i] = pair[0];
    flat[2 * i + 1] = pair[1];
  }
  return flat;
}

// -- logging and time -------------------------------------------------------------------------

export function log(host: Host, level: LogLevel, message: string): void {
  check('proxy_log', host.log(level, message));
}

export function getLogLevel(host: Host): LogLevel {
  return idOrThrow('proxy_get_log_level', host.getLogLevel()) as LogLevel;
}

export function getCurrentTimeNanoseconds(host: Host): number {
  const result = host.getCurrentTimeNanoseconds(); // per request in the sender: no helper call
  return result >= 0 ? result : idOrThrow('proxy_get_current_time_nanoseconds', result);
}

/** Wall-clock time in milliseconds since the epoch, as Date.now() would give. */
export function getCurrentTimeMilliseconds(host: Host): number {
  return Math.floor(getCurrentTimeNanoseconds(host) / 1e6);
}

export function setTickPeriodMilliseconds(host: Host, periodMs: number): void {
  check('proxy_set_tick_period_milliseconds', host.setTickPeriodMilliseconds(periodMs));
}

// -- buffers ----------------------------------------------------------------------------------

export function getBufferBytes(host: Host, type: BufferType, start = 0, maxSize = ALL_BYTES): ArrayBuffer | undefined {
  return valueOrUndefined('proxy_get_buffer_bytes', host.getBufferBytes(type, start, maxSize), true);
}

export function getBufferString(host: Host, type: BufferType, start = 0, maxSize = ALL_BYTES): string | undefined {
  return valueOrUndefined('proxy_get_buffer_bytes', host.getBufferString(type, start, maxSize), true);
}

/** Replaces bytes [start, start + size) of the buffer with `data` (defaults: the whole buffer). */
export function setBufferBytes(host: Host, type: BufferType, data: BytesIn, start = 0, size = ALL_BYTES): void {
  check('proxy_set_buffer_bytes', host.setBufferBytes(type, start, size, data));
}

// -- header maps ------------------------------------------------------------------------------

export function getHeaderMapPairs(host: Host, mapType: MapType): HeaderPairs {
  const flat = valueOrUndefined('proxy_get_header_map_pairs', host.getHeaderMapPairs(mapType));
  return flat === undefined ? [] : toHeaderPairs(flat);
}

export function setHeaderMapPairs(host: Host, mapType: MapType, pairs: readonly (readonly [string, string])[]): void {
  check('proxy_set_header_map_pairs', host.setHeaderMapPairs(mapType, toFlatPairs(pairs)));
}

export function getHeaderMapValue(host: Host, mapType: MapType, name: string): string | undefined {
  // The hottest read (several per request): the common case is tested inline, without a helper call.
  const result = host.getHeaderMapValue(mapType, name);
  return typeof result === 'string' ? result : absentOrThrow('proxy_get_header_map_value', result);
}

/**
 * Several values of one map in one crossing (the composite getHeaderMapValues): undefined for
 * a name the map lacks.
 */
export function getHeaderMapValues(host: Host, mapType: MapType, names: readonly string[]): (string | undefined)[] {
  const result = host.getHeaderMapValues(mapType, names);
  if (typeof result !== 'number') return result;
  throw new HostcallError('proxy_get_header_map_value', result);
}

/**
 * The headers a query names, in one crossing (the composite getHeaderMapsValues): undefined
 * for a name its map lacks.
 */
export function getHeaderMapsValues<A extends readonly unknown[]>(host: Host, query: HeaderQuery<A>): A {
  const result = host.getHeaderMapsValues(query);
  // a HeaderQuery has no age entry: one string or undefined per entry, as its type says
  if (typeof result !== 'number') return result as unknown as A;
  throw new HostcallError('proxy_get_header_map_value', result);
}

/**
 * The headers a query names, then (last element) the ns elapsed since its age property (>= 0;
 * undefined when the property is absent or unset), in one crossing.
 */
export function getHeaderMapsValuesAndAge<A extends readonly unknown[]>(host: Host, query: HeaderAgeQuery<A>): A {
  const result = host.getHeaderMapsValues(query);
  if (typeof result === 'number') throw new HostcallError('proxy_get_header_map_value', result);
  return ageElementChecked(result) as unknown as A;
}

/** Turns the age element's -Status: -NotFound → undefined, another status throws. */
export function ageElementChecked(values: (string | number | undefined)[]): (string | number | undefined)[] {
  const last = values.length - 1;
  const age = values[last];
  if (typeof age === 'number' && age < 0) {
    if (age !== -Status.NotFound) throw new HostcallError('proxy_get_property', -age as Status);
    values[last] = undefined;
  }
  return values;
}

export function addHeaderMapValue(host: Host, mapType: MapType, name: string, value: string): void {
  check('proxy_add_header_map_value', host.addHeaderMapValue(mapType, name, value));
}

export function replaceHeaderMapValue(host: Host, mapType: MapType, name: string, value: string): void {
  check('proxy_replace_header_map_value', host.replaceHeaderMapValue(mapType, name, value));
}

export function removeHeaderMapValue(host: Host, mapType: MapType, name: string): void {
  const status = host.removeHeaderMapValue(mapType, name);
  if (status !== Status.NotFound) check('proxy_remove_header_map_value', status);
}

export function getHeaderMapSize(host: Host, mapType: MapType): number {
  const result = host.getHeaderMapSize(mapType);
  return result === -Status.NotFound ? 0 : idOrThrow('proxy_get_header_map_size', result);
}

// -- properties -------------------------------------------------------------------------------

export function getProperty(host: Host, path: readonly string[]): ArrayBuffer | undefined {
  return valueOrUndefined('proxy_get_property', host.getProperty(propertyPath(path)));
}

export function getPropertyString(host: Host, path: readonly string[]): string | undefined {
  const bytes = getProperty(host, path);
  return bytes === undefined ? undefined : host.utf8Decode(bytes, 0, bytes.byteLength);
}

/** A property path already in the ABI's wire form (propertyPath): hot paths build it once. */
export type WirePropertyPath = string & { readonly __wirePropertyPath: true };

/** The ABI's property path wire form, branded so it can be passed where a path is expected. */
export function wirePropertyPath(path: readonly string[]): WirePropertyPath {
  return propertyPath(path) as WirePropertyPath;
}

/**
 * An int64 property (Envoy: 8 bytes, little-endian; timestamps in ns since the epoch,
 * durations in ns), as a number: exact below 2^53, within ~256 ns for today's timestamps.
 * undefined when absent. Read in the bridge: no ArrayBuffer is made.
 */
export function getPropertyU64(host: Host, path: readonly string[] | WirePropertyPath): number | undefined {
  const result = host.getPropertyU64(typeof path === 'string' ? path : propertyPath(path));
  if (result >= 0) return result;
  return result === -Status.NotFound ? undefined : idOrThrow('proxy_get_property', result);
}

/**
 * Nanoseconds elapsed since an int64 timestamp property (e.g. `['request', 'time']`, the
 * stream's start), read with the host clock in one crossing; >= 0 (0 when the clock is behind).
 * undefined when the property is absent or zero (unset).
 */
export function getPropertyU64Age(host: Host, path: readonly string[] | WirePropertyPath): number | undefined {
  const result = host.getPropertyU64Age(typeof path === 'string' ? path : propertyPath(path));
  if (result >= 0) return result;
  return result === -Status.NotFound ? undefined : idOrThrow('proxy_get_property', result);
}

export function setProperty(host: Host, path: readonly string[], value: BytesIn): void {
  check('proxy_set_property', host.setProperty(propertyPath(path), value));
}

// -- shared data ------------------------------------------------------------------------------

export interface SharedDataEntry {
  readonly value: ArrayBuffer;
  /** Compare-and-swap token: pass it to setSharedData to update only if nobody wrote since. */
  readonly cas: number;
}

export function getSharedData(host: Host, key: string): SharedDataEntry | undefined {
  const result = valueOrUndefined('proxy_get_shared_data', host.getSharedData(key));
  return result === undefined ? undefined : { value: result[0], cas: result[1] };
}

/** Returns false on a CAS mismatch (someone wrote since `cas` was read); cas 0 = unconditional. */
export function setSharedData(host: Host, key: string, value: BytesIn, cas = 0): boolean {
  const status = host.setSharedData(key, value, cas);
  if (status === Status.CasMismatch) return false;
  check('proxy_set_shared_data', status);
  return true;
}

// -- shared queues ----------------------------------------------------------------------------

export function registerSharedQueue(host: Host, name: string): number {
  return idOrThrow('proxy_register_shared_queue', host.registerSharedQueue(name));
}

/** undefined when the queue does not exist (yet): its owner VM may not have started. */
export function resolveSharedQueue(host: Host, vmId: string, name: string): number | undefined {
  const result = host.resolveSharedQueue(vmId, name);
  return result === -Status.NotFound ? undefined : idOrThrow('proxy_resolve_shared_queue', result);
}

/** false when the queue no longer exists (its owner VM went away): resolve it again later. */
export function enqueueSharedQueue(host: Host, queueId: number, value: BytesIn): boolean {
  const status = host.enqueueSharedQueue(queueId, value);
  if (status === Status.NotFound) return false;
  check('proxy_enqueue_shared_queue', status);
  return true;
}

/** undefined when the queue is empty. */
export function dequeueSharedQueue(host: Host, queueId: number): ArrayBuffer | undefined {
  const result = host.dequeueSharedQueue(queueId);
  return result === Status.Empty ? undefined : valueOrThrow('proxy_dequeue_shared_queue', result);
}

/** undefined when the queue is empty. */
export function dequeueSharedQueueString(host: Host, queueId: number): string | undefined {
  const result = host.dequeueSharedQueueString(queueId);
  return result === Status.Empty ? undefined : valueOrThrow('proxy_dequeue_shared_queue', result);
}

function valueOrThrow<T>(hostcall: string, result: T | Status): T {
  if (typeof result === 'number') throw new HostcallError(hostcall, result);
  return result;
}

// -- stream control ---------------------------------------------------------------------------

export function continueStream(host: Host, streamType: StreamType): void {
  check('proxy_continue_stream', host.continueStream(streamType));
}

export function closeStream(host: Host, streamType: StreamType): void {
  check('proxy_close_stream', host.closeStream(streamType));
}

export function sendLocalResponse(
  host: Host, statusCode: number, body: BytesIn = '', headers: readonly (readonly [string, string])[] = [],
  details = '', grpcStatus = -1,
): void {
  check('proxy_send_local_response', host.sendLocalResponse(statusCode, details, body, toFlatPairs(headers), grpcStatus));
}

// -- HTTP calls -------------------------------------------------------------------------------

/** Dispatches an HTTP call; returns its token (the key of proxy_on_http_call_response). */
export function httpCall(
  host: Host, cluster: string, headers: readonly (readonly [string, string])[], body: BytesIn,
  trailers: readonly (readonly [string, string])[], timeoutMs: number,
): number {
  const token = host.httpCall(cluster, toFlatPairs(headers), body, toFlatPairs(trailers), timeoutMs);
  if (token < 0) throw new HostcallError('proxy_http_call', -token as Status, `cluster ${JSON.stringify(cluster)}`);
  return token;
}

// -- misc -------------------------------------------------------------------------------------

export function setEffectiveContext(host: Host, contextId: number): void {
  check('proxy_set_effective_context', host.setEffectiveContext(contextId));
}

export function done(host: Host): void {
  check('proxy_done', host.done());
}

/** undefined when the host has no such foreign function. */
export function callForeignFunction(host: Host, name: string, argument: BytesIn): ArrayBuffer | undefined {
  return valueOrUndefined('proxy_call_foreign_function', host.callForeignFunction(name, argument));
}

// -- metrics ----------------------------------------------------------------------------------

export function defineMetric(host: Host, type: MetricType, name: string): number {
  const id = host.defineMetric(type, name);
  if (id < 0) throw new HostcallError('proxy_define_metric', -id as Status, `metric ${JSON.stringify(name)}`);
  return id;
}

export function incrementMetric(host: Host, metricId: number, offset: number): void {
  check('proxy_increment_metric', host.incrementMetric(metricId, offset));
}

export function recordMetric(host: Host, metricId: number, value: number): void {
  check('proxy_record_metric', host.recordMetric(metricId, value));
}

export function getMetric(host: Host, metricId: number): number {
  return idOrThrow('proxy_get_metric', host.getMetric(metricId));
}

// -- gRPC: in the ABI, not bridged yet --------------------------------------------------------

function grpcUnsupported(hostcall: string): never {
  throw new UnsupportedError(`gRPC is not supported yet: ${hostcall} is not bridged by this SDK; use httpCall`);
}

export function grpcCall(_host: Host): never { return grpcUnsupported('proxy_grpc_call'); }
export function grpcStream(_host: Host): never { return grpcUnsupported('proxy_grpc_stream'); }
export function grpcSend(_host: Host): never { return grpcUnsupported('proxy_grpc_send'); }
export function grpcCancel(_host: Host): never { return grpcUnsupported('proxy_grpc_cancel'); }
export function grpcClose(_host: Host): never { return grpcUnsupported('proxy_grpc_close'); }

// -- objects over the wrappers: logger, metrics, an HTTP call's response ---------------------

/** A log message, or a function building it only when the level is enabled. */
export type LogMessage = string | (() => string);

/**
 * Logging with a level check that does not cross into the host for every message: the host's
 * level is read once and cached until `invalidate()` (the dispatcher invalidates it on every
 * root-context callback: VM start, configure, tick, queue ready, ...; HTTP callbacks reuse it).
 */
export class Logger {
  private readonly host: Host;
  private level = -1;

  constructor(host: Host) {
    this.host = host;
  }

  invalidate(): void {
    this.level = -1;
  }

  /** The host's current level (cached). */
  get currentLevel(): LogLevel {
    if (this.level < 0) {
      const result = this.host.getLogLevel();
      // A host without proxy_get_log_level support: log everything, let the host filter.
      this.level = result < 0 ? LogLevel.Trace : result;
    }
    return this.level as LogLevel;
  }

  enabled(level: LogLevel): boolean {
    return level >= this.currentLevel;
  }

  log(level: LogLevel, message: LogMessage): void {
    if (level < this.currentLevel) return;
    this.host.log(level, typeof message === 'string' ? message : message());
  }

  trace(message: LogMessage): void { this.log(LogLevel.Trace, message); }
  debug(message: LogMessage): void { this.log(LogLevel.Debug, message); }
  info(message: LogMessage): void { this.log(LogLevel.Info, message); }
  warn(message: LogMessage): void { this.log(LogLevel.Warn, message); }
  error(message: LogMessage): void { this.log(LogLevel.Error, message); }
  critical(message: LogMessage): void { this.log(LogLevel.Critical, message); }
}

/** A host metric (Envoy stat) defined once, then updated by id. */
abstract class Metric {
  readonly id: number;
  readonly name: string;
  protected readonly host: Host;

  constructor(host: Host, type: MetricType, name: string) {
    this.host = host;
    this.name = name;
    this.id = defineMetric(host, type, name);
  }

  get(): number {
    return getMetric(this.host, this.id);
  }
}

export class Counter extends Metric {
  constructor(host: Host, name: string) { super(host, MetricType.Counter, name); }
  increment(delta = 1): void { incrementMetric(this.host, this.id, delta); }
}

export class Gauge extends Metric {
  constructor(host: Host, name: string) { super(host, MetricType.Gauge, name); }
  record(value: number): void { recordMetric(this.host, this.id, value); }
  increment(delta = 1): void { incrementMetric(this.host, this.id, delta); }
}

export class Histogram extends Metric {
  constructor(host: Host, name: string) { super(host, MetricType.Histogram, name); }
  record(value: number): void { recordMetric(this.host, this.id, value); }
}

/**
 * The response to an httpCall, handed to its callback. The accessors read the host's response
 * buffers, which exist only while the callback runs: read what you need synchronously.
 * A failed call (connection failure, timeout, reset) has no headers: `failed` is true, `status` 0.
 */
export class HttpCallResponse {
  readonly token: number;
  readonly numHeaders: number;
  readonly bodySize: number;
  readonly numTrailers: number;
  private readonly host: Host;

  constructor(host: Host, token: number, numHeaders: number, bodySize: number, numTrailers: number) {
    this.host = host;
    this.token = token;
    this.numHeaders = numHeaders;
    this.bodySize = bodySize;
    this.numTrailers = numTrailers;
  }

  get failed(): boolean {
    return this.numHeaders === 0;
  }

  /** The `:status` pseudo-header as a number; 0 for a failed call. */
  get status(): number {
    if (this.failed) return 0;
    const value = this.header(':status');
    const code = value === undefined ? NaN : Number(value);
    return Number.isInteger(code) ? code : 0;
  }

  header(name: string): string | undefined {
    if (this.numHeaders === 0) return undefined;
    return getHeaderMapValue(this.host, MapType.HttpCallResponseHeaders, name);
  }

  headers(): HeaderPairs {
    return this.numHeaders === 0 ? [] : getHeaderMapPairs(this.host, MapType.HttpCallResponseHeaders);
  }

  /** The body bytes (empty when there is none). */
  body(): ArrayBuffer {
    if (this.bodySize === 0) return new ArrayBuffer(0);
    return getBufferBytes(this.host, BufferType.HttpCallResponseBody, 0, this.bodySize) ?? new ArrayBuffer(0);
  }

  /** The body decoded as UTF-8 ('' when there is none). */
  bodyText(): string {
    if (this.bodySize === 0) return '';
    return getBufferString(this.host, BufferType.HttpCallResponseBody, 0, this.bodySize) ?? '';
  }

  trailers(): HeaderPairs {
    return this.numTrailers === 0 ? [] : getHeaderMapPairs(this.host, MapType.HttpCallResponseTrailers);
  }
}
