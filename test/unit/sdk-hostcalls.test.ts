import { describe, expect, it } from 'vitest';
import * as hc from '../../src/sdk/hostcalls.js';
import { HostcallError, UnsupportedError, describeError } from '../../src/sdk/errors.js';
import { getEnv, getEnvAll } from '../../src/sdk/env.js';
import {
  BufferType, HOSTCALLS, LogLevel, MapType, MetricType, Status, StreamType, UNSUPPORTED_HOSTCALLS,
} from '../../src/abi/table.js';
import { fromUtf8 } from '../../host/core/bytes.js';
import { parseHeaderQuery, splitAgeEntry } from '../../host/core/header-query.js';
import { HttpContext, RootContext } from '../../src/sdk/context.js';
import { definePlugin } from '../../src/sdk/plugin.js';
import { SdkVm, type SdkVmOptions } from '../support/sdk-vm.js';

type Pairs = readonly (readonly [string, string])[];
const PLAIN = definePlugin({ name: 'plain', root: RootContext });
const text = (data: ArrayBuffer | Uint8Array): string => fromUtf8(data instanceof Uint8Array ? data : new Uint8Array(data));

/**
 * host/ with root context 1 and stream context 2 (its maps as given); the wrappers are called
 * inside them. Root 1 reads its plugin configuration as during configure, unless `started`:
 * then Envoy's start sequence ran (root 1 created, started, configured) and it is gone.
 */
function hostWith(maps: { request?: Pairs; response?: Pairs } = {}, options: SdkVmOptions = {}, started = false): SdkVm {
  const sdk = new SdkVm(PLAIN, options);
  if (started) expect(sdk.vm.start()).toBe(true);
  else sdk.root(1);
  sdk.stream(2, 1, maps);
  return sdk;
}

/** 8 bytes, little-endian: how Envoy serialises a timestamp property. */
const at = (ns: bigint): Uint8Array => {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, ns, true);
  return out;
};

describe('hostcall wrappers: coverage of the ABI table', () => {
  const wrappers = hc as unknown as Record<string, unknown>;

  it('has one wrapper per HOSTCALLS entry, named as the Host method', () => {
    const missing = HOSTCALLS.filter((spec) => typeof wrappers[spec.js] !== 'function').map((spec) => spec.js);
    expect(missing).toEqual([]);
  });

  it('names the ABI hostcall in the error for an unexpected status, whatever the call', () => {
    for (const spec of HOSTCALLS) {
      const sdk = hostWith();
      sdk.answerNext(spec.abi, Status.InternalFailure);
      const wrapper = wrappers[spec.js] as (host: unknown, ...args: unknown[]) => unknown;
      // Dummy arguments by kind (the host answers the status before doing any work); a property
      // path is a segment list in the wrapper, the joined string on the wire.
      const args = spec.args.map(([name, kind]) =>
        name === 'path' ? ['x'] : kind === 'pairs' ? [] : kind === 'strs' ? ['x']
          : kind === 'header_query' ? hc.headerQuery([[MapType.HttpRequestHeaders, 'x']]) : kind === 'str' || kind === 'bytes' ? 'x' : 1);
      let caught: unknown;
      try {
        sdk.within(2, () => wrapper(sdk.host, ...args));
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
      const wrapper = wrappers[name] as (host: unknown) => unknown;
      expect(typeof wrapper, abi).toBe('function');
      expect(() => wrapper(hostWith().host), abi).toThrow(`gRPC is not supported yet: ${abi}`);
    }
  });
});

describe('composite and int64 reads', () => {
  it('getHeaderMapValues: one result per name, undefined where absent; a failure throws naming the ABI call', () => {
    const sdk = hostWith({ request: [[':authority', 'a.test'], [':path', '/p']] });
    const { host } = sdk;
    sdk.within(2, () => {
      expect(hc.getHeaderMapValues(host, MapType.HttpRequestHeaders, [':authority', ':method', ':path'])).toEqual(['a.test', undefined, '/p']);
      expect(hc.getHeaderMapValues(host, MapType.HttpRequestHeaders, [])).toEqual([]);
    });
    // Envoy's BadArgument: request headers read from the root context (no stream there)
    expect(() => sdk.within(1, () => hc.getHeaderMapValues(host, MapType.HttpRequestHeaders, [':path']))).toThrow('proxy_get_header_map_value failed: BadArgument');
  });

  it('getPropertyU64: the int64 little-endian value; undefined when absent; wrong size is a SerializationFailure', () => {
    const sdk = new SdkVm(PLAIN);
    sdk.root(1);
    sdk.clock.setMs(1_700_000_000_123.5); // the stream starts then: request.time
    sdk.stream(2, 1, { request: [[':path', '/p']] });
    const { host } = sdk;
    sdk.within(2, () => {
      expect(hc.getPropertyU64(host, ['request', 'time'])).toBe(1_700_000_000_123_500_000);
      expect(hc.getPropertyU64(host, hc.wirePropertyPath(['request', 'time']))).toBe(1_700_000_000_123_500_000);
      expect(hc.getPropertyU64(host, ['request', 'duration'])).toBeUndefined(); // the request is not complete yet
      // request.path is a string (2 bytes here), not an int64
      expect(() => hc.getPropertyU64(host, ['request', 'path'])).toThrow('proxy_get_property failed: SerializationFailure');
    });
  });
});

describe('stream-end reads: several maps in one crossing, time since a timestamp', () => {
  it('getHeaderMapsValues: a query names headers of several maps, read in order; undefined where absent', () => {
    const sdk = hostWith({ request: [[':authority', 'a.test'], [':path', '/p']], response: [[':status', '503']] });
    const { host } = sdk;
    const query = hc.headerQuery([
      [MapType.HttpRequestHeaders, ':authority'], [MapType.HttpRequestHeaders, ':path'],
      [MapType.HttpResponseHeaders, ':status'], [MapType.HttpResponseHeaders, ':path'],
    ]);
    expect(query).toBe('0:authority\u00000:path\u00002:status\u00002:path'); // the wire form (table.ts)
    sdk.within(2, () => {
      expect(hc.getHeaderMapsValues(host, query)).toEqual(['a.test', '/p', '503', undefined]);
      const stream = new HttpContext(2, new RootContext(1, host));
      expect(stream.getHeaderValuesOfMaps(hc.headerQuery([[MapType.HttpResponseHeaders, ':status'], [MapType.HttpRequestHeaders, ':authority']])))
        .toEqual(['503', 'a.test']);
      expect(hc.getHeaderMapsValues(host, hc.headerQuery([]))).toEqual([]);
      // a malformed wire form (not made by headerQuery) is the host's BadArgument
      expect(() => stream.getHeaderValuesOfMaps('x:path' as hc.HeaderQuery)).toThrow('proxy_get_header_map_value failed: BadArgument');
    });
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
    const sdk = new SdkVm(PLAIN);
    sdk.root(1);
    sdk.clock.setMs(1_700_000_000_750); // request.time
    sdk.stream(2, 1, { request: [[':authority', 'a.test']], response: [[':status', '200']] });
    sdk.clock.setMs(1_700_000_001_000); // now
    const { host } = sdk;
    const query = hc.headerAgeQuery([[MapType.HttpRequestHeaders, ':authority'], [MapType.HttpResponseHeaders, ':status'],
      [MapType.HttpRequestHeaders, ':path']], ['request', 'time']);
    expect(query).toBe('0:authority\u00002:status\u00000:path\u0000:request\u0000time'); // the wire form (table.ts)
    expect(splitAgeEntry(query)).toEqual(['0:authority\u00002:status\u00000:path', 'request\u0000time']);
    expect(splitAgeEntry('0:path')).toEqual(['0:path', undefined]);
    sdk.within(2, () => {
      expect(hc.getHeaderMapsValuesAndAge(host, query)).toEqual(['a.test', '200', undefined, 250_000_000]);
      const stream = new HttpContext(2, new RootContext(1, host));
      expect(stream.getHeaderValuesOfMapsAndAge(query)).toEqual(['a.test', '200', undefined, 250_000_000]);
      // an age entry alone; an absent or unset property → undefined
      const absent = hc.headerAgeQuery([], ['request', 'nothing']);
      expect(absent).toBe(':request\u0000nothing');
      expect(stream.getHeaderValuesOfMapsAndAge(absent)).toEqual([undefined]);
      // a failure other than NotFound names the property hostcall (request.host is a string, not a timestamp)
      const notTime = hc.headerAgeQuery([[MapType.HttpRequestHeaders, ':authority']], ['request', 'host']);
      expect(() => stream.getHeaderValuesOfMapsAndAge(notTime)).toThrow('proxy_get_property failed: SerializationFailure');
    });
    expect(() => hc.headerAgeQuery([], [])).toThrow('headerAgeQuery: the age property path needs non-empty segments');
    expect(() => hc.headerAgeQuery([[MapType.HttpRequestHeaders, '']], ['request', 'time'])).toThrow('headerQuery: entry 0 has an empty name');
  });

  it('getPropertyU64Age: ns since the timestamp by the host clock; absent or zero → undefined; clock behind → 0', () => {
    const sdk = new SdkVm(PLAIN);
    sdk.root(1);
    sdk.clock.setMs(1_700_000_000_750); // request.time
    const state = sdk.stream(2, 1, { request: [[':path', '/p']] });
    sdk.clock.setMs(1_700_000_001_000);
    const { host } = sdk;
    sdk.within(2, () => {
      expect(hc.getPropertyU64Age(host, ['request', 'time'])).toBe(250_000_000);
      const root = new RootContext(1, host);
      expect(root.getPropertyAgeNanoseconds(hc.wirePropertyPath(['request', 'time']))).toBe(250_000_000);
      expect(root.getPropertyAgeNanoseconds(['request', 'duration'])).toBeUndefined();
      // a zero timestamp (Envoy never answers one for request.time: a filter-state value of the lean mode)
      state.filterState = new Map([['request\u0000time', at(0n)]]);
      expect(hc.getPropertyU64Age(host, ['request', 'time'])).toBeUndefined();
      state.filterState = undefined;
      sdk.clock.setMs(1_700_000_000_000); // the clock behind the stream's start
      expect(root.getPropertyAgeNanoseconds(['request', 'time'])).toBe(0);
      expect(() => root.getPropertyAgeNanoseconds(['request', 'path'])).toThrow('proxy_get_property failed: SerializationFailure');
    });
  });
});

describe('hostcall wrappers: result conventions', () => {
  it('maps NotFound to undefined for values that may be absent', () => {
    const sdk = hostWith({}, {}, true);
    const { host } = sdk;
    sdk.within(2, () => {
      expect(hc.getHeaderMapValue(host, MapType.HttpRequestHeaders, 'x-missing')).toBeUndefined();
      expect(hc.getProperty(host, ['request', 'path'])).toBeUndefined();
      expect(hc.getBufferBytes(host, BufferType.PluginConfiguration)).toBeUndefined();
      // Envoy serves the VM configuration always (here empty: ''); an http_call body only while its response is delivered
      expect(hc.getBufferString(host, BufferType.HttpCallResponseBody)).toBeUndefined();
      expect(hc.getBufferString(host, BufferType.VmConfiguration)).toBe('');
      expect(hc.getSharedData(host, 'nope')).toBeUndefined();
      expect(hc.resolveSharedQueue(host, 'receiver', 'q')).toBeUndefined();
      // Envoy registers compress/uncompress; any other name is NotFound
      expect(hc.callForeignFunction(host, 'no_such_function', 'x')).toBeUndefined();
    });
  });

  it('throws a HostcallError naming the hostcall and the status for unexpected statuses', () => {
    const sdk = hostWith();
    const { host } = sdk;
    let caught: unknown;
    try {
      // Envoy's BadArgument: request headers read from the root context
      sdk.within(1, () => hc.getHeaderMapValue(host, MapType.HttpRequestHeaders, ':path'));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(HostcallError);
    const error = caught as HostcallError;
    expect(error.hostcall).toBe('proxy_get_header_map_value');
    expect(error.status).toBe(Status.BadArgument);
    expect(error.message).toBe('proxy_get_header_map_value failed: BadArgument');

    sdk.answerNext('proxy_register_shared_queue', Status.InternalFailure);
    expect(() => sdk.within(1, () => hc.registerSharedQueue(host, 'q'))).toThrow('proxy_register_shared_queue failed: InternalFailure');
    // an unknown cluster: Envoy's BadArgument
    expect(() => sdk.within(1, () => hc.httpCall(host, 'no_such_cluster', [[':method', 'GET'], [':path', '/'], [':authority', 'x']], '', [], 1000)))
      .toThrow('proxy_http_call failed: BadArgument (cluster "no_such_cluster")');
    sdk.answerNext('proxy_set_tick_period_milliseconds', Status.Unimplemented);
    expect(() => sdk.within(1, () => hc.setTickPeriodMilliseconds(host, 10))).toThrow(/Unimplemented/);
  });

  it('reads and writes header maps as [name, value] pairs over the flat wire form', () => {
    const sdk = hostWith();
    const { host } = sdk;
    sdk.within(2, () => {
      hc.setHeaderMapPairs(host, MapType.HttpRequestHeaders, [[':path', '/a'], ['x-a', '1'], ['x-a', '2']]);
      expect(sdk.streamState(2)!.requestHeaders!.pairs()).toEqual([[':path', '/a'], ['x-a', '1'], ['x-a', '2']]);
      expect(hc.getHeaderMapPairs(host, MapType.HttpRequestHeaders)).toEqual([[':path', '/a'], ['x-a', '1'], ['x-a', '2']]);
      expect(hc.getHeaderMapValue(host, MapType.HttpRequestHeaders, ':path')).toBe('/a');
      hc.replaceHeaderMapValue(host, MapType.HttpRequestHeaders, 'x-a', '3');
      hc.addHeaderMapValue(host, MapType.HttpRequestHeaders, 'x-b', '4');
      hc.removeHeaderMapValue(host, MapType.HttpRequestHeaders, ':path');
      expect(hc.getHeaderMapPairs(host, MapType.HttpRequestHeaders)).toEqual([['x-a', '3'], ['x-b', '4']]);
      // Envoy answers the map's byte size (keys + values), not the pair count
      expect(hc.getHeaderMapSize(host, MapType.HttpRequestHeaders)).toBe('x-a3x-b4'.length);
      // Removing an absent header is not an error (Envoy: Ok; a host answering NotFound: tolerated too).
      expect(() => hc.removeHeaderMapValue(host, MapType.HttpRequestHeaders, 'x-none')).not.toThrow();
      sdk.answerNext('proxy_remove_header_map_value', Status.NotFound);
      expect(() => hc.removeHeaderMapValue(host, MapType.HttpRequestHeaders, 'x-none')).not.toThrow();
      // A map the host does not have reads as empty (Envoy: no pairs; NotFound: empty too).
      expect(hc.getHeaderMapPairs(host, MapType.HttpCallResponseHeaders)).toEqual([]);
      sdk.answerNext('proxy_get_header_map_pairs', Status.NotFound);
      expect(hc.getHeaderMapPairs(host, MapType.HttpResponseTrailers)).toEqual([]);
    });
  });

  it('joins property path segments with NUL', () => {
    const sdk = hostWith({ request: [[':path', '/hello?x=1']] });
    const { host } = sdk;
    sdk.within(2, () => {
      expect(hc.getPropertyString(host, ['request', 'path'])).toBe('/hello?x=1');
      hc.setProperty(host, ['filter_state', 'k'], 'v');
    });
    expect(text(sdk.streamState(2)!.filterState!.get('filter_state\0k')!)).toBe('v');
    expect(hc.propertyPath(['a', 'b', 'c'])).toBe('a\0b\0c');
  });

  it('reads buffers, treating Empty like NotFound', () => {
    const sdk = hostWith({}, { pluginConfiguration: '{"a":1}' });
    const { host } = sdk;
    sdk.within(1, () => {
      expect(hc.getBufferString(host, BufferType.PluginConfiguration)).toBe('{"a":1}');
      expect(text(hc.getBufferBytes(host, BufferType.PluginConfiguration, 2, 3)!)).toBe('a":');
      sdk.answerNext('proxy_get_buffer_bytes', Status.Empty);
      expect(hc.getBufferString(host, BufferType.PluginConfiguration)).toBeUndefined();
    });
    sdk.within(2, () => hc.setBufferBytes(host, BufferType.HttpRequestBody, 'new body'));
    expect(text(sdk.streamState(2)!.requestBody!)).toBe('new body');
  });

  it('does compare-and-swap on shared data', () => {
    const sdk = hostWith();
    const { host } = sdk;
    expect(hc.setSharedData(host, 'k', 'v1')).toBe(true);
    const first = hc.getSharedData(host, 'k')!;
    expect(text(first.value)).toBe('v1');
    expect(hc.setSharedData(host, 'k', 'v2', first.cas)).toBe(true);
    // A second writer holding the stale cas loses.
    expect(hc.setSharedData(host, 'k', 'v3', first.cas)).toBe(false);
    expect(text(hc.getSharedData(host, 'k')!.value)).toBe('v2');
    sdk.answerNext('proxy_set_shared_data', Status.InternalFailure);
    expect(() => hc.setSharedData(host, 'k', 'v4')).toThrow(HostcallError);
  });

  it('handles shared queues: ids, empty, missing queue', () => {
    const sdk = hostWith();
    const { host } = sdk;
    sdk.within(1, () => {
      const own = hc.registerSharedQueue(host, 'aws_cloudwatch_metric');
      expect(own).toBeGreaterThan(0);
      expect(hc.dequeueSharedQueue(host, own)).toBeUndefined();
      expect(hc.dequeueSharedQueueString(host, own)).toBeUndefined();
    });
    const remote = sdk.foreignQueue('receiver', 'aws_cloudwatch_metric');
    expect(hc.resolveSharedQueue(host, 'receiver', 'aws_cloudwatch_metric')).toBe(remote);
    expect(hc.enqueueSharedQueue(host, remote, 'm1')).toBe(true);
    expect(hc.enqueueSharedQueue(host, remote, new TextEncoder().encode('m2').buffer)).toBe(true);
    expect(hc.dequeueSharedQueueString(host, remote)).toBe('m1');
    expect(text(hc.dequeueSharedQueue(host, remote)!)).toBe('m2');
    // The owner went away: enqueue reports false instead of throwing.
    expect(hc.enqueueSharedQueue(host, 999, 'm3')).toBe(false);
    expect(() => hc.dequeueSharedQueue(host, 999)).toThrow('proxy_dequeue_shared_queue failed: NotFound');
  });

  it('converts time to milliseconds', () => {
    const sdk = hostWith();
    sdk.clock.setNs(1_700_000_000_987_654_321n);
    expect(hc.getCurrentTimeMilliseconds(sdk.host)).toBe(1_700_000_000_987);
  });

  it('passes stream control and local responses through', () => {
    const sdk = hostWith();
    const { host } = sdk;
    sdk.within(2, () => {
      hc.continueStream(host, StreamType.Request);
      hc.closeStream(host, StreamType.Response);
      hc.sendLocalResponse(host, 403, 'denied', [['x-why', 'policy']], 'acl');
      expect(sdk.streamOps).toEqual([]); // Envoy acts once the callback returns
    });
    expect(sdk.streamOps).toEqual([['continue', StreamType.Request, 2], ['close', StreamType.Response, 2]]);
    expect(sdk.localReplies.map((r) => ({ statusCode: r.statusCode, body: text(r.body), headers: r.headers, details: r.details })))
      .toEqual([{ statusCode: 403, body: 'denied', headers: ['x-why', 'policy'], details: 'acl' }]);
  });

  it('fails gRPC hostcalls with a clear error, not a trap', () => {
    const sdk = hostWith();
    for (const call of [hc.grpcCall, hc.grpcStream, hc.grpcSend, hc.grpcCancel, hc.grpcClose]) {
      expect(() => call(sdk.host)).toThrow(UnsupportedError);
      expect(() => call(sdk.host)).toThrow(/^gRPC is not supported yet: proxy_grpc_/);
    }
    expect(sdk.calls).toEqual([]);
  });
});

describe('metrics objects', () => {
  it('define once, then increment / record / get by id', () => {
    const sdk = hostWith();
    const { host } = sdk;
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
    expect(sdk.runtime.metrics.get('acpw.requests')).toMatchObject({ type: MetricType.Counter, name: 'acpw.requests' });
    expect(sdk.runtime.metrics.get('acpw.latency')).toMatchObject({ type: MetricType.Histogram, samples: [42] });
    sdk.answerNext('proxy_define_metric', Status.BadArgument);
    expect(() => new hc.Counter(host, 'bad name')).toThrow('proxy_define_metric failed: BadArgument (metric "bad name")');
  });
});

describe('Logger', () => {
  it('reads the host level once until invalidated, and skips disabled levels without building the message', () => {
    const sdk = hostWith({}, { logLevel: LogLevel.Info });
    const logger = new hc.Logger(sdk.host);
    let built = 0;
    logger.debug(() => `expensive ${++built}`);
    logger.info('one');
    logger.warn(() => `two ${++built}`);
    logger.trace('hidden');
    expect(built).toBe(1);
    expect(sdk.argsOf('log')).toEqual([[LogLevel.Info, 'one'], [LogLevel.Warn, 'two 1']]);
    expect(sdk.names().filter((c) => c === 'getLogLevel')).toHaveLength(1);

    sdk.runtime.logLevel = LogLevel.Debug;
    logger.debug('still cached: dropped');
    logger.invalidate();
    logger.debug('now visible');
    expect(sdk.argsOf('log').at(-1)).toEqual([LogLevel.Debug, 'now visible']);
    expect(sdk.names().filter((c) => c === 'getLogLevel')).toHaveLength(2);
    expect(logger.enabled(LogLevel.Trace)).toBe(false);
  });

  it('logs everything when the host cannot report its level', () => {
    const sdk = hostWith({}, { logLevel: LogLevel.Trace });
    sdk.answerNext('proxy_get_log_level', Status.Unimplemented);
    const logger = new hc.Logger(sdk.host);
    logger.trace('t');
    expect(sdk.argsOf('log')).toEqual([[LogLevel.Trace, 't']]);
  });
});

describe('env and errors', () => {
  it('reads environment variables through the host at call time', () => {
    const sdk = hostWith();
    const { host } = sdk;
    expect(getEnv(host, 'ACPW_AWS_ACCESS_KEY_ID')).toBeUndefined();
    // (Envoy's environment is a map: no name twice)
    sdk.respec({ environment: { ACPW_AWS_ACCESS_KEY_ID: 'AKID=with=equals', EMPTY: '' } });
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
