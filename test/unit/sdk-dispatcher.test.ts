import { describe, expect, it } from 'vitest';
import {
  Action, BufferType, CALLBACKS, LogLevel, MapType,
} from '../../src/abi/table.js';
import {
  HttpContext, RootContext, StatelessHttpContext, createDispatcher, definePlugin, type HttpCallResponse,
} from '../../src/sdk/index.js';
import type { Host } from '../../src/abi/host.js';
import { FakeHost, bytes } from './sdk-fake-host.js';

/** A plugin whose root starts `task` with runTask on every tick. */
function taskOnTick(name: string, what: string, task: (root: RootContext) => Promise<void>) {
  return definePlugin({
    name,
    root: class extends RootContext {
      override onTick(): void {
        this.runTask(what, () => task(this));
      }
    },
  });
}

// -- a small plugin exercising the SDK the way sender/receiver do ---------------------------

class DemoRoot extends RootContext {
  config = '';
  ticks = 0;
  queueReady: number[] = [];
  responses: string[] = [];
  finishing = false;

  override onConfigure(size: number): boolean {
    const config = this.getPluginConfiguration();
    if (config === undefined || config.length !== size) return false;
    if (config === 'throw') throw new Error('config exploded');
    this.config = config;
    return true;
  }

  override onTick(): void {
    this.ticks++;
    if (this.config === 'tick-throws') throw new RangeError('tick exploded');
  }

  override onQueueReady(queueId: number): void {
    this.queueReady.push(queueId);
  }

  override onDone(): boolean {
    this.finishing = true;
    return false; // finish later with done()
  }
}

class DemoHttp extends HttpContext<DemoRoot> {
  seen: string[] = [];
  deleted = false;

  override onRequestHeaders(_numHeaders: number, endOfStream: boolean): Action {
    const path = this.getRequestHeader(':path');
    this.seen.push(`headers ${path} eos=${endOfStream}`);
    if (path === '/throw') throw new Error(`cannot handle ${path}`);
    if (path === '/undefined') return undefined as unknown as Action; // a JS plugin forgetting `return`
    return path === '/pause' ? Action.Pause : Action.Continue;
  }

  override onLog(): void {
    this.seen.push(`log ${this.getResponseHeader(':status')} root=${this.root.config}`);
  }

  override onDelete(): void {
    this.deleted = true;
  }
}

const demo = definePlugin({ name: 'demo', root: DemoRoot, http: DemoHttp });

/** Drives a VM the way Envoy does: root context 1, configure, then streams. */
function startVm(config = 'cfg', plugin = demo): { host: FakeHost; cb: Record<string, (...args: number[]) => number>; implemented: ReadonlySet<string> } {
  const host = new FakeHost();
  host.buffers.set(BufferType.PluginConfiguration, bytes(config));
  const dispatcher = createDispatcher(plugin, host);
  const cb = dispatcher.callbacks;
  cb.proxy_on_context_create!(1, 0);
  expect(cb.proxy_on_vm_start!(1, 0)).toBe(1);
  return { host, cb, implemented: dispatcher.implemented };
}

function errorLogs(host: FakeHost): string[] {
  return host.logs.filter(([level]) => level === LogLevel.Error).map(([, message]) => message);
}

describe('dispatcher: routing', () => {
  it('offers one function per CALLBACKS entry; unrouted ones return the fallback', () => {
    const { cb } = startVm();
    expect(Object.keys(cb).sort()).toEqual(CALLBACKS.map((c) => c.name).sort());
    expect(cb.proxy_on_new_connection!(5)).toBe(0);
    expect(cb.proxy_on_downstream_data!(5, 10, 0)).toBe(0);
  });

  it('runs context create → vm_start → configure → request headers, reading a header through a hostcall', () => {
    const { host, cb } = startVm('cfg');
    expect(cb.proxy_on_configure!(1, 3)).toBe(1);
    cb.proxy_on_context_create!(2, 1);
    host.headerMaps.set(MapType.HttpRequestHeaders, [[':path', '/pause']]);
    host.calls.length = 0;
    expect(cb.proxy_on_request_headers!(2, 1, 1)).toBe(Action.Pause);
    expect(host.calls).toEqual(['getHeaderMapValue']);
    host.headerMaps.set(MapType.HttpRequestHeaders, [[':path', '/ok']]);
    expect(cb.proxy_on_request_headers!(2, 1, 0)).toBe(Action.Continue);
    host.headerMaps.set(MapType.HttpResponseHeaders, [[':status', '204']]);
    cb.proxy_on_log!(2);
    expect(cb.proxy_on_done!(2)).toBe(1); // HTTP context keeps the default onDone
    cb.proxy_on_delete!(2);
    expect(host.logs).toEqual([]);
  });

  it('returns false from configure when the plugin rejects its configuration', () => {
    const { cb } = startVm('cfg');
    expect(cb.proxy_on_configure!(1, 99)).toBe(0); // size mismatch → the plugin says no
  });

  it('routes each stream to its own context and root, and forgets deleted contexts', () => {
    const host = new FakeHost();
    host.buffers.set(BufferType.PluginConfiguration, bytes('A'));
    const { callbacks: cb } = createDispatcher(demo, host);
    const seen: DemoHttp[] = [];
    const plugin = definePlugin({
      name: 'spy',
      root: class extends DemoRoot {
        override createHttpContext(contextId: number): HttpContext {
          const ctx = new DemoHttp(contextId, this);
          seen.push(ctx);
          return ctx;
        }
      },
      http: DemoHttp,
    });
    const spy = createDispatcher(plugin, host).callbacks;
    spy.proxy_on_context_create!(1, 0);
    spy.proxy_on_configure!(1, 1);
    host.buffers.set(BufferType.PluginConfiguration, bytes('B'));
    spy.proxy_on_context_create!(10, 0);
    spy.proxy_on_configure!(10, 1);
    spy.proxy_on_context_create!(2, 1);
    spy.proxy_on_context_create!(3, 10);
    host.headerMaps.set(MapType.HttpRequestHeaders, [[':path', '/x']]);
    host.headerMaps.set(MapType.HttpResponseHeaders, [[':status', '200']]);
    spy.proxy_on_request_headers!(3, 1, 0);
    spy.proxy_on_log!(2);
    spy.proxy_on_log!(3);
    expect(seen.map((s) => [s.contextId, s.root.contextId, s.seen])).toEqual([
      [2, 1, ['log 200 root=A']],
      [3, 10, ['headers /x eos=false', 'log 200 root=B']],
    ]);
    spy.proxy_on_delete!(3);
    expect(seen[1]!.deleted).toBe(true);
    expect(spy.proxy_on_request_headers!(3, 1, 0)).toBe(0);
    expect(seen[1]!.seen).toHaveLength(2); // nothing routed to the deleted context
    // The first dispatcher (no contexts created) stays untouched by the second.
    expect(cb.proxy_on_request_headers!(3, 1, 0)).toBe(0);
  });

  it('keeps VMs independent: one plugin definition, two hosts', () => {
    const a = startVm('A');
    const b = startVm('B');
    a.cb.proxy_on_configure!(1, 1);
    b.cb.proxy_on_configure!(1, 1);
    a.cb.proxy_on_tick!(1);
    a.cb.proxy_on_context_create!(2, 1);
    b.cb.proxy_on_context_create!(2, 1);
    a.host.headerMaps.set(MapType.HttpResponseHeaders, [[':status', '500']]);
    b.host.headerMaps.set(MapType.HttpResponseHeaders, [[':status', '201']]);
    a.cb.proxy_on_log!(2);
    b.cb.proxy_on_log!(2);
    expect(a.host.calls.filter((c) => c === 'getHeaderMapValue')).toHaveLength(1);
    expect(b.host.calls.filter((c) => c === 'getHeaderMapValue')).toHaveLength(1);
  });

  it('routes queue_ready and tick to the root, invalidating the cached log level', () => {
    const { host, cb } = startVm();
    let root: DemoRoot | undefined;
    const plugin = definePlugin({
      name: 'q',
      root: class extends DemoRoot {
        constructor(id: number, h: Host) {
          super(id, h);
          root = this;
        }
      },
    });
    const q = createDispatcher(plugin, host).callbacks;
    q.proxy_on_context_create!(7, 0);
    q.proxy_on_queue_ready!(7, 42);
    q.proxy_on_tick!(7);
    expect(root!.queueReady).toEqual([42]);
    expect(root!.ticks).toBe(1);
    root!.log.info('level read as trace: visible');
    host.logLevel = LogLevel.Warn;
    root!.log.info('cached level trace: visible');
    q.proxy_on_tick!(7);
    root!.log.info('level re-read as warn: hidden');
    expect(host.logs.map(([, m]) => m)).toEqual(['level read as trace: visible', 'cached level trace: visible']);
    expect(cb.proxy_on_tick!(99)).toBe(0); // unknown context: harmless
  });

  it('supports delayed completion: onDone false, then done()', () => {
    let root: DemoRoot | undefined;
    const plugin = definePlugin({
      name: 'late',
      root: class extends DemoRoot {
        constructor(id: number, h: Host) {
          super(id, h);
          root = this;
        }
      },
    });
    const { host, cb } = startVm('cfg', plugin);
    expect(cb.proxy_on_done!(1)).toBe(0);
    expect(root!.finishing).toBe(true);
    root!.done();
    expect(host.doneCalls).toBe(1);
    cb.proxy_on_delete!(1);
    expect(cb.proxy_on_done!(1)).toBe(1); // gone: fallback
  });
});

describe('dispatcher: exception containment', () => {
  it('logs the error with its stack, returns the fallback, and the next call works', () => {
    const { host, cb } = startVm();
    cb.proxy_on_context_create!(2, 1);
    host.headerMaps.set(MapType.HttpRequestHeaders, [[':path', '/throw']]);
    expect(cb.proxy_on_request_headers!(2, 1, 0)).toBe(Action.Continue);
    const [line] = errorLogs(host);
    expect(line).toMatch(/^demo: proxy_on_request_headers \(context 2\) threw: Error: cannot handle \/throw\n/);
    expect(line).toMatch(/\n\s+at .*onRequestHeaders/);
    host.headerMaps.set(MapType.HttpRequestHeaders, [[':path', '/pause']]);
    expect(cb.proxy_on_request_headers!(2, 1, 0)).toBe(Action.Pause);
    expect(errorLogs(host)).toHaveLength(1);
  });

  it('fails the start from a throwing configure (logged, false) and keeps ticking after a throwing tick', () => {
    const { host, cb } = startVm('throw');
    expect(cb.proxy_on_configure!(1, 5)).toBe(0); // a broken plugin never reports itself configured
    expect(errorLogs(host)[0]).toContain('proxy_on_configure (context 1) threw: Error: config exploded');
    const second = startVm('tick-throws');
    second.cb.proxy_on_configure!(1, 11);
    second.cb.proxy_on_tick!(1);
    second.cb.proxy_on_tick!(1);
    expect(errorLogs(second.host)).toHaveLength(2);
    expect(errorLogs(second.host)[1]).toContain('RangeError: tick exploded');
  });

  it('contains a throwing constructor: logged, later callbacks for that id fall back', () => {
    const plugin = definePlugin({
      name: 'ctor',
      root: DemoRoot,
      http: class extends DemoHttp {
        constructor(id: number, root: DemoRoot) {
          super(id, root);
          throw new Error('no stream for you');
        }
      },
    });
    const { host, cb } = startVm('cfg', plugin);
    cb.proxy_on_context_create!(2, 1);
    expect(errorLogs(host)[0]).toContain('ctor: proxy_on_context_create (context 2) threw: Error: no stream for you');
    expect(cb.proxy_on_request_headers!(2, 1, 0)).toBe(0);
    cb.proxy_on_log!(2);
    cb.proxy_on_delete!(2);
    expect(errorLogs(host)).toHaveLength(1);
  });

  it('normalises a missing return value to Continue, and survives a host that cannot log', () => {
    const { host, cb } = startVm();
    cb.proxy_on_context_create!(2, 1);
    host.headerMaps.set(MapType.HttpRequestHeaders, [[':path', '/undefined']]);
    expect(cb.proxy_on_request_headers!(2, 1, 0)).toBe(0);
    host.headerMaps.set(MapType.HttpRequestHeaders, [[':path', '/throw']]);
    const throwingLog = host.log.bind(host);
    host.log = () => { throw new Error('log broken'); };
    expect(cb.proxy_on_request_headers!(2, 1, 0)).toBe(0);
    host.log = throwingLog;
  });

  it('logs a rejected async task started with runTask', async () => {
    const { host, cb } = startVm();
    const plugin = taskOnTick('async', 'publish', async () => {
      await Promise.resolve();
      throw new Error('signing failed');
    });
    const a = createDispatcher(plugin, host).callbacks;
    a.proxy_on_context_create!(5, 0);
    a.proxy_on_tick!(5);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(errorLogs(host)[0]).toMatch(/^publish failed: Error: signing failed/);
    expect(cb.proxy_on_tick!(1)).toBe(0);
  });
});

describe('dispatcher: http_call token routing', () => {
  class CallerRoot extends RootContext {
    readonly results: string[] = [];

    override onTick(): void {
      this.httpCall('cw', [[':method', 'POST'], [':path', '/'], [':authority', 'x']], '{}', [], 5000, (r: HttpCallResponse) => {
        this.results.push(`root ${r.token} ${r.status} ${r.header('x-amzn-requestid')} ${r.bodyText()} failed=${r.failed}`);
      });
    }

    override onHttpCallResponse(token: number, numHeaders: number): void {
      this.results.push(`root unregistered ${token} ${numHeaders}`);
    }
  }

  class CallerHttp extends HttpContext<CallerRoot> {
    override onRequestHeaders(): Action {
      this.httpCall('authz', [[':method', 'GET'], [':path', '/check'], [':authority', 'authz']], '', [], 100, (r) => {
        this.root.results.push(`stream ${this.contextId} got ${r.status} headers=${JSON.stringify(r.headers())}`);
        this.continueRequest();
      });
      return Action.Pause;
    }
  }

  const caller = definePlugin({ name: 'caller', root: CallerRoot, http: CallerHttp });

  function setup(): { host: FakeHost; cb: Record<string, (...args: number[]) => number>; root: () => CallerRoot } {
    const host = new FakeHost();
    let rootRef: CallerRoot | undefined;
    const plugin = definePlugin({
      name: 'caller',
      root: class extends CallerRoot {
        constructor(id: number, h: Host) {
          super(id, h);
          rootRef = this;
        }
      },
      http: CallerHttp,
    });
    const cb = createDispatcher(plugin, host).callbacks;
    cb.proxy_on_context_create!(1, 0);
    return { host, cb, root: () => rootRef! };
  }

  it('delivers each response to the callback registered under its token', () => {
    const { host, cb, root } = setup();
    cb.proxy_on_tick!(1);
    cb.proxy_on_tick!(1);
    const [first, second] = host.httpCallRecords;
    expect(first!.cluster).toBe('cw');
    expect(first!.headers).toEqual([':method', 'POST', ':path', '/', ':authority', 'x']);
    expect(first!.timeoutMs).toBe(5000);
    host.headerMaps.set(MapType.HttpCallResponseHeaders, [[':status', '200'], ['x-amzn-requestid', 'r-2']]);
    host.buffers.set(BufferType.HttpCallResponseBody, bytes('{"ok":true}'));
    cb.proxy_on_http_call_response!(1, second!.token, 2, 11, 0);
    // Connection failure: no headers.
    cb.proxy_on_http_call_response!(1, first!.token, 0, 0, 0);
    expect(root().results).toEqual([
      `root ${second!.token} 200 r-2 {"ok":true} failed=false`,
      `root ${first!.token} 0 undefined  failed=true`,
    ]);
    // A response arrives once: a repeated token is unregistered.
    cb.proxy_on_http_call_response!(1, first!.token, 0, 0, 0);
    expect(root().results.at(-1)).toBe(`root unregistered ${first!.token} 0`);
    expect(host.effectiveContextCalls).toEqual([]); // caller was the reported context
  });

  it('makes the calling HTTP context effective when the host reports another id', () => {
    const { host, cb, root } = setup();
    cb.proxy_on_context_create!(2, 1);
    expect(cb.proxy_on_request_headers!(2, 0, 0)).toBe(Action.Pause);
    const call = host.httpCallRecords[0]!;
    host.headerMaps.set(MapType.HttpCallResponseHeaders, [[':status', '403']]);
    // Some hosts report the root id for every response: the token still finds the stream.
    cb.proxy_on_http_call_response!(1, call.token, 1, 0, 0);
    expect(host.effectiveContextCalls).toEqual([2]);
    expect(root().results).toEqual(['stream 2 got 403 headers=[[":status","403"]]']);
    expect(host.streamOps).toEqual([['continue', 0]]);
  });

  it('finds the token when the reported id is the stream itself or an unknown id', () => {
    const { host, cb, root } = setup();
    cb.proxy_on_context_create!(2, 1);
    cb.proxy_on_context_create!(3, 1);
    cb.proxy_on_request_headers!(2, 0, 0);
    cb.proxy_on_request_headers!(3, 0, 0);
    const [a, b] = host.httpCallRecords;
    host.headerMaps.set(MapType.HttpCallResponseHeaders, [[':status', '200']]);
    cb.proxy_on_http_call_response!(2, a!.token, 1, 0, 0);
    cb.proxy_on_http_call_response!(77, b!.token, 1, 0, 0);
    expect(root().results).toEqual(['stream 2 got 200 headers=[[":status","200"]]', 'stream 3 got 200 headers=[[":status","200"]]']);
    expect(host.effectiveContextCalls).toEqual([3]);
  });

  it('drops the response to a call whose stream was deleted meanwhile', () => {
    const { host, cb, root } = setup();
    cb.proxy_on_context_create!(2, 1);
    cb.proxy_on_request_headers!(2, 0, 0);
    cb.proxy_on_delete!(2);
    expect(root().httpCalls.size).toBe(1);
    cb.proxy_on_http_call_response!(1, host.httpCallRecords[0]!.token, 1, 0, 0);
    expect(root().httpCalls.size).toBe(0);
    expect(root().results).toEqual([]); // neither the stream's callback nor the root's fallback
    expect(host.effectiveContextCalls).toEqual([]);
  });

  it('contains an exception thrown by a response callback', () => {
    const host = new FakeHost();
    const plugin = definePlugin({
      name: 'cbthrow',
      root: class extends RootContext {
        override onTick(): void {
          this.httpCall('c', [], '', [], 10, () => { throw new Error('callback bug'); });
        }
      },
    });
    const cb = createDispatcher(plugin, host).callbacks;
    cb.proxy_on_context_create!(1, 0);
    cb.proxy_on_tick!(1);
    cb.proxy_on_http_call_response!(1, host.httpCallRecords[0]!.token, 0, 0, 0);
    expect(errorLogs(host)[0]).toContain('cbthrow: proxy_on_http_call_response (context 1) threw: Error: callback bug');
    cb.proxy_on_tick!(1);
    expect(host.httpCallRecords).toHaveLength(2);
  });

  it('keeps the plugin usable when the host rejects the call', () => {
    const host = new FakeHost();
    const cb = createDispatcher(caller, host).callbacks;
    cb.proxy_on_context_create!(1, 0);
    host.forced.set('httpCall', 2 /* BadArgument */);
    cb.proxy_on_tick!(1);
    expect(errorLogs(host)[0]).toContain('HostcallError: proxy_http_call failed: BadArgument (cluster "cw")');
    cb.proxy_on_tick!(1);
    expect(host.httpCallRecords).toHaveLength(1);
  });
});

describe('dispatcher: implemented set', () => {
  const ALWAYS = ['proxy_on_context_create', 'proxy_on_delete', 'proxy_on_http_call_response'];

  it('names exactly the overridden callbacks plus bookkeeping', () => {
    const { implemented } = createDispatcher(demo, new FakeHost());
    expect([...implemented].sort()).toEqual([
      ...ALWAYS, 'proxy_on_configure', 'proxy_on_tick', 'proxy_on_queue_ready', 'proxy_on_done',
      'proxy_on_request_headers', 'proxy_on_log',
    ].sort());
  });

  it('sees overrides inherited through intermediate classes', () => {
    class Base extends HttpContext {
      override onResponseHeaders(): Action { return Action.Continue; }
    }
    class Leaf extends Base {}
    const plugin = definePlugin({ name: 'inh', root: RootContext, http: Leaf });
    expect([...createDispatcher(plugin, new FakeHost()).implemented].sort()).toEqual([...ALWAYS, 'proxy_on_response_headers'].sort());
  });

  it('has no HTTP callbacks for a plugin without HTTP contexts (a service VM)', () => {
    const plugin = definePlugin({
      name: 'service',
      root: class extends RootContext {
        override onVmStart(): boolean { return true; }
        override onForeignFunction(): void {}
      },
    });
    expect([...createDispatcher(plugin, new FakeHost()).implemented].sort())
      .toEqual([...ALWAYS, 'proxy_on_vm_start', 'proxy_on_foreign_function'].sort());
  });

  it('assumes every HTTP callback is used when the root builds undeclared HTTP contexts', () => {
    const plugin = definePlugin({
      name: 'dyn',
      root: class extends RootContext {
        override createHttpContext(id: number): HttpContext { return new HttpContext(id, this); }
      },
    });
    const implemented = createDispatcher(plugin, new FakeHost()).implemented;
    for (const name of ['proxy_on_request_headers', 'proxy_on_request_body', 'proxy_on_request_trailers',
      'proxy_on_response_headers', 'proxy_on_response_body', 'proxy_on_response_trailers', 'proxy_on_log', 'proxy_on_done']) {
      expect(implemented.has(name)).toBe(true);
    }
    expect(implemented.has('proxy_on_tick')).toBe(false);
    expect(implemented.has('proxy_on_new_connection')).toBe(false);
  });
});

describe('dispatcher: per context kind, and stateless HTTP contexts', () => {
  class CountingRoot extends RootContext {
    readonly seen: string[] = [];
    constructed = 0;
    override onDone(): boolean {
      this.seen.push('root done');
      return true;
    }
  }
  /** Overrides only onLog: stateless. */
  class LogOnly extends StatelessHttpContext<CountingRoot> {
    constructor(id: number, root: CountingRoot) {
      super(id, root);
      root.constructed++;
    }
    override onLog(): void {
      this.root.seen.push(`log ${this.contextId} ${this.getRequestHeader(':path')}`);
      if (this.getRequestHeader(':path') === '/call') {
        this.httpCall('c', [], '', [], 10, (r) => this.root.seen.push(`stream ${this.contextId} got ${r.token}`));
      }
    }
  }
  const logOnly = definePlugin({ name: 'log-only', root: CountingRoot, http: LogOnly });

  function startLogOnly(): { host: FakeHost; d: ReturnType<typeof createDispatcher>; roots: CountingRoot[]; changes: () => number } {
    const host = new FakeHost();
    const roots: CountingRoot[] = [];
    const plugin = definePlugin({
      name: 'log-only',
      root: class extends CountingRoot {
        constructor(id: number, h: Host) {
          super(id, h);
          roots.push(this);
        }
      },
      http: LogOnly,
    });
    const d = createDispatcher(plugin, host);
    let changes = 0;
    d.onImplementedChange(() => changes++);
    d.callbacks.proxy_on_context_create!(1, 0);
    return { host, d, roots, changes: () => changes };
  }

  it('splits the sets by context kind: a root onDone is not an HTTP callback', () => {
    const d = createDispatcher(logOnly, new FakeHost());
    expect([...d.implementedRoot].sort()).toEqual(['proxy_on_context_create', 'proxy_on_delete', 'proxy_on_done', 'proxy_on_http_call_response']);
    expect([...d.implementedHttp].sort()).toEqual(['proxy_on_http_call_response', 'proxy_on_log']);
    expect([...d.implemented].sort()).toEqual([...new Set([...d.implementedRoot, ...d.implementedHttp])].sort());
    // two per-stream callbacks (demo: request headers and log, plus onDelete): the normal path
    const full = createDispatcher(demo, new FakeHost());
    expect([...full.implementedHttp].sort()).toEqual([
      'proxy_on_context_create', 'proxy_on_delete', 'proxy_on_http_call_response', 'proxy_on_log', 'proxy_on_request_headers',
    ]);
    expect(full.implementedHttp.has('proxy_on_done')).toBe(false); // DemoRoot's onDone only
    expect(full.implementedRoot.has('proxy_on_done')).toBe(true);
  });

  it('stateless: one flyweight context per root, rebound to each stream before its callback', () => {
    const { host, d, roots } = startLogOnly();
    host.headerMaps.set(MapType.HttpRequestHeaders, [[':path', '/x']]);
    // no create for the streams (the bridge skips it); the Node host may still call it: ignored
    d.callbacks.proxy_on_log!(5);
    d.callbacks.proxy_on_context_create!(6, 1);
    d.callbacks.proxy_on_log!(6);
    d.callbacks.proxy_on_log!(8);
    expect(roots[0]!.seen).toEqual(['log 5 /x', 'log 6 /x', 'log 8 /x']); // each callback sees its stream's id
    expect(roots[0]!.constructed).toBe(1); // built once, reused
    expect(d.callbacks.proxy_on_done!(6)).toBe(1); // not a stream it knows: the fallback, the root untouched
    d.callbacks.proxy_on_done!(1);
    expect(roots[0]!.seen.at(-1)).toBe('root done');
  });

  it('stateless: a root that replaces the VM\'s single root gets its own flyweight', () => {
    const { host, d, roots } = startLogOnly();
    host.headerMaps.set(MapType.HttpRequestHeaders, [[':path', '/r']]);
    d.callbacks.proxy_on_log!(5);
    d.callbacks.proxy_on_delete!(1);
    d.callbacks.proxy_on_log!(6); // no root: nobody to run it
    d.callbacks.proxy_on_context_create!(2, 0);
    d.callbacks.proxy_on_log!(7);
    d.callbacks.proxy_on_log!(8);
    expect(roots[0]!.seen).toEqual(['log 5 /r']);
    expect(roots[1]!.seen).toEqual(['log 7 /r', 'log 8 /r']);
    expect(roots[1]!.constructed).toBe(1);
  });

  it('a second root ends stateless mode for good: create/delete are routed again and listeners told', () => {
    const { host, d, roots, changes } = startLogOnly();
    host.headerMaps.set(MapType.HttpRequestHeaders, [[':path', '/y']]);
    d.callbacks.proxy_on_context_create!(2, 0);
    expect(changes()).toBe(1);
    expect(d.implementedHttp.has('proxy_on_context_create')).toBe(true);
    expect(d.implementedHttp.has('proxy_on_delete')).toBe(true);
    expect(d.implemented.has('proxy_on_context_create')).toBe(true);
    d.callbacks.proxy_on_context_create!(10, 2);
    d.callbacks.proxy_on_log!(10);
    d.callbacks.proxy_on_delete!(10);
    expect(roots[1]!.seen).toEqual(['log 10 /y']); // the stream's own root, not the first
    expect(roots[0]!.seen).toEqual([]);
    // a stream nobody created (under way at the switch) finds no single root now: skipped
    d.callbacks.proxy_on_log!(11);
    expect(roots[0]!.seen).toEqual([]);
    d.callbacks.proxy_on_delete!(2);
    d.callbacks.proxy_on_context_create!(3, 0);
    expect(changes()).toBe(1); // for good
  });

  it('a stream context that makes an httpCall is kept until its delete, and its response finds it', () => {
    const { host, d, roots, changes } = startLogOnly();
    host.headerMaps.set(MapType.HttpRequestHeaders, [[':path', '/call']]);
    d.callbacks.proxy_on_log!(7);
    expect(changes()).toBe(1);
    const token = host.httpCallRecords[0]!.token;
    d.callbacks.proxy_on_http_call_response!(1, token, 0, 0, 0);
    expect(roots[0]!.seen).toEqual(['log 7 /call', `stream 7 got ${token}`]);
    expect(host.effectiveContextCalls).toEqual([7]);
    // kept: the next callback for 7 reuses it; its delete (routed now) forgets it
    const constructed = roots[0]!.constructed;
    host.headerMaps.set(MapType.HttpRequestHeaders, [[':path', '/z']]);
    d.callbacks.proxy_on_log!(7);
    expect(roots[0]!.constructed).toBe(constructed);
    d.callbacks.proxy_on_delete!(7);
    d.callbacks.proxy_on_log!(7); // unknown again: made on the fly (single root), not kept
    expect(roots[0]!.constructed).toBe(constructed + 1);
  });

  it('the flyweight that made an httpCall belongs to its stream: other streams get other objects', () => {
    const { host, d, roots } = startLogOnly();
    host.headerMaps.set(MapType.HttpRequestHeaders, [[':path', '/x']]);
    d.callbacks.proxy_on_log!(4); // builds the flyweight
    host.headerMaps.set(MapType.HttpRequestHeaders, [[':path', '/call']]);
    d.callbacks.proxy_on_log!(7); // the flyweight, rebound to 7, calls out: kept for 7
    const token = host.httpCallRecords[0]!.token;
    host.headerMaps.set(MapType.HttpRequestHeaders, [[':path', '/w']]);
    d.callbacks.proxy_on_log!(9); // under way at the switch: a context of its own, not 7's
    d.callbacks.proxy_on_http_call_response!(1, token, 0, 0, 0);
    expect(roots[0]!.seen).toEqual(['log 4 /x', 'log 7 /call', 'log 9 /w', `stream 7 got ${token}`]);
    expect(roots[0]!.constructed).toBe(2);
  });
});

describe('no hidden behaviour', () => {
  it('a throwing onVmStart fails the VM start with the error logged', () => {
    const host = new FakeHost();
    const plugin = definePlugin({
      name: 'vm-start-throws',
      root: class extends RootContext {
        override onVmStart(): boolean { throw new Error('no VM for you'); }
      },
    });
    const cb = createDispatcher(plugin, host).callbacks;
    cb.proxy_on_context_create!(1, 0);
    expect(cb.proxy_on_vm_start!(1, 0)).toBe(0);
    expect(host.logs.filter(([level]) => level === LogLevel.Error).map(([, line]) => line)[0])
      .toContain('proxy_on_vm_start (context 1) threw: Error: no VM for you');
  });

  it('a plain HttpContext overriding one callback is NOT reused: a field written in one stream is not seen by the next', () => {
    const host = new FakeHost();
    const seen: (string | undefined)[] = [];
    class Remembers extends HttpContext {
      last: string | undefined;
      override onLog(): void {
        seen.push(this.last);
        this.last = `stream ${this.contextId}`;
      }
    }
    const d = createDispatcher(definePlugin({ name: 'plain', root: RootContext, http: Remembers }), host);
    expect(d.implementedHttp.has('proxy_on_context_create')).toBe(true); // a context per stream
    d.callbacks.proxy_on_context_create!(1, 0);
    for (const id of [2, 3]) {
      d.callbacks.proxy_on_context_create!(id, 1);
      d.callbacks.proxy_on_log!(id);
      d.callbacks.proxy_on_delete!(id);
    }
    expect(seen).toEqual([undefined, undefined]);
  });

  it('definePlugin refuses a StatelessHttpContext that breaks its rules, naming why', () => {
    class Two extends StatelessHttpContext {
      override onRequestHeaders(): Action { return Action.Continue; }
      override onLog(): void {}
    }
    expect(() => definePlugin({ name: 'two', root: RootContext, http: Two }))
      .toThrow('definePlugin(two): a StatelessHttpContext overrides exactly one per-stream callback, not 2 (onRequestHeaders, onLog); extend HttpContext');
    class KeepsAlive extends StatelessHttpContext {
      override onLog(): void {}
      override onDelete(): void {}
    }
    expect(() => definePlugin({ name: 'alive', root: RootContext, http: KeepsAlive }))
      .toThrow('definePlugin(alive): a StatelessHttpContext is reused across streams and may not override onDelete; extend HttpContext');
  });

  it('restores the effective context for an httpCall made after an await (no setEffectiveContext by hand)', async () => {
    const host = new FakeHost();
    const plugin = taskOnTick('after-await', 'call', async (root) => {
      await Promise.resolve();
      root.httpCall('c', [[':method', 'GET'], [':path', '/'], [':authority', 'x']], '', [], 10);
    });
    const cb = createDispatcher(plugin, host).callbacks;
    cb.proxy_on_context_create!(4, 0);
    host.effectiveContext = 9; // the host is in another context when the task resumes
    cb.proxy_on_tick!(4);
    expect(host.httpCallRecords).toHaveLength(0);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(host.effectiveContextCalls).toEqual([4]);
    expect(host.httpCallRecords[0]!.effectiveContext).toBe(4);
  });
});

describe('definePlugin', () => {
  it('rejects malformed definitions with a message naming the culprit', () => {
    expect(() => definePlugin({ name: '', root: RootContext })).toThrow('`name` must be a non-empty string');
    expect(() => definePlugin({ name: 'x', root: class {} as unknown as typeof RootContext })).toThrow('definePlugin(x): `root` must be a class extending RootContext');
    expect(() => definePlugin({ name: 'x', root: RootContext, http: class {} as unknown as typeof HttpContext }))
      .toThrow('definePlugin(x): `http` must be a class extending HttpContext');
  });
});
