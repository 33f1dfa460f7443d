// An in-memory Host for SDK unit tests: records every call, holds header maps, buffers,
// properties, shared data and queues, and can be told to answer a hostcall with a given status.

import type { BytesIn, FlatPairs, Host } from '../../src/abi/host.js';
import { BufferType, LogLevel, MapType, MetricType, Status, StreamType } from '../../src/abi/table.js';
import { parseHeaderQuery, splitAgeEntry } from '../../host/core/header-query.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function bytes(data: BytesIn): ArrayBuffer {
  if (typeof data !== 'string') return data;
  const encoded = encoder.encode(data);
  return encoded.buffer.slice(encoded.byteOffset, encoded.byteOffset + encoded.byteLength) as ArrayBuffer;
}

export function text(data: ArrayBuffer): string {
  return decoder.decode(data);
}

export interface HttpCallRecord {
  readonly token: number;
  readonly cluster: string;
  readonly headers: FlatPairs;
  readonly body: string;
  readonly trailers: FlatPairs;
  readonly timeoutMs: number;
  readonly effectiveContext: number;
}

export class FakeHost implements Host {
  /** Every hostcall by Host method name, in order. */
  readonly calls: string[] = [];
  readonly logs: [LogLevel, string][] = [];
  logLevel: LogLevel = LogLevel.Trace;
  timeNs = 1_700_000_000_123_456_789;
  tickPeriod = 0;
  doneCalls = 0;
  effectiveContext = 0;
  readonly effectiveContextCalls: number[] = [];
  readonly buffers = new Map<BufferType, ArrayBuffer>();
  readonly headerMaps = new Map<MapType, [string, string][]>();
  readonly properties = new Map<string, ArrayBuffer>();
  readonly sharedData = new Map<string, { value: ArrayBuffer; cas: number }>();
  readonly queues = new Map<number, { vmId: string; name: string; items: ArrayBuffer[] }>();
  readonly httpCallRecords: HttpCallRecord[] = [];
  readonly metrics = new Map<number, { type: MetricType; name: string; value: number }>();
  readonly streamOps: [op: 'continue' | 'close', type: StreamType][] = [];
  readonly localResponses: { statusCode: number; body: string; headers: FlatPairs; details: string }[] = [];
  readonly foreignFunctions = new Map<string, (argument: ArrayBuffer) => ArrayBuffer>();
  environment: string[] = [];
  /** Host method name → status to answer with (once), instead of doing the work. */
  readonly forced = new Map<string, Status>();
  private nextToken = 1;
  private nextQueueId = 1;
  private nextMetricId = 1;

  private force(method: string): Status | undefined {
    this.calls.push(method);
    const status = this.forced.get(method);
    if (status !== undefined) this.forced.delete(method);
    return status;
  }

  private map(mapType: MapType): [string, string][] {
    let map = this.headerMaps.get(mapType);
    if (map === undefined) this.headerMaps.set(mapType, (map = []));
    return map;
  }

  log(level: LogLevel, message: string): Status {
    const forced = this.force('log');
    if (forced !== undefined) return forced;
    this.logs.push([level, message]);
    return Status.Ok;
  }

  getLogLevel(): number {
    const forced = this.force('getLogLevel');
    return forced !== undefined ? -forced : this.logLevel;
  }

  getCurrentTimeNanoseconds(): number {
    const forced = this.force('getCurrentTimeNanoseconds');
    return forced !== undefined ? -forced : this.timeNs;
  }

  setTickPeriodMilliseconds(period: number): Status {
    const forced = this.force('setTickPeriodMilliseconds');
    if (forced !== undefined) return forced;
    this.tickPeriod = period;
    return Status.Ok;
  }

  getBufferBytes(type: BufferType, start: number, maxSize: number): ArrayBuffer | Status {
    const forced = this.force('getBufferBytes');
    if (forced !== undefined) return forced;
    const buffer = this.buffers.get(type);
    if (buffer === undefined) return Status.NotFound;
    return buffer.slice(start, Math.min(buffer.byteLength, start + maxSize));
  }

  getBufferString(type: BufferType, start: number, maxSize: number): string | Status {
    const forced = this.force('getBufferString');
    if (forced !== undefined) return forced;
    const buffer = this.buffers.get(type);
    if (buffer === undefined) return Status.NotFound;
    return text(buffer.slice(start, Math.min(buffer.byteLength, start + maxSize)));
  }

  setBufferBytes(type: BufferType, start: number, size: number, data: BytesIn): Status {
    const forced = this.force('setBufferBytes');
    if (forced !== undefined) return forced;
    const old = new Uint8Array(this.buffers.get(type) ?? new ArrayBuffer(0));
    const end = Math.min(old.length, start + size);
    const replacement = new Uint8Array(bytes(data));
    const result = new Uint8Array(start + replacement.length + (old.length - end));
    result.set(old.subarray(0, start));
    result.set(replacement, start);
    result.set(old.subarray(end), start + replacement.length);
    this.buffers.set(type, result.buffer);
    return Status.Ok;
  }

  getHeaderMapPairs(mapType: MapType): FlatPairs | Status {
    const forced = this.force('getHeaderMapPairs');
    if (forced !== undefined) return forced;
    return this.map(mapType).flat();
  }

  setHeaderMapPairs(mapType: MapType, pairs: FlatPairs): Status {
    const forced = this.force('setHeaderMapPairs');
    if (forced !== undefined) return forced;
    const map: [string, string][] = [];
    for (let i = 0; i < pairs.length; i += 2) map.push([pairs[i]!, pairs[i + 1]!]);
    this.headerMaps.set(mapType, map);
    return Status.Ok;
  }

  getHeaderMapValue(mapType: MapType, key: string): string | Status {
    const forced = this.force('getHeaderMapValue');
    if (forced !== undefined) return forced;
    const found = this.map(mapType).find(([name]) => name === key.toLowerCase());
    return found === undefined ? Status.NotFound : found[1];
  }

  getHeaderMapValues(mapType: MapType, keys: readonly string[]): (string | undefined)[] | Status {
    const forced = this.force('getHeaderMapValues');
    if (forced !== undefined) return forced;
    const values: (string | undefined)[] = [];
    for (const key of keys) {
      const found = this.map(mapType).find(([name]) => name === key.toLowerCase());
      values.push(found?.[1]);
    }
    return values;
  }

  getHeaderMapsValues(query: string): (string | number | undefined)[] | Status {
    const forced = this.force('getHeaderMapsValues');
    if (forced !== undefined) return forced;
    const [headers, agePath] = splitAgeEntry(query);
    const entries = parseHeaderQuery(headers);
    if (entries === undefined) return Status.BadArgument;
    const values: (string | number | undefined)[] = entries.map(([mapType, key]) => this.map(mapType).find(([name]) => name === key.toLowerCase())?.[1]);
    if (agePath !== undefined) values.push(this.getPropertyU64Age(agePath));
    return values;
  }

  addHeaderMapValue(mapType: MapType, key: string, value: string): Status {
    const forced = this.force('addHeaderMapValue');
    if (forced !== undefined) return forced;
    this.map(mapType).push([key.toLowerCase(), value]);
    return Status.Ok;
  }

  replaceHeaderMapValue(mapType: MapType, key: string, value: string): Status {
    const forced = this.force('replaceHeaderMapValue');
    if (forced !== undefined) return forced;
    const name = key.toLowerCase();
    const map = this.map(mapType).filter(([n]) => n !== name);
    map.push([name, value]);
    this.headerMaps.set(mapType, map);
    return Status.Ok;
  }

  removeHeaderMapValue(mapType: MapType, key: string): Status {
    const forced = this.force('removeHeaderMapValue');
    if (forced !== undefined) return forced;
    const name = key.toLowerCase();
    this.headerMaps.set(mapType, this.map(mapType).filter(([n]) => n !== name));
    return Status.Ok;
  }

  getHeaderMapSize(mapType: MapType): number {
    const forced = this.force('getHeaderMapSize');
    return forced !== undefined ? -forced : this.map(mapType).length;
  }

  getProperty(path: string): ArrayBuffer | Status {
    const forced = this.force('getProperty');
    if (forced !== undefined) return forced;
    return this.properties.get(path) ?? Status.NotFound;
  }

  getPropertyU64(path: string): number {
    const forced = this.force('getPropertyU64');
    if (forced !== undefined) return -forced;
    const r = this.getProperty(path);
    if (typeof r === 'number') return -r;
    if (r.byteLength !== 8) return -Status.SerializationFailure;
    return Number(new DataView(r).getBigUint64(0, true));
  }

  getPropertyU64Age(path: string): number {
    const forced = this.force('getPropertyU64Age');
    if (forced !== undefined) return -forced;
    const r = this.getProperty(path);
    if (typeof r === 'number') return -r;
    if (r.byteLength !== 8) return -Status.SerializationFailure;
    const then = new DataView(r).getBigUint64(0, true);
    if (then === 0n) return -Status.NotFound;
    const age = BigInt(this.timeNs) - then; // integer ns, as the bridge's i64 arithmetic
    return age > 0n ? Number(age) : 0;
  }

  setProperty(path: string, value: BytesIn): Status {
    const forced = this.force('setProperty');
    if (forced !== undefined) return forced;
    this.properties.set(path, bytes(value));
    return Status.Ok;
  }

  getSharedData(key: string): [value: ArrayBuffer, cas: number] | Status {
    const forced = this.force('getSharedData');
    if (forced !== undefined) return forced;
    const entry = this.sharedData.get(key);
    return entry === undefined ? Status.NotFound : [entry.value, entry.cas];
  }

  setSharedData(key: string, value: BytesIn, cas: number): Status {
    const forced = this.force('setSharedData');
    if (forced !== undefined) return forced;
    const entry = this.sharedData.get(key);
    if (cas !== 0 && entry !== undefined && entry.cas !== cas) return Status.CasMismatch;
    this.sharedData.set(key, { value: bytes(value), cas: (entry?.cas ?? 0) + 1 });
    return Status.Ok;
  }

  registerSharedQueue(name: string): number {
    const forced = this.force('registerSharedQueue');
    if (forced !== undefined) return -forced;
    for (const [id, queue] of this.queues) if (queue.vmId === 'self' && queue.name === name) return id;
    const id = this.nextQueueId++;
    this.queues.set(id, { vmId: 'self', name, items: [] });
    return id;
  }

  resolveSharedQueue(vmId: string, name: string): number {
    const forced = this.force('resolveSharedQueue');
    if (forced !== undefined) return -forced;
    for (const [id, queue] of this.queues) if (queue.vmId === vmId && queue.name === name) return id;
    return -Status.NotFound;
  }

  enqueueSharedQueue(queueId: number, value: BytesIn): Status {
    const forced = this.force('enqueueSharedQueue');
    if (forced !== undefined) return forced;
    const queue = this.queues.get(queueId);
    if (queue === undefined) return Status.NotFound;
    queue.items.push(bytes(value));
    return Status.Ok;
  }

  dequeueSharedQueue(queueId: number): ArrayBuffer | Status {
    const forced = this.force('dequeueSharedQueue');
    if (forced !== undefined) return forced;
    const queue = this.queues.get(queueId);
    if (queue === undefined) return Status.NotFound;
    return queue.items.shift() ?? Status.Empty;
  }

  dequeueSharedQueueString(queueId: number): string | Status {
    const forced = this.force('dequeueSharedQueueString');
    if (forced !== undefined) return forced;
    const queue = this.queues.get(queueId);
    if (queue === undefined) return Status.NotFound;
    const item = queue.items.shift();
    return item === undefined ? Status.Empty : text(item);
  }

  continueStream(streamType: StreamType): Status {
    const forced = this.force('continueStream');
    if (forced !== undefined) return forced;
    this.streamOps.push(['continue', streamType]);
    return Status.Ok;
  }

  closeStream(streamType: StreamType): Status {
    const forced = this.force('closeStream');
    if (forced !== undefined) return forced;
    this.streamOps.push(['close', streamType]);
    return Status.Ok;
  }

  sendLocalResponse(statusCode: number, details: string, body: BytesIn, headers: FlatPairs, _grpcStatus: number): Status {
    const forced = this.force('sendLocalResponse');
    if (forced !== undefined) return forced;
    this.localResponses.push({ statusCode, body: text(bytes(body)), headers, details });
    return Status.Ok;
  }

  httpCall(cluster: string, headers: FlatPairs, body: BytesIn, trailers: FlatPairs, timeoutMs: number): number {
    const forced = this.force('httpCall');
    if (forced !== undefined) return -forced;
    const token = this.nextToken++;
    this.httpCallRecords.push({
      token, cluster, headers, body: text(bytes(body)), trailers, timeoutMs, effectiveContext: this.effectiveContext,
    });
    return token;
  }

  setEffectiveContext(contextId: number): Status {
    const forced = this.force('setEffectiveContext');
    if (forced !== undefined) return forced;
    this.effectiveContext = contextId;
    this.effectiveContextCalls.push(contextId);
    return Status.Ok;
  }

  done(): Status {
    const forced = this.force('done');
    if (forced !== undefined) return forced;
    this.doneCalls++;
    return Status.Ok;
  }

  callForeignFunction(name: string, argument: BytesIn): ArrayBuffer | Status {
    const forced = this.force('callForeignFunction');
    if (forced !== undefined) return forced;
    const fn = this.foreignFunctions.get(name);
    return fn === undefined ? Status.NotFound : fn(bytes(argument));
  }

  defineMetric(metricType: MetricType, name: string): number {
    const forced = this.force('defineMetric');
    if (forced !== undefined) return -forced;
    const id = this.nextMetricId++;
    this.metrics.set(id, { type: metricType, name, value: 0 });
    return id;
  }

  incrementMetric(metricId: number, offset: number): Status {
    const forced = this.force('incrementMetric');
    if (forced !== undefined) return forced;
    const metric = this.metrics.get(metricId);
    if (metric === undefined) return Status.NotFound;
    metric.value += offset;
    return Status.Ok;
  }

  recordMetric(metricId: number, value: number): Status {
    const forced = this.force('recordMetric');
    if (forced !== undefined) return forced;
    const metric = this.metrics.get(metricId);
    if (metric === undefined) return Status.NotFound;
    metric.value = value;
    return Status.Ok;
  }

  getMetric(metricId: number): number {
    const forced = this.force('getMetric');
    if (forced !== undefined) return -forced;
    const metric = this.metrics.get(metricId);
    return metric === undefined ? -Status.NotFound : metric.value;
  }

  sha256(_data: BytesIn): ArrayBuffer {
    throw new Error('FakeHost.sha256 is not used by the SDK tests');
  }

  crc32(_data: BytesIn): number {
    throw new Error('FakeHost.crc32 is not used by the SDK tests');
  }

  utf8Encode(value: string): ArrayBuffer {
    return bytes(value);
  }

  utf8Decode(data: ArrayBuffer, offset: number, length: number): string {
    return decoder.decode(new Uint8Array(data, offset, length));
  }

  environ(): string[] {
    this.calls.push('environ');
    return [...this.environment];
  }

  randomBytes(length: number): ArrayBuffer {
    return new ArrayBuffer(length);
  }

  /** Test helper: a queue owned by another VM. */
  addForeignQueue(vmId: string, name: string): number {
    const id = this.nextQueueId++;
    this.queues.set(id, { vmId, name, items: [] });
    return id;
  }
}
