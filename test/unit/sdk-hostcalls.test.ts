import { describe, expect, it } from 'vitest';
import * as hc from '../../src/sdk/hostcalls.js';
import { HostcallError, UnsupportedError, describeError } from '../../src/sdk/errors.js';
import { getEnv, getEnvAll } from '../../src/sdk/env.js';
import {
  BufferType, HOSTCALLS, LogLevel, MapType, MetricType, Status, StreamType, UNSUPPORTED_HOSTCALLS,
} from '../../src/abi/table.js';
import { FakeHost, bytes, text } from './sdk-fake-host.js';
import { parseHeaderQuery, splitAgeEntry } from '../../host/core/header-query.js';
import { HttpContext, RootContext } from '../../src/sdk/context.js';

describe('hostcall wrappers: coverage of the ABI table', () => {
  const wrappers = hc as unknown as Record<string, unknown>;

  it('has one wrapper per HOSTCALLS entry, named as the Host method', () => {
    const missing = HOSTCALLS.filter((spec) => typeof wrappers[spec.js] !== 'function').map((spec) => spec.js);
    expect(missing).toEqual([]);
  });

  it('names the ABI hostcall in the error for an unexpected status, whatever the call', () => {
    for (const spec of HOSTCALLS) {
      const host = new FakeHost();
      host.forced.set(spec.js, Status.InternalFailure);
      const wrapper = wrappers[spec.js] as (host: FakeHost, ...args: unknown[]) => unknown;
      // Dummy arguments by kind (the forced status answers before they are used); a property
      // path is a segment list in the wrapper, the joined string on the wire.
      const args = spec.args.map(([name, kind]) =>
        name === 'path' ? ['x'] : kind === 'pairs' ? [] : kind === 'str' || kind === 'bytes' ? 'x' : 1);
      let caught: unknown;
      try {
        wrapper(host, ...args);
      } catch (error) {
        caught = error;
      }
      expect(caught, spec.js).toBeInstanceOf(HostcallError);
      expect((caught as HostcallError).hostcall, spec.js).toBe(spec.abi);
      expect((caught as HostcallError).message, spec.js).toContain('InternalFailure');
    }
  });

  it('has a clear failing wrapper per unsupported (gRPC) hostcall', () => {
    for (const abi of UNSUPPORTED_HOSTCALLS) {
      const name = abi.replace(/^proxy_/, '').replace(/_(\w)/g, (_m, c: string) => c.toUpperCase());
      const wrapper = wrappers[name] as (host: FakeHost) => unknown;
      expect(typeof wrapper, abi).toBe('function');
      expect(() => wrapper(new FakeHost()), abi).toThrow(`gRPC is not supported yet: ${abi}`);
    }
  });
});

describe('composite and int64 reads', () => {
  it('getHeaderMapValues: one result per name, undefined where absent; a failure throws naming the ABI call', () => {
    const host = new FakeHost();
    host.headerMaps.set(MapType.HttpRequestHeaders, [[':authority', 'a.test'], [':path', '/p']]);
    expect(hc.getHeaderMapValues(host, MapType.HttpRequestHeaders, [':authority', ':method', ':path'])).toEqual(['a.test', undefined, '/p']);
    expect(hc.getHeaderMapValues(host, MapType.HttpRequestHeaders, [])).toEqual([]);
    host.forced.set('getHeaderMapValues', Status.BadArgument);
    expect(() => hc.getHeaderMapValues(host, MapType.HttpRequestHeaders, [':path'])).toThrow('proxy_get_header_map_value failed: BadArgument');
  });

  it('getPropertyU64: the int64 little-endian value; undefined when absent; wrong size is a SerializationFailure', () => {
    const host = new FakeHost();
    const eight = new DataView(new ArrayBuffer(8));
    eight.setBigInt64(0, 1_700_000_000_123_456_768n, true);
    host.properties.set('request\0time', eight.buffer);
    expect(hc.getPropertyU64(host, ['request', 'time'])).toBe(1_700_000_000_123_456_768);
    expect(hc.getPropertyU64(host, hc.wirePropertyPath(['request', 'time']))).toBe(1_700_000_000_123_456_768);
    expect(hc.getPropertyU64(host, ['request', 'duration'])).toBeUndefined();
    host.properties.set('request\0size', new ArrayBuffer(4));
    expect(() => hc.getPropertyU64(host, ['request', 'size'])).toThrow('proxy_get_property failed: SerializationFailure');
  });
});

describe('stream-end reads: several maps in one crossing, time since a timestamp', () => {
  it('getHeaderMapsValues: a query names headers of several maps, read in order; undefined where absent', () => {
    const host = new FakeHost();
    host.headerMaps.set(MapType.HttpRequestHeaders, [[':authority', 'a.test'], [':path', '/p']]);
    host.headerMaps.set(MapType.HttpResponseHeaders, [[':status', '503']]);
    const query = hc.headerQuery([
      [MapType.HttpRequestHeaders, ':authority'], [MapType.HttpRequestHeaders, ':path'],
      [MapType.HttpResponseHeaders, ':status'], [MapType.HttpResponseHeaders, ':path'],
    ]);
    expect(query).toBe('0:authority\u00000:path\u00002:status\u00002:path'); // the wire form (table.ts)
    expect(hc.getHeaderMapsValues(host, query)).toEqual(['a.test', '/p', '503', undefined]);
    const stream = new HttpContext(2, new RootContext(1, host));
    expect(stream.getHeaderValuesOfMaps(hc.headerQuery([[MapType.HttpResponseHeaders, ':status'], [MapType.HttpRequestHeaders, ':authority']])))
      .toEqual(['503', 'a.test']);
    expect(hc.getHeaderMapsValues(host, hc.headerQuery([]))).toEqual([]);
    // a malformed wire form (not made by headerQuery) is the host's BadArgument
    expect(() => stream.getHeaderValuesOfMaps('x:path' as hc.HeaderQuery)).toThrow('proxy_get_header_map_value failed: BadArgument');
  });

  it('headerQuery: rejects a bad entry, naming it', () => {
    expect(() => hc.headerQuery([[MapType.HttpRequestHeaders, ':path'], [9 as MapType, ':status']]))
      .toThrow('headerQuery: entry 1 (":status") has map type 9, not 0..7');
    expect(() => hc.headerQuery([[MapType.HttpRequestHeaders, '']])).toThrow('headerQuery: entry 0 has an empty name');
    expect(() => hc.headerQuery([[MapType.HttpRequestHeaders, 'a\0b']])).toThrow('containing NUL');
    expect(parseHeaderQuery('0a\u00002b')).toEqual([[MapType.HttpRequestHeaders, 'a'], [MapType.HttpResponseHeaders, 'b']]);
    expect(parseHeaderQuery('0a\u0000')).toBeUndefined(); // an empty entry has no map type
  });

  it('headerAgeQuery: the headers then the age of a timestamp property, in one crossing', () => {
    const host = new FakeHost();
    host.headerMaps.set(MapType.HttpRequestHeaders, [[':authority', 'a.test']]);
    host.headerMaps.set(MapType.HttpResponseHeaders, [[':status', '200']]);
    const start = new DataView(new ArrayBuffer(8));
    start.setBigUint64(0, 1_700_000_000_750_000_000n, true);
    host.properties.set('request\0time', start.buffer);
    host.timeNs = 1_700_000_001_000_000_000;
    const query = hc.headerAgeQuery([[MapType.HttpRequestHeaders, ':authority'], [MapType.HttpResponseHeaders, ':status'],
      [MapType.HttpRequestHeaders, ':path']], ['request', 'time']);
    expect(query).toBe('0:authority\u00002:status\u00000:path\u0000:request\u0000time'); // the wire form (table.ts)
    expect(splitAgeEntry(query)).toEqual(['0:authority\u00002:status\u00000:path', 'request\u0000time']);
    expect(splitAgeEntry('0:path')).toEqual(['0:path', undefined]);
    expect(hc.getHeaderMapsValuesAndAge(host, query)).toEqual(['a.test', '200', undefined, 250_000_000]);
    const stream = new HttpContext(2, new RootContext(1, host));
    expect(stream.getHeaderValuesOfMapsAndAge(query)).toEqual(['a.test', '200', undefined, 250_000_000]);
    // an age entry alone; an absent or unset property → undefined
    const absent = hc.headerAgeQuery([], ['request', 'nothing']);
    expect(absent).toBe(':request\u0000nothing');
    expect(stream.getHeaderValuesOfMapsAndAge(absent)).toEqual([undefined]);
    // a failure other than NotFound names the property hostcall
    host.properties.set('request\0time', new ArrayBuffer(4));
    expect(() => stream.getHeaderValuesOfMapsAndAge(query)).toThrow('proxy_get_property failed: SerializationFailure');
    expect(() => hc.headerAgeQuery([], [])).toThrow('headerAgeQuery: the age property path needs non-empty segments');
    expect(() => hc.headerAgeQuery([[MapType.HttpRequestHeaders, '']], ['request', 'time'])).toThrow('headerQuery: entry 0 has an empty name');
  });

  it('getPropertyU64Age: ns since the timestamp by the host clock; absent or zero → undefined; clock behind → 0', () => {
    const host = new FakeHost();
    const at = (ns: bigint): ArrayBuffer => {
      const view = new DataView(new ArrayBuffer(8));
      view.setBigUint64(0, ns, true);
      return view.buffer;
    };
    host.timeNs = 1_700_000_001_000_000_000;
    host.properties.set('request\0time', at(1_700_000_000_750_000_000n));
    expect(hc.getPropertyU64Age(host, ['request', 'time'])).toBe(250_000_000);
    const root = new RootContext(1, host);
    expect(root.getPropertyAgeNanoseconds(hc.wirePropertyPath(['request', 'time']))).toBe(250_000_000);
    expect(root.getPropertyAgeNanoseconds(['request', 'duration'])).toBeUndefined();
    host.properties.set('request\0time', at(0n));
    expect(hc.getPropertyU64Age(host, ['request', 'time'])).toBeUndefined();
    host.properties.set('request\0time', at(1_700_000_002_000_000_000n));
    expect(root.getPropertyAgeNanoseconds(['request', 'time'])).toBe(0);
    host.properties.set('request\0time', new ArrayBuffer(4));
    expect(() => root.getPropertyAgeNanoseconds(['request', 'time'])).toThrow('proxy_get_property failed: SerializationFailure');
  });
});

describe('hostcall wrappers: result conventions', () => {
  it('maps NotFound to undefined for values that may be absent', () => {
    const host = new FakeHost();
    expect(hc.getHeaderMapValue(host, MapType.HttpRequestHeaders, 'x-missing')).toBeUndefined();
    expect(hc.getProperty(host, ['request', 'path'])).toBeUndefined();
    expect(hc.getBufferBytes(host, BufferType.PluginConfiguration)).toBeUndefined();
    expect(hc.getBufferString(host, BufferType.VmConfiguration)).toBeUndefined();
    expect(hc.getSharedData(host, 'nope')).toBeUndefined();
    expect(hc.resolveSharedQueue(host, 'receiver', 'q')).toBeUndefined();
    expect(hc.callForeignFunction(host, 'compress', 'x')).toBeUndefined();
  });

  it('throws a HostcallError naming the hostcall and the status for unexpected statuses', () => {
    const host = new FakeHost();
    host.forced.set('getHeaderMapValue', Status.BadArgument);
    let caught: unknown;
    try {
      hc.getHeaderMapValue(host, MapType.HttpRequestHeaders, ':path');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(HostcallError);
    const error = caught as HostcallError;
    expect(error.hostcall).toBe('proxy_get_header_map_value');
    expect(error.status).toBe(Status.BadArgument);
    expect(error.message).toBe('proxy_get_header_map_value failed: BadArgument');

    host.forced.set('registerSharedQueue', Status.InternalFailure);
    expect(() => hc.registerSharedQueue(host, 'q')).toThrow('proxy_register_shared_queue failed: InternalFailure');
    host.forced.set('httpCall', Status.BadArgument);
    expect(() => hc.httpCall(host, 'no_such_cluster', [], '', [], 1000))
      .toThrow('proxy_http_call failed: BadArgument (cluster "no_such_cluster")');
    host.forced.set('setTickPeriodMilliseconds', Status.Unimplemented);
    expect(() => hc.setTickPeriodMilliseconds(host, 10)).toThrow(/Unimplemented/);
  });

  it('reads and writes header maps as [name, value] pairs over the flat wire form', () => {
    const host = new FakeHost();
    hc.setHeaderMapPairs(host, MapType.HttpRequestHeaders, [[':path', '/a'], ['x-a', '1'], ['x-a', '2']]);
    expect(host.headerMaps.get(MapType.HttpRequestHeaders)).toEqual([[':path', '/a'], ['x-a', '1'], ['x-a', '2']]);
    expect(hc.getHeaderMapPairs(host, MapType.HttpRequestHeaders)).toEqual([[':path', '/a'], ['x-a', '1'], ['x-a', '2']]);
    expect(hc.getHeaderMapValue(host, MapType.HttpRequestHeaders, ':path')).toBe('/a');
    hc.replaceHeaderMapValue(host, MapType.HttpRequestHeaders, 'x-a', '3');
    hc.addHeaderMapValue(host, MapType.HttpRequestHeaders, 'x-b', '4');
    hc.removeHeaderMapValue(host, MapType.HttpRequestHeaders, ':path');
    expect(hc.getHeaderMapPairs(host, MapType.HttpRequestHeaders)).toEqual([['x-a', '3'], ['x-b', '4']]);
    expect(hc.getHeaderMapSize(host, MapType.HttpRequestHeaders)).toBe(2);
    // Removing an absent header is not an error.
    host.forced.set('removeHeaderMapValue', Status.NotFound);
    expect(() => hc.removeHeaderMapValue(host, MapType.HttpRequestHeaders, 'x-none')).not.toThrow();
    // A map the host does not have reads as empty.
    host.forced.set('getHeaderMapPairs', Status.NotFound);
    expect(hc.getHeaderMapPairs(host, MapType.HttpResponseTrailers)).toEqual([]);
  });

  it('joins property path segments with NUL', () => {
    const host = new FakeHost();
    host.properties.set('request\0path', bytes('/hello?x=1'));
    expect(hc.getPropertyString(host, ['request', 'path'])).toBe('/hello?x=1');
    hc.setProperty(host, ['filter_state', 'k'], 'v');
    expect(text(host.properties.get('filter_state\0k')!)).toBe('v');
    expect(hc.propertyPath(['a', 'b', 'c'])).toBe('a\0b\0c');
  });

  it('reads buffers, treating Empty like NotFound', () => {
    const host = new FakeHost();
    host.buffers.set(BufferType.PluginConfiguration, bytes('{"a":1}'));
    expect(hc.getBufferString(host, BufferType.PluginConfiguration)).toBe('{"a":1}');
    expect(text(hc.getBufferBytes(host, BufferType.PluginConfiguration, 2, 3)!)).toBe('a":');
    host.forced.set('getBufferString', Status.Empty);
    expect(hc.getBufferString(host, BufferType.PluginConfiguration)).toBeUndefined();
    hc.setBufferBytes(host, BufferType.HttpRequestBody, 'new body');
    expect(text(host.buffers.get(BufferType.HttpRequestBody)!)).toBe('new body');
  });

  it('does compare-and-swap on shared data', () => {
    const host = new FakeHost();
    expect(hc.setSharedData(host, 'k', 'v1')).toBe(true);
    const first = hc.getSharedData(host, 'k')!;
    expect(text(first.value)).toBe('v1');
    expect(hc.setSharedData(host, 'k', 'v2', first.cas)).toBe(true);
    // A second writer holding the stale cas loses.
    expect(hc.setSharedData(host, 'k', 'v3', first.cas)).toBe(false);
    expect(text(hc.getSharedData(host, 'k')!.value)).toBe('v2');
    host.forced.set('setSharedData', Status.InternalFailure);
    expect(() => hc.setSharedData(host, 'k', 'v4')).toThrow(HostcallError);
  });

  it('handles shared queues: ids, empty, missing queue', () => {
    const host = new FakeHost();
    const own = hc.registerSharedQueue(host, 'aws_cloudwatch_metric');
    expect(own).toBeGreaterThan(0);
    expect(hc.dequeueSharedQueue(host, own)).toBeUndefined();
    expect(hc.dequeueSharedQueueString(host, own)).toBeUndefined();
    const remote = host.addForeignQueue('receiver', 'aws_cloudwatch_metric');
    expect(hc.resolveSharedQueue(host, 'receiver', 'aws_cloudwatch_metric')).toBe(remote);
    expect(hc.enqueueSharedQueue(host, remote, 'm1')).toBe(true);
    expect(hc.enqueueSharedQueue(host, remote, bytes('m2'))).toBe(true);
    expect(hc.dequeueSharedQueueString(host, remote)).toBe('m1');
    expect(text(hc.dequeueSharedQueue(host, remote)!)).toBe('m2');
    // The owner went away: enqueue reports false instead of throwing.
    expect(hc.enqueueSharedQueue(host, 999, 'm3')).toBe(false);
    expect(() => hc.dequeueSharedQueue(host, 999)).toThrow('proxy_dequeue_shared_queue failed: NotFound');
  });

  it('converts time to milliseconds', () => {
    const host = new FakeHost();
    host.timeNs = 1_700_000_000_987_654_321;
    expect(hc.getCurrentTimeMilliseconds(host)).toBe(1_700_000_000_987);
  });

  it('passes stream control and local responses through', () => {
    const host = new FakeHost();
    hc.continueStream(host, StreamType.Request);
    hc.closeStream(host, StreamType.Response);
    hc.sendLocalResponse(host, 403, 'denied', [['x-why', 'policy']], 'acl');
    expect(host.streamOps).toEqual([['continue', StreamType.Request], ['close', StreamType.Response]]);
    expect(host.localResponses).toEqual([{ statusCode: 403, body: 'denied', headers: ['x-why', 'policy'], details: 'acl' }]);
  });

  it('fails gRPC hostcalls with a clear error, not a trap', () => {
    const host = new FakeHost();
    for (const call of [hc.grpcCall, hc.grpcStream, hc.grpcSend, hc.grpcCancel, hc.grpcClose]) {
      expect(() => call(host)).toThrow(UnsupportedError);
      expect(() => call(host)).toThrow(/^gRPC is not supported yet: proxy_grpc_/);
    }
    expect(host.calls).toEqual([]);
  });
});

describe('metrics objects', () => {
  it('define once, then increment / record / get by id', () => {
    const host = new FakeHost();
    const counter = new hc.Counter(host, 'acpw.requests');
    const gauge = new hc.Gauge(host, 'acpw.buffered');
    const histogram = new hc.Histogram(host, 'acpw.latency');
    counter.increment();
    counter.increment(4);
    gauge.record(10);
    gauge.increment(-3);
    histogram.record(42);
    expect(counter.get()).toBe(5);
    expect(gauge.get()).toBe(7);
    expect(host.metrics.get(counter.id)).toMatchObject({ type: MetricType.Counter, name: 'acpw.requests' });
    expect(host.metrics.get(histogram.id)).toMatchObject({ type: MetricType.Histogram, value: 42 });
    host.forced.set('defineMetric', Status.BadArgument);
    expect(() => new hc.Counter(host, 'bad name')).toThrow('proxy_define_metric failed: BadArgument (metric "bad name")');
  });
});

describe('Logger', () => {
  it('reads the host level once until invalidated, and skips disabled levels without building the message', () => {
    const host = new FakeHost();
    host.logLevel = LogLevel.Info;
    const logger = new hc.Logger(host);
    let built = 0;
    logger.debug(() => `expensive ${++built}`);
    logger.info('one');
    logger.warn(() => `two ${++built}`);
    logger.trace('hidden');
    expect(built).toBe(1);
    expect(host.logs).toEqual([[LogLevel.Info, 'one'], [LogLevel.Warn, 'two 1']]);
    expect(host.calls.filter((c) => c === 'getLogLevel')).toHaveLength(1);

    host.logLevel = LogLevel.Debug;
    logger.debug('still cached: dropped');
    logger.invalidate();
    logger.debug('now visible');
    expect(host.logs.at(-1)).toEqual([LogLevel.Debug, 'now visible']);
    expect(host.calls.filter((c) => c === 'getLogLevel')).toHaveLength(2);
    expect(logger.enabled(LogLevel.Trace)).toBe(false);
  });

  it('logs everything when the host cannot report its level', () => {
    const host = new FakeHost();
    host.forced.set('getLogLevel', Status.Unimplemented);
    const logger = new hc.Logger(host);
    logger.trace('t');
    expect(host.logs).toEqual([[LogLevel.Trace, 't']]);
  });
});

describe('env and errors', () => {
  it('reads environment variables through the host at call time', () => {
    const host = new FakeHost();
    expect(getEnv(host, 'ACPW_AWS_ACCESS_KEY_ID')).toBeUndefined();
    host.environment = ['ACPW_AWS_ACCESS_KEY_ID=AKID=with=equals', 'EMPTY=', 'ACPW_AWS_ACCESS_KEY_ID=second'];
    expect(getEnv(host, 'ACPW_AWS_ACCESS_KEY_ID')).toBe('AKID=with=equals');
    expect(getEnv(host, 'EMPTY')).toBe('');
    expect(getEnv(host, 'ACPW_AWS')).toBeUndefined();
    expect(getEnvAll(host)).toEqual({ ACPW_AWS_ACCESS_KEY_ID: 'AKID=with=equals', EMPTY: '' });
  });

  it('describes errors with message and stack, and non-errors readably', () => {
    const error = new TypeError('bad thing');
    const described = describeError(error);
    expect(described.startsWith('TypeError: bad thing\n')).toBe(true);
    expect(described).toMatch(/\n\s+at /);
    // A QuickJS-style stack (frames only) gets the message prepended.
    const quickjs = new Error('boom');
    quickjs.stack = '    at onLog (sender.js:10)\n';
    expect(describeError(quickjs)).toBe('Error: boom\n    at onLog (sender.js:10)');
    expect(describeError('plain string')).toBe('non-Error thrown: plain string');
    expect(describeError({ code: 7 })).toBe('non-Error thrown: {"code":7}');
  });
});
