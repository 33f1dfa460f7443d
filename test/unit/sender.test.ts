import { describe, expect, it } from 'vitest';
import { createDispatcher } from '../../src/sdk/dispatcher.js';
import { BufferType, LogLevel, MapType } from '../../src/abi/table.js';
import sender, { MAX_PENDING_MESSAGES, QUEUE_NAME } from '../../src/sender.js';
import { decodeMessage, type WireMessage } from '../../src/metrics/wire.js';
import { latencyBucket } from '../../src/metrics/latency.js';
import { bytes, FakeHost, text } from './sdk-fake-host.js';
import { PLUGIN_MODES, startPlugin, type PluginMode } from '../support/plugin-vm.js';

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

// -- what only the SDK alone can show (FakeHost): the callback sets, and inputs a real host never
// produces (no :authority, no :status, no request.time); the behaviour is checked both ways below.
describe('sender plugin on the SDK alone', () => {
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

// -- the sender's behaviour, one body run twice: TypeScript in-process (NodeHost) and sender.wasm --

const RECEIVER = 'receiver';

function startSender(mode: PluginMode, config: unknown, options: { withQueue?: boolean } = {}) {
  let queue: { id: number; drain(): string[] } | undefined;
  const s = startPlugin(mode, { plugin: sender, wasm: 'sender.wasm' }, {
    vmId: 'sender',
    pluginConfiguration: typeof config === 'string' ? config : JSON.stringify(config),
  });
  const addQueue = () => (queue = s.foreignQueue(RECEIVER, QUEUE_NAME));
  if (options.withQueue !== false) addQueue();
  const request = (authority: string, method: string, path: string, status: number, latencyMs = 3) => {
    s.request({ authority, method, path, startedMsAgo: latencyMs, response: { status } });
  };
  const messages = (): WireMessage[] => (queue?.drain() ?? []).map((item) => {
    const decoded = decodeMessage(item);
    if (!decoded.ok) throw new Error(decoded.reason);
    return decoded.message;
  });
  const logLines = (level: LogLevel) => s.logs.filter((entry) => entry.level === level).map((entry) => entry.message);
  return { ...s, request, messages, addQueue, logLines, configured: s.vm.state === 'running' };
}

describe.each(PLUGIN_MODES)('sender plugin (%s)', (mode) => {
  it('refuses a bad configuration with a log line naming the key', () => {
    const missing = startSender(mode, { match_hosts: ['example.com'] });
    expect(missing.configured).toBe(false);
    expect(missing.logLines(LogLevel.Error)).toContain('sender: invalid configuration: configuration key "receiver_vm_id" is required');
    const wrongType = startSender(mode, { receiver_vm_id: RECEIVER, max_series: 'many' });
    expect(wrongType.configured).toBe(false);
    expect(wrongType.logLines(LogLevel.Error).some((line) => line.includes('"max_series" must be an integer'))).toBe(true);
  });

  it('warns about unknown keys but starts', () => {
    const s = startSender(mode, { receiver_vm_id: RECEIVER, unknown_key: 1 });
    expect(s.configured).toBe(true);
    expect(s.logLines(LogLevel.Warn)).toContain('sender: unknown configuration key "unknown_key" is ignored');
  });

  it('sets the tick to flush_interval_millisecond', () => {
    expect(startSender(mode, { receiver_vm_id: RECEIVER, flush_interval_millisecond: 250 }).vm.tickPeriodMs).toBe(250);
  });

  it('flushes what it aggregated since the last tick on shutdown (root proxy_on_done)', async () => {
    const s = startSender(mode, { receiver_vm_id: RECEIVER });
    s.request('example.com', 'GET', '/a', 200, 5);
    s.request('example.com', 'GET', '/a', 200, 5);
    expect(s.messages()).toEqual([]);
    await s.vm.shutdown(1000); // done at once: nothing to wait for
    const [message, ...rest] = s.messages();
    expect(rest).toEqual([]);
    expect(message!.series).toEqual([
      { host: 'example.com', method: 'GET', path: '/a', status: '200', count: 2, latency: [latencyBucket(5), 2] },
    ]);
    expect(s.counter('acpw.sender.requests_recorded')).toBe(2);
  });

  it('records host, method, path (query stripped), status and latency, and flushes on tick', () => {
    const s = startSender(mode, { receiver_vm_id: RECEIVER });
    s.request('example.com', 'GET', '/test?token=secret', 200, 3);
    s.request('example.com', 'GET', '/test?token=other', 200, 40);
    s.request('example.com', 'POST', '/items', 201, 1200);
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
    const raw = startSender(mode, { receiver_vm_id: RECEIVER, strip_query_string: false });
    raw.request('a.test', 'GET', '/q?x=1', 200);
    raw.tick();
    expect(raw.messages()[0]!.series[0]!.path).toBe('/q?x=1');
    const ids = startSender(mode, { receiver_vm_id: RECEIVER, normalize_path_ids: true });
    ids.request('a.test', 'GET', '/users/123/orders/507f1f77bcf86cd799439011', 200);
    ids.tick();
    expect(ids.messages()[0]!.series[0]!.path).toBe('/users/{id}/orders/{id}');
  });

  it('records only matching hosts (exact, case-insensitive, wildcard)', () => {
    const s = startSender(mode, { receiver_vm_id: RECEIVER, match_hosts: ['example.com', '*.example.org'] });
    s.request('EXAMPLE.com', 'GET', '/', 200);
    s.request('api.example.org:8443', 'GET', '/', 200);
    s.request('other.test', 'GET', '/', 200);
    s.request('example.org', 'GET', '/', 200);
    s.tick();
    expect(s.messages()[0]!.series.map((x) => x.host)).toEqual(['EXAMPLE.com', 'api.example.org:8443']);
    expect(s.counter('acpw.sender.requests_recorded')).toBe(2);
  });

  it('fills in values CloudWatch would refuse', () => {
    const s = startSender(mode, { receiver_vm_id: RECEIVER });
    s.request('a.test', 'GET', '/caf\u00e9/' + 'x'.repeat(1000), 200);
    s.tick();
    const path = s.messages()[0]!.series[0]!.path;
    expect(path.startsWith('/caf?/xxx')).toBe(true);
    expect(path).toHaveLength(256);
  });

  it('caps series per window and counts overflow requests', () => {
    const s = startSender(mode, { receiver_vm_id: RECEIVER, max_series: 3 });
    for (let i = 0; i < 10; i++) s.request(`h${i}.spray.test`, 'GET', '/', 200);
    s.tick();
    const series = s.messages()[0]!.series;
    expect(series).toHaveLength(4);
    expect(series[3]).toMatchObject({ host: '_overflow', method: '_overflow', path: '_overflow', status: '_overflow', count: 7 });
    expect(s.counter('acpw.sender.series_overflow')).toBe(7);
    expect(s.counter('acpw.sender.requests_recorded')).toBe(10);
  });

  it('flushes early when the size bound is hit', () => {
    const s = startSender(mode, { receiver_vm_id: RECEIVER, max_series: 50_000 });
    for (let i = 0; i < 10_001; i++) s.request('a.test', 'GET', `/p${i}`, 200);
    const early = s.messages();
    // In Wasm the bridge hands the log capture's records over in batches (64), so the bound is
    // seen when the batch holding it arrives: at the latest before the tick's own flush.
    if (mode === 'TypeScript in-process') expect(early).toHaveLength(1);
    s.tick();
    const messages = [...early, ...s.messages()];
    expect(messages).toHaveLength(2);
    expect(messages[0]!.series).toHaveLength(10_000); // 10,000 series + 10,000 latency buckets = the 20,000-entry bound
    expect(messages[1]!.series.map((x) => x.path)).toEqual(['/p10000']);
  });

  it('keeps aggregates while the receiver queue is missing, then delivers them in order', () => {
    const s = startSender(mode, { receiver_vm_id: RECEIVER }, { withQueue: false });
    s.request('a.test', 'GET', '/1', 200);
    s.tick();
    s.request('a.test', 'GET', '/2', 200);
    s.tick();
    expect(s.logLines(LogLevel.Warn).filter((line) => line.includes('not found yet'))).toHaveLength(1);
    s.addQueue();
    s.request('a.test', 'GET', '/3', 200);
    s.tick();
    expect(s.messages().map((message) => message.series[0]!.path)).toEqual(['/1', '/2', '/3']);
    expect(s.counter('acpw.sender.enqueue_failures')).toBe(0);
  });

  it('drops the oldest aggregates past the pending bound and counts them', () => {
    const s = startSender(mode, { receiver_vm_id: RECEIVER }, { withQueue: false });
    for (let i = 0; i < MAX_PENDING_MESSAGES + 3; i++) {
      s.request('a.test', 'GET', `/${i}`, 200);
      s.tick();
    }
    expect(s.counter('acpw.sender.enqueue_failures')).toBe(3);
    s.addQueue();
    s.tick();
    const delivered = s.messages();
    expect(delivered).toHaveLength(MAX_PENDING_MESSAGES);
    expect(delivered[0]!.series[0]!.path).toBe('/3');
  });
});
