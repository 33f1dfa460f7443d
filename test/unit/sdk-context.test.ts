import { describe, expect, it } from 'vitest';
import {
  HttpContext, MapType, MetricType, RootContext, Status, StreamType, UnsupportedError, definePlugin,
} from '../../src/sdk/index.js';
import { fromUtf8, utf8 } from '../../host/core/bytes.js';
import { SdkVm, type SdkVmOptions } from '../support/sdk-vm.js';

const PLAIN = definePlugin({ name: 'plain', root: RootContext });
const text = (data: ArrayBuffer | Uint8Array): string => fromUtf8(data instanceof Uint8Array ? data : new Uint8Array(data));

/** host/ with root context 1 (its configuration readable, as during configure) and stream context 2. */
function started(options: SdkVmOptions = {}, maps: { request?: readonly (readonly [string, string])[] } = {}): { sdk: SdkVm; root: RootContext } {
  const sdk = new SdkVm(PLAIN, { clusters: ['c'], ...options });
  sdk.root(1);
  sdk.stream(2, 1, maps);
  return { sdk, root: new RootContext(1, sdk.host) };
}

describe('RootContext helpers', () => {
  it('reads configurations, sets the tick period, tells time and reads env at call time', () => {
    const { sdk, root } = started();
    sdk.within(1, () => {
      // Envoy answers Ok with no bytes for an empty configuration: that reads as "none".
      expect(root.getPluginConfiguration()).toBeUndefined();
      expect(root.getVmConfiguration()).toBeUndefined();
      sdk.respec({ pluginConfiguration: '{"receiver_vm_id":"receiver"}', vmConfiguration: 'vm' });
      expect(root.getPluginConfiguration()).toBe('{"receiver_vm_id":"receiver"}');
      expect(text(root.getPluginConfigurationBytes()!)).toBe('{"receiver_vm_id":"receiver"}');
      expect(root.getVmConfiguration()).toBe('vm');
      sdk.respec({ vmConfiguration: '' });
      expect(root.getVmConfiguration()).toBeUndefined();
      root.setTickPeriod(1000);
      expect(sdk.vm.tickPeriodMs).toBe(1000);
      sdk.clock.setNs(2_000_000_000_000_000_000n);
      expect(root.getCurrentTime()).toBe(2_000_000_000_000);
      expect(root.getEnv('ACPW_AWS_SECRET_ACCESS_KEY')).toBeUndefined();
      sdk.respec({ environment: { ACPW_AWS_SECRET_ACCESS_KEY: 's3cr3t' } });
      expect(root.getEnv('ACPW_AWS_SECRET_ACCESS_KEY')).toBe('s3cr3t');
    });
    // Envoy hides the plugin configuration once configure is over: none then
    const after = new SdkVm(PLAIN, { pluginConfiguration: '{"a":1}' });
    expect(after.vm.start()).toBe(true);
    expect(after.within(1, () => new RootContext(1, after.host).getPluginConfiguration())).toBeUndefined();
  });

  it('owns its queue, dequeues until empty, and defines metrics', () => {
    const { sdk, root } = started();
    const queue = sdk.within(1, () => root.registerSharedQueue('aws_cloudwatch_metric'));
    sdk.runtime.sharedQueues.enqueue(queue, utf8('a'));
    sdk.runtime.sharedQueues.enqueue(queue, utf8('b'));
    const drained: string[] = [];
    for (let m = root.dequeueSharedQueueString(queue); m !== undefined; m = root.dequeueSharedQueueString(queue)) drained.push(m);
    expect(drained).toEqual(['a', 'b']);
    const counter = root.defineCounter('acpw.receiver.put_calls');
    const gauge = root.defineGauge('acpw.receiver.buffered');
    const histogram = root.defineHistogram('acpw.receiver.latency');
    counter.increment(2);
    expect(counter.get()).toBe(2);
    expect(sdk.runtime.metrics.all().map((m) => [m.type, m.name])).toEqual([ // by name
      [MetricType.Gauge, 'acpw.receiver.buffered'],
      [MetricType.Histogram, 'acpw.receiver.latency'],
      [MetricType.Counter, 'acpw.receiver.put_calls'],
    ]);
    expect(gauge.name).toBe('acpw.receiver.buffered');
    expect(histogram.id).toBe((1 << 2) | MetricType.Histogram); // Envoy's ids: 4·n + type
  });

  it('shares logger and httpCall registry with its HTTP contexts; sets itself effective on request', () => {
    const { sdk, root } = started({}, { request: [[':path', '/x']] });
    const { host } = sdk;
    const stream = new HttpContext(2, root);
    expect(stream.root).toBe(root);
    expect(stream.host).toBe(host);
    expect(stream.log).toBe(root.log);
    expect(stream.httpCalls).toBe(root.httpCalls);
    sdk.within(2, () => stream.httpCall('c', [[':method', 'GET'], [':path', '/'], [':authority', 'c']], 'body', [['t', '1']], 50));
    expect(root.httpCalls.size).toBe(1);
    expect(sdk.argsOf('setEffectiveContext')).toEqual([[2]]); // the call is made as the stream's
    expect(sdk.httpCalls[0]).toMatchObject({ cluster: 'c', headers: [':method', 'GET', ':path', '/', ':authority', 'c'], body: 'body', trailers: ['t', '1'], timeoutMs: 50 });
    sdk.within(1, () => {
      stream.setEffectiveContext();
      expect(sdk.argsOf('setEffectiveContext')).toEqual([[2], [2]]);
      expect(stream.getRequestHeader(':path')).toBe('/x'); // from root 1's callback: the host acts on stream 2 now
    });
  });

  it('fails grpcCall with a clear error', () => {
    const { root } = started();
    expect(() => root.grpcCall('cluster', 'svc', 'method')).toThrow(UnsupportedError);
    expect(() => root.grpcCall()).toThrow(/^gRPC is not supported yet/);
  });

  it('reads properties and shared data, and calls foreign functions', () => {
    const { sdk, root } = started({ rootId: 'sender' });
    expect(root.getPropertyString(['plugin_root_id'])).toBe('sender');
    expect(root.getProperty(['missing'])).toBeUndefined();
    expect(root.setSharedData('k', 'v')).toBe(true);
    expect(text(root.getSharedData('k')!.value)).toBe('v');
    // Envoy's registered foreign functions: compress / uncompress (zlib); others are NotFound
    const compressed = root.callForeignFunction('compress', 'hi hi hi hi')!;
    expect(text(root.callForeignFunction('uncompress', compressed)!)).toBe('hi hi hi hi');
    expect(root.callForeignFunction('echo', 'hi')).toBeUndefined();
    expect(sdk.argsOf('callForeignFunction').map(([name]) => name)).toEqual(['compress', 'uncompress', 'echo']);
  });
});

describe('HttpContext helpers', () => {
  function stream(): { sdk: SdkVm; http: HttpContext } {
    const { sdk, root } = started();
    return { sdk, http: new HttpContext(2, root) };
  }

  it('reads and edits request and response headers and trailers', () => {
    const { sdk, http } = stream();
    sdk.headers(2, MapType.HttpRequestHeaders, [[':authority', 'example.com'], [':path', '/a?b=1']]);
    sdk.within(2, () => {
      expect(http.getRequestHeader(':authority')).toBe('example.com');
      expect(http.getRequestHeader('x-none')).toBeUndefined();
      http.setRequestHeader(':path', '/a');
      http.addRequestHeader('x-trace', '1');
      http.removeRequestHeader(':authority');
      expect(http.getRequestHeaders()).toEqual([[':path', '/a'], ['x-trace', '1']]);
      http.setResponseHeaders([[':status', '200'], ['server', 'envoy']]);
      http.setResponseHeader('server', 'acpw');
      http.addResponseHeader('x-extra', 'y');
      http.removeResponseHeader('x-extra');
      expect(http.getResponseHeader(':status')).toBe('200');
      expect(http.getResponseHeaders()).toEqual([[':status', '200'], ['server', 'acpw']]);
      http.setRequestTrailer('grpc-status', '0');
      http.setResponseTrailer('x-t', '2');
      expect(http.getRequestTrailer('grpc-status')).toBe('0');
      expect(http.getRequestTrailers()).toEqual([['grpc-status', '0']]);
      expect(http.getResponseTrailers()).toEqual([['x-t', '2']]);
      expect(http.getResponseTrailer('x-t')).toBe('2');
      http.setRequestHeaders([['only', 'one']]);
    });
    expect(sdk.streamState(2)!.requestHeaders!.pairs()).toEqual([['only', 'one']]);
  });

  it('reads and replaces bodies', () => {
    const { sdk, http } = stream();
    sdk.streamState(2)!.requestBody = utf8('hello world');
    sdk.within(2, () => {
      expect(http.getRequestBodyText()).toBe('hello world');
      expect(http.getRequestBodyText(6, 5)).toBe('world');
      // Envoy's set_buffer_bytes prepends (0, 0), replaces all, or appends; not a part in the middle
      expect(() => http.setRequestBody('HELLO', 0, 5)).toThrow('proxy_set_buffer_bytes failed: BadArgument');
      http.setRequestBody('HELLO ', 0, 0);
      http.setRequestBody('!', 17, 0);
      expect(text(http.getRequestBody()!)).toBe('HELLO hello world!');
      http.setRequestBody('HELLO world');
      expect(text(http.getRequestBody()!)).toBe('HELLO world');
      // no response body yet: Envoy reads it as empty (its buffer wraps no data: Ok, 0 bytes) …
      expect(http.getResponseBody()!.byteLength).toBe(0);
      // … and a host answering NotFound reads as none
      sdk.answerNext('proxy_get_buffer_bytes', Status.NotFound);
      expect(http.getResponseBody()).toBeUndefined();
      http.setResponseBody('new');
      expect(http.getResponseBodyText()).toBe('new');
      expect(text(http.getResponseBody()!)).toBe('new');
    });
  });

  it('controls the stream and answers locally', () => {
    const { sdk, http } = stream();
    sdk.within(2, () => {
      http.continueRequest();
      http.continueResponse();
      http.closeRequest();
      http.closeResponse();
      http.sendLocalResponse(429, 'slow down', [['retry-after', '1']]);
    });
    expect(sdk.streamOps).toEqual([
      ['continue', StreamType.Request, 2], ['continue', StreamType.Response, 2],
      ['close', StreamType.Request, 2], ['close', StreamType.Response, 2],
    ]);
    expect(sdk.localReplies.map((r) => ({ statusCode: r.statusCode, body: text(r.body), headers: r.headers, details: r.details })))
      .toEqual([{ statusCode: 429, body: 'slow down', headers: ['retry-after', '1'], details: '' }]);
  });
});
