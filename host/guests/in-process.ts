// A TypeScript plugin run in-process (the plain-Node debug mode): the SDK's dispatcher is built
// over a Node implementation of the `Host` interface that forwards to the VM's hostcalls, with
// the bridge's result conventions (table.ts), so the plugin cannot tell it from the Wasm bridge.

import { createHash, randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { createDispatcher } from '../../src/sdk/dispatcher.js';
import type { BytesIn, FlatPairs, Host } from '../../src/abi/host.js';
import type { PluginDefinition } from '../../src/sdk/plugin.js';
import { parseHeaderQuery, splitAgeEntry } from '../core/header-query.js';
import { Status, type BufferType, type LogLevel, type MapType, type MetricType, type StreamType } from '../../src/abi/table.js';
import { fromUtf8, toArrayBuffer, utf8 } from '../core/bytes.js';
import type { Guest, GuestFactory, Vm } from '../core/vm.js';

const bytesIn = (data: BytesIn): Uint8Array => (typeof data === 'string' ? utf8(data) : new Uint8Array(data));

/** The Node `Host`: every method is the VM's hostcall, results converted to the JS conventions. */
export class NodeHost implements Host {
  constructor(private readonly vm: Vm) {}

  log(level: LogLevel, message: string): Status { return this.vm.log(level, String(message)); }
  getLogLevel(): number { return this.vm.getLogLevel(); }
  getCurrentTimeNanoseconds(): number { return Number(this.vm.getCurrentTimeNanoseconds()); }
  setTickPeriodMilliseconds(period: number): Status { return this.vm.setTickPeriodMilliseconds(period >>> 0); }
  getBufferBytes(type: BufferType, start: number, maxSize: number): ArrayBuffer | Status {
    const r = this.vm.getBufferBytes(type, start >>> 0, maxSize >>> 0);
    return typeof r === 'number' ? r : toArrayBuffer(r);
  }
  getBufferString(type: BufferType, start: number, maxSize: number): string | Status {
    const r = this.vm.getBufferBytes(type, start >>> 0, maxSize >>> 0);
    return typeof r === 'number' ? r : fromUtf8(r);
  }
  setBufferBytes(type: BufferType, start: number, size: number, data: BytesIn): Status {
    return this.vm.setBufferBytes(type, start >>> 0, size >>> 0, bytesIn(data));
  }
  getHeaderMapPairs(mapType: MapType): FlatPairs | Status { return this.vm.getHeaderMapPairs(mapType); }
  setHeaderMapPairs(mapType: MapType, pairs: FlatPairs): Status { return this.vm.setHeaderMapPairs(mapType, pairs.map(String)); }
  getHeaderMapValue(mapType: MapType, key: string): string | Status { return this.vm.getHeaderMapValue(mapType, key); }
  getHeaderMapValues(mapType: MapType, keys: readonly string[]): (string | undefined)[] | Status {
    const values: (string | undefined)[] = [];
    for (const key of keys) {
      const r = this.vm.getHeaderMapValue(mapType, String(key));
      if (typeof r === 'string') values.push(r);
      else if (r === Status.NotFound) values.push(undefined);
      else return r;
    }
    return values;
  }
  getHeaderMapsValues(query: string): (string | number | undefined)[] | Status {
    const [headers, agePath] = splitAgeEntry(String(query));
    const entries = parseHeaderQuery(headers);
    if (entries === undefined) return Status.BadArgument; // as the bridge
    const values: (string | number | undefined)[] = [];
    for (const [mapType, key] of entries) {
      const r = this.vm.getHeaderMapValue(mapType, key);
      if (typeof r === 'string') values.push(r);
      else if (r === Status.NotFound) values.push(undefined);
      else return r;
    }
    if (agePath !== undefined) values.push(this.getPropertyU64Age(agePath)); // as the bridge: last
    return values;
  }
  addHeaderMapValue(mapType: MapType, key: string, value: string): Status { return this.vm.addHeaderMapValue(mapType, key, value); }
  replaceHeaderMapValue(mapType: MapType, key: string, value: string): Status { return this.vm.replaceHeaderMapValue(mapType, key, value); }
  removeHeaderMapValue(mapType: MapType, key: string): Status { return this.vm.removeHeaderMapValue(mapType, key); }
  getHeaderMapSize(mapType: MapType): number { return this.vm.getHeaderMapSize(mapType); }
  getProperty(path: string): ArrayBuffer | Status {
    const r = this.vm.getProperty(path);
    return typeof r === 'number' ? r : toArrayBuffer(r);
  }
  getPropertyU64(path: string): number {
    const value = this.propertyU64le(path);
    return typeof value === 'number' ? value : Number(value);
  }
  getPropertyU64Age(path: string): number {
    const then = this.propertyU64le(path);
    if (typeof then === 'number') return then;
    if (then === 0n) return -Status.NotFound; // unset, as the bridge
    const age = BigInt(this.vm.getCurrentTimeNanoseconds()) - then;
    return age > 0n ? Number(age) : 0;
  }
  setProperty(path: string, value: BytesIn): Status { return this.vm.setProperty(path, bytesIn(value)); }
  getSharedData(key: string): [value: ArrayBuffer, cas: number] | Status {
    const r = this.vm.getSharedData(key);
    return typeof r === 'number' ? r : [toArrayBuffer(r[0]), r[1]];
  }
  setSharedData(key: string, value: BytesIn, cas: number): Status { return this.vm.setSharedData(key, bytesIn(value), cas >>> 0); }
  registerSharedQueue(name: string): number { return this.vm.registerSharedQueue(name); }
  resolveSharedQueue(vmId: string, name: string): number { return this.vm.resolveSharedQueue(vmId, name); }
  enqueueSharedQueue(queueId: number, value: BytesIn): Status { return this.vm.enqueueSharedQueue(queueId >>> 0, bytesIn(value)); }
  dequeueSharedQueue(queueId: number): ArrayBuffer | Status {
    const r = this.vm.dequeueSharedQueue(queueId >>> 0);
    return typeof r === 'number' ? r : toArrayBuffer(r);
  }
  dequeueSharedQueueString(queueId: number): string | Status {
    const r = this.vm.dequeueSharedQueue(queueId >>> 0);
    return typeof r === 'number' ? r : fromUtf8(r);
  }
  continueStream(streamType: StreamType): Status { return this.vm.continueStream(streamType); }
  closeStream(streamType: StreamType): Status { return this.vm.closeStream(streamType); }
  sendLocalResponse(statusCode: number, details: string, body: BytesIn, headers: FlatPairs, grpcStatus: number): Status {
    return this.vm.sendLocalResponse(statusCode >>> 0, details, bytesIn(body), headers.map(String), grpcStatus);
  }
  httpCall(cluster: string, headers: FlatPairs, body: BytesIn, trailers: FlatPairs, timeoutMs: number): number {
    return this.vm.httpCall(cluster, headers.map(String), bytesIn(body), trailers.map(String), timeoutMs >>> 0);
  }
  setEffectiveContext(contextId: number): Status { return this.vm.setEffectiveContext(contextId >>> 0); }
  done(): Status { return this.vm.done(); }
  callForeignFunction(name: string, argument: BytesIn): ArrayBuffer | Status {
    const r = this.vm.callForeignFunction(name, bytesIn(argument));
    return typeof r === 'number' ? r : toArrayBuffer(r);
  }
  defineMetric(metricType: MetricType, name: string): number { return this.vm.defineMetric(metricType, name); }
  incrementMetric(metricId: number, offset: number): Status { return this.vm.incrementMetric(metricId >>> 0, offset); }
  recordMetric(metricId: number, value: number): Status { return this.vm.recordMetric(metricId >>> 0, value); }
  getMetric(metricId: number): number { return this.vm.getMetric(metricId >>> 0); }

  sha256(data: BytesIn): ArrayBuffer {
    return toArrayBuffer(createHash('sha256').update(bytesIn(data)).digest());
  }
  utf8Encode(text: string): ArrayBuffer { return toArrayBuffer(utf8(text)); }
  utf8Decode(data: ArrayBuffer, offset: number, length: number): string {
    return fromUtf8(new Uint8Array(data, offset, length));
  }
  environ(): string[] { return this.vm.environ(); }
  randomBytes(length: number): ArrayBuffer { return toArrayBuffer(new Uint8Array(randomBytes(length))); }

  /** A property holding an 8-byte little-endian integer, else -Status (as the bridge's 'u64le'). */
  private propertyU64le(path: string): bigint | number {
    const r = this.vm.getProperty(path);
    if (typeof r === 'number') return -r;
    if (r.byteLength !== 8) return -Status.SerializationFailure;
    return new DataView(r.buffer, r.byteOffset, 8).getBigUint64(0, true);
  }
}

/** A guest factory for an in-process plugin (its module's default export). */
export function inProcessGuest(plugin: PluginDefinition): GuestFactory {
  return (vm): Guest => {
    const dispatcher = createDispatcher(plugin, new NodeHost(vm));
    return { kind: 'in-process', callbacks: dispatcher.callbacks, memoryBytes: () => 0 };
  };
}

/** Imports a plugin file (TypeScript via tsx) and returns its default PluginDefinition. */
export async function loadPluginModule(path: string): Promise<PluginDefinition> {
  const mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
  const plugin = mod.default as Partial<PluginDefinition> | undefined;
  if (!plugin || typeof plugin.createRootContext !== 'function') {
    throw new Error(`'${path}' has no default export made with definePlugin(...)`);
  }
  return plugin as PluginDefinition;
}

