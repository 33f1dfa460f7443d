// Drives the SDK's dispatcher in process on host/ (lean mode), for the SDK's own unit tests: the
// plugin's hostcalls go through NodeHost to a real host/ VM (Envoy's statuses, per-stream maps,
// an in-memory upstream for proxy_http_call), while the test calls the callbacks itself, as
// Envoy would, to reach the dispatcher's corners. A driver over host/, not another host: what it
// adds is observation (every Host call with its result, stream actions, call deliveries).

import { fromUtf8, utf8 } from '../../host/core/bytes.js';
import { answerNextHostcall } from '../../host/core/answer-hostcall.js';
import { ManualClock } from '../../host/core/clock.js';
import { HeaderMap } from '../../host/core/header-map.js';
import type { HttpCallOutcome, HttpCallRequest } from '../../host/core/http-client.js';
import { HostRuntime, type LogEntry } from '../../host/core/runtime.js';
import type { LocalReply, StreamState } from '../../host/core/stream-state.js';
import type { PluginSpec, Vm } from '../../host/core/vm.js';
import { NodeHost } from '../../host/guests/in-process.js';
import { createVm } from '../../host/vm-factory.js';
import { HOSTCALLS, LogLevel, MapType, type Status, type StreamType } from '../../src/abi/table.js';
import { createDispatcher, type Dispatcher, type Host, type PluginDefinition } from '../../src/sdk/index.js';

export type Callbacks = Record<string, (...args: number[]) => number>;
type Pairs = readonly (readonly [string, string])[];

/** One Host method call the plugin made, with what the host answered. */
export interface HostCall {
  readonly method: string;
  readonly args: readonly unknown[];
  result?: unknown;
}

/** A proxy_http_call that reached the in-memory upstream, waiting for the test to answer it. */
export interface PendingCall {
  readonly cluster: string;
  readonly token: number;
  readonly headers: readonly string[];
  readonly body: string;
  readonly trailers: readonly string[];
  readonly timeoutMs: number;
  cancelled: boolean;
  answer(status: number, headers?: Pairs, body?: string): void;
  /** A reset after the response headers: Envoy's failed call (0 headers, 0 body). */
  reset(): void;
}

export interface SdkVmOptions {
  readonly pluginConfiguration?: string;
  readonly vmConfiguration?: string;
  readonly environment?: Readonly<Record<string, string>>;
  /** Clusters proxy_http_call may name (in-memory upstreams, answered by the test). */
  readonly clusters?: readonly string[];
  readonly logLevel?: LogLevel;
  /** The plugin's root_id (property plugin_root_id); default 'root'. */
  readonly rootId?: string;
  /**
   * Not Envoy: the context id a host reports to proxy_on_http_call_response (Envoy reports the
   * caller's), to exercise the SDK's token routing for hosts that report another one.
   */
  readonly reportHttpCallResponseAs?: (callerId: number) => number;
  /** Host primitives a Wasm bridge adds (e.g. the log capture's), laid over NodeHost. */
  readonly bridgePrimitives?: Partial<Host>;
}

/** Host methods recorded: the table's hostcalls and environ (not the local helpers such as utf8Encode). */
const RECORDED = new Set([...HOSTCALLS.map((h) => h.js), 'environ']);

export class SdkVm {
  readonly clock = new ManualClock();
  readonly runtime: HostRuntime;
  readonly vm: Vm;
  /** The Host the plugin sees: NodeHost over the VM, every hostcall recorded in `calls`. */
  readonly host: Host;
  readonly dispatcher: Dispatcher;
  /** The dispatcher's callbacks, each run as the host runs a callback (hostcalls see its context). */
  readonly cb: Callbacks;
  readonly calls: HostCall[] = [];
  /** What the host printed (at or above its level). */
  readonly logs: LogEntry[] = [];
  readonly httpCalls: PendingCall[] = [];
  /** continue / close / local replies the plugin asked of a stream, with the stream's context id. */
  readonly streamOps: [op: 'continue' | 'close', type: StreamType, contextId: number][] = [];
  readonly localReplies: (LocalReply & { readonly contextId: number })[] = [];
  /** Context ids the host delivered proxy_on_http_call_response to, with the token. */
  readonly deliveries: [contextId: number, token: number][] = [];
  private readonly streams = new Map<number, StreamState>();
  /** Contexts made host-side (root() / stream() / a create through `cb`). */
  private readonly contextIds = new Set<number>();
  private lastUpstreamCall?: { request: HttpCallRequest; done: (outcome: HttpCallOutcome) => void; cancel: () => void };

  constructor(plugin: PluginDefinition, options: SdkVmOptions = {}) {
    const clusters = Object.fromEntries((options.clusters ?? []).map((name) => [name, {
      host: name, port: 0,
      handle: (request: HttpCallRequest, done: (outcome: HttpCallOutcome) => void) => {
        const call = { request, done, cancel: () => undefined };
        this.lastUpstreamCall = call;
        return () => call.cancel();
      },
    }]));
    this.runtime = new HostRuntime({
      clock: this.clock, manualTicks: true, logLevel: options.logLevel ?? LogLevel.Trace, clusters,
      logSink: (entry) => this.logs.push(entry),
    });
    let dispatcher: Dispatcher | undefined;
    let host: Host | undefined;
    this.vm = createVm({
      guest: (vm) => {
        host = this.recording(new NodeHost(vm), options.bridgePrimitives);
        const d = createDispatcher(plugin, host);
        dispatcher = d;
        const report = options.reportHttpCallResponseAs;
        const onResponse = d.callbacks.proxy_on_http_call_response!;
        const callbacks = {
          ...d.callbacks,
          proxy_on_http_call_response: (ctx: number, token: number, headers: number, body: number, trailers: number): number => {
            this.deliveries.push([ctx, token]);
            return onResponse(report ? report(ctx) : ctx, token, headers, body, trailers);
          },
        };
        return { kind: 'in-process', callbacks, memoryBytes: () => 0 };
      },
      runtime: this.runtime, vmId: 'vm', rootId: options.rootId ?? 'root', noStart: true,
      ...(options.pluginConfiguration !== undefined ? { pluginConfiguration: options.pluginConfiguration } : {}),
      ...(options.vmConfiguration !== undefined ? { vmConfiguration: options.vmConfiguration } : {}),
      ...(options.environment ? { environment: options.environment } : {}),
    });
    // The test plays Envoy's start sequence itself (its callbacks), so the VM runs from here.
    this.vm.state = 'running';
    this.host = host!;
    this.dispatcher = dispatcher!;
    this.cb = this.asHost(this.dispatcher.callbacks as Callbacks);
  }

  /** Another dispatcher (a second SDK instance) over this VM's host, its callbacks run as the host runs them. */
  attach(plugin: PluginDefinition): { dispatcher: Dispatcher; cb: Callbacks } {
    const dispatcher = createDispatcher(plugin, this.host);
    return { dispatcher, cb: this.asHost(dispatcher.callbacks as Callbacks) };
  }

  /** Callbacks wrapped to run inside the context they name; a create also makes the context host-side, as Envoy does first. */
  private asHost(callbacks: Callbacks): Callbacks {
    const out: Callbacks = {};
    for (const [name, fn] of Object.entries(callbacks)) {
      out[name] = (...args: number[]): number => {
        if (name === 'proxy_on_context_create' && !this.contextIds.has(args[0]!)) {
          if (args[1] === 0) this.root(args[0]);
          else this.stream(args[0]!, args[1]);
        }
        return this.vm.withContext(args[0] ?? 0, () => fn(...args));
      };
    }
    return out;
  }

  /** A root context host-side (its plugin configuration readable), without calling the plugin. */
  root(id = 1): void {
    this.contextIds.add(id);
    this.vm.registerContext(id, 0);
  }

  /** A stream context host-side under `rootId` (all its maps and bodies usable), without calling the plugin. */
  stream(id: number, rootId = 1, maps: { request?: Pairs; response?: Pairs } = {}): StreamState {
    const state: StreamState = {
      requestHeaders: new HeaderMap(maps.request ?? []),
      responseHeaders: new HeaderMap(maps.response ?? []),
      requestTrailers: new HeaderMap([]),
      responseTrailers: new HeaderMap([]),
      accessLogPhase: false,
      info: { startTimeMs: this.clock.nowMs(), protocol: 'HTTP/1.1', sourceAddress: '127.0.0.1', sourcePort: 40000,
        destinationAddress: '127.0.0.1', destinationPort: 10000, connectionId: id, responseCodeDetails: '' },
      hooks: {
        continueStream: (type) => this.streamOps.push(['continue', type, id]),
        closeStream: (type) => this.streamOps.push(['close', type, id]),
        sendLocalReply: (reply) => this.localReplies.push({ ...reply, contextId: id }),
      },
    };
    this.contextIds.add(id);
    this.streams.set(id, state);
    this.vm.registerContext(id, rootId, state);
    return state;
  }

  /** Replaces a header map of stream `id` (made host-side under root 1 if new). */
  headers(id: number, type: MapType, pairs: Pairs): void {
    const state = this.streams.get(id) ?? this.stream(id);
    const map = new HeaderMap(pairs);
    if (type === MapType.HttpRequestHeaders) state.requestHeaders = map;
    else if (type === MapType.HttpResponseHeaders) state.responseHeaders = map;
    else if (type === MapType.HttpRequestTrailers) state.requestTrailers = map;
    else if (type === MapType.HttpResponseTrailers) state.responseTrailers = map;
    else throw new Error(`SdkVm.headers: map type ${type} is not a stream map`);
  }

  streamState(id: number): StreamState | undefined {
    return this.streams.get(id);
  }

  /** Runs `fn` as inside a callback of context `id` (hostcalls act on it). */
  within<T>(id: number, fn: () => T): T {
    return this.vm.withContext(id, fn);
  }

  /** The host answers the next call of ABI function `abi` with `status` (host/'s test hook). */
  answerNext(abi: string, status: Status): void {
    answerNextHostcall(this.vm, abi, status);
  }

  /**
   * Changes what the host serves the plugin: Envoy gives each plugin sharing a VM its own
   * configuration (host/ runs one plugin per VM, so a test with several roots sets the next
   * root's before its configure), and fixes the environment at VM start (a test changes it to
   * show that the SDK asks the host at each read, caching nothing).
   */
  respec(change: { pluginConfiguration?: string; vmConfiguration?: string; environment?: Readonly<Record<string, string>> }): void {
    const spec = this.vm.spec;
    (this.vm as { spec: PluginSpec }).spec = {
      ...spec,
      ...(change.pluginConfiguration !== undefined ? { pluginConfiguration: utf8(change.pluginConfiguration) } : {}),
      ...(change.vmConfiguration !== undefined ? { vmConfiguration: utf8(change.vmConfiguration) } : {}),
      ...(change.environment ? { environment: change.environment } : {}),
    };
  }

  /** A queue registered as if VM `vmId` owned it (e.g. the receiver's); returns its id. */
  foreignQueue(vmId: string, name: string): number {
    return this.runtime.sharedQueues.register(vmId, name, { contextId: 0, notify: () => undefined });
  }

  /** Host method names called, in order. */
  names(): string[] {
    return this.calls.map((c) => c.method);
  }

  /** Arguments of every call of one Host method. */
  argsOf(method: string): (readonly unknown[])[] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }

  /** Messages the plugin passed to proxy_log at `level` (every level when omitted), printed or not. */
  logged(level?: LogLevel): string[] {
    return this.argsOf('log').filter(([l]) => level === undefined || l === level).map(([, m]) => String(m));
  }

  errors(): string[] {
    return this.logged(LogLevel.Error);
  }

  /** Wraps a NodeHost so that every hostcall is recorded; bridge-only primitives laid over it. */
  private recording(node: NodeHost, extra: Partial<Host> | undefined): Host {
    const calls = this.calls;
    const onHttpCall = (call: HostCall): void => this.recordHttpCall(call);
    return new Proxy(node, {
      get(target, prop, receiver) {
        // a bridge primitive keeps its own `this` (the test's object holding the bridge state)
        if (extra && prop in extra) {
          const primitive: unknown = (extra as Record<string | symbol, unknown>)[prop];
          return typeof primitive === 'function' ? (primitive as (...a: unknown[]) => unknown).bind(extra) : primitive;
        }
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        if (typeof prop !== 'string' || !RECORDED.has(prop)) return (value as (...a: unknown[]) => unknown).bind(target);
        return (...args: unknown[]): unknown => {
          const call: HostCall = { method: prop, args };
          calls.push(call);
          call.result = (value as (...a: unknown[]) => unknown).apply(target, args);
          if (prop === 'httpCall') onHttpCall(call);
          return call.result;
        };
      },
      has: (target, prop) => (extra !== undefined && prop in extra) || Reflect.has(target, prop),
    }) as unknown as Host;
  }

  private recordHttpCall(call: HostCall): void {
    const upstream = this.lastUpstreamCall;
    this.lastUpstreamCall = undefined;
    if (upstream === undefined || typeof call.result !== 'number' || call.result <= 0) return;
    const [cluster] = call.args as [string];
    const { request, done } = upstream;
    const pending: PendingCall = {
      cluster, token: call.result, headers: request.headers, body: fromUtf8(request.body), trailers: request.trailers,
      timeoutMs: request.timeoutMs, cancelled: false,
      answer: (status, headers = [], body = '') => done({ ok: true, response: {
        headers: [':status', String(status), ...headers.flat()], body: new TextEncoder().encode(body), trailers: [],
      } }),
      reset: () => done({ ok: false, reason: 'reset', detail: 'reset by the test' }),
    };
    upstream.cancel = () => { pending.cancelled = true; };
    this.httpCalls.push(pending);
  }
}
