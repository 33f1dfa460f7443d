import { describe, expect, it } from 'vitest';
import { Action, CALLBACKS, LogLevel, MapType, Status, StreamType } from '../../src/abi/table.js';
import {
  HttpContext, RootContext, StatelessHttpContext, definePlugin, hostcalls, type Dispatcher, type HttpCallResponse, type PluginDefinition,
} from '../../src/sdk/index.js';
import type { Host } from '../../src/abi/host.js';
import { SdkVm, type Callbacks } from '../support/sdk-vm.js';

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
/** A plugin on DemoRoot whose root, once built, the test can reach. */
function keepingRoot(name: string): { plugin: PluginDefinition; root: () => DemoRoot } {
  let root: DemoRoot | undefined;
  const plugin = definePlugin({
    name,
    root: class extends DemoRoot {
      constructor(id: number, h: Host) {
        super(id, h);
        root = this;
      }
    },
  });
  return { plugin, root: () => root! };
}

function startVm(config = 'cfg', plugin = demo): { sdk: SdkVm; cb: Callbacks; implemented: ReadonlySet<string> } {
  const sdk = new SdkVm(plugin, { pluginConfiguration: config });
  const cb = sdk.cb;
  cb.proxy_on_context_create!(1, 0);
  expect(cb.proxy_on_vm_start!(1, 0)).toBe(1);
  return { sdk, cb, implemented: sdk.dispatcher.implemented };
}

const path = (sdk: SdkVm, id: number, value: string): void => sdk.headers(id, MapType.HttpRequestHeaders, [[':path', value]]);
const status = (sdk: SdkVm, id: number, value: string): void => sdk.headers(id, MapType.HttpResponseHeaders, [[':status', value]]);

describe('dispatcher: routing', () => {
  it('offers one function per CALLBACKS entry; unrouted ones return the fallback', () => {
    const { cb } = startVm();
    expect(Object.keys(cb).sort()).toEqual(CALLBACKS.map((c) => c.name).sort());
    expect(cb.proxy_on_new_connection!(5)).toBe(0);
    expect(cb.proxy_on_downstream_data!(5, 10, 0)).toBe(0);
  });

  it('runs context create → vm_start → configure → request headers, reading a header through a hostcall', () => {
    const { sdk, cb } = startVm('cfg');
    expect(cb.proxy_on_configure!(1, 3)).toBe(1);
    cb.proxy_on_context_create!(2, 1);
    path(sdk, 2, '/pause');
    sdk.calls.length = 0;
    expect(cb.proxy_on_request_headers!(2, 1, 1)).toBe(Action.Pause);
    expect(sdk.names()).toEqual(['getHeaderMapValue']);
    path(sdk, 2, '/ok');
    expect(cb.proxy_on_request_headers!(2, 1, 0)).toBe(Action.Continue);
    status(sdk, 2, '204');
    cb.proxy_on_log!(2);
    expect(cb.proxy_on_done!(2)).toBe(1); // HTTP context keeps the default onDone
    cb.proxy_on_delete!(2);
    expect(sdk.logged()).toEqual([]);
  });

  it('returns false from configure when the plugin rejects its configuration', () => {
    const { cb } = startVm('cfg');
    expect(cb.proxy_on_configure!(1, 99)).toBe(0); // size mismatch → the plugin says no
  });

  it('routes each stream to its own context and root, and forgets deleted contexts', () => {
    const sdk = new SdkVm(demo, { pluginConfiguration: 'A' });
    const cb = sdk.cb; // a first dispatcher over the same host, never given a context
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
    const spy = sdk.attach(plugin).cb;
    spy.proxy_on_context_create!(1, 0);
    spy.proxy_on_configure!(1, 1);
    sdk.respec({ pluginConfiguration: 'B' }); // root 10: a second plugin on the VM, its own configuration
    spy.proxy_on_context_create!(10, 0);
    spy.proxy_on_configure!(10, 1);
    spy.proxy_on_context_create!(2, 1);
    spy.proxy_on_context_create!(3, 10);
    for (const id of [2, 3]) {
      path(sdk, id, '/x');
      status(sdk, id, '200');
    }
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
    status(a.sdk, 2, '500');
    status(b.sdk, 2, '201');
    a.cb.proxy_on_log!(2);
    b.cb.proxy_on_log!(2);
    expect(a.sdk.names().filter((c) => c === 'getHeaderMapValue')).toHaveLength(1);
    expect(b.sdk.names().filter((c) => c === 'getHeaderMapValue')).toHaveLength(1);
  });

  it('routes queue_ready and tick to the root, invalidating the cached log level', () => {
    const { sdk, cb } = startVm();
    const { plugin, root: built } = keepingRoot('q');
    const q = sdk.attach(plugin).cb;
    q.proxy_on_context_create!(7, 0);
    q.proxy_on_queue_ready!(7, 42);
    q.proxy_on_tick!(7);
    expect(built().queueReady).toEqual([42]);
    expect(built().ticks).toBe(1);
    built().log.info('level read as trace: visible');
    sdk.runtime.logLevel = LogLevel.Warn;
    built().log.info('cached level trace: visible');
    q.proxy_on_tick!(7);
    built().log.info('level re-read as warn: hidden');
    // what the plugin passed to proxy_log (the host itself prints only warn and up now)
    expect(sdk.logged()).toEqual(['level read as trace: visible', 'cached level trace: visible']);
    expect(cb.proxy_on_tick!(99)).toBe(0); // unknown context: harmless
  });

  it('supports delayed completion: onDone false, then done()', () => {
    const { plugin, root: built } = keepingRoot('late');
    const { sdk, cb } = startVm('cfg', plugin);
    sdk.vm.callOnDone(); // the host's proxy_on_done at shutdown
    expect(sdk.vm.onDoneResult).toBe(0);
    expect(built().finishing).toBe(true);
    sdk.within(1, () => built().done()); // later, from a callback of the root
    expect(sdk.vm.doneCalls).toBe(1);
    cb.proxy_on_delete!(1);
    expect(cb.proxy_on_done!(1)).toBe(1); // gone: fallback
  });
});

describe('dispatcher: exception containment', () => {
  it('logs the error with its stack, returns the fallback, and the next call works', () => {
    const { sdk, cb } = startVm();
    cb.proxy_on_context_create!(2, 1);
    path(sdk, 2, '/throw');
    expect(cb.proxy_on_request_headers!(2, 1, 0)).toBe(Action.Continue);
    const [line] = sdk.errors();
    expect(line).toMatch(/^demo: proxy_on_request_headers \(context 2\) threw: Error: cannot handle \/throw\n/);
    expect(line).toMatch(/\n\s+at .*onRequestHeaders/);
    path(sdk, 2, '/pause');
    expect(cb.proxy_on_request_headers!(2, 1, 0)).toBe(Action.Pause);
    expect(sdk.errors()).toHaveLength(1);
  });

  it('fails the start from a throwing configure (logged, false) and keeps ticking after a throwing tick', () => {
    const { sdk, cb } = startVm('throw');
    expect(cb.proxy_on_configure!(1, 5)).toBe(0); // a broken plugin never reports itself configured
    expect(sdk.errors()[0]).toContain('proxy_on_configure (context 1) threw: Error: config exploded');
    const second = startVm('tick-throws');
    second.cb.proxy_on_configure!(1, 11);
    second.cb.proxy_on_tick!(1);
    second.cb.proxy_on_tick!(1);
    expect(second.sdk.errors()).toHaveLength(2);
    expect(second.sdk.errors()[1]).toContain('RangeError: tick exploded');
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
    const { sdk, cb } = startVm('cfg', plugin);
    cb.proxy_on_context_create!(2, 1);
    expect(sdk.errors()[0]).toContain('ctor: proxy_on_context_create (context 2) threw: Error: no stream for you');
    expect(cb.proxy_on_request_headers!(2, 1, 0)).toBe(0);
    cb.proxy_on_log!(2);
    cb.proxy_on_delete!(2);
    expect(sdk.errors()).toHaveLength(1);
  });

  it('normalises a missing return value to Continue, and survives a host that cannot log', () => {
    const { sdk, cb } = startVm();
    cb.proxy_on_context_create!(2, 1);
    path(sdk, 2, '/undefined');
    expect(cb.proxy_on_request_headers!(2, 1, 0)).toBe(0);
    path(sdk, 2, '/throw');
    // the host refuses the error report itself (a failed proxy_log)
    sdk.answerNext('proxy_log', Status.InternalFailure);
    expect(cb.proxy_on_request_headers!(2, 1, 0)).toBe(0);
    expect(sdk.logs).toEqual([]); // the refused report never printed
  });

  it('logs a rejected async task started with runTask', async () => {
    const { sdk, cb } = startVm();
    const plugin = taskOnTick('async', 'publish', async () => {
      await Promise.resolve();
      throw new Error('signing failed');
    });
    const a = sdk.attach(plugin).cb;
    a.proxy_on_context_create!(5, 0);
    a.proxy_on_tick!(5);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(sdk.errors()[0]).toMatch(/^publish failed: Error: signing failed/);
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

  /** `reportAs`: not Envoy (it reports the caller's id), a host that reports another context id. */
  function setup(reportAs?: (callerId: number) => number): { sdk: SdkVm; cb: Callbacks; root: () => CallerRoot } {
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
    const sdk = new SdkVm(plugin, { clusters: ['cw', 'authz'], ...(reportAs ? { reportHttpCallResponseAs: reportAs } : {}) });
    sdk.cb.proxy_on_context_create!(1, 0);
    return { sdk, cb: sdk.cb, root: () => rootRef! };
  }

  it('delivers each response to the callback registered under its token', () => {
    const { sdk, cb, root } = setup();
    cb.proxy_on_tick!(1);
    cb.proxy_on_tick!(1);
    const [first, second] = sdk.httpCalls;
    expect(first!.cluster).toBe('cw');
    expect(first!.headers).toEqual([':method', 'POST', ':path', '/', ':authority', 'x']);
    expect(first!.timeoutMs).toBe(5000);
    second!.answer(200, [['x-amzn-requestid', 'r-2']], '{"ok":true}');
    // A reset after the response headers: Envoy's failed call, no headers.
    first!.reset();
    expect(root().results).toEqual([
      `root ${second!.token} 200 r-2 {"ok":true} failed=false`,
      `root ${first!.token} 0 undefined  failed=true`,
    ]);
    // A response arrives once: its token is unregistered, and a token the registry does not
    // hold (a call made with the raw hostcall) goes to onHttpCallResponse.
    expect(root().httpCalls.size).toBe(0);
    const raw = sdk.within(1, () => hostcalls.httpCall(sdk.host, 'cw', [[':method', 'GET'], [':path', '/'], [':authority', 'x']], '', [], 10));
    sdk.httpCalls[2]!.reset();
    expect(root().results.at(-1)).toBe(`root unregistered ${raw} 0`);
    expect(sdk.argsOf('setEffectiveContext')).toEqual([]); // caller was the reported context
  });

  it('Envoy reports the calling stream: its callback runs there, no context switch needed', () => {
    const { sdk, cb, root } = setup();
    cb.proxy_on_context_create!(2, 1);
    expect(cb.proxy_on_request_headers!(2, 0, 0)).toBe(Action.Pause);
    const call = sdk.httpCalls[0]!;
    call.answer(204);
    expect(sdk.deliveries).toEqual([[2, call.token]]);
    expect(sdk.argsOf('setEffectiveContext')).toEqual([]);
    expect(root().results).toEqual(['stream 2 got 204 headers=[[":status","204"]]']);
    expect(sdk.streamOps).toEqual([['continue', StreamType.Request, 2]]);
  });

  it('makes the calling HTTP context effective when the host reports another id', () => {
    const { sdk, cb, root } = setup(() => 1);
    cb.proxy_on_context_create!(2, 1);
    expect(cb.proxy_on_request_headers!(2, 0, 0)).toBe(Action.Pause);
    const call = sdk.httpCalls[0]!;
    // Some hosts report the root id for every response: the token still finds the stream.
    call.answer(403);
    expect(sdk.deliveries).toEqual([[2, call.token]]); // the host delivered to the caller, reported as 1
    expect(sdk.argsOf('setEffectiveContext')).toEqual([[2]]);
    expect(root().results).toEqual(['stream 2 got 403 headers=[[":status","403"]]']);
    expect(sdk.streamOps).toEqual([['continue', StreamType.Request, 2]]);
  });

  it('finds the token when the reported id is the stream itself or an unknown id', () => {
    const { sdk, cb, root } = setup((callerId) => (callerId === 2 ? 2 : 77));
    cb.proxy_on_context_create!(2, 1);
    cb.proxy_on_context_create!(3, 1);
    cb.proxy_on_request_headers!(2, 0, 0);
    cb.proxy_on_request_headers!(3, 0, 0);
    const [a, b] = sdk.httpCalls;
    a!.answer(200);
    b!.answer(200);
    expect(root().results).toEqual(['stream 2 got 200 headers=[[":status","200"]]', 'stream 3 got 200 headers=[[":status","200"]]']);
    expect(sdk.argsOf('setEffectiveContext')).toEqual([[3]]);
  });

  it('drops the response to a call whose stream was deleted meanwhile', () => {
    const { sdk, cb, root } = setup();
    cb.proxy_on_context_create!(2, 1);
    cb.proxy_on_request_headers!(2, 0, 0);
    const token = sdk.httpCalls[0]!.token;
    sdk.vm.deleteContext(2); // Envoy: proxy_on_delete, and the stream's calls are cancelled
    expect(sdk.httpCalls[0]!.cancelled).toBe(true);
    expect(root().httpCalls.size).toBe(1);
    // a host that answers it all the same (Envoy does not): dropped, and forgotten
    cb.proxy_on_http_call_response!(2, token, 1, 0, 0);
    expect(root().httpCalls.size).toBe(0);
    expect(root().results).toEqual([]); // neither the stream's callback nor the root's fallback
    expect(sdk.argsOf('setEffectiveContext')).toEqual([]);
  });

  it('contains an exception thrown by a response callback', () => {
    const plugin = definePlugin({
      name: 'cbthrow',
      root: class extends RootContext {
        override onTick(): void {
          this.httpCall('c', [[':method', 'GET'], [':path', '/'], [':authority', 'c']], '', [], 10, () => { throw new Error('callback bug'); });
        }
      },
    });
    const sdk = new SdkVm(plugin, { clusters: ['c'] });
    const cb = sdk.cb;
    cb.proxy_on_context_create!(1, 0);
    cb.proxy_on_tick!(1);
    sdk.httpCalls[0]!.reset();
    expect(sdk.errors()[0]).toContain('cbthrow: proxy_on_http_call_response (context 1) threw: Error: callback bug');
    cb.proxy_on_tick!(1);
    expect(sdk.httpCalls).toHaveLength(2);
  });

  it('keeps the plugin usable when the host rejects the call', () => {
    const sdk = new SdkVm(caller, { clusters: ['cw'] });
    const cb = sdk.cb;
    cb.proxy_on_context_create!(1, 0);
    sdk.answerNext('proxy_http_call', Status.BadArgument);
    cb.proxy_on_tick!(1);
    expect(sdk.errors()[0]).toContain('HostcallError: proxy_http_call failed: BadArgument (cluster "cw")');
    cb.proxy_on_tick!(1);
    expect(sdk.httpCalls).toHaveLength(1);
  });
});

describe('dispatcher: implemented set', () => {
  const ALWAYS = ['proxy_on_context_create', 'proxy_on_delete', 'proxy_on_http_call_response'];

  it('names exactly the overridden callbacks plus bookkeeping', () => {
    const { implemented } = new SdkVm(demo).dispatcher;
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
    expect([...new SdkVm(plugin).dispatcher.implemented].sort()).toEqual([...ALWAYS, 'proxy_on_response_headers'].sort());
  });

  it('has no HTTP callbacks for a plugin without HTTP contexts (a service VM)', () => {
    const plugin = definePlugin({
      name: 'service',
      root: class extends RootContext {
        override onVmStart(): boolean { return true; }
        override onForeignFunction(): void {}
      },
    });
    expect([...new SdkVm(plugin).dispatcher.implemented].sort())
      .toEqual([...ALWAYS, 'proxy_on_vm_start', 'proxy_on_foreign_function'].sort());
  });

  it('assumes every HTTP callback is used when the root builds undeclared HTTP contexts', () => {
    const plugin = definePlugin({
      name: 'dyn',
      root: class extends RootContext {
        override createHttpContext(id: number): HttpContext { return new HttpContext(id, this); }
      },
    });
    const implemented = new SdkVm(plugin).dispatcher.implemented;
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
        this.httpCall('c', [[':method', 'GET'], [':path', '/'], [':authority', 'c']], '', [], 10, (r) => this.root.seen.push(`stream ${this.contextId} got ${r.token}`));
      }
    }
  }
  const logOnly = definePlugin({ name: 'log-only', root: CountingRoot, http: LogOnly });

  /** `reportAs`: not Envoy (it reports the caller's id), a host that reports another context id. */
  function startLogOnly(reportAs?: (callerId: number) => number): { sdk: SdkVm; d: Dispatcher; cb: Callbacks; roots: CountingRoot[]; changes: () => number } {
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
    const sdk = new SdkVm(plugin, { clusters: ['c'], ...(reportAs ? { reportHttpCallResponseAs: reportAs } : {}) });
    const d = sdk.dispatcher;
    let changes = 0;
    d.onImplementedChange(() => changes++);
    sdk.cb.proxy_on_context_create!(1, 0);
    return { sdk, d, cb: sdk.cb, roots, changes: () => changes };
  }

  it('splits the sets by context kind: a root onDone is not an HTTP callback', () => {
    const d = new SdkVm(logOnly).dispatcher;
    expect([...d.implementedRoot].sort()).toEqual(['proxy_on_context_create', 'proxy_on_delete', 'proxy_on_done', 'proxy_on_http_call_response']);
    expect([...d.implementedHttp].sort()).toEqual(['proxy_on_http_call_response', 'proxy_on_log']);
    expect([...d.implemented].sort()).toEqual([...new Set([...d.implementedRoot, ...d.implementedHttp])].sort());
    // two per-stream callbacks (demo: request headers and log, plus onDelete): the normal path
    const full = new SdkVm(demo).dispatcher;
    expect([...full.implementedHttp].sort()).toEqual([
      'proxy_on_context_create', 'proxy_on_delete', 'proxy_on_http_call_response', 'proxy_on_log', 'proxy_on_request_headers',
    ]);
    expect(full.implementedHttp.has('proxy_on_done')).toBe(false); // DemoRoot's onDone only
    expect(full.implementedRoot.has('proxy_on_done')).toBe(true);
  });

  // Streams here are made host-side only (sdk.stream): the bridge skips proxy_on_context_create
  // for a stateless plugin, so the SDK first hears of a stream at its one callback.
  it('stateless: one flyweight context per root, rebound to each stream before its callback', () => {
    const { sdk, cb, roots } = startLogOnly();
    for (const id of [5, 8]) sdk.stream(id, 1, { request: [[':path', '/x']] });
    // no create for the streams (the bridge skips it); the Node host may still call it: ignored
    cb.proxy_on_log!(5);
    cb.proxy_on_context_create!(6, 1);
    path(sdk, 6, '/x');
    cb.proxy_on_log!(6);
    cb.proxy_on_log!(8);
    expect(roots[0]!.seen).toEqual(['log 5 /x', 'log 6 /x', 'log 8 /x']); // each callback sees its stream's id
    expect(roots[0]!.constructed).toBe(1); // built once, reused
    expect(cb.proxy_on_done!(6)).toBe(1); // not a stream it knows: the fallback, the root untouched
    cb.proxy_on_done!(1);
    expect(roots[0]!.seen.at(-1)).toBe('root done');
  });

  it('stateless: a root that replaces the VM\'s single root gets its own flyweight', () => {
    const { sdk, cb, roots } = startLogOnly();
    for (const [id, root] of [[5, 1], [6, 1], [7, 2], [8, 2]] as const) sdk.stream(id, root, { request: [[':path', '/r']] });
    cb.proxy_on_log!(5);
    cb.proxy_on_delete!(1);
    cb.proxy_on_log!(6); // no root: nobody to run it
    cb.proxy_on_context_create!(2, 0);
    cb.proxy_on_log!(7);
    cb.proxy_on_log!(8);
    expect(roots[0]!.seen).toEqual(['log 5 /r']);
    expect(roots[1]!.seen).toEqual(['log 7 /r', 'log 8 /r']);
    expect(roots[1]!.constructed).toBe(1);
  });

  it('a second root ends stateless mode for good: create/delete are routed again and listeners told', () => {
    const { sdk, d, cb, roots, changes } = startLogOnly();
    cb.proxy_on_context_create!(2, 0);
    expect(changes()).toBe(1);
    expect(d.implementedHttp.has('proxy_on_context_create')).toBe(true);
    expect(d.implementedHttp.has('proxy_on_delete')).toBe(true);
    expect(d.implemented.has('proxy_on_context_create')).toBe(true);
    cb.proxy_on_context_create!(10, 2);
    path(sdk, 10, '/y');
    cb.proxy_on_log!(10);
    cb.proxy_on_delete!(10);
    expect(roots[1]!.seen).toEqual(['log 10 /y']); // the stream's own root, not the first
    expect(roots[0]!.seen).toEqual([]);
    // a stream nobody created (under way at the switch) finds no single root now: skipped
    sdk.stream(11, 1, { request: [[':path', '/y']] });
    cb.proxy_on_log!(11);
    expect(roots[0]!.seen).toEqual([]);
    cb.proxy_on_delete!(2);
    cb.proxy_on_context_create!(3, 0);
    expect(changes()).toBe(1); // for good
  });

  it('a stream context that makes an httpCall is kept until its delete, and its response finds it', () => {
    const { sdk, cb, roots, changes } = startLogOnly(() => 1);
    sdk.stream(7, 1, { request: [[':path', '/call']] });
    cb.proxy_on_log!(7);
    expect(changes()).toBe(1);
    const token = sdk.httpCalls[0]!.token;
    sdk.httpCalls[0]!.reset(); // delivered to 7 by the host, reported as the root's
    expect(roots[0]!.seen).toEqual(['log 7 /call', `stream 7 got ${token}`]);
    expect(sdk.argsOf('setEffectiveContext')).toEqual([[7]]);
    // kept: the next callback for 7 reuses it; its delete (routed now) forgets it
    const constructed = roots[0]!.constructed;
    path(sdk, 7, '/z');
    cb.proxy_on_log!(7);
    expect(roots[0]!.constructed).toBe(constructed);
    cb.proxy_on_delete!(7);
    cb.proxy_on_log!(7); // unknown again: made on the fly (single root), not kept
    expect(roots[0]!.constructed).toBe(constructed + 1);
  });

  it('the flyweight that made an httpCall belongs to its stream: other streams get other objects', () => {
    const { sdk, cb, roots } = startLogOnly(() => 1);
    sdk.stream(4, 1, { request: [[':path', '/x']] });
    sdk.stream(7, 1, { request: [[':path', '/call']] });
    sdk.stream(9, 1, { request: [[':path', '/w']] });
    cb.proxy_on_log!(4); // builds the flyweight
    cb.proxy_on_log!(7); // the flyweight, rebound to 7, calls out: kept for 7
    const token = sdk.httpCalls[0]!.token;
    cb.proxy_on_log!(9); // under way at the switch: a context of its own, not 7's
    sdk.httpCalls[0]!.reset();
    expect(roots[0]!.seen).toEqual(['log 4 /x', 'log 7 /call', 'log 9 /w', `stream 7 got ${token}`]);
    expect(roots[0]!.constructed).toBe(2);
  });
});

describe('no hidden behaviour', () => {
  it('a throwing onVmStart fails the VM start with the error logged', () => {
    const plugin = definePlugin({
      name: 'vm-start-throws',
      root: class extends RootContext {
        override onVmStart(): boolean { throw new Error('no VM for you'); }
      },
    });
    const sdk = new SdkVm(plugin);
    expect(sdk.vm.start()).toBe(false); // Envoy's start sequence: create root 1, vm_start → false
    expect(sdk.vm.failure).toContain('proxy_on_vm_start returned false');
    expect(sdk.errors()[0]).toContain('proxy_on_vm_start (context 1) threw: Error: no VM for you');
  });

  it('a plain HttpContext overriding one callback is NOT reused: a field written in one stream is not seen by the next', () => {
    const seen: (string | undefined)[] = [];
    class Remembers extends HttpContext {
      last: string | undefined;
      override onLog(): void {
        seen.push(this.last);
        this.last = `stream ${this.contextId}`;
      }
    }
    const sdk = new SdkVm(definePlugin({ name: 'plain', root: RootContext, http: Remembers }));
    expect(sdk.dispatcher.implementedHttp.has('proxy_on_context_create')).toBe(true); // a context per stream
    sdk.cb.proxy_on_context_create!(1, 0);
    for (const id of [2, 3]) {
      sdk.cb.proxy_on_context_create!(id, 1);
      sdk.cb.proxy_on_log!(id);
      sdk.cb.proxy_on_delete!(id);
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
    const plugin = taskOnTick('after-await', 'call', async (root) => {
      await Promise.resolve();
      root.httpCall('c', [[':method', 'GET'], [':path', '/'], [':authority', 'x']], '', [], 10);
    });
    const sdk = new SdkVm(plugin, { clusters: ['c'] });
    const cb = sdk.cb;
    cb.proxy_on_context_create!(4, 0);
    sdk.stream(9, 4);
    sdk.vm.setEffectiveContext(9); // the host is in another context when the task resumes
    cb.proxy_on_tick!(4);
    expect(sdk.httpCalls).toHaveLength(0);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(sdk.argsOf('setEffectiveContext')).toEqual([[4]]);
    sdk.httpCalls[0]!.reset();
    expect(sdk.deliveries[0]).toEqual([4, sdk.httpCalls[0]!.token]); // the host made the call for 4: its answer goes there
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
