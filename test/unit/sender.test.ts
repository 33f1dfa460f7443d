import { describe, expect, it } from 'vitest';
import { createDispatcher } from '../../src/sdk/dispatcher.js';
import { BufferType, LogLevel, MapType } from '../../src/abi/table.js';
import sender, { MAX_PENDING_MESSAGES, QUEUE_NAME } from '../../src/sender.js';
import { decodeMessage, type WireMessage } from '../../src/metrics/wire.js';
import { latencyBucket } from '../../src/metrics/latency.js';
import { bytes, FakeHost, text } from './sdk-fake-host.js';

const ROOT = 1;

function start(config: unknown, options: { withQueue?: boolean } = {}) {
  const host = new FakeHost();
  host.buffers.set(BufferType.PluginConfiguration, bytes(typeof config === 'string' ? config : JSON.stringify(config)));
  const queueId = options.withQueue === false ? undefined : host.addForeignQueue('receiver', QUEUE_NAME);
  const { callbacks, implemented, implementedRoot, implementedHttp } = createDispatcher(sender, host);
  callbacks['proxy_on_context_create']!(ROOT, 0);
  callbacks['proxy_on_vm_start']!(ROOT, 0);
  const configured = callbacks['proxy_on_configure']!(ROOT, 100);
  let nextStream = 100;
  const request = (authority: string | undefined, method: string, path: string, status: string | undefined, latencyMs = 3) => {
    const id = nextStream++;
    callbacks['proxy_on_context_create']!(id, ROOT);
    const requestHeaders: [string, string][] = [[':method', method], [':path', path]];
    if (authority !== undefined) requestHeaders.push([':authority', authority]);
    host.headerMaps.set(MapType.HttpRequestHeaders, requestHeaders);
    host.headerMaps.set(MapType.HttpResponseHeaders, status === undefined ? [] : [[':status', status]]);
    // Envoy's request.time: the stream's start, int64 ns since the epoch, little-endian
    const start = new DataView(new ArrayBuffer(8));
    start.setBigInt64(0, BigInt(host.timeNs), true);
    host.properties.set('request\0time', start.buffer);
    callbacks['proxy_on_request_headers']!(id, requestHeaders.length, 1);
    host.timeNs += latencyMs * 1e6;
    callbacks['proxy_on_log']!(id);
    callbacks['proxy_on_done']!(id);
    callbacks['proxy_on_delete']!(id);
  };
  const tick = () => callbacks['proxy_on_tick']!(ROOT);
  const messages = (): WireMessage[] => {
    const queue = queueId === undefined ? undefined : host.queues.get(queueId);
    const out = (queue?.items ?? []).map((item) => {
      const decoded = decodeMessage(text(item));
      if (!decoded.ok) throw new Error(decoded.reason);
      return decoded.message;
    });
    if (queue) queue.items.length = 0;
    return out;
  };
  const counter = (name: string): number | undefined => [...host.metrics.values()].find((m) => m.name === name)?.value;
  return { host, callbacks, implemented, implementedRoot, implementedHttp, configured, request, tick, messages, counter };
}

describe('sender plugin', () => {
  it('refuses a bad configuration with a log line naming the key', () => {
    const { configured, host } = start({ match_hosts: ['example.com'] });
    expect(configured).toBe(0);
    expect(host.logs).toContainEqual([LogLevel.Error, 'sender: invalid configuration: configuration key "receiver_vm_id" is required']);
    const wrongType = start({ receiver_vm_id: 'receiver', max_series: 'many' });
    expect(wrongType.configured).toBe(0);
    expect(wrongType.host.logs.some(([level, line]) => level === LogLevel.Error && line.includes('"max_series" must be an integer'))).toBe(true);
  });

  it('warns about unknown keys but starts', () => {
    const { configured, host } = start({ receiver_vm_id: 'receiver', unknown_key: 1 });
    expect(configured).toBe(1);
    expect(host.logs).toContainEqual([LogLevel.Warn, 'sender: unknown configuration key "unknown_key" is ignored']);
  });

  it('sets the tick to flush_interval_millisecond and implements only the callbacks it needs', () => {
    const { host, implemented, implementedRoot, implementedHttp } = start({ receiver_vm_id: 'receiver', flush_interval_millisecond: 250 });
    expect(host.tickPeriod).toBe(250);
    // streams: JS is entered once per request (stateless HTTP contexts: no create/delete)
    expect([...implementedHttp].sort()).toEqual(['proxy_on_http_call_response', 'proxy_on_log']);
    // the root's onDone (flush on shutdown) costs streams nothing
    expect(implementedRoot.has('proxy_on_done')).toBe(true);
    expect(implementedRoot.has('proxy_on_tick')).toBe(true);
    expect(implementedRoot.has('proxy_on_log')).toBe(false);
    expect(implemented.has('proxy_on_request_headers')).toBe(false);
    expect(implemented.has('proxy_on_response_headers')).toBe(false);
    expect(implemented.has('proxy_on_request_body')).toBe(false);
  });

  it('flushes what it aggregated since the last tick on shutdown (root proxy_on_done)', () => {
    const s = start({ receiver_vm_id: 'receiver' });
    s.request('example.com', 'GET', '/a', '200', 5);
    s.request('example.com', 'GET', '/a', '200', 5);
    expect(s.messages()).toEqual([]);
    expect(s.callbacks['proxy_on_done']!(ROOT)).toBe(1); // done at once: nothing to wait for
    const [message, ...rest] = s.messages();
    expect(rest).toEqual([]);
    expect(message!.series).toEqual([
      { host: 'example.com', method: 'GET', path: '/a', status: '200', count: 2, latency: [latencyBucket(5), 2] },
    ]);
    expect(s.counter('acpw.sender.requests_recorded')).toBe(2);
  });

  it('records an unknown latency when the host lacks request.time', () => {
    const s = start({ receiver_vm_id: 'receiver' });
    const id = 999;
    s.host.headerMaps.set(MapType.HttpRequestHeaders, [[':authority', 'a.test'], [':method', 'GET'], [':path', '/']]);
    s.host.headerMaps.set(MapType.HttpResponseHeaders, [[':status', '204']]);
    s.host.properties.clear();
    s.callbacks['proxy_on_log']!(id);
    s.tick();
    expect(s.messages()[0]!.series).toEqual([
      { host: 'a.test', method: 'GET', path: '/', status: '204', count: 1, latency: [] },
    ]);
  });

  it('records host, method, path (query stripped), status and latency, and flushes on tick', () => {
    const s = start({ receiver_vm_id: 'receiver' });
    s.request('example.com', 'GET', '/test?token=secret', '200', 3);
    s.request('example.com', 'GET', '/test?token=other', '200', 40);
    s.request('example.com', 'POST', '/items', '201', 1200);
    expect(s.messages()).toEqual([]); // nothing before the tick
    s.tick();
    const [message, ...rest] = s.messages();
    expect(rest).toEqual([]);
    expect(message!.series).toEqual([
      { host: 'example.com', method: 'GET', path: '/test', status: '200', count: 2, latency: [latencyBucket(3), 1, latencyBucket(40), 1] },
      { host: 'example.com', method: 'POST', path: '/items', status: '201', count: 1, latency: [latencyBucket(1200), 1] },
    ]);
    expect(s.counter('acpw.sender.requests_recorded')).toBe(3);
    s.tick();
    expect(s.messages()).toEqual([]); // nothing new, nothing sent
  });

  it('keeps the raw path with strip_query_string false and normalises ids when asked', () => {
    const raw = start({ receiver_vm_id: 'receiver', strip_query_string: false });
    raw.request('a.test', 'GET', '/q?x=1', '200');
    raw.tick();
    expect(raw.messages()[0]!.series[0]!.path).toBe('/q?x=1');
    const ids = start({ receiver_vm_id: 'receiver', normalize_path_ids: true });
    ids.request('a.test', 'GET', '/users/123/orders/507f1f77bcf86cd799439011', '200');
    ids.tick();
    expect(ids.messages()[0]!.series[0]!.path).toBe('/users/{id}/orders/{id}');
  });

  it('records only matching hosts (exact, case-insensitive, wildcard)', () => {
    const s = start({ receiver_vm_id: 'receiver', match_hosts: ['example.com', '*.example.org'] });
    s.request('EXAMPLE.com', 'GET', '/', '200');
    s.request('api.example.org:8443', 'GET', '/', '200');
    s.request('other.test', 'GET', '/', '200');
    s.request('example.org', 'GET', '/', '200');
    s.tick();
    expect(s.messages()[0]!.series.map((x) => x.host)).toEqual(['EXAMPLE.com', 'api.example.org:8443']);
    expect(s.counter('acpw.sender.requests_recorded')).toBe(2);
  });

  it('fills in missing values so CloudWatch accepts them', () => {
    const s = start({ receiver_vm_id: 'receiver' });
    s.request(undefined, 'GET', '/', undefined);
    s.tick();
    expect(s.messages()[0]!.series[0]).toMatchObject({ host: '_unknown', status: '_unknown' });
    s.request('a.test', 'GET', '/caf\u00e9/' + 'x'.repeat(1000), '200');
    s.tick();
    const path = s.messages()[0]!.series[0]!.path;
    expect(path.startsWith('/caf?/xxx')).toBe(true);
    expect(path).toHaveLength(256);
  });

  it('caps series per window and counts overflow requests', () => {
    const s = start({ receiver_vm_id: 'receiver', max_series: 3 });
    for (let i = 0; i < 10; i++) s.request(`h${i}.spray.test`, 'GET', '/', '200');
    s.tick();
    const series = s.messages()[0]!.series;
    expect(series).toHaveLength(4);
    expect(series[3]).toMatchObject({ host: '_overflow', method: '_overflow', path: '_overflow', status: '_overflow', count: 7 });
    expect(s.counter('acpw.sender.series_overflow')).toBe(7);
    expect(s.counter('acpw.sender.requests_recorded')).toBe(10);
  });

  it('flushes early when the size bound is hit', () => {
    const s = start({ receiver_vm_id: 'receiver', max_series: 50_000 });
    for (let i = 0; i < 10_001; i++) s.request('a.test', 'GET', `/p${i}`, '200');
    const early = s.messages();
    expect(early).toHaveLength(1); // 10,000 series + 10,000 latency buckets = the 20,000-entry bound
    expect(early[0]!.series).toHaveLength(10_000);
    s.tick();
    expect(s.messages()[0]!.series.map((x) => x.path)).toEqual(['/p10000']);
  });

  it('keeps aggregates while the receiver queue is missing, then delivers them in order', () => {
    const s = start({ receiver_vm_id: 'receiver' }, { withQueue: false });
    s.request('a.test', 'GET', '/1', '200');
    s.tick();
    s.request('a.test', 'GET', '/2', '200');
    s.tick();
    expect(s.host.logs.filter(([, line]) => line.includes('not found yet'))).toHaveLength(1);
    const queueId = s.host.addForeignQueue('receiver', QUEUE_NAME);
    s.request('a.test', 'GET', '/3', '200');
    s.tick();
    const paths = s.host.queues.get(queueId)!.items.map((item) => {
      const decoded = decodeMessage(text(item));
      return decoded.ok ? decoded.message.series[0]!.path : 'malformed';
    });
    expect(paths).toEqual(['/1', '/2', '/3']);
    expect(s.counter('acpw.sender.enqueue_failures')).toBe(0);
  });

  it('drops the oldest aggregates past the pending bound and counts them', () => {
    const s = start({ receiver_vm_id: 'receiver' }, { withQueue: false });
    for (let i = 0; i < MAX_PENDING_MESSAGES + 3; i++) {
      s.request('a.test', 'GET', `/${i}`, '200');
      s.tick();
    }
    expect(s.counter('acpw.sender.enqueue_failures')).toBe(3);
    const queueId = s.host.addForeignQueue('receiver', QUEUE_NAME);
    s.tick();
    const items = s.host.queues.get(queueId)!.items;
    expect(items).toHaveLength(MAX_PENDING_MESSAGES);
    const first = decodeMessage(text(items[0]!));
    expect(first.ok && first.message.series[0]!.path).toBe('/3');
  });

  it('resolves the queue again after it disappears', () => {
    const s = start({ receiver_vm_id: 'receiver' });
    s.request('a.test', 'GET', '/1', '200');
    s.tick();
    s.messages();
    for (const [id, queue] of s.host.queues) if (queue.vmId === 'receiver') s.host.queues.delete(id);
    s.request('a.test', 'GET', '/2', '200');
    s.tick(); // enqueue fails with NotFound: kept
    const queueId = s.host.addForeignQueue('receiver', QUEUE_NAME);
    s.tick();
    expect(s.host.queues.get(queueId)!.items).toHaveLength(1);
  });
});
