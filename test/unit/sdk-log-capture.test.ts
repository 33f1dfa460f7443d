// The SDK's log capture (definePlugin({ logCapture }), RootContext.onLogValues): in Node each
// stream's log reads the query; with a bridge that captures (setLogCapture/takeLogBatch, as
// shims/capture.wat), the records arrive in batches, before the root's tick at the latest.

import { describe, expect, it } from 'vitest';
import { createDispatcher, definePlugin, hostcalls, MapType, RootContext } from '../../src/sdk/index.js';
import { possibleCallbacks } from '../../src/sdk/dispatcher.js';
import type { Host } from '../../src/abi/host.js';
import { Status } from '../../src/abi/table.js';
import { FakeHost } from './sdk-fake-host.js';

const QUERY = hostcalls.headerAgeQuery([[MapType.HttpRequestHeaders, ':authority'], [MapType.HttpRequestHeaders, ':path']], ['request', 'time']);

const events: string[] = [];
class Recording extends RootContext {
  override onLogValues(values: readonly (string | number | undefined)[]): void {
    events.push(`${this.contextId}:${JSON.stringify(values.map((v) => (v === undefined ? null : v)))}`);
  }
  override onTick(): void {
    events.push(`${this.contextId}:tick`);
  }
}
const plugin = definePlugin({ name: 'capture', root: Recording, logCapture: { query: QUERY, batchRecords: 3 } });

/** A FakeHost with the bridge's capture primitives: the test says what the bridge holds. */
class CapturingHost extends FakeHost {
  captures: [string, number][] = [];
  held = '1\0';
  setLogCapture(query: string, batchRecords: number): Status {
    this.captures.push([query, batchRecords]);
    return Status.Ok;
  }
  takeLogBatch(): string {
    const text = this.held;
    this.held = '1\0';
    return text;
  }
}

describe('log capture', () => {
  it('enters JS only at log for streams, and at tick/done for the root; exports the lifecycle for several roots', () => {
    const d = createDispatcher(plugin, new FakeHost());
    expect([...d.implementedHttp].sort()).toEqual(['proxy_on_http_call_response', 'proxy_on_log']);
    expect(d.implementedRoot.has('proxy_on_tick')).toBe(true);
    expect(d.implementedRoot.has('proxy_on_done')).toBe(true);
    expect(possibleCallbacks(plugin).has('proxy_on_request_headers')).toBe(false);
    expect(possibleCallbacks(plugin).has('proxy_on_context_create')).toBe(true);
  });

  it('in Node, reads the query at each stream log and hands the values to the root', () => {
    events.length = 0;
    const host = new FakeHost();
    host.headerMaps.set(MapType.HttpRequestHeaders, [[':authority', 'example.com'], [':path', '/a?b=1']]);
    const d = createDispatcher(plugin, host);
    d.callbacks.proxy_on_context_create!(1, 0);
    d.callbacks.proxy_on_log!(2);
    // request.time is not set in the fake: the age is absent
    expect(events).toEqual(['1:["example.com","/a?b=1",null]']);
  });

  it('with a capturing bridge, delivers batches record by record (absent values undefined, the age a number), before the tick', () => {
    events.length = 0;
    const host = new CapturingHost();
    const d = createDispatcher(plugin, host as Host);
    d.callbacks.proxy_on_context_create!(1, 0);
    expect(host.captures).toEqual([[QUERY, 3]]);
    host.held = '1\0example.com\0/x\0' + '1500000\0' + 'example.com\0\u0001\0\u0001\0';
    d.callbacks.proxy_on_tick!(1);
    expect(events).toEqual(['1:["example.com","/x",1500000]', '1:["example.com",null,null]', '1:tick']);
    expect(host.calls).not.toContain('getHeaderMapsValues');
  });

  it('reads a record that did not fit itself (flag 0), after the batch', () => {
    events.length = 0;
    const host = new CapturingHost();
    host.headerMaps.set(MapType.HttpRequestHeaders, [[':authority', 'big.example.com'], [':path', '/long']]);
    const d = createDispatcher(plugin, host as Host);
    d.callbacks.proxy_on_context_create!(1, 0);
    host.held = '0\0a.com\0/1\0' + '7\0';
    d.callbacks.proxy_on_log!(9);
    expect(events).toEqual(['1:["a.com","/1",7]', '1:["big.example.com","/long",null]']);
    // flag 1: the stream's record was in the batch, nothing read here
    host.held = '1\0b.com\0/2\0' + '8\0';
    d.callbacks.proxy_on_log!(10);
    expect(events.at(-1)).toBe('1:["b.com","/2",8]');
    expect(events).toHaveLength(3);
  });

  it('turns the capture off at a second root, after delivering what was held to the first', () => {
    events.length = 0;
    const host = new CapturingHost();
    host.headerMaps.set(MapType.HttpRequestHeaders, [[':authority', 'c.com'], [':path', '/c']]);
    const d = createDispatcher(plugin, host as Host);
    let changes = 0;
    d.onImplementedChange(() => changes++);
    d.callbacks.proxy_on_context_create!(1, 0);
    host.held = '1\0a.com\0/1\0' + '5\0';
    d.callbacks.proxy_on_context_create!(3, 0);
    expect(events).toEqual(['1:["a.com","/1",5]']);
    expect(host.captures.at(-1)).toEqual(['', 0]);
    // streams now say their root at create
    expect(d.implementedHttp.has('proxy_on_context_create')).toBe(true);
    expect(changes).toBe(1);
    d.callbacks.proxy_on_context_create!(4, 3);
    d.callbacks.proxy_on_log!(4);
    expect(events.at(-1)).toBe('3:["c.com","/c",null]');
  });
});
