// A TypeScript plugin run in-process (the plain-Node debug mode): the SDK's dispatcher is built
// over a Node implementation of the `Host` interface that forwards to the VM's hostcalls, with
// the bridge's result conventions (table.ts), so the plugin cannot tell it from the Wasm bridge.

import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { crc32 } from 'node:zlib';
import { createDispatcher } from '../../src/sdk/dispatcher.js';
import type { BytesIn, Host } from '../../src/abi/host.js';
import type { PluginDefinition } from '../../src/sdk/plugin.js';
import { parseHeaderQuery, splitAgeEntry } from '../core/header-query.js';
import { HOSTCALLS, isComposite, Status, type ArgKind, type Hostcall, type MapType, type OutKind } from '../../src/abi/table.js';
import { fromUtf8, toArrayBuffer, utf8 } from '../core/bytes.js';
import type { Guest, GuestFactory, Vm } from '../core/vm.js';

const bytesIn = (data: BytesIn): Uint8Array => (typeof data === 'string' ? utf8(data) : new Uint8Array(data));

type VmMethod = (...args: unknown[]) => unknown;
type HostMethod = (this: NodeHost, ...args: unknown[]) => unknown;

/** A JS argument of a table kind as the VM's hostcall takes it (what the Wasm guest reads out of memory). */
function argIn(kind: ArgKind, value: unknown): unknown {
  switch (kind) {
    case 'u32': return Number(value) >>> 0;
    case 'str': return String(value);
    case 'bytes': return bytesIn(value as BytesIn);
    case 'pairs': return (value as unknown[]).map(String);
    default: return value;
  }
}

/** The VM's answer as the bridge hands it to JS (table.ts result conventions). */
function resultOut(kind: OutKind, result: unknown): unknown {
  if (typeof result === 'number') return result; // a Status (or an id / -Status)
  switch (kind) {
    case 'bytes': return toArrayBuffer(result as Uint8Array);
    case 'str': return typeof result === 'string' ? result : fromUtf8(result as Uint8Array); // header values are strings already
    case 'bytes_cas': {
      const [value, cas] = result as [Uint8Array, number];
      return [toArrayBuffer(value), cas];
    }
    case 'u32': case 'u64': return Number(result);
    default: return result;
  }
}

/** The first entry of an ABI function: the VM method (by its JS name) the Wasm guest's import calls too. */
function primaryOf(spec: Hostcall): Hostcall {
  return HOSTCALLS.find((h) => h.abi === spec.abi && !isComposite(h)) ?? spec;
}

/**
 * One Host method per HOSTCALLS entry, generated from its marshalling kinds (as the Wasm guest's
 * imports are), so a new table entry needs no line here: the VM's method of the ABI function's
 * primary entry serves it, converted to the bridge's JS conventions; a hostcall the VM does not
 * implement answers Unimplemented. The composite and 'u64le' kinds, which the bridge computes
 * itself, are written out below.
 */
function tableMethod(spec: Hostcall): HostMethod | undefined {
  if (isComposite(spec) || spec.out === 'u64le' || spec.out === 'u64le_age') return undefined;
  const primary = primaryOf(spec);
  const kinds = spec.args.map(([, kind]) => kind);
  const out = spec.out;
  // ids and values answer -Status; the others a Status (table.ts conventions)
  const unimplemented = out === 'u32' || out === 'u64' ? -Status.Unimplemented : Status.Unimplemented;
  return function (this: NodeHost, ...args: unknown[]): unknown {
    const method = (this.vm as unknown as Record<string, VmMethod | undefined>)[primary.js];
    if (method === undefined) return unimplemented;
    return resultOut(out, method.apply(this.vm, args.map((value, i) => argIn(kinds[i]!, value))));
  };
}

/** The Node `Host`: every method is the VM's hostcall, results converted to the JS conventions. */
export class NodeHost {
  constructor(readonly vm: Vm) {}

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

  sha256(data: BytesIn): ArrayBuffer {
    return toArrayBuffer(createHash('sha256').update(bytesIn(data)).digest());
  }
  utf8Encode(text: string): ArrayBuffer { return toArrayBuffer(utf8(text)); }
  utf8Decode(data: ArrayBuffer, offset: number, length: number): string {
    return fromUtf8(new Uint8Array(data, offset, length));
  }
  environ(): string[] { return this.vm.environ(); }
  randomBytes(length: number): ArrayBuffer {
    const bytes = new Uint8Array(length);
    this.vm.runtime.randomFill(bytes);
    return toArrayBuffer(bytes);
  }
  crc32(data: BytesIn): number { return crc32(bytesIn(data)) >>> 0; }

  /** A property holding an 8-byte little-endian integer, else -Status (as the bridge's 'u64le'). */
  private propertyU64le(path: string): bigint | number {
    const r = this.vm.getProperty(path);
    if (typeof r === 'number') return -r;
    if (r.byteLength !== 8) return -Status.SerializationFailure;
    return new DataView(r.buffer, r.byteOffset, 8).getBigUint64(0, true);
  }
}

// Declaration merging: the generated methods make NodeHost a whole Host.
export interface NodeHost extends Host {}

for (const spec of HOSTCALLS) {
  const method = tableMethod(spec);
  if (method === undefined) continue;
  Object.defineProperty(NodeHost.prototype, spec.js, { value: method, writable: true, configurable: true, enumerable: false });
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

