// The bridge's log capture (shims/capture.wat) on host/: a map the query names twice or more is
// read whole, in one proxy_get_header_map_pairs call per log, a map named once by
// proxy_get_header_map_value; the values are what proxy_get_header_map_value would answer (the
// first of repeated headers, names case-blind), \x01 where absent, and JS is not entered.

import { beforeAll, describe, expect, it } from 'vitest';
import { LogLevel } from '../../src/abi/table.js';
import { BUILD_TIMEOUT_MS, buildFixture } from '../fixtures/engine/build-fixture.js';
import { loadWasmModule } from '../../host/guests/wasm.js';
import type { WasmModule } from '../../host/guests/webassembly.js';
import { RawVm } from '../support/raw-vm.js';

let module: WasmModule;

beforeAll(async () => {
  module = loadWasmModule(await buildFixture('test/wasm/fixtures/capture-probe.ts', 'capture-probe', 'engine-capture'));
}, BUILD_TIMEOUT_MS);

/** The batch's records (LogBatch): per record, its header values (undefined where absent) and age. */
function records(batch: (string | number | null)[]): [(string | undefined)[], number | null][] {
  const out: [(string | undefined)[], number | null][] = [];
  for (let i = 1; i + 1 < batch.length; i += 2) {
    const values = (batch[i] as string).split('\0').slice(0, -1).map((v) => (v === '\x01' ? undefined : v));
    out.push([values, batch[i + 1] as number | null]);
  }
  return out;
}

describe('bridge log capture', () => {
  it('reads a map named twice in one pairs call, the first of repeated headers, without entering JS', () => {
    const h = new RawVm(module);
    h.call('proxy_on_context_create', 1, 0);
    h.clock.setNs(5_000_000_000n);
    h.stream(2, {
      request: [[':authority', 'a.test'], ['x-tag', 'first'], ['x-other', 'o'], ['x-tag', 'second']],
      response: [[':status', '204']],
    });
    h.stream(3, { request: [[':authority', 'b.test']] }); // no x-tag, no response headers
    h.clock.setNs(5_007_000_000n);
    const before = h.calls.length;
    h.call('proxy_on_log', 2);
    h.call('proxy_on_log', 3);
    const reads = h.calls.slice(before);
    expect(reads.filter((c) => c === 'proxy_get_header_map_pairs')).toHaveLength(2); // one per log
    expect(reads.filter((c) => c === 'proxy_get_header_map_value')).toHaveLength(2); // :status, per log
    expect(h.messages(LogLevel.Info)).toEqual([]); // JS not entered
    h.call('proxy_on_tick', 1);
    const batch = JSON.parse(h.messages(LogLevel.Info).at(-1)!) as (string | number | null)[];
    expect(batch[0]).toBe(1); // the logged stream's record is in it
    // per record: the key (the values, NUL after each, \x01 where absent), then the age
    expect(batch.slice(1)).toEqual(['first\0a.test\x00204\0\x01\0', 7_000_000, '\x01\0b.test\0\x01\0\x01\0', 7_000_000]);
    const [first, second] = records(batch);
    expect(first![0]).toEqual(['first', 'a.test', '204', undefined]);
    expect(second![0]).toEqual([undefined, 'b.test', undefined, undefined]);
    // the age: ns since request.time (both streams started at 5,000 ms; logged at 5,007)
    expect([first![1], second![1]]).toEqual([7_000_000, 7_000_000]);
    h.call('proxy_on_tick', 1);
    expect(JSON.parse(h.messages(LogLevel.Info).at(-1)!)).toEqual([1]); // emptied
  });
});
