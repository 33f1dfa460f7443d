import { describe, expect, it } from 'vitest';
import {
  BufferType, HttpContext, MapType, MetricType, RootContext, StreamType, UnsupportedError,
} from '../../src/sdk/index.js';
import { FakeHost, bytes, text } from './sdk-fake-host.js';

describe('RootContext helpers', () => {
  it('reads configurations, sets the tick period, tells time and reads env at call time', () => {
    const host = new FakeHost();
    const root = new RootContext(1, host);
    expect(root.getPluginConfiguration()).toBeUndefined();
    expect(root.getVmConfiguration()).toBeUndefined();
    host.buffers.set(BufferType.PluginConfiguration, bytes('{"receiver_vm_id":"receiver"}'));
    host.buffers.set(BufferType.VmConfiguration, bytes('vm'));
    expect(root.getPluginConfiguration()).toBe('{"receiver_vm_id":"receiver"}');
    expect(text(root.getPluginConfigurationBytes()!)).toBe('{"receiver_vm_id":"receiver"}');
    expect(root.getVmConfiguration()).toBe('vm');
    // Envoy answers Ok with no bytes for an empty configuration: that reads as "none" too.
    host.buffers.set(BufferType.VmConfiguration, new ArrayBuffer(0));
    expect(root.getVmConfiguration()).toBeUndefined();
    root.setTickPeriod(1000);
    expect(host.tickPeriod).toBe(1000);
    host.timeNs = 2_000_000_000_000_000_000;
    expect(root.getCurrentTime()).toBe(2_000_000_000_000);
    expect(root.getEnv('ACPW_AWS_SECRET_ACCESS_KEY')).toBeUndefined();
    host.environment = ['ACPW_AWS_SECRET_ACCESS_KEY=s3cr3t'];
    expect(root.getEnv('ACPW_AWS_SECRET_ACCESS_KEY')).toBe('s3cr3t');
  });

  it('owns its queue, dequeues until empty, and defines metrics', () => {
    const host = new FakeHost();
    const root = new RootContext(1, host);
    const queue = root.registerSharedQueue('aws_cloudwatch_metric');
    host.queues.get(queue)!.items.push(bytes('a'), bytes('b'));
    const drained: string[] = [];
    for (let m = root.dequeueSharedQueueString(queue); m !== undefined; m = root.dequeueSharedQueueString(queue)) drained.push(m);
    expect(drained).toEqual(['a', 'b']);
    const counter = root.defineCounter('acpw.receiver.put_calls');
    const gauge = root.defineGauge('acpw.receiver.buffered');
    const histogram = root.defineHistogram('acpw.receiver.latency');
    counter.increment(2);
    expect(counter.get()).toBe(2);
    expect([...host.metrics.values()].map((m) => [m.type, m.name])).toEqual([
      [MetricType.Counter, 'acpw.receiver.put_calls'],
      [MetricType.Gauge, 'acpw.receiver.buffered'],
      [MetricType.Histogram, 'acpw.receiver.latency'],
    ]);
    expect(gauge.name).toBe('acpw.receiver.buffered');
    expect(histogram.id).toBe(3);
  });

  it('shares logger and httpCall registry with its HTTP contexts; sets itself effective on request', () => {
    const host = new FakeHost();
    const root = new RootContext(1, host);
    const stream = new HttpContext(2, root);
    expect(stream.root).toBe(root);
    expect(stream.host).toBe(host);
    expect(stream.log).toBe(root.log);
    expect(stream.httpCalls).toBe(root.httpCalls);
    stream.httpCall('c', [[':path', '/']], 'body', [['t', '1']], 50);
    expect(root.httpCalls.size).toBe(1);
    expect(host.httpCallRecords[0]).toMatchObject({ cluster: 'c', headers: [':path', '/'], body: 'body', trailers: ['t', '1'], timeoutMs: 50 });
    stream.setEffectiveContext();
    expect(host.effectiveContext).toBe(2);
  });

  it('fails grpcCall with a clear error', () => {
    const root = new RootContext(1, new FakeHost());
    expect(() => root.grpcCall('cluster', 'svc', 'method')).toThrow(UnsupportedError);
    expect(() => root.grpcCall()).toThrow(/^gRPC is not supported yet/);
  });

  it('reads properties and shared data, and calls foreign functions', () => {
    const host = new FakeHost();
    const root = new RootContext(1, host);
    host.properties.set('plugin_root_id', bytes('sender'));
    expect(root.getPropertyString(['plugin_root_id'])).toBe('sender');
    expect(root.getProperty(['missing'])).toBeUndefined();
    expect(root.setSharedData('k', 'v')).toBe(true);
    expect(text(root.getSharedData('k')!.value)).toBe('v');
    host.foreignFunctions.set('echo', (arg) => arg);
    expect(text(root.callForeignFunction('echo', 'hi')!)).toBe('hi');
    expect(root.callForeignFunction('compress', 'hi')).toBeUndefined();
  });
});

describe('HttpContext helpers', () => {
  function stream(): { host: FakeHost; http: HttpContext } {
    const host = new FakeHost();
    return { host, http: new HttpContext(2, new RootContext(1, host)) };
  }

  it('reads and edits request and response headers and trailers', () => {
    const { host, http } = stream();
    host.headerMaps.set(MapType.HttpRequestHeaders, [[':authority', 'example.com'], [':path', '/a?b=1']]);
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
    expect(host.headerMaps.get(MapType.HttpRequestHeaders)).toEqual([['only', 'one']]);
  });

  it('reads and replaces bodies', () => {
    const { host, http } = stream();
    host.buffers.set(BufferType.HttpRequestBody, bytes('hello world'));
    expect(http.getRequestBodyText()).toBe('hello world');
    expect(http.getRequestBodyText(6, 5)).toBe('world');
    http.setRequestBody('HELLO', 0, 5);
    expect(text(http.getRequestBody()!)).toBe('HELLO world');
    expect(http.getResponseBody()).toBeUndefined();
    http.setResponseBody('new');
    expect(http.getResponseBodyText()).toBe('new');
    expect(text(http.getResponseBody()!)).toBe('new');
  });

  it('controls the stream and answers locally', () => {
    const { host, http } = stream();
    http.continueRequest();
    http.continueResponse();
    http.closeRequest();
    http.closeResponse();
    http.sendLocalResponse(429, 'slow down', [['retry-after', '1']]);
    expect(host.streamOps).toEqual([
      ['continue', StreamType.Request], ['continue', StreamType.Response],
      ['close', StreamType.Request], ['close', StreamType.Response],
    ]);
    expect(host.localResponses).toEqual([{ statusCode: 429, body: 'slow down', headers: ['retry-after', '1'], details: '' }]);
  });
});
