// The SDK's log capture (definePlugin({ logCapture }), RootContext.onLogValues): in Node each
// stream's log reads the query; with a bridge that captures (setLogCapture/takeLogBatch, as
// shims/capture.wat), the records arrive in batches, before the root's tick at the latest.
// Here on host/ in process, the bridge's two primitives stood in by the test (the built bridge
// itself runs the sender's capture in test/unit/sender.test.ts, built .wasm mode).

import { describe, expect, it } from 'vitest';
import { definePlugin, hostcalls, MapType, RootContext } from '../../src/sdk/index.js';
import { possibleCallbacks } from '../../src/sdk/dispatcher.js';
import type { Host, LogBatch } from '../../src/abi/host.js';
import { Status } from '../../src/abi/table.js';
import { SdkVm } from '../support/sdk-vm.js';

const QUERY = hostcalls.headerAgeQuery([[MapType.HttpRequestHeaders, ':authority'], [MapType.HttpRequestHeaders, ':path']], ['request', 'time']);

const events: string[] = [];
const keys: string[] = [];
class Recording extends RootContext {
  override onLogValues(values: readonly (string | number | undefined)[], key: string): void {
    keys.push(key);
    events.push(`${this.contextId}:${JSON.stringify(values.map((v) => (v === undefined ? null : v)))}`);
  }
  override onTick(): void {
    events.push(`${this.contextId}:tick`);
  }
}
const plugin = definePlugin({ name: 'capture', root: Recording, logCapture: { query: QUERY, batchRecords: 3 } });

/** The bridge's capture primitives (shims/capture.wat) over NodeHost: the test says what the bridge holds. */
class CaptureBridge {
  captures: [string, number][] = [];
  held: LogBatch = [1];
  setLogCapture(query: string, batchRecords: number): Status {
    this.captures.push([query, batchRecords]);
    return Status.Ok;
  }
  takeLogBatch(): LogBatch {
    const batch = this.held;
    this.held = [1];
    return batch;
  }
}

/** host/ with the plugin, and (when given) the bridge's capture primitives laid over NodeHost. */
function capturing(bridge?: CaptureBridge): SdkVm {
  return new SdkVm(plugin, bridge ? { bridgePrimitives: bridge as Partial<Host> } : {});
}

const request = (authority: string, path: string) => ({ request: [[':authority', authority], [':path', path]] as [string, string][] });

describe('log capture', () => {
  it('enters JS only at log for streams, and at tick/done for the root; exports the lifecycle for several roots', () => {
    const d = capturing().dispatcher;
    expect([...d.implementedHttp].sort()).toEqual(['proxy_on_http_call_response', 'proxy_on_log']);
    expect(d.implementedRoot.has('proxy_on_tick')).toBe(true);
    expect(d.implementedRoot.has('proxy_on_done')).toBe(true);
    expect(possibleCallbacks(plugin).has('proxy_on_request_headers')).toBe(false);
    expect(possibleCallbacks(plugin).has('proxy_on_context_create')).toBe(true);
  });

  it('in Node, reads the query at each stream log and hands the values to the root', () => {
    events.length = 0;
    const sdk = capturing();
    sdk.cb.proxy_on_context_create!(1, 0);
    sdk.stream(2, 1, request('example.com', '/a?b=1'));
    sdk.clock.advanceMs(1.5);
    sdk.cb.proxy_on_log!(2);
    // request.time is the stream's start: the age is 1.5 ms
    expect(events).toEqual(['1:["example.com","/a?b=1",1500000]']);
    // the key: the header values as the bridge writes them (NUL after each, \x01 where absent)
    expect(keys.at(-1)).toBe('example.com\0/a?b=1\0');
  });

  it('with a capturing bridge, delivers batches record by record (absent values undefined, the age a number), before the tick', () => {
    events.length = 0;
    const bridge = new CaptureBridge();
    const sdk = capturing(bridge);
    sdk.cb.proxy_on_context_create!(1, 0);
    expect(bridge.captures).toEqual([[QUERY, 3]]);
    bridge.held = [1, 'example.com\0/x\0', 1500000, 'example.com\0\u0001\0', undefined];
    sdk.cb.proxy_on_tick!(1);
    expect(events).toEqual(['1:["example.com","/x",1500000]', '1:["example.com",null,null]', '1:tick']);
    expect(keys.slice(-2)).toEqual(['example.com\0/x\0', 'example.com\0\u0001\0']);
    expect(sdk.names()).not.toContain('getHeaderMapsValues');
  });

  it('reads a record that did not fit itself (flag 0), after the batch', () => {
    events.length = 0;
    const bridge = new CaptureBridge();
    const sdk = capturing(bridge);
    sdk.cb.proxy_on_context_create!(1, 0);
    sdk.stream(9, 1, request('big.example.com', '/long'));
    sdk.clock.advanceMs(2);
    bridge.held = [0, 'a.com\0/1\0', 7];
    sdk.cb.proxy_on_log!(9);
    expect(events).toEqual(['1:["a.com","/1",7]', '1:["big.example.com","/long",2000000]']);
    // flag 1: the stream's record was in the batch, nothing read here
    bridge.held = [1, 'b.com\0/2\0', 8];
    sdk.cb.proxy_on_log!(10);
    expect(events.at(-1)).toBe('1:["b.com","/2",8]');
    expect(events).toHaveLength(3);
  });

  it('turns the capture off at a second root, after delivering what was held to the first', () => {
    events.length = 0;
    const bridge = new CaptureBridge();
    const sdk = capturing(bridge);
    const d = sdk.dispatcher;
    let changes = 0;
    d.onImplementedChange(() => changes++);
    sdk.cb.proxy_on_context_create!(1, 0);
    bridge.held = [1, 'a.com\0/1\0', 5];
    sdk.cb.proxy_on_context_create!(3, 0);
    expect(events).toEqual(['1:["a.com","/1",5]']);
    expect(bridge.captures.at(-1)).toEqual(['', 0]);
    // streams now say their root at create
    expect(d.implementedHttp.has('proxy_on_context_create')).toBe(true);
    expect(changes).toBe(1);
    sdk.cb.proxy_on_context_create!(4, 3);
    sdk.headers(4, MapType.HttpRequestHeaders, request('c.com', '/c').request);
    sdk.clock.advanceMs(3);
    sdk.cb.proxy_on_log!(4);
    expect(events.at(-1)).toBe('3:["c.com","/c",3000000]');
  });
});
