// The one interface between the SDK and whatever hosts it.
//
// Two implementations exist:
//  - the Wasm bridge (shims/): every method is a QuickJS host function generated from
//    table.ts; one call = one crossing into the bridge = one proxy_* hostcall, with the memory
//    marshalling done at Wasm speed and the result handed back as a JS value;
//  - the Node implementation (host/): the local proxy-wasm host serves the same calls
//    in-process, so the TypeScript plugins run in plain Node under a debugger.
//
// The Host type is DERIVED from table.ts (HOSTCALLS: names, argument and result kinds), so a new
// table entry is a new, typed Host method with no edit here.
//
// Result conventions (fixed by table.ts, relied upon by src/sdk/hostcalls.ts):
//  - methods returning `Status` return 0 on success;
//  - methods returning `T | Status` return T on success, else the Status number
//    (`typeof r === 'number'` tells them apart);
//  - methods returning `number` for an id/value return it (>= 0) on success, else -Status.
// No method throws for a host-side failure; a wrong argument type may throw a TypeError.

import type { HOST_PRIMITIVES, Hostcall, Status } from './table.js';

/** Bytes crossing the boundary: a JS string is sent as its UTF-8 encoding. */
export type BytesIn = string | ArrayBuffer;

/** Header pairs, flattened: [name0, value0, name1, value1, ...]. */
export type FlatPairs = string[];

/** A JS argument of each table kind. */
interface ArgTypes {
  i32: number;
  u32: number;
  i64: number;
  str: string;
  bytes: BytesIn;
  pairs: FlatPairs;
  strs: readonly string[];
  header_query: string;
}

/** The JS result of each table out kind (see the result conventions above and in table.ts). */
interface OutTypes {
  status: Status;
  str: string | Status;
  bytes: ArrayBuffer | Status;
  pairs: FlatPairs | Status;
  u32: number;
  u64: number;
  bytes_cas: [value: ArrayBuffer, cas: number] | Status;
  u64le: number;
  u64le_age: number;
  /** A composite over one map: undefined where the call said NotFound. */
  strs: (string | undefined)[] | Status;
}

type ArgsOf<A> = { -readonly [I in keyof A]: A[I] extends readonly [string, infer K extends keyof ArgTypes] ? ArgTypes[K] : never };

/** A header query's answer also holds its age entry's number (table.ts 'header_query'). */
type OutOf<S extends Hostcall> =
  S['args'] extends readonly [readonly [string, 'header_query']] ? (string | number | undefined)[] | Status : OutTypes[S['out']];

/** One method per HOSTCALLS entry, typed from its marshalling kinds: the table is the only list. */
export type Hostcalls = { [S in Hostcall as S['js']]: (...args: ArgsOf<S['args']>) => OutOf<S> };

/** The local primitives (table.ts HOST_PRIMITIVES): no proxy_* hostcall, Wasm speed in the bridge. */
export interface HostPrimitives {
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

// HostPrimitives and HOST_PRIMITIVES name the same operations (a compile error otherwise).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const primitivesMatch: Same<keyof HostPrimitives, (typeof HOST_PRIMITIVES)[number]> = true;
void primitivesMatch;

/** The Wasm bridge's log capture (table.ts CAPTURE_PRIMITIVES); optional: other hosts lack it. */
export interface CapturePrimitives {
  /**
   * While `query` (a header query, '' = off) is set, a stream's log reads it inside Wasm
   * (shims/capture.wat) and JS's proxy_on_log is entered only once per `batchRecords` records;
   * takeLogBatch hands the records over (a LogBatch). `fromStart` 1: the query's age
   * entry is the stream's start (request.time), which the bridge then takes from the clock at the
   * stream's context create instead of a property read.
   */
  setLogCapture?(query: string, batchRecords: number, fromStart?: number): Status;
  takeLogBatch?(): LogBatch;
}

/**
 * What takeLogBatch hands over (made by shims/capture.wat): [0] 1, or 0 when the record of the
 * stream being logged did not fit (the caller reads it itself); then per record its key (the
 * header values, each followed by NUL, \x01 where absent) and its age in ns (undefined when
 * absent or the query has none).
 */
export type LogBatch = readonly (string | number | undefined)[];

/** Everything a plugin's SDK can ask of whatever hosts it. */
export interface Host extends Hostcalls, HostPrimitives, CapturePrimitives {}

/**
 * What the module offers the host: one function per entry of CALLBACKS, named as the export.
 * The Wasm bridge calls these from the exported proxy_on_* functions; the local host calls them
 * directly for an in-process plugin.
 */
export type GuestCallbacks = Record<string, (...args: number[]) => number>;
