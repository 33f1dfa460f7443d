// The queue message a sender hands to the receiver: versioned, compact JSON.
//
//   {"v":1,"t":<window start, epoch ms>,"s":[[host, method, path, status, count, [bucket, n, bucket, n, ...]], ...]}
//
// One entry per series; `count` is the number of requests, the flat array the latency histogram
// over the bucket indices of latency.ts (its counts sum to at most `count`: a request without a
// measured latency is counted but has no bucket). The receiver validates every message and
// rejects a malformed one with a reason; it never trusts sizes or types.

import { LATENCY_BUCKET_COUNT } from './latency.js';

/** The shared queue, owned by the receiver VM: the name the Go original used. */
export const QUEUE_NAME = 'aws_cloudwatch_metric';
export const WIRE_VERSION = 1;
/** Dimension values longer than this are rejected (CloudWatch's limit). */
export const WIRE_MAX_VALUE_LENGTH = 1024;
/** A message with more series is rejected: no sender produces one (see the sender's size bound). */
export const WIRE_MAX_SERIES = 100_000;

export interface WireSeries {
  readonly host: string;
  readonly method: string;
  readonly path: string;
  readonly status: string;
  readonly count: number;
  /** Flat [bucket, count, ...]. */
  readonly latency: readonly number[];
}

export interface WireMessage {
  readonly windowStartMs: number;
  readonly series: readonly WireSeries[];
}

export function encodeMessage(message: WireMessage): string {
  const rows = message.series.map((s) => [s.host, s.method, s.path, s.status, s.count, s.latency]);
  return JSON.stringify({ v: WIRE_VERSION, t: message.windowStartMs, s: rows });
}

export type DecodeResult =
  | { readonly ok: true; readonly message: WireMessage }
  | { readonly ok: false; readonly reason: string };

const reject = (reason: string): DecodeResult => ({ ok: false, reason });

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value <= Number.MAX_SAFE_INTEGER;
}

// CloudWatch rejects a whole call over one non-ASCII or blank dimension value: refuse it here.
const PRINTABLE_ASCII = /^[\x20-\x7e]*[\x21-\x7e][\x20-\x7e]*$/;

function isDimensionValue(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= WIRE_MAX_VALUE_LENGTH && PRINTABLE_ASCII.test(value);
}

const DIMENSION_FIELDS = ['host', 'method', 'path', 'status'] as const;

function decodeSeries(row: unknown, index: number): WireSeries | string {
  if (!Array.isArray(row) || row.length !== 6) return `series ${index} must be an array of 6 items`;
  for (let d = 0; d < 4; d++) {
    if (!isDimensionValue(row[d])) return `series ${index}: ${DIMENSION_FIELDS[d]} must be a string of 1-${WIRE_MAX_VALUE_LENGTH} printable ASCII characters, not only spaces`;
  }
  const count: unknown = row[4];
  if (!isCount(count)) return `series ${index}: count must be a positive integer`;
  const latency: unknown = row[5];
  if (!Array.isArray(latency) || latency.length % 2 !== 0 || latency.length > 2 * LATENCY_BUCKET_COUNT) {
    return `series ${index}: latency must be a flat array of [bucket, count] pairs`;
  }
  let total = 0;
  for (let i = 0; i < latency.length; i += 2) {
    const bucket: unknown = latency[i];
    if (typeof bucket !== 'number' || !Number.isInteger(bucket) || bucket < 0 || bucket >= LATENCY_BUCKET_COUNT) {
      return `series ${index}: latency bucket must be an integer in 0..${LATENCY_BUCKET_COUNT - 1}`;
    }
    const n: unknown = latency[i + 1];
    if (!isCount(n)) return `series ${index}: latency bucket count must be a positive integer`;
    total += n;
  }
  if (total > count) return `series ${index}: latency counts (${total}) exceed the request count (${count})`;
  return {
    host: row[0] as string, method: row[1] as string, path: row[2] as string, status: row[3] as string,
    count, latency: latency as number[],
  };
}

export function decodeMessage(text: string): DecodeResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return reject('not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return reject('not a JSON object');
  const body = parsed as Record<string, unknown>;
  if (body['v'] !== WIRE_VERSION) return reject(`unsupported version ${JSON.stringify(body['v'] ?? null)} (expected ${WIRE_VERSION})`);
  const windowStartMs = body['t'];
  if (typeof windowStartMs !== 'number' || !Number.isInteger(windowStartMs) || windowStartMs < 0) {
    return reject('window start "t" must be a non-negative integer (epoch milliseconds)');
  }
  const rows = body['s'];
  if (!Array.isArray(rows)) return reject('series list "s" must be an array');
  if (rows.length > WIRE_MAX_SERIES) return reject(`too many series (${rows.length} > ${WIRE_MAX_SERIES})`);
  const series: WireSeries[] = [];
  for (let i = 0; i < rows.length; i++) {
    const decoded = decodeSeries(rows[i], i);
    if (typeof decoded === 'string') return reject(decoded);
    series.push(decoded);
  }
  return { ok: true, message: { windowStartMs, series } };
}
