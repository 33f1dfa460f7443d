// The bridge's stream-end reads (table.ts): a header query over several maps (one ABI call per
// entry, each on its own map; BadArgument for an entry without a map type digit) and the time since
// an int64 timestamp property, read with the host clock in the same crossing (i64 arithmetic: no
// rounding; 0 when the clock is behind; a zero timestamp is unset), also as a header query's last
// (age) entry.

import { beforeAll, describe, expect, it } from 'vitest';
import { LogLevel, Status } from '../../src/abi/table.js';
import { BUILD_TIMEOUT_MS, buildFixture } from '../fixtures/engine/build-fixture.js';
import { loadWasmModule } from '../../host/guests/wasm.js';
import type { WasmModule } from '../../host/guests/webassembly.js';
import { RawVm } from '../support/raw-vm.js';

let module: WasmModule;

beforeAll(async () => {
  module = loadWasmModule(await buildFixture('test/wasm/fixtures/stream-end-probe.ts', 'stream-end-probe', 'engine-stream-end'));
}, BUILD_TIMEOUT_MS);

const u64 = (value: bigint): Uint8Array => {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, value, true);
  return bytes;
};

/** host/ (lean) with stream 2 holding the maps and int64 properties given, and the clock at `nowNs`. */
function instantiate(properties: Map<string, bigint>, nowNs: bigint, maps: { request?: [string, string][]; response?: [string, string][] } = {}): RawVm {
  const host = new RawVm(module);
  host.clock.setNs(nowNs);
  // properties set as a filter's (Envoy's filter state) answer before host/'s own request.* values
  host.stream(2, { ...maps, properties: new Map([...properties].map(([path, value]) => [path, u64(value)])) });
  return host;
}

const logged = (host: RawVm): unknown => JSON.parse(host.messages(LogLevel.Info).at(-1)!);

describe('bridge stream-end reads', () => {
  it('reads names from their own maps in one crossing, and the exact ns since request.time', () => {
    const start = 1_700_000_000_123_456_789n; // not a multiple of 256: a float subtraction would round
    const host = instantiate(new Map([['request\0time', start]]), start + 42_000_001n,
      { request: [[':authority', 'a.test'], [':path', '/p']], response: [[':status', '404']] });
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
