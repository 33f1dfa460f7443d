// Each hostcall through the real Wasm import path (marshalling, memory protocol, statuses),
// checked against Envoy's behaviour (proxy-wasm-cpp-host exports.cc + Envoy's context.cc).

import { beforeAll, describe, expect, it } from 'vitest';
import { BufferType, MapType, MetricType, Status } from '../../src/abi/table.js';
import { deserializePairs, fromUtf8, serializePairs, utf8 } from '../../host/core/bytes.js';
import { answerNextHostcall } from '../../host/core/answer-hostcall.js';
import { wallClockNanoseconds } from '../../host/core/clock.js';
import { HeaderMap } from '../../host/core/header-map.js';
import { directResponse, HttpStream } from '../../host/core/stream.js';
import { HostRuntime, type LogEntry } from '../../host/core/runtime.js';
import { Exposed, type StreamState } from '../../host/core/stream-state.js';
import type { Vm } from '../../host/core/vm.js';
import { createVm } from '../../host/vm-factory.js';
import type { WasmMemory, WasmModule } from '../../host/guests/webassembly.js';
import { probeWat, watToModule } from './support/wat.js';

let probe: WasmModule;
beforeAll(async () => {
  probe = await watToModule(probeWat(), 'probe.wat');
});

const RET_PTR = 16;
const RET_SIZE = 20;
const RET_CAS = 24;
const OUT_OF_BOUNDS = 0x10000 - 2; // the probe has one 64 KiB page

class Probe {
  readonly logs: LogEntry[] = [];
  readonly vm: Vm;
  private scratch = 1024;

  constructor(options: { runtime?: HostRuntime; vmId?: string } = {}) {
    const runtime = options.runtime ?? new HostRuntime({ logSink: (e) => this.logs.push(e) });
    this.vm = createVm({
      wasm: probe, runtime, name: 'probe-plugin', rootId: 'probe_root', vmId: options.vmId ?? 'probe',
      vmConfiguration: 'vm-config', pluginConfiguration: '{"plugin":true}', environment: { GREETING: 'hi', EMPTY: '' },
    });
  }

  private get exports(): Record<string, unknown> {
    return this.vm.guest.exports!;
  }

  private memory(): Uint8Array {
    return new Uint8Array((this.exports.memory as WasmMemory).buffer);
  }

  /** Writes bytes into the scratch area; returns [ptr, len]. */
  put(data: string | Uint8Array): [number, number] {
    const bytes = typeof data === 'string' ? utf8(data) : data;
    const ptr = this.scratch;
    this.memory().set(bytes, ptr);
    this.scratch += bytes.byteLength + 8;
    return [ptr, bytes.byteLength];
  }

  u32(ptr: number): number {
    return new DataView(this.memory().buffer).getUint32(ptr, true);
  }

  u64(ptr: number): bigint {
    return new DataView(this.memory().buffer).getBigUint64(ptr, true);
  }

  /** The (ptr, size) result the host wrote at RET_PTR / RET_SIZE. */
  out(): Uint8Array {
    const ptr = this.u32(RET_PTR);
    const size = this.u32(RET_SIZE);
    return this.memory().slice(ptr, ptr + size);
  }

  outString(): string {
    return fromUtf8(this.out());
  }

  call(contextId: number, name: string, ...args: (number | bigint)[]): number {
    const fn = this.exports[`call_${name}`] as (...a: (number | bigint)[]) => number;
    this.memory().fill(0, 0, 64);
    return this.vm.withContext(contextId, () => fn(...args));
  }

  root(name: string, ...args: (number | bigint)[]): number {
    return this.call(this.vm.rootContextId, name, ...args);
  }

  stream(headers: [string, string][] = [[':path', '/a?b=1'], [':method', 'GET'], [':authority', 'example.com']], startTimeMs = 1): { id: number; state: StreamState } {
    const state: StreamState = {
      accessLogPhase: false, filterState: new Map(), requestHeaders: new HeaderMap(headers),
      info: { startTimeMs, requestId: 'req-1', protocol: 'HTTP/1.1', sourceAddress: '127.0.0.1', sourcePort: 1,
        destinationAddress: '127.0.0.1', destinationPort: 2, connectionId: 7, responseCodeDetails: '' },
    };
    const id = this.vm.createStreamContext(state);
    this.vm.expose(id, Exposed.All); // as if inside the callbacks that hand these maps over
    return { id, state };
  }
}

describe('start sequence and WASI', () => {
  it('starts the root context: create, vm_start, configure', () => {
    const p = new Probe();
    expect(p.vm.state).toBe('running');
    expect(p.vm.rootContextId).toBe(1);
  });

  it('environ_* show exactly the configured environment', () => {
    const p = new Probe();
    expect(p.root('environ_sizes_get', 100, 104)).toBe(0);
    expect(p.u32(100)).toBe(2);
    const size = p.u32(104);
    expect(size).toBe('GREETING=hi\0EMPTY=\0'.length);
    expect(p.root('environ_get', 200, 300)).toBe(0);
    expect(p.u32(200)).toBe(300);
    expect(p.u32(204)).toBe(300 + 'GREETING=hi\0'.length);
    expect(fromUtf8(new Uint8Array((p.vm.guest.exports!.memory as WasmMemory).buffer, 300, size))).toBe('GREETING=hi\0EMPTY=\0');
  });

  it('fd_write goes to the plugin log (stdout info, stderr error) and bad fds fail with EBADF', () => {
    const p = new Probe();
    const [ptr, len] = p.put('hello from stdout\n');
    const iov = p.put(new Uint8Array(8));
    new DataView(new Uint8Array((p.vm.guest.exports!.memory as WasmMemory).buffer).buffer).setUint32(iov[0], ptr, true);
    new DataView(new Uint8Array((p.vm.guest.exports!.memory as WasmMemory).buffer).buffer).setUint32(iov[0] + 4, len, true);
    expect(p.root('fd_write', 1, iov[0], 1, 400)).toBe(0);
    expect(p.u32(400)).toBe(len);
    expect(p.logs.at(-1)).toMatchObject({ level: 2, message: 'hello from stdout' });
    expect(p.root('fd_write', 2, iov[0], 1, 400)).toBe(0);
    expect(p.logs.at(-1)?.level).toBe(4);
    expect(p.root('fd_write', 5, iov[0], 1, 400)).toBe(8);
  });

  it('clock_time_get: realtime near Date.now, unsupported clock ENOTSUP', () => {
    const p = new Probe();
    expect(p.root('clock_time_get', 0, 0n, 400)).toBe(0);
    const ms = Number(p.u64(400) / 1_000_000n);
    expect(Math.abs(ms - Date.now())).toBeLessThan(5_000);
    expect(p.root('clock_time_get', 3, 0n, 400)).toBe(58);
  });
});

describe('logging and time', () => {
  it('proxy_log logs at the level; a bad level is BadArgument; a bad pointer is InvalidMemoryAccess', () => {
    const p = new Probe();
    const [ptr, len] = p.put('hello');
    expect(p.root('proxy_log', 3, ptr, len)).toBe(Status.Ok);
    expect(p.logs.at(-1)).toMatchObject({ level: 3, message: 'hello', vmId: 'probe', rootId: 'probe_root' });
    expect(p.root('proxy_log', 9, ptr, len)).toBe(Status.BadArgument);
    expect(p.root('proxy_log', 2, OUT_OF_BOUNDS, 100)).toBe(Status.InvalidMemoryAccess);
    expect(p.root('proxy_log', 2, -8, 4)).toBe(Status.InvalidMemoryAccess);
  });

  it('proxy_get_log_level writes the host level; a bad return pointer is InvalidMemoryAccess', () => {
    const p = new Probe();
    p.vm.runtime.logLevel = 1;
    expect(p.root('proxy_get_log_level', RET_PTR)).toBe(Status.Ok);
    expect(p.u32(RET_PTR)).toBe(1);
    expect(p.root('proxy_get_log_level', OUT_OF_BOUNDS)).toBe(Status.InvalidMemoryAccess);
  });

  it('proxy_get_current_time_nanoseconds writes a u64 near now', () => {
    const p = new Probe();
    expect(p.root('proxy_get_current_time_nanoseconds', RET_PTR)).toBe(Status.Ok);
    expect(Math.abs(Number(p.u64(RET_PTR) / 1_000_000n) - Date.now())).toBeLessThan(5_000);
  });

  it('proxy_set_tick_period_milliseconds is Ok (0 disables)', () => {
    const p = new Probe();
    expect(p.root('proxy_set_tick_period_milliseconds', 1000)).toBe(Status.Ok);
    expect(p.root('proxy_set_tick_period_milliseconds', 0)).toBe(Status.Ok);
  });
});

describe('buffers', () => {
  it('reads the VM configuration into guest-allocated memory', () => {
    const p = new Probe();
    const allocationsBefore = (p.vm.guest.exports!.allocations as { value: number }).value;
    expect(p.root('proxy_get_buffer_bytes', BufferType.VmConfiguration, 0, 100, RET_PTR, RET_SIZE)).toBe(Status.Ok);
    expect(p.outString()).toBe('vm-config');
    expect(p.u32(RET_PTR)).toBeGreaterThanOrEqual(32768); // from proxy_on_memory_allocate
    expect((p.vm.guest.exports!.allocations as { value: number }).value).toBe(allocationsBefore + 1);
    expect(p.root('proxy_get_buffer_bytes', 6, 3, 3, RET_PTR, RET_SIZE)).toBe(Status.Ok);
    expect(p.outString()).toBe('con');
  });

  it('start past the end gives Ok with (0, 0); unknown type BadArgument; absent buffer NotFound', () => {
    const p = new Probe();
    expect(p.root('proxy_get_buffer_bytes', 6, 50, 10, RET_PTR, RET_SIZE)).toBe(Status.Ok);
    expect([p.u32(RET_PTR), p.u32(RET_SIZE)]).toEqual([0, 0]);
    expect(p.root('proxy_get_buffer_bytes', 42, 0, 10, RET_PTR, RET_SIZE)).toBe(Status.BadArgument);
    // no http_call response being delivered
    expect(p.root('proxy_get_buffer_bytes', 4, 0, 10, RET_PTR, RET_SIZE)).toBe(Status.NotFound);
    // a body outside its callback reads as empty, as Envoy's unset buffer does
    expect(p.root('proxy_get_buffer_bytes', 0, 0, 10, RET_PTR, RET_SIZE)).toBe(Status.Ok);
    expect([p.u32(RET_PTR), p.u32(RET_SIZE)]).toEqual([0, 0]);
    // plugin configuration is only readable during start/configure
    expect(p.root('proxy_get_buffer_bytes', 7, 0, 10, RET_PTR, RET_SIZE)).toBe(Status.NotFound);
    expect(p.root('proxy_get_buffer_bytes', 6, 0, 10, OUT_OF_BOUNDS, RET_SIZE)).toBe(Status.InvalidMemoryAccess);
  });

  it('set_buffer_bytes follows Envoy: replace, prepend, append, else BadArgument', () => {
    const p = new Probe();
    const s = p.stream();
    s.state.requestBody = utf8('body');
    const [x, xl] = p.put('XY');
    expect(p.call(s.id, 'proxy_set_buffer_bytes', 0, 0, 0, x, xl)).toBe(Status.Ok);
    expect(fromUtf8(s.state.requestBody!)).toBe('XYbody');
    expect(p.call(s.id, 'proxy_set_buffer_bytes', 0, 6, 0, x, xl)).toBe(Status.Ok);
    expect(fromUtf8(s.state.requestBody!)).toBe('XYbodyXY');
    expect(p.call(s.id, 'proxy_set_buffer_bytes', 0, 0, 100, x, xl)).toBe(Status.Ok);
    expect(fromUtf8(s.state.requestBody!)).toBe('XY');
    expect(p.call(s.id, 'proxy_set_buffer_bytes', 0, 1, 1, x, xl)).toBe(Status.BadArgument);
    p.vm.expose(s.id, Exposed.ResponseBody, false);
    expect(p.call(s.id, 'proxy_set_buffer_bytes', 1, 0, 0, x, xl)).toBe(Status.BadArgument);
    expect(p.call(s.id, 'proxy_set_buffer_bytes', 4, 0, 0, x, xl)).toBe(Status.NotFound);
    expect(p.call(s.id, 'proxy_set_buffer_bytes', 0, 0, 0, OUT_OF_BOUNDS, 10)).toBe(Status.InvalidMemoryAccess);
  });
});

describe('header maps', () => {
  it('get value: first value, NotFound for a missing key, case-insensitive', () => {
    const p = new Probe();
    const s = p.stream([[':path', '/x'], ['x-a', '1'], ['X-A', '2']]);
    const [k, kl] = p.put('X-a');
    expect(p.call(s.id, 'proxy_get_header_map_value', 0, k, kl, RET_PTR, RET_SIZE)).toBe(Status.Ok);
    expect(p.outString()).toBe('1');
    const [m, ml] = p.put('missing');
    expect(p.call(s.id, 'proxy_get_header_map_value', 0, m, ml, RET_PTR, RET_SIZE)).toBe(Status.NotFound);
    expect(p.call(s.id, 'proxy_get_header_map_value', 99, k, kl, RET_PTR, RET_SIZE)).toBe(Status.BadArgument);
    expect(p.call(s.id, 'proxy_get_header_map_value', 0, OUT_OF_BOUNDS, 10, RET_PTR, RET_SIZE)).toBe(Status.InvalidMemoryAccess);
  });

  it('maps not available in the current context: BadArgument for get/size/mutations, empty pairs', () => {
    const p = new Probe();
    const [k, kl] = p.put(':path');
    expect(p.root('proxy_get_header_map_value', MapType.HttpRequestHeaders, k, kl, RET_PTR, RET_SIZE)).toBe(Status.BadArgument);
    expect(p.root('proxy_get_header_map_value', MapType.HttpCallResponseHeaders, k, kl, RET_PTR, RET_SIZE)).toBe(Status.BadArgument);
    expect(p.root('proxy_get_header_map_size', 0, RET_PTR)).toBe(Status.BadArgument);
    expect(p.root('proxy_add_header_map_value', 0, k, kl, k, kl)).toBe(Status.BadArgument);
    expect(p.root('proxy_get_header_map_pairs', 0, RET_PTR, RET_SIZE)).toBe(Status.Ok);
    expect([p.u32(RET_PTR), p.u32(RET_SIZE)]).toEqual([0, 0]);
  });

  it('pairs in the wire format; add, replace, remove, set pairs; size is the byte size', () => {
    const p = new Probe();
    const s = p.stream([[':path', '/x'], ['a', '1']]);
    expect(p.call(s.id, 'proxy_get_header_map_pairs', 0, RET_PTR, RET_SIZE)).toBe(Status.Ok);
    expect(deserializePairs(p.out())).toEqual([':path', '/x', 'a', '1']);
    const [b, bl] = p.put('B');
    const [v, vl] = p.put('two');
    expect(p.call(s.id, 'proxy_add_header_map_value', 0, b, bl, v, vl)).toBe(Status.Ok);
    expect(p.call(s.id, 'proxy_add_header_map_value', 0, b, bl, v, vl)).toBe(Status.Ok);
    expect(s.state.requestHeaders!.toFlat()).toEqual([':path', '/x', 'a', '1', 'b', 'two', 'b', 'two']);
    const [w, wl] = p.put('3');
    expect(p.call(s.id, 'proxy_replace_header_map_value', 0, b, bl, w, wl)).toBe(Status.Ok);
    expect(s.state.requestHeaders!.toFlat()).toEqual([':path', '/x', 'a', '1', 'b', '3']);
    const [a, al] = p.put('a');
    expect(p.call(s.id, 'proxy_remove_header_map_value', 0, a, al)).toBe(Status.Ok);
    expect(s.state.requestHeaders!.toFlat()).toEqual([':path', '/x', 'b', '3']);
    expect(p.call(s.id, 'proxy_get_header_map_size', 0, RET_PTR)).toBe(Status.Ok);
    expect(p.u32(RET_PTR)).toBe(':path/xb3'.length);
    const [pp, pl] = p.put(serializePairs(['x', 'y']));
    expect(p.call(s.id, 'proxy_set_header_map_pairs', 0, pp, pl)).toBe(Status.Ok);
    expect(s.state.requestHeaders!.toFlat()).toEqual(['x', 'y']);
    const [bad, badl] = p.put(new Uint8Array([5, 0, 0, 0, 1]));
    expect(p.call(s.id, 'proxy_set_header_map_pairs', 0, bad, badl)).toBe(Status.BadArgument);
  });

  it('in the access-log phase maps are read-only and a missing map reads as NotFound', () => {
    const p = new Probe();
    const s = p.stream();
    s.state.accessLogPhase = true;
    const [k, kl] = p.put(':path');
    expect(p.call(s.id, 'proxy_get_header_map_value', 0, k, kl, RET_PTR, RET_SIZE)).toBe(Status.Ok);
    expect(p.outString()).toBe('/a?b=1');
    expect(p.call(s.id, 'proxy_get_header_map_value', MapType.HttpResponseHeaders, k, kl, RET_PTR, RET_SIZE)).toBe(Status.NotFound);
    expect(p.call(s.id, 'proxy_add_header_map_value', 0, k, kl, k, kl)).toBe(Status.BadArgument);
  });
});

describe('properties', () => {
  const path = (...parts: string[]): string => parts.join('\0');

  it('answers plugin and request properties; unknown paths are NotFound', () => {
    const p = new Probe();
    const s = p.stream();
    const get = (ctx: number, ...parts: string[]): number => {
      const [ptr, len] = p.put(path(...parts));
      return p.call(ctx, 'proxy_get_property', ptr, len, RET_PTR, RET_SIZE);
    };
    expect(get(p.vm.rootContextId, 'plugin_name')).toBe(Status.Ok);
    expect(p.outString()).toBe('probe-plugin');
    expect(get(p.vm.rootContextId, 'plugin_root_id')).toBe(Status.Ok);
    expect(p.outString()).toBe('probe_root');
    expect(get(s.id, 'request', 'path')).toBe(Status.Ok);
    expect(p.outString()).toBe('/a?b=1');
    expect(get(s.id, 'request', 'url_path')).toBe(Status.Ok);
    expect(p.outString()).toBe('/a');
    expect(get(s.id, 'request', 'host')).toBe(Status.Ok);
    expect(p.outString()).toBe('example.com');
    expect(get(s.id, 'connection_id')).toBe(Status.Ok);
    expect(new DataView(p.out().buffer).getBigInt64(0, true)).toBe(7n);
    expect(get(s.id, 'no', 'such')).toBe(Status.NotFound);
    expect(get(p.vm.rootContextId, 'request', 'path')).toBe(Status.NotFound);
  });

  it('request.time is the start as int64 ns since the epoch; request.duration only once the request is received', () => {
    const p = new Probe();
    const s = p.stream(undefined, 1_700_000_000_123.25);
    const getInt64 = (...parts: string[]): bigint | Status => {
      const [ptr, len] = p.put(path(...parts));
      const status = p.call(s.id, 'proxy_get_property', ptr, len, RET_PTR, RET_SIZE);
      if (status !== Status.Ok) return status;
      const out = p.out();
      expect(out.byteLength).toBe(8);
      return new DataView(out.buffer).getBigInt64(0, true);
    };
    expect(getInt64('request', 'time')).toBe(1_700_000_000_123_250_000n);
    // Envoy's request.duration is StreamInfo::requestComplete: absent until the request is in,
    // and not the whole stream's duration
    s.state.info.durationMs = 40;
    expect(getInt64('request', 'duration')).toBe(Status.NotFound);
    s.state.info.requestDurationMs = 2.5;
    expect(getInt64('request', 'duration')).toBe(2_500_000n);
  });

  it('request.time shares the clock of proxy_get_current_time_nanoseconds; request.duration ends with the request', () => {
    const p = new Probe();
    const before = wallClockNanoseconds();
    const stream = new HttpStream([p.vm], {
      requestHeaders: [':method', 'POST', ':path', '/', ':authority', 'a.test', ':scheme', 'http'], requestBody: 'x',
    }, () => directResponse(200));
    const info = stream.state.info;
    const startNs = BigInt(Math.round(info.startTimeMs * 1e6));
    // within the float precision of a ms timestamp (~0.25 µs)
    expect(startNs >= before - 1000n).toBe(true);
    expect(info.requestDurationMs).toBeUndefined();
    stream.run();
    expect(info.requestDurationMs).toBeGreaterThanOrEqual(0);
    expect(info.durationMs).toBeGreaterThanOrEqual(info.requestDurationMs!);
    expect(p.vm.getCurrentTimeNanoseconds() >= startNs - 1000n).toBe(true);
  });

  it('set_property needs a stream (NotFound on the root); a set value reads back', () => {
    const p = new Probe();
    const s = p.stream();
    const [k, kl] = p.put(path('my', 'key'));
    const [v, vl] = p.put('value');
    expect(p.root('proxy_set_property', k, kl, v, vl)).toBe(Status.NotFound);
    expect(p.call(s.id, 'proxy_set_property', k, kl, v, vl)).toBe(Status.Ok);
    expect(p.call(s.id, 'proxy_get_property', k, kl, RET_PTR, RET_SIZE)).toBe(Status.Ok);
    expect(p.outString()).toBe('value');
  });
});

describe('shared data', () => {
  it('NotFound, then set/get with CAS; a stale CAS is CasMismatch; namespaced by vm_id', () => {
    const runtime = new HostRuntime({ logSink: () => undefined });
    const p = new Probe({ runtime });
    const [k, kl] = p.put('key');
    expect(p.root('proxy_get_shared_data', k, kl, RET_PTR, RET_SIZE, RET_CAS)).toBe(Status.NotFound);
    const [v1, v1l] = p.put('one');
    expect(p.root('proxy_set_shared_data', k, kl, v1, v1l, 0)).toBe(Status.Ok);
    expect(p.root('proxy_get_shared_data', k, kl, RET_PTR, RET_SIZE, RET_CAS)).toBe(Status.Ok);
    expect(p.outString()).toBe('one');
    const cas = p.u32(RET_CAS);
    expect(cas).toBeGreaterThan(0);
    const [v2, v2l] = p.put('two');
    expect(p.root('proxy_set_shared_data', k, kl, v2, v2l, cas + 1000)).toBe(Status.CasMismatch);
    expect(p.root('proxy_set_shared_data', k, kl, v2, v2l, cas)).toBe(Status.Ok);
    expect(p.root('proxy_set_shared_data', k, kl, v2, v2l, cas)).toBe(Status.CasMismatch);

    const sameVmId = new Probe({ runtime });
    const [k2, k2l] = sameVmId.put('key');
    expect(sameVmId.root('proxy_get_shared_data', k2, k2l, RET_PTR, RET_SIZE, RET_CAS)).toBe(Status.Ok);
    expect(sameVmId.outString()).toBe('two');
    const otherVmId = new Probe({ runtime, vmId: 'other' });
    const [k3, k3l] = otherVmId.put('key');
    expect(otherVmId.root('proxy_get_shared_data', k3, k3l, RET_PTR, RET_SIZE, RET_CAS)).toBe(Status.NotFound);
  });
});

describe('shared queues', () => {
  it('register, resolve across VMs, Empty, NotFound', () => {
    const runtime = new HostRuntime({ logSink: () => undefined });
    const owner = new Probe({ runtime, vmId: 'receiver' });
    const [q, ql] = owner.put('queue');
    expect(owner.root('proxy_register_shared_queue', q, ql, RET_PTR)).toBe(Status.Ok);
    const id = owner.u32(RET_PTR);
    expect(id).toBeGreaterThan(0);
    expect(owner.root('proxy_dequeue_shared_queue', id, RET_PTR, RET_SIZE)).toBe(Status.Empty);

    const sender = new Probe({ runtime, vmId: 'sender' });
    const [vm, vml] = sender.put('receiver');
    const [q2, q2l] = sender.put('queue');
    expect(sender.root('proxy_resolve_shared_queue', vm, vml, q2, q2l, RET_PTR)).toBe(Status.Ok);
    expect(sender.u32(RET_PTR)).toBe(id);
    const [none, nonel] = sender.put('nope');
    expect(sender.root('proxy_resolve_shared_queue', vm, vml, none, nonel, RET_PTR)).toBe(Status.NotFound);
    // an empty vm_id means the caller's own vm_id
    expect(sender.root('proxy_resolve_shared_queue', 0, 0, q2, q2l, RET_PTR)).toBe(Status.NotFound);
    const [m, ml] = sender.put('msg');
    expect(sender.root('proxy_enqueue_shared_queue', id, m, ml)).toBe(Status.Ok);
    expect(sender.root('proxy_enqueue_shared_queue', 9999, m, ml)).toBe(Status.NotFound);
    expect(owner.root('proxy_dequeue_shared_queue', id, RET_PTR, RET_SIZE)).toBe(Status.Ok);
    expect(owner.outString()).toBe('msg');
    expect(owner.root('proxy_dequeue_shared_queue', 9999, RET_PTR, RET_SIZE)).toBe(Status.NotFound);
  });
});

describe('metrics', () => {
  it('define, increment, record, get with Envoy statuses; /stats text', () => {
    const p = new Probe();
    const [n, nl] = p.put('requests_total');
    expect(p.root('proxy_define_metric', MetricType.Counter, n, nl, RET_PTR)).toBe(Status.Ok);
    const counter = p.u32(RET_PTR);
    expect(p.root('proxy_increment_metric', counter, 5n)).toBe(Status.Ok);
    expect(p.root('proxy_increment_metric', counter, 0n)).toBe(Status.BadArgument);
    expect(p.root('proxy_increment_metric', counter, -1n)).toBe(Status.BadArgument);
    expect(p.root('proxy_record_metric', counter, 2n)).toBe(Status.Ok);
    expect(p.root('proxy_get_metric', counter, RET_PTR)).toBe(Status.Ok);
    expect(p.u64(RET_PTR)).toBe(7n);
    expect(p.root('proxy_get_metric', counter + 400, RET_PTR)).toBe(Status.NotFound);

    const [g, gl] = p.put('in_flight');
    expect(p.root('proxy_define_metric', MetricType.Gauge, g, gl, RET_PTR)).toBe(Status.Ok);
    const gauge = p.u32(RET_PTR);
    expect(p.root('proxy_record_metric', gauge, 10n)).toBe(Status.Ok);
    expect(p.root('proxy_increment_metric', gauge, -3n)).toBe(Status.Ok);
    expect(p.root('proxy_get_metric', gauge, RET_PTR)).toBe(Status.Ok);
    expect(p.u64(RET_PTR)).toBe(7n);

    const [h, hl] = p.put('latency_ms');
    expect(p.root('proxy_define_metric', MetricType.Histogram, h, hl, RET_PTR)).toBe(Status.Ok);
    const histogram = p.u32(RET_PTR);
    expect(p.root('proxy_record_metric', histogram, 12n)).toBe(Status.Ok);
    expect(p.root('proxy_increment_metric', histogram, 1n)).toBe(Status.BadArgument);
    expect(p.root('proxy_get_metric', histogram, RET_PTR)).toBe(Status.BadArgument);
    expect(p.root('proxy_define_metric', 3, n, nl, RET_PTR)).toBe(Status.BadArgument);

    const text = p.vm.runtime.metrics.toText();
    expect(text).toContain('requests_total: 7\n');
    expect(text).toContain('in_flight: 7\n');
    expect(text).toMatch(/latency_ms: P0\(nan,12\)/);
  });
});

describe('contexts, streams, http_call, foreign functions', () => {
  it('set_effective_context: unknown id BadArgument; done without a pending done is NotFound', () => {
    const p = new Probe();
    expect(p.root('proxy_set_effective_context', 4242)).toBe(Status.BadArgument);
    expect(p.root('proxy_set_effective_context', p.vm.rootContextId)).toBe(Status.Ok);
    expect(p.root('proxy_done')).toBe(Status.NotFound);
  });

  it('continue/close stream: unknown type BadArgument, Ok otherwise', () => {
    const p = new Probe();
    const s = p.stream();
    expect(p.call(s.id, 'proxy_continue_stream', 9)).toBe(Status.BadArgument);
    expect(p.call(s.id, 'proxy_continue_stream', 0)).toBe(Status.Ok);
    expect(p.call(s.id, 'proxy_close_stream', 7)).toBe(Status.BadArgument);
  });

  it('http_call: unknown cluster or missing pseudo-headers are BadArgument', () => {
    const runtime = new HostRuntime({ logSink: () => undefined, clusters: { up: { host: '127.0.0.1', port: 1 } } });
    const p = new Probe({ runtime });
    const [c, cl] = p.put('nope');
    const [h, hl] = p.put(serializePairs([':method', 'GET', ':path', '/', ':authority', 'x']));
    expect(p.root('proxy_http_call', c, cl, h, hl, 0, 0, 0, 0, 1000, RET_PTR)).toBe(Status.BadArgument);
    const [up, upl] = p.put('up');
    const [h2, h2l] = p.put(serializePairs([':method', 'GET', ':authority', 'x']));
    expect(p.root('proxy_http_call', up, upl, h2, h2l, 0, 0, 0, 0, 1000, RET_PTR)).toBe(Status.BadArgument);
    expect(p.root('proxy_http_call', up, upl, OUT_OF_BOUNDS, 100, 0, 0, 0, 0, 1000, RET_PTR)).toBe(Status.InvalidMemoryAccess);
  });

  it('foreign functions: compress/uncompress round-trip; unknown NotFound', () => {
    const p = new Probe();
    const [name, namel] = p.put('compress');
    const [arg, argl] = p.put('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');
    expect(p.root('proxy_call_foreign_function', name, namel, arg, argl, RET_PTR, RET_SIZE)).toBe(Status.Ok);
    const compressed = p.out();
    expect(compressed.byteLength).toBeLessThan(argl);
    const [un, unl] = p.put('uncompress');
    const [c, cl] = p.put(compressed);
    expect(p.root('proxy_call_foreign_function', un, unl, c, cl, RET_PTR, RET_SIZE)).toBe(Status.Ok);
    expect(p.outString()).toBe('a'.repeat(40));
    const [x, xl] = p.put('no_such_function');
    expect(p.root('proxy_call_foreign_function', x, xl, arg, argl, RET_PTR, RET_SIZE)).toBe(Status.NotFound);
  });
});

describe('answerNextHostcall: the lean mode hook that makes the host answer a status', () => {
  it('answers once, through the Wasm imports, with the result kind\'s convention; then the host works again', () => {
    const p = new Probe();
    p.vm.runtime.logLevel = 1;
    answerNextHostcall(p.vm, 'proxy_get_log_level', Status.Unimplemented); // a u32 result: -status inside the VM
    expect(p.root('proxy_get_log_level', RET_PTR)).toBe(Status.Unimplemented);
    expect(p.root('proxy_get_log_level', RET_PTR)).toBe(Status.Ok);
    expect(p.u32(RET_PTR)).toBe(1);
    answerNextHostcall(p.vm, 'proxy_get_buffer_bytes', Status.Empty);
    expect(p.root('proxy_get_buffer_bytes', BufferType.VmConfiguration, 0, 100, RET_PTR, RET_SIZE)).toBe(Status.Empty);
    expect(p.root('proxy_get_buffer_bytes', BufferType.VmConfiguration, 0, 100, RET_PTR, RET_SIZE)).toBe(Status.Ok);
    expect(p.outString()).toBe('vm-config');
    expect(() => answerNextHostcall(p.vm, 'proxy_no_such_call', Status.Ok)).toThrow("'proxy_no_such_call' is not a hostcall of the table");
  });
});
