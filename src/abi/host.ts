// The one interface between the SDK and whatever hosts it.
//
// Two implementations exist:
//  - the Wasm bridge (shims/): every method is a QuickJS host function generated from
//    table.ts; one call = one crossing into the bridge = one proxy_* hostcall, with the memory
//    marshalling done at Wasm speed and the result handed back as a JS value;
//  - the Node implementation (host/): the local proxy-wasm host serves the same calls
//    in-process, so the TypeScript plugins run in plain Node under a debugger.
//
// Result conventions (fixed by table.ts, relied upon by hostcalls.ts):
//  - methods returning `Status` return 0 on success;
//  - methods returning `T | Status` return T on success, else the Status number
//    (`typeof r === 'number'` tells them apart);
//  - methods returning `number` for an id/value return it (>= 0) on success, else -Status.
// No method throws for a host-side failure; a wrong argument type may throw a TypeError.

import type { BufferType, LogLevel, MapType, MetricType, Status, StreamType } from './table.js';

/** Bytes crossing the boundary: a JS string is sent as its UTF-8 encoding. */
export type BytesIn = string | ArrayBuffer;

/** Header pairs, flattened: [name0, value0, name1, value1, ...]. */
export type FlatPairs = string[];

export interface Host {
  // -- proxy_* hostcalls (one entry of HOSTCALLS each; composite entries make several) -------
  log(level: LogLevel, message: string): Status;
  getLogLevel(): number;
  getCurrentTimeNanoseconds(): number;
  setTickPeriodMilliseconds(period: number): Status;
  getBufferBytes(type: BufferType, start: number, maxSize: number): ArrayBuffer | Status;
  getBufferString(type: BufferType, start: number, maxSize: number): string | Status;
  setBufferBytes(type: BufferType, start: number, size: number, data: BytesIn): Status;
  getHeaderMapPairs(mapType: MapType): FlatPairs | Status;
  setHeaderMapPairs(mapType: MapType, pairs: FlatPairs): Status;
  getHeaderMapValue(mapType: MapType, key: string): string | Status;
  /** Composite: getHeaderMapValue for each key in one crossing; undefined where NotFound. */
  getHeaderMapValues(mapType: MapType, keys: readonly string[]): (string | undefined)[] | Status;
  /**
   * Composite: the headers a query names (table.ts 'header_query': NUL-separated entries, each a
   * map type digit then a name), in one crossing; undefined where NotFound; BadArgument for an
   * entry without a valid map type digit. A query ending with an age entry (HEADER_QUERY_AGE_MARK
   * then a property path) has one more element: that property's age as getPropertyU64Age returns it.
   */
  getHeaderMapsValues(query: string): (string | number | undefined)[] | Status;
  /**
   * Wasm bridge only (shims/capture.wat), optional: while `query` (a header query, '' = off) is
   * set, a stream's log reads it inside Wasm and JS's proxy_on_log is entered only once per
   * `batchRecords` records; takeLogBatch hands the records over (format: capture.wat).
   * `fromStart` 1: the query's age entry is the stream's start (request.time), which the bridge
   * then takes from the clock at the stream's context create instead of a property read.
   */
  setLogCapture?(query: string, batchRecords: number, fromStart?: number): Status;
  takeLogBatch?(): string;
  addHeaderMapValue(mapType: MapType, key: string, value: string): Status;
  replaceHeaderMapValue(mapType: MapType, key: string, value: string): Status;
  removeHeaderMapValue(mapType: MapType, key: string): Status;
  getHeaderMapSize(mapType: MapType): number;
  /** `path` is the property path with segments joined by '\0' (the ABI's wire form). */
  getProperty(path: string): ArrayBuffer | Status;
  /** An int64 property's 8 bytes as an unsigned little-endian number (>= 0), else -Status. */
  getPropertyU64(path: string): number;
  /**
   * ns elapsed since an int64 timestamp property (ns since the epoch), read with the current time
   * in one crossing: >= 0 (0 if the clock is behind), else -Status (-NotFound for a zero timestamp).
   */
  getPropertyU64Age(path: string): number;
  setProperty(path: string, value: BytesIn): Status;
  getSharedData(key: string): [value: ArrayBuffer, cas: number] | Status;
  setSharedData(key: string, value: BytesIn, cas: number): Status;
  registerSharedQueue(name: string): number;
  resolveSharedQueue(vmId: string, name: string): number;
  enqueueSharedQueue(queueId: number, value: BytesIn): Status;
  dequeueSharedQueue(queueId: number): ArrayBuffer | Status;
  dequeueSharedQueueString(queueId: number): string | Status;
  continueStream(streamType: StreamType): Status;
  closeStream(streamType: StreamType): Status;
  sendLocalResponse(statusCode: number, details: string, body: BytesIn, headers: FlatPairs, grpcStatus: number): Status;
  httpCall(cluster: string, headers: FlatPairs, body: BytesIn, trailers: FlatPairs, timeoutMs: number): number;
  setEffectiveContext(contextId: number): Status;
  done(): Status;
  callForeignFunction(name: string, argument: BytesIn): ArrayBuffer | Status;
  defineMetric(metricType: MetricType, name: string): number;
  incrementMetric(metricId: number, offset: number): Status;
  recordMetric(metricId: number, value: number): Status;
  getMetric(metricId: number): number;

  // -- local primitives (no proxy_* hostcall; Wasm speed in the bridge) ----------------------
  /** SHA-256 of the bytes (a string is hashed as UTF-8), without a JS-side copy. */
  sha256(data: BytesIn): ArrayBuffer;
  /** UTF-8 encoding of a string (lone surrogates become U+FFFD, as TextEncoder does). */
  utf8Encode(text: string): ArrayBuffer;
  /** UTF-8 decoding (invalid sequences become U+FFFD, as TextDecoder does). */
  utf8Decode(data: ArrayBuffer, offset: number, length: number): string;
  /** The process environment as 'KEY=VALUE' strings, read now (WASI environ_*), never cached. */
  environ(): string[];
  /** Cryptographically random bytes (WASI random_get). */
  randomBytes(length: number): ArrayBuffer;
  /** CRC-32 (gzip's) of the bytes as an unsigned number (a string: of its UTF-8). */
  crc32(data: BytesIn): number;
}

/**
 * What the module offers the host: one function per entry of CALLBACKS, named as the export.
 * The Wasm bridge calls these from the exported proxy_on_* functions; the local host calls them
 * directly for an in-process plugin.
 */
export type GuestCallbacks = Record<string, (...args: number[]) => number>;
