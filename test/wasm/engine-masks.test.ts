// The bridge's per-kind callback masks (roots learnt at proxy_on_context_create with parent 0,
// forgotten at their delete), masks changed at run time, and a composite hostcall's results.

import { beforeAll, describe, expect, it } from 'vitest';
import { LogLevel } from '../../src/abi/table.js';
import { BUILD_TIMEOUT_MS, buildFixture } from '../fixtures/engine/build-fixture.js';
import { loadWasmModule } from '../../host/guests/wasm.js';
import type { WasmModule } from '../../host/guests/webassembly.js';
import { RawVm } from '../support/raw-vm.js';

let module: WasmModule;

beforeAll(async () => {
  module = loadWasmModule(await buildFixture('test/fixtures/engine/masks-probe.ts', 'masks-probe', 'engine-masks'));
}, BUILD_TIMEOUT_MS);

describe('bridge masks per context kind', () => {
  it('enters JS for a root\'s create/done/delete but only for log on a stream', () => {
    const h = new RawVm(module);
    h.stream(2, { request: [[':authority', 'a.test'], [':path', '/p']] });
    h.call('proxy_on_context_create', 1, 0);
    h.call('proxy_on_context_create', 2, 1);
    h.call('proxy_on_log', 2);
    expect(h.call('proxy_on_done', 2)).toBe(1); // skipped: the fallback (true)
    h.call('proxy_on_delete', 2);
    expect(h.call('proxy_on_done', 1)).toBe(1);
    h.call('proxy_on_delete', 1);
    // root 1 is forgotten at its delete: the same id as a stream now uses the stream mask
    h.call('proxy_on_delete', 1);
    expect(h.messages(LogLevel.Info)).toEqual([
      'create 1 0',
      'log 2 ["a.test",null,"/p"]', // composite: one crossing, undefined (null in JSON) where NotFound
      'done 1',
      'delete 1',
    ]);
    expect(h.calls.filter((c) => c === 'proxy_get_header_map_value')).toHaveLength(3);
  });

  it('follows a mask change made at run time', () => {
    const h = new RawVm(module);
    h.call('proxy_on_context_create', 1, 0);
    h.call('proxy_on_done', 7);
    h.call('proxy_on_tick', 1); // the guest widens the HTTP mask to done
    h.call('proxy_on_done', 7);
    expect(h.messages(LogLevel.Info)).toEqual(['create 1 0', 'tick 1', 'done 7']);
  });
});
