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

/** The batch's records: per record, its entries (undefined where absent). */
function records(batch: string): (string | undefined)[][] {
  const entries = batch.slice(2).split('\0').slice(0, -1).map((v) => (v === '\x01' ? undefined : v));
  const out: (string | undefined)[][] = [];
  for (let i = 0; i < entries.length; i += 5) out.push(entries.slice(i, i + 5));
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
    const batch = JSON.parse(h.messages(LogLevel.Info).at(-1)!) as string;
    expect(batch.slice(0, 2)).toBe('1\0');
    const [first, second] = records(batch);
    expect(first!.slice(0, 4)).toEqual(['first', 'a.test', '204', undefined]);
    expect(second!.slice(0, 4)).toEqual([undefined, 'b.test', undefined, undefined]);
    // the age entry: ns since request.time (both streams started at 5,000 ms; logged at 5,007)
    expect([first![4], second![4]]).toEqual(['7000000', '7000000']);
    expect(records(batch)).toHaveLength(2);
  });
});
