// The lean hot-path pieces keep the behaviour of the straightforward versions they replaced:
// cached memory views survive memory.grow, fast ASCII decoding matches TextDecoder, the flat
// header map keeps Envoy's semantics, and the histogram window keeps the newest samples.

import { beforeAll, describe, expect, it } from 'vitest';
import { LogLevel, MetricType, Status } from '../../src/abi/table.js';
import { int64Bytes, serializePairs, utf8 } from '../../host/core/bytes.js';
import { msToNsBytes } from '../../host/core/properties.js';
import { HostRuntime, type LogEntry } from '../../host/core/runtime.js';
import { createVm } from '../../host/vm-factory.js';
import { HeaderMap } from '../../host/core/header-map.js';
import { MetricStore } from '../../host/core/metrics.js';
import { GuestMemory } from '../../host/guests/memory.js';
import type { WasmMemory, WasmModule } from '../../host/guests/webassembly.js';
import { probeWat, watToModule } from './support/wat.js';

const PAGE = 0x10000;
const WasmMemoryCtor = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => WasmMemory } })
  .WebAssembly.Memory;

/** A guest memory of one page with a bump allocator that grows the memory when it runs out. */
function guestMemory(): { memory: WasmMemory; guest: GuestMemory } {
  const memory = new WasmMemoryCtor({ initial: 1 });
  let next = 1024;
  const allocate = (size: number): number => {
    if (next + size > memory.buffer.byteLength) memory.grow(Math.ceil((next + size - memory.buffer.byteLength) / PAGE));
    const ptr = next;
    next += size;
    return ptr;
  };
  const guest = new GuestMemory();
  guest.bind(memory, allocate);
  return { memory, guest };
}

describe('GuestMemory', () => {
  it('sees memory grown after its views were cached, and bounds-checks against the new size', () => {
    const { memory, guest } = guestMemory();
    expect(guest.writeU32(16, 7)).toBe(true);
    expect(guest.writeU32(PAGE + 8, 1)).toBe(false);
    memory.grow(1);
    expect(guest.byteLength).toBe(2 * PAGE);
    expect(guest.writeU32(PAGE + 8, 0xdeadbeef)).toBe(true);
    expect(guest.readU32(PAGE + 8)).toBe(0xdeadbeef);
    expect(guest.readU32(16)).toBe(7);
    expect(guest.readU32(2 * PAGE - 2)).toBeUndefined();
  });

  it('copies a string out through an allocation that grows the memory', () => {
    const { guest } = guestMemory();
    const text = 'x'.repeat(PAGE); // does not fit the first page: the allocator grows memory
    expect(guest.copyOutString(text, 16, 20)).toBe(true);
    const ptr = guest.readU32(16)!;
    expect(guest.readU32(20)).toBe(PAGE);
    expect(guest.readString(ptr, PAGE)).toBe(text);
  });

  it('writes non-ASCII strings as UTF-8 and empty ones as (0, 0) without allocating', () => {
    const { guest } = guestMemory();
    expect(guest.copyOutString('héllo ✓', 16, 20)).toBe(true);
    const size = guest.readU32(20)!;
    expect(size).toBe(Buffer.byteLength('héllo ✓'));
    expect(guest.readString(guest.readU32(16)!, size)).toBe('héllo ✓');
    expect(guest.copyOutString('', 16, 20)).toBe(true);
    expect([guest.readU32(16), guest.readU32(20)]).toEqual([0, 0]);
  });

  it('decodes strings as TextDecoder does, ASCII or not, valid UTF-8 or not', () => {
    const { guest } = guestMemory();
    const samples = [
      new TextEncoder().encode(':authority'),
      new TextEncoder().encode('naïve-κλειδί'),
      new Uint8Array([0x61, 0xff, 0x62, 0xc3]), // invalid sequences: replacement characters
      new Uint8Array(200).fill(0x41), // longer than the short-string path
    ];
    for (const bytes of samples) {
      expect(guest.write(4096, bytes)).toBe(true);
      expect(guest.readString(4096, bytes.byteLength)).toBe(new TextDecoder().decode(bytes));
    }
    expect(guest.readString(PAGE - 1, 2)).toBeUndefined();
  });

  it('reads the pairs format, and tells a bad pointer from malformed pairs', () => {
    const { guest } = guestMemory();
    const wire = serializePairs([':path', '/a', 'X-Key', 'välue']);
    guest.write(2048, wire);
    expect(guest.readPairs(2048, wire.byteLength)).toEqual([':path', '/a', 'X-Key', 'välue']);
    expect(guest.readPairs(2048, 0)).toEqual([]);
    expect(guest.readPairs(2048, 3)).toBe(Status.BadArgument);
    expect(guest.readPairs(2048, wire.byteLength - 1)).toBe(Status.BadArgument);
    expect(guest.readPairs(PAGE - 4, 8)).toBe(Status.InvalidMemoryAccess);
  });

  it('writes the pairs format byte for byte, by the ASCII path and the UTF-8 one', () => {
    // count, (key length, value length) per pair, then each string and a NUL; lengths in bytes
    const expected = (strings: string[]): number[] => {
      const bytes = strings.map((s) => [...utf8(s)]);
      const u32 = (n: number): number[] => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24];
      return [...u32(strings.length / 2), ...bytes.flatMap((b) => u32(b.length)), ...bytes.flatMap((b) => [...b, 0])];
    };
    for (const strings of [[':path', '/a', 'x-key', 'value', 'empty', ''], [':path', '/a', 'x-key', 'välue', 'ü', '€']]) {
      expect([...serializePairs(strings)]).toEqual(expected(strings));
    }
  });
});

describe('HeaderMap', () => {
  it('lower-cases keys, finds them whatever the case asked, keeps order and repeats', () => {
    const map = HeaderMap.fromFlat([':method', 'GET', 'X-Trace', 'a', 'accept', '*/*', 'x-trace', 'b', 'dangling']);
    expect(map.toFlat()).toEqual([':method', 'GET', 'x-trace', 'a', 'accept', '*/*', 'x-trace', 'b']);
    expect(map.size).toBe(4);
    expect(map.get('X-TRACE')).toBe('a');
    expect(map.get(':method')).toBe('GET');
    expect(map.get('missing')).toBeUndefined();
    expect(map.byteSize()).toBe(':methodGETx-traceaaccept*/*x-traceb'.length);
  });

  it('replace sets the first entry and drops the later ones; remove drops all; add appends', () => {
    const map = HeaderMap.fromFlat(['a', '1', 'b', '2', 'A', '3', 'c', '4']);
    map.replace('A', 'x');
    expect(map.toFlat()).toEqual(['a', 'x', 'b', '2', 'c', '4']);
    map.replace('d', '5');
    map.add('B', '6');
    expect(map.toFlat()).toEqual(['a', 'x', 'b', '2', 'c', '4', 'd', '5', 'b', '6']);
    map.remove('b');
    expect(map.toFlat()).toEqual(['a', 'x', 'c', '4', 'd', '5']);
    map.setAll(['Z', '9']);
    expect(map.toFlat()).toEqual(['z', '9']);
  });

  it('hands out copies: changing a returned list does not change the map', () => {
    const flat = ['k', 'v'];
    const map = HeaderMap.fromFlat(flat);
    flat[1] = 'changed';
    map.toFlat()[1] = 'changed too';
    expect(map.get('k')).toBe('v');
  });

  it('shares a list registered with share() until its first edit, which copies it', () => {
    const flat = HeaderMap.share(['a', '1', 'b', '2']);
    const first = HeaderMap.fromFlat(flat);
    const second = HeaderMap.fromFlat(flat);
    first.add('c', '3');
    second.replace('a', 'x');
    HeaderMap.fromFlat(flat).remove('b');
    expect(flat).toEqual(['a', '1', 'b', '2']);
    expect(first.toFlat()).toEqual(['a', '1', 'b', '2', 'c', '3']);
    expect(second.toFlat()).toEqual(['a', 'x', 'b', '2']);
    // a list with upper-case keys or a dangling key is not shared: the map normalises a copy
    const mixed = HeaderMap.share(['A', '1', 'dangling']);
    expect(HeaderMap.fromFlat(mixed).toFlat()).toEqual(['a', '1']);
  });
});

describe('MetricStore histogram window', () => {
  it('keeps the newest 10,000 samples once full', () => {
    const store = new MetricStore();
    const metric = store.define(MetricType.Histogram, 'h');
    for (let i = 1; i <= 10_005; i++) MetricStore.record(metric, i);
    expect(metric.samples.length).toBe(10_000);
    expect(Math.min(...metric.samples)).toBe(6);
    expect(Math.max(...metric.samples)).toBe(10_005);
    expect(store.toText()).toContain('P0(nan,6)');
  });
});

describe('proxy_log below the host level', () => {
  let probe: WasmModule;
  beforeAll(async () => {
    probe = await watToModule(probeWat(), 'probe.wat');
  });

  it('is not logged, yet a bad pointer or level answers as for a logged message', () => {
    const logs: LogEntry[] = [];
    const vm = createVm({ wasm: probe, runtime: new HostRuntime({ logLevel: LogLevel.Warn, logSink: (e) => logs.push(e) }), vmId: 'probe' });
    const exports = vm.guest.exports!;
    new Uint8Array((exports.memory as WasmMemory).buffer).set(utf8('quiet'), 1024);
    const log = (level: number, ptr: number, size: number): number =>
      vm.withContext(vm.rootContextId, () => (exports.call_proxy_log as (...a: number[]) => number)(level, ptr, size));
    expect(log(LogLevel.Debug, 1024, 5)).toBe(Status.Ok);
    expect(log(LogLevel.Debug, PAGE - 2, 100)).toBe(Status.InvalidMemoryAccess);
    expect(log(LogLevel.Trace, -8, 4)).toBe(Status.InvalidMemoryAccess);
    expect(log(9, 1024, 5)).toBe(Status.BadArgument);
    expect(logs.filter((e) => e.vmId === 'probe')).toEqual([]);
    expect(log(LogLevel.Error, 1024, 5)).toBe(Status.Ok);
    expect(logs.at(-1)).toMatchObject({ level: LogLevel.Error, message: 'quiet' });
  });
});

describe('int64 property bytes without BigInt', () => {
  const viaBigInt = (ms: number): bigint => {
    const whole = Math.floor(ms);
    return BigInt(whole) * 1_000_000n + BigInt(Math.round((ms - whole) * 1e6));
  };
  const read = (bytes: Uint8Array): bigint => new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);

  it('writes ms timestamps and durations as the exact ns BigInt arithmetic would', () => {
    const samples = [0, 0.0005, 1, 999.9999996, 1_764_201_600_000.123, 1_764_201_600_123.9999, 2 ** 42 + 0.5, Date.now() + performance.now() % 1];
    for (const ms of samples) expect(read(msToNsBytes(ms))).toBe(viaBigInt(ms));
  });

  it('writes plain integers as 64-bit little-endian', () => {
    for (const n of [0, 1, 255, 0xffffffff, 2 ** 32, 2 ** 53 - 1]) expect(read(int64Bytes(n))).toBe(BigInt(n));
    expect(read(int64Bytes(-1))).toBe(2n ** 64n - 1n);
  });
});
