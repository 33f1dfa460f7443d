// The bridge's stream-end reads (table.ts): a header query over several maps (one ABI call per
// entry, each on its own map; BadArgument for an entry without a map type digit) and the time since
// an int64 timestamp property, read with the host clock in the same crossing (i64 arithmetic: no
// rounding; 0 when the clock is behind; a zero timestamp is unset), also as a header query's last
// (age) entry.

import { beforeAll, describe, expect, it } from 'vitest';
import { LogLevel, MapType, Status } from '../../src/abi/table.js';
import { BUILD_TIMEOUT_MS, buildFixture } from '../fixtures/engine/build-fixture.js';
import { MiniHost, WA, compileModule, type WasmModule } from '../fixtures/engine/harness.js';

let module: WasmModule;

beforeAll(async () => {
  module = compileModule(await buildFixture('test/wasm/fixtures/stream-end-probe.ts', 'stream-end-probe', 'engine-stream-end'));
}, BUILD_TIMEOUT_MS);

/** The engine test host plus int64 properties and a clock the test sets. */
function instantiate(properties: Map<string, bigint>, nowNs: bigint): MiniHost {
  const host = new MiniHost();
  const imports = host.imports(module);
  const memory = (): DataView => new DataView(host.exports.memory.buffer);
  const env = imports.env!;
  env.proxy_get_current_time_nanoseconds = ((rp: number) => {
    host.calls.push('proxy_get_current_time_nanoseconds');
    memory().setBigUint64(rp, nowNs, true);
    return Status.Ok;
  }) as (...args: never[]) => number;
  env.proxy_get_property = ((pp: number, pl: number, rp: number, rl: number) => {
    host.calls.push('proxy_get_property');
    const path = Buffer.from(new Uint8Array(host.exports.memory.buffer, pp, pl)).toString('utf8');
    const value = properties.get(path);
    if (value === undefined) return Status.NotFound;
    const p = host.exports.proxy_on_memory_allocate!(8);
    memory().setBigUint64(p, value, true);
    memory().setUint32(rp, p, true);
    memory().setUint32(rl, 8, true);
    return Status.Ok;
  }) as (...args: never[]) => number;
  host.exports = new WA.Instance(module, imports).exports as typeof host.exports;
  return host;
}

const logged = (host: MiniHost): unknown => JSON.parse(host.messages(LogLevel.Info).at(-1)!);

describe('bridge stream-end reads', () => {
  it('reads names from their own maps in one crossing, and the exact ns since request.time', () => {
    const start = 1_700_000_000_123_456_789n; // not a multiple of 256: a float subtraction would round
    const host = instantiate(new Map([['request\0time', start]]), start + 42_000_001n);
    host.headers.set(MapType.HttpRequestHeaders, [[':authority', 'a.test'], [':path', '/p']]);
    host.headers.set(MapType.HttpResponseHeaders, [[':status', '404']]);
    host.call('proxy_on_log', 2);
    expect(logged(host)).toEqual({
      values: ['a.test', '404', null], // undefined (null in JSON) where NotFound
      malformed: Status.BadArgument,
      age: 42_000_001,
      absent: -Status.NotFound,
      withAge: ['a.test', '404', 42_000_001], // the age entry's element last, exact as getPropertyU64Age
      onlyAbsentAge: [-Status.NotFound],
    });
    // three entries: three ABI calls; the malformed query made one before its bad entry; the age
    // query two more
    expect(host.calls.filter((c) => c === 'proxy_get_header_map_value')).toHaveLength(6);
    // the clock: for getPropertyU64Age and the age query's entry (not for the absent ones)
    expect(host.calls.filter((c) => c === 'proxy_get_current_time_nanoseconds')).toHaveLength(2);
    expect(host.calls.filter((c) => c === 'proxy_get_property')).toHaveLength(4);
  });

  it('a zero timestamp is unset; a clock behind the timestamp gives 0, not a negative age', () => {
    const zero = instantiate(new Map([['request\0time', 0n]]), 5n);
    zero.call('proxy_on_log', 2);
    expect(logged(zero)).toMatchObject({ age: -Status.NotFound, withAge: [null, null, -Status.NotFound] });
    const behind = instantiate(new Map([['request\0time', 2_000n]]), 1_000n);
    behind.call('proxy_on_log', 2);
    expect(logged(behind)).toMatchObject({ age: 0, withAge: [null, null, 0] });
  });
});
