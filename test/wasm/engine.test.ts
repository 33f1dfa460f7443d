// The built module, loaded in Node: export/import sets, the callback lifecycle through the bridge,
// exception containment, run-time environment, snapshot determinism, UTF-8 globals.

import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CALLBACKS, ABI_VERSION_EXPORT, LogLevel, MapType, MetricType, Status } from '../../src/abi/table.js';
import { BUILD_TIMEOUT_MS, buildFixture, repoRoot } from '../fixtures/engine/build-fixture.js';
import { WA, type WasmModule } from '../../host/guests/webassembly.js';
import { RawVm, type RawVmOptions } from '../support/raw-vm.js';
import { possibleCallbacks } from '../../src/sdk/dispatcher.js';
import receiver from '../../src/receiver.js';
import sender from '../../src/sender.js';

/** WASI preview1 functions Envoy registers (proxy-wasm-cpp-host); nothing else may be imported. */
const ENVOY_WASI = new Set([
  'fd_write', 'fd_read', 'fd_seek', 'fd_close', 'fd_fdstat_get', 'environ_get', 'environ_sizes_get', 'args_get',
  'args_sizes_get', 'clock_time_get', 'random_get', 'proc_exit', 'path_open', 'fd_prestat_get', 'fd_prestat_dir_name',
]);
/** ABI 0.2.1 hostcalls (proxy-wasm/spec). */
const ABI_0_2_1_HOSTCALLS = new Set([
  'proxy_log', 'proxy_get_log_level', 'proxy_get_current_time_nanoseconds', 'proxy_set_tick_period_milliseconds',
  'proxy_get_buffer_bytes', 'proxy_set_buffer_bytes', 'proxy_get_header_map_pairs', 'proxy_set_header_map_pairs',
  'proxy_get_header_map_value', 'proxy_add_header_map_value', 'proxy_replace_header_map_value',
  'proxy_remove_header_map_value', 'proxy_get_header_map_size', 'proxy_get_property', 'proxy_set_property',
  'proxy_get_shared_data', 'proxy_set_shared_data', 'proxy_register_shared_queue', 'proxy_resolve_shared_queue',
  'proxy_enqueue_shared_queue', 'proxy_dequeue_shared_queue', 'proxy_continue_stream', 'proxy_close_stream',
  'proxy_send_local_response', 'proxy_http_call', 'proxy_grpc_call', 'proxy_grpc_stream', 'proxy_grpc_send',
  'proxy_grpc_cancel', 'proxy_grpc_close', 'proxy_set_effective_context', 'proxy_done', 'proxy_call_foreign_function',
  'proxy_define_metric', 'proxy_increment_metric', 'proxy_record_metric', 'proxy_get_metric',
]);

const SECRET = `acpw-secret-${randomBytes(12).toString('hex')}`;
let withSecret: string;
let withoutSecret: string;
let probe: WasmModule;

beforeAll(async () => {
  withSecret = await buildFixture('test/fixtures/engine/probe.ts', 'probe', 'engine-secret', { ACPW_TEST_SECRET: SECRET });
  withoutSecret = await buildFixture('test/fixtures/engine/probe.ts', 'probe', 'engine-plain', { ACPW_TEST_SECRET: '' });
  probe = new WA.Module(readFileSync(withSecret));
}, BUILD_TIMEOUT_MS);

/** `callbacks`: the proxy_on_* exports the module must have (a product keeps only what its plugin can use). */
function checkInterface(module: WasmModule, callbacks: Iterable<string> = CALLBACKS.map((c) => c.name)): void {
  const exports = WA.Module.exports(module).map((e) => e.name).sort();
  const expected = ['memory', ABI_VERSION_EXPORT, 'proxy_on_memory_allocate', ...callbacks].sort();
  expect(exports).toEqual(expected);
  for (const imp of WA.Module.imports(module)) {
    expect(imp.kind).toBe('function');
    if (imp.module === 'env') expect(ABI_0_2_1_HOSTCALLS.has(imp.name), `env.${imp.name}`).toBe(true);
    else if (imp.module === 'wasi_snapshot_preview1') expect(ENVOY_WASI.has(imp.name), `wasi ${imp.name}`).toBe(true);
    else throw new Error(`unexpected import module ${imp.module}.${imp.name}`);
  }
}

/** A fresh VM (host/, lean) up to a configured root context (id 1) with an HTTP context (id 2). */
function startVm(opts: RawVmOptions = {}): RawVm {
  const h = new RawVm(probe, { pluginConfiguration: '{"mode":"test"}', clusters: ['cluster_a', 'c'], ...opts });
  h.call('proxy_on_context_create', 1, 0);
  expect(h.call('proxy_on_vm_start', 1, 0)).toBe(1);
  expect(h.call('proxy_on_configure', 1, 15)).toBe(1);
  h.stream(2);
  h.call('proxy_on_context_create', 2, 1);
  return h;
}

describe('module interface', () => {
  it('exports exactly memory, the ABI version, the allocator and every callback; imports only ABI 0.2.1 and Envoy WASI', () => {
    checkInterface(probe);
  });

  for (const [product, plugin] of [['sender', sender], ['receiver', receiver]] as const) {
    const path = join(repoRoot, `${product}.wasm`);
    it(`${product}.wasm has the same interface, with only the callbacks its plugin can use`, () => {
      expect(existsSync(path), `${product}.wasm is missing: run node build.mjs first`).toBe(true);
      const callbacks = possibleCallbacks(plugin);
      // Guards the pruning itself: a product never needs the TCP callbacks.
      expect(callbacks.has('proxy_on_new_connection')).toBe(false);
      checkInterface(new WA.Module(readFileSync(path)), callbacks);
    });
  }
});

describe('callbacks through the bridge', () => {
  it('create → vm_start → configure → request headers: the plugin reads a header via a hostcall', () => {
    const h = startVm();
    expect(h.messages(LogLevel.Info)).toContain('configure "{\\"mode\\":\\"test\\"}"');
    h.setMap(2, MapType.HttpRequestHeaders, [['x-probe', 'hello'], [':path', '/']]);
    h.calls.length = 0;
    expect(h.call('proxy_on_request_headers', 2, 2, 0)).toBe(0);
    expect(h.calls).toContain('proxy_get_header_map_value');
    expect(h.messages(LogLevel.Info)).toContain('x-probe=hello');
    h.setMap(2, MapType.HttpRequestHeaders, [['x-probe', 'pause']]);
    expect(h.call('proxy_on_request_headers', 2, 1, 1)).toBe(1);
    h.setMap(2, MapType.HttpRequestHeaders, []);
    expect(h.call('proxy_on_request_headers', 2, 0, 1)).toBe(0);
    expect(h.messages(LogLevel.Info)).toContain('x-probe=status 1'); // NotFound comes back as the Status number
  });

  it('pairs in both directions, UTF-8 intact', () => {
    const h = startVm();
    h.setMap(2, MapType.HttpRequestHeaders, [[':authority', 'example.com'], ['x-ü', 'ünï ✓']]);
    h.call('proxy_on_log', 2);
    expect(h.messages(LogLevel.Info)).toContain('pairs [":authority","example.com","x-ü","ünï ✓"]');
    expect(h.map(2, MapType.HttpResponseHeaders)).toEqual([['x-added', 'yes ✓']]);
  });

  it('serializes pairs and bytes for a hostcall (http_call, set_header_map_pairs); null means empty', () => {
    const h = startVm();
    // host/ refuses a call without :method/:path/:authority (BadArgument, as Envoy): each call names them
    const headers = [':method', 'POST', ':path', '/', ':authority', 'a.test', 'x-ü', '✓ value', 'empty', ''];
    // on the stream context (2): set_header_map_pairs needs its response map
    expect(h.foreign(16, Buffer.from(JSON.stringify(['cluster_a', headers, '{"body":"é"}', ['grpc-status', '0']])), 2)).toEqual(['token 1']);
    const pairsOf = (flat: readonly string[]): [string, string][] => Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i]!, flat[2 * i + 1]!]);
    const record = (i: number) => {
      const c = h.httpCalls[i]!;
      return { upstream: c.upstream.host, headers: pairsOf(c.headers), body: Buffer.from(c.body), trailers: pairsOf(c.trailers), timeoutMs: c.timeoutMs };
    };
    expect(record(0)).toEqual({
      upstream: 'cluster_a', headers: [[':method', 'POST'], [':path', '/'], [':authority', 'a.test'], ['x-ü', '✓ value'], ['empty', '']],
      body: Buffer.from('{"body":"é"}'), trailers: [['grpc-status', '0']], timeoutMs: 1500,
    });
    expect(h.map(2, MapType.HttpResponseHeaders)).toEqual([[':method', 'POST'], [':path', '/'], [':authority', 'a.test'], ['x-ü', '✓ value'], ['empty', '']]);
    const minimal = [':method', 'GET', ':path', '/', ':authority', 'c'];
    expect(h.foreign(16, Buffer.from(JSON.stringify(['c', minimal, null, null])), 2)).toEqual(['token 2']);
    expect(record(1)).toEqual({ upstream: 'c', headers: pairsOf(minimal), body: Buffer.alloc(0), trailers: [], timeoutMs: 1500 });
    // empty pairs: the call is refused for its missing pseudo-headers, the map is set to empty
    expect(h.foreign(16, Buffer.from(JSON.stringify(['c', [], null, null])), 2)).toEqual([`token -${Status.BadArgument}`]);
    expect(h.httpCalls).toHaveLength(2);
    expect(h.map(2, MapType.HttpResponseHeaders)).toEqual([]);
  });

  it('follows table.ts result conventions: [bytes, cas], ids, u64 values, Status / -Status on failure', () => {
    const h = startVm();
    const big = 2 ** 40 + 5;
    // the stat exists host-wide before the plugin defines it (same name = same stat), holding a u64 beyond 2^32
    h.runtime.metrics.define(MetricType.Gauge, 'requests').value = big;
    // gauge ids are 4·n+1 in host/ (Envoy's type tag in the low bits): the first is 5
    expect(h.foreign(17, new Uint8Array(0))).toEqual([JSON.stringify([0, ['v1', 1], 8, 1, 5, big, 0, big - 7, -1])]);
  });

  it('does not enter JS for a callback the plugin does not implement', () => {
    const h = startVm();
    h.calls.length = 0;
    expect(h.call('proxy_on_request_body', 2, 10, 1)).toBe(0);
    expect(h.call('proxy_on_done', 2)).toBe(1);
    expect(h.calls).toEqual([]);
  });

  it('a throw inside a callback: error log with the stack, the fallback returned, the next callback works', () => {
    const h = startVm();
    h.setMap(2, MapType.HttpRequestHeaders, [['x-probe', 'throw']]);
    expect(h.call('proxy_on_request_headers', 2, 1, 0)).toBe(0);
    const errors = h.messages(LogLevel.Error);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/Error: probe failure/);
    expect(errors[0]).toMatch(/at proxy_on_request_headers \(probe\.js:\d+:\d+\)/);
    h.setMap(2, MapType.HttpRequestHeaders, [['x-probe', 'pause']]);
    expect(h.call('proxy_on_request_headers', 2, 1, 0)).toBe(1);
    expect(h.messages(LogLevel.Info)).toContain('x-probe=pause');
  });

  it('runaway recursion is a logged RangeError, not a trap', () => {
    const h = startVm();
    const [line] = h.foreign(14, new Uint8Array(0));
    expect(line).toMatch(/^uncaught JS exception: RangeError: Maximum call stack size exceeded\n\s+at deep/);
    expect(h.foreign(7, new Uint8Array(0))).toEqual(['microtask ran']);
  });

  it('drains promise jobs after each callback and logs unhandled rejections', () => {
    const h = startVm();
    expect(h.foreign(7, new Uint8Array(0))).toEqual(['microtask ran']);
    h.setMap(2, MapType.HttpRequestHeaders, [['x-probe', 'reject']]);
    expect(h.call('proxy_on_request_headers', 2, 1, 0)).toBe(0);
    expect(h.messages(LogLevel.Error).some((m) => m.startsWith('unhandled promise rejection: Error: async probe failure'))).toBe(true);
    const errorsBefore = h.messages(LogLevel.Error).length;
    expect(h.foreign(15, new Uint8Array(0))).toEqual(['caught late']);
    expect(h.messages(LogLevel.Error)).toHaveLength(errorsBefore);
  });
});

describe('snapshot hygiene', () => {
  it('a secret in the build environment is absent from the .wasm and visible at run time via environ', () => {
    const bytes = readFileSync(withSecret);
    expect(bytes.includes(Buffer.from(SECRET))).toBe(false);
    const h = startVm({ environment: { ACPW_TEST_SECRET: SECRET, OTHER: '1' } });
    expect(h.foreign(4, new Uint8Array(0))).toEqual([`env ${JSON.stringify(SECRET)}`]);
    const h2 = startVm({ environment: {} });
    expect(h2.foreign(4, new Uint8Array(0))).toEqual(['env null']);
  });

  it('two builds of the same sources are byte-identical (whatever the build environment holds)', () => {
    expect(readFileSync(withSecret).equals(readFileSync(withoutSecret))).toBe(true);
  });

  it('Math.random is reseeded from random_get in each VM, not frozen in the snapshot', () => {
    const a = startVm({ randomFill: (o: Uint8Array) => { o.fill(1); } });
    const b = startVm({ randomFill: (o: Uint8Array) => { o.fill(2); } });
    const ra = a.foreign(5, new Uint8Array(0))[0];
    const rb = b.foreign(5, new Uint8Array(0))[0];
    expect(ra).toMatch(/^random 0\.\d+/);
    expect(ra).not.toEqual(rb);
    const a2 = startVm({ randomFill: (o: Uint8Array) => { o.fill(1); } });
    expect(a2.foreign(5, new Uint8Array(0))[0]).toEqual(ra);
  });
});

describe('other globals under QuickJS', () => {
  it('console.* goes to proxy_log at the matching level', () => {
    const h = startVm();
    h.foreign(13, new Uint8Array(0));
    expect(h.logs.at(-1)).toEqual({ level: LogLevel.Warn, message: 'console {"n":1} [2]' });
  });

  it('crypto.randomUUID / getRandomValues draw from random_get', () => {
    const h = startVm();
    const [line] = h.foreign(12, new Uint8Array(0));
    expect(line).toMatch(/^uuid [0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12} bytes 4$/);
    expect(h.foreign(12, new Uint8Array(0))[0]).not.toEqual(line);
  });
});

describe('TextEncoder / TextDecoder under QuickJS', () => {
  const samples = ['', 'ascii', 'é', '€uro', '😀 pair', 'a\ud800b', '\udc00', 'x\ud83d', '\ud83d\ude00\ud800', 'mixed ✓ 中文 🎉'];

  it('encodes like Node (surrogate pairs; lone surrogates → U+FFFD) and hashes the same bytes', () => {
    const h = startVm();
    for (const s of samples) {
      const bytes = Buffer.from(new TextEncoder().encode(s));
      const sha = createHash('sha256').update(bytes).digest('hex');
      expect(h.foreign(3, Buffer.from(JSON.stringify(s))), JSON.stringify(s)).toEqual([`encoded ${bytes.toString('hex')} sha ${sha}`]);
    }
  });

  it('decodes like Node, invalid input included', () => {
    const h = startVm();
    const inputs = [
      [0x61, 0xff, 0x62], [0xe2, 0x82], [0xe2, 0x82, 0x61], [0xed, 0xa0, 0x80], [0xf0, 0x9f, 0x98, 0x80], [0xf0, 0x9f, 0x98],
      [0xc0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xef, 0xbb, 0xbf, 0x41], [0xe0, 0x80, 0x80], [0x80],
    ].map((a) => Buffer.from(a));
    for (let i = 0; i < 200; i++) inputs.push(randomBytes(1 + (i % 17)));
    for (const input of inputs) {
      const expected = Array.from(new TextDecoder().decode(input), (c) => c.codePointAt(0));
      expect(h.foreign(2, input), input.toString('hex')).toEqual([`decoded ${JSON.stringify(expected)}`]);
    }
  });
});
