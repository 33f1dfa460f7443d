// Routes each proxy_on_* callback to the right context object.
//
// - Contexts by id: a context created with parent 0 is a root context (plugin.createRootContext);
//   any other is an HTTP context made by its root (plugin.createHttpContext).
// - Every handler catches what the plugin throws: logged at error level with the JS stack via
//   host.log, then the table's fallback is returned, and the VM stays usable.
// - httpCall tokens map to the callback and the context that made the call; the response is
//   delivered with that context made effective.
// - `implementedRoot` / `implementedHttp` are computed from the plugin's classes, per context
//   kind, so the bridge can skip entering JS for callbacks nobody overrides (a root's onDone costs
//   streams nothing); `implemented` is their union (the Node host's view).
// - Stateless HTTP contexts (see context.ts): when the HTTP class overrides exactly one per-stream
//   callback and keeps nothing past it, no create/delete is routed for streams; ONE context
//   object (a flyweight, built once per root) serves them all, its contextId set before each
//   callback. A second root in the VM, or an httpCall from a stream context, ends this mode for
//   good (the sets change; `onImplementedChange` listeners are told).
// Handlers are built once per VM; the per-callback path allocates nothing but what the plugin does.

import type { GuestCallbacks, Host } from '../abi/index.js';
import type { PluginDefinition } from './plugin.js';
import { HttpContext, RootContext, rebindStatelessContext, type Context } from './context.js';
import { describeError } from './errors.js';
import { HttpCallResponse } from './hostcalls.js';
import { CALLBACKS, LogLevel } from '../abi/index.js';

export interface Dispatcher {
  readonly callbacks: GuestCallbacks;
  /** Union of the two sets below (live: it grows when stateless mode ends). */
  readonly implemented: ReadonlySet<string>;
  /** Callbacks that do real work for root contexts. */
  readonly implementedRoot: ReadonlySet<string>;
  /** Callbacks that do real work for every other context (HTTP streams). Live. */
  readonly implementedHttp: ReadonlySet<string>;
  /** `listener` runs whenever the implemented sets change (after the change). */
  onImplementedChange(listener: () => void): void;
}

type Handler = (...args: number[]) => number;

/** Root-context callbacks and the RootContext method each one calls. */
const ROOT_METHODS: Readonly<Record<string, keyof RootContext>> = {
  proxy_on_vm_start: 'onVmStart',
  proxy_on_configure: 'onConfigure',
  proxy_on_tick: 'onTick',
  proxy_on_queue_ready: 'onQueueReady',
  proxy_on_foreign_function: 'onForeignFunction',
  proxy_on_done: 'onDone',
};

/** HTTP-context callbacks and the HttpContext method each one calls. */
const HTTP_METHODS: Readonly<Record<string, keyof HttpContext>> = {
  proxy_on_request_headers: 'onRequestHeaders',
  proxy_on_request_body: 'onRequestBody',
  proxy_on_request_trailers: 'onRequestTrailers',
  proxy_on_response_headers: 'onResponseHeaders',
  proxy_on_response_body: 'onResponseBody',
  proxy_on_response_trailers: 'onResponseTrailers',
  proxy_on_log: 'onLog',
  proxy_on_done: 'onDone',
};

/** Needed for root bookkeeping whatever the plugin overrides (roots map, httpCall tokens). */
const ROOT_ALWAYS = ['proxy_on_context_create', 'proxy_on_delete', 'proxy_on_http_call_response'];
/** Needed for stream bookkeeping (streams map); not in stateless mode. */
const HTTP_LIFECYCLE = ['proxy_on_context_create', 'proxy_on_delete'];
/**
 * A response is routed by its token, whatever context id the host reports (rare: not per
 * request), so every context kind enters JS for it.
 */
const HTTP_ALWAYS = ['proxy_on_http_call_response'];

/** HttpContext methods that keep a context alive past its callback: any override rules out stateless mode. */
const HTTP_LIFETIME_METHODS: readonly (keyof HttpContext)[] = ['onDone', 'onDelete', 'onHttpCallResponse'];

function overrides(prototype: object, base: object, method: string): boolean {
  return (prototype as Record<string, unknown>)[method] !== (base as Record<string, unknown>)[method];
}

/**
 * The one per-stream callback (export name) of a plugin whose HTTP contexts can be stateless
 * (context.ts: "Stateless HTTP contexts"), or undefined when they must live from create to delete.
 */
export function statelessHttpCallback(plugin: PluginDefinition): string | undefined {
  const prototype = plugin.httpPrototype;
  if (prototype === null || prototype === undefined) return undefined;
  if (HTTP_LIFETIME_METHODS.some((method) => overrides(prototype, HttpContext.prototype, method))) return undefined;
  const used = Object.entries(HTTP_METHODS)
    .filter(([, method]) => method !== 'onDone' && overrides(prototype, HttpContext.prototype, method));
  return used.length === 1 ? used[0]![0] : undefined;
}

/** The callbacks root contexts need (by export name). */
export function computeImplementedRoot(plugin: PluginDefinition): Set<string> {
  const implemented = new Set<string>(ROOT_ALWAYS);
  for (const [callback, method] of Object.entries(ROOT_METHODS)) {
    if (overrides(plugin.rootPrototype, RootContext.prototype, method)) implemented.add(callback);
  }
  return implemented;
}

/** The callbacks HTTP contexts need (by export name); `stateless`: see statelessHttpCallback. */
export function computeImplementedHttp(plugin: PluginDefinition, stateless: boolean): Set<string> {
  const implemented = new Set<string>(HTTP_ALWAYS);
  const httpPrototype = plugin.httpPrototype;
  if (httpPrototype === null) return implemented;
  const single = stateless ? statelessHttpCallback(plugin) : undefined;
  if (single !== undefined) return implemented.add(single);
  for (const name of HTTP_LIFECYCLE) implemented.add(name);
  for (const [callback, method] of Object.entries(HTTP_METHODS)) {
    // undefined: the root builds HTTP contexts of classes we cannot see; assume all are used.
    if (httpPrototype === undefined || overrides(httpPrototype, HttpContext.prototype, method)) implemented.add(callback);
  }
  return implemented;
}

export function createDispatcher(plugin: PluginDefinition, host: Host): Dispatcher {
  const roots = new Map<number, RootContext>();
  const streams = new Map<number, HttpContext>();

  // Stateless mode (context.ts): streams get a context only for their one callback.
  let stateless = statelessHttpCallback(plugin) !== undefined;
  /** Root contexts whose construction threw: they still count as roots of the VM. */
  const brokenRoots = new Set<number>();
  /** The VM's root while it has exactly one (the root of every stream made on the fly). */
  let singleRoot: RootContext | undefined;
  /** Streams seen at create that got no context (not ours, or the constructor threw). */
  const unrouted = new Set<number>();
  /** The last context made on the fly (kept if it makes an httpCall). */
  let lastTransient: HttpContext | undefined;
  /**
   * Stateless mode: the one context object reused for every stream of `singleRoot` (a JS object
   * costs QuickJS ~0.4 µs to build; this one is built once), rebound to each stream's id.
   */
  let flyweight: HttpContext | undefined;
  const implementedRoot = computeImplementedRoot(plugin);
  const implementedHttp = computeImplementedHttp(plugin, stateless);
  const implemented = new Set([...implementedRoot, ...implementedHttp]);
  const listeners: (() => void)[] = [];

  /** Back to one context per stream, create to delete, for good. */
  const endStatelessMode = (): void => {
    if (!stateless) return;
    stateless = false;
    for (const name of computeImplementedHttp(plugin, false)) {
      implementedHttp.add(name);
      implemented.add(name);
    }
    for (const listener of listeners) listener();
  };

  const rootsChanged = (): void => {
    const count = roots.size + brokenRoots.size;
    singleRoot = count === 1 ? roots.values().next().value : undefined;
    if (count > 1) endStatelessMode(); // which root would a stream belong to? Only create tells
  };

  /** A context made on the fly that makes an httpCall is kept, so its response finds it. */
  const noteHttpCall = (callerContextId: number): void => {
    const transient = lastTransient;
    if (transient === undefined || transient.contextId !== callerContextId || streams.has(callerContextId)) return;
    streams.set(callerContextId, transient);
    if (transient === flyweight) flyweight = undefined; // it now belongs to that stream alone
    endStatelessMode(); // its delete must now be routed
  };

  const report = (callback: string, contextId: number, error: unknown): void => {
    try {
      host.log(LogLevel.Error, `${plugin.name}: ${callback} (context ${contextId}) threw: ${describeError(error)}`);
    } catch {
      // The host cannot even log: returning the fallback is all that is left.
    }
  };

  /**
   * The stream's context: kept from create to delete; in stateless mode the root's flyweight,
   * rebound to this stream; or made for this callback (a stream under way when stateless mode
   * ended).
   */
  const streamOf = (contextId: number): HttpContext | undefined => {
    const root = singleRoot;
    if (stateless) {
      const reused = flyweight;
      if (reused !== undefined && reused.root === root) {
        rebindStatelessContext(reused, contextId);
        return lastTransient = reused;
      }
    } else {
      const kept = streams.get(contextId);
      if (kept !== undefined || unrouted.has(contextId)) return kept;
    }
    if (root === undefined) return undefined;
    try {
      const made = plugin.createHttpContext(root, contextId) ?? undefined;
      if (stateless && made !== undefined) flyweight = made;
      return lastTransient = made;
    } catch (error) {
      report('proxy_on_context_create', contextId, error);
      return undefined;
    }
  };

  // Streams first: they are the many, short-lived contexts.
  const contextOf = (contextId: number): Context | undefined => streams.get(contextId) ?? roots.get(contextId);

  const onContextCreate = (contextId: number, parentContextId: number): number => {
    try {
      if (parentContextId === 0) {
        try {
          const root = plugin.createRootContext(contextId, host);
          root.httpCalls.onAdd = noteHttpCall;
          roots.set(contextId, root);
        } catch (error) {
          brokenRoots.add(contextId);
          throw error;
        } finally {
          rootsChanged();
        }
        return 0;
      }
      if (stateless) return 0; // built on its callback (a host may still call create: Node)
      unrouted.add(contextId); // until a context is kept for it
      const root = roots.get(parentContextId);
      if (root === undefined) return 0; // not ours (e.g. a stream of a root that failed to build)
      const stream = plugin.createHttpContext(root, contextId);
      if (stream !== null) {
        streams.set(contextId, stream);
        unrouted.delete(contextId);
      }
    } catch (error) {
      report('proxy_on_context_create', contextId, error);
    }
    return 0;
  };

  const onVmStart = (contextId: number, size: number): number => {
    const root = roots.get(contextId);
    if (root === undefined) return 1;
    root.log.invalidate();
    try {
      return root.onVmStart(size) === false ? 0 : 1;
    } catch (error) {
      report('proxy_on_vm_start', contextId, error);
      return 1;
    }
  };

  const onConfigure = (contextId: number, size: number): number => {
    const root = roots.get(contextId);
    if (root === undefined) return 1;
    root.log.invalidate();
    try {
      return root.onConfigure(size) === false ? 0 : 1;
    } catch (error) {
      report('proxy_on_configure', contextId, error);
      return 1;
    }
  };

  const onTick = (contextId: number): number => {
    const root = roots.get(contextId);
    if (root === undefined) return 0;
    root.log.invalidate();
    try {
      root.onTick();
    } catch (error) {
      report('proxy_on_tick', contextId, error);
    }
    return 0;
  };

  const onQueueReady = (contextId: number, queueId: number): number => {
    const root = roots.get(contextId);
    if (root === undefined) return 0;
    root.log.invalidate();
    try {
      root.onQueueReady(queueId);
    } catch (error) {
      report('proxy_on_queue_ready', contextId, error);
    }
    return 0;
  };

  const onForeignFunction = (contextId: number, functionId: number, dataSize: number): number => {
    const root = roots.get(contextId);
    if (root === undefined) return 0;
    try {
      root.onForeignFunction(functionId, dataSize);
    } catch (error) {
      report('proxy_on_foreign_function', contextId, error);
    }
    return 0;
  };

  const onDone = (contextId: number): number => {
    const context = contextOf(contextId);
    if (context === undefined) return 1;
    try {
      return context.onDone() === false ? 0 : 1;
    } catch (error) {
      report('proxy_on_done', contextId, error);
      return 1;
    }
  };

  const onDelete = (contextId: number): number => {
    const stream = streams.get(contextId);
    const context: Context | undefined = stream ?? roots.get(contextId);
    if (context === undefined) {
      unrouted.delete(contextId);
      if (brokenRoots.delete(contextId)) rootsChanged();
      return 0;
    }
    try {
      context.onDelete();
    } catch (error) {
      report('proxy_on_delete', contextId, error);
    } finally {
      if (stream !== undefined) streams.delete(contextId);
      else {
        roots.delete(contextId);
        rootsChanged();
      }
    }
    return 0;
  };

  const onHttpCallResponse = (contextId: number, token: number, numHeaders: number, bodySize: number, numTrailers: number): number => {
    const target = contextOf(contextId);
    let pending = target?.httpCalls.take(token);
    if (pending === undefined && target === undefined) {
      // Hosts differ in which context id they report; the token alone identifies the call.
      for (const root of roots.values()) {
        pending = root.httpCalls.take(token);
        if (pending !== undefined) break;
      }
    }
    const caller = pending === undefined ? target : contextOf(pending.callerContextId);
    if (caller === undefined) return 0; // the calling context was deleted meanwhile: nobody to tell
    try {
      if (caller.contextId !== contextId) host.setEffectiveContext(caller.contextId);
      caller.log.invalidate();
      if (pending?.callback !== undefined) {
        pending.callback(new HttpCallResponse(host, token, numHeaders, bodySize, numTrailers));
      } else {
        caller.onHttpCallResponse(token, numHeaders, bodySize, numTrailers);
      }
    } catch (error) {
      report('proxy_on_http_call_response', contextId, error);
    }
    return 0;
  };

  const onLog = (contextId: number): number => {
    const stream = streamOf(contextId);
    if (stream === undefined) return 0;
    try {
      stream.onLog();
    } catch (error) {
      report('proxy_on_log', contextId, error);
    }
    return 0;
  };

  const onRequestHeaders = (contextId: number, numHeaders: number, endOfStream: number): number => {
    const stream = streamOf(contextId);
    if (stream === undefined) return 0;
    try {
      return stream.onRequestHeaders(numHeaders, endOfStream !== 0) | 0; // undefined (a forgotten return) → Continue
    } catch (error) {
      report('proxy_on_request_headers', contextId, error);
      return 0;
    }
  };

  const onRequestBody = (contextId: number, bodySize: number, endOfStream: number): number => {
    const stream = streamOf(contextId);
    if (stream === undefined) return 0;
    try {
      return stream.onRequestBody(bodySize, endOfStream !== 0) | 0; // undefined (a forgotten return) → Continue
    } catch (error) {
      report('proxy_on_request_body', contextId, error);
      return 0;
    }
  };

  const onRequestTrailers = (contextId: number, numTrailers: number): number => {
    const stream = streamOf(contextId);
    if (stream === undefined) return 0;
    try {
      return stream.onRequestTrailers(numTrailers) | 0; // undefined (a forgotten return) → Continue
    } catch (error) {
      report('proxy_on_request_trailers', contextId, error);
      return 0;
    }
  };

  const onResponseHeaders = (contextId: number, numHeaders: number, endOfStream: number): number => {
    const stream = streamOf(contextId);
    if (stream === undefined) return 0;
    try {
      return stream.onResponseHeaders(numHeaders, endOfStream !== 0) | 0; // undefined (a forgotten return) → Continue
    } catch (error) {
      report('proxy_on_response_headers', contextId, error);
      return 0;
    }
  };

  const onResponseBody = (contextId: number, bodySize: number, endOfStream: number): number => {
    const stream = streamOf(contextId);
    if (stream === undefined) return 0;
    try {
      return stream.onResponseBody(bodySize, endOfStream !== 0) | 0; // undefined (a forgotten return) → Continue
    } catch (error) {
      report('proxy_on_response_body', contextId, error);
      return 0;
    }
  };

  const onResponseTrailers = (contextId: number, numTrailers: number): number => {
    const stream = streamOf(contextId);
    if (stream === undefined) return 0;
    try {
      return stream.onResponseTrailers(numTrailers) | 0; // undefined (a forgotten return) → Continue
    } catch (error) {
      report('proxy_on_response_trailers', contextId, error);
      return 0;
    }
  };

  const handlers: Readonly<Record<string, Handler>> = {
    proxy_on_context_create: onContextCreate,
    proxy_on_vm_start: onVmStart,
    proxy_on_configure: onConfigure,
    proxy_on_tick: onTick,
    proxy_on_queue_ready: onQueueReady,
    proxy_on_foreign_function: onForeignFunction,
    proxy_on_done: onDone,
    proxy_on_delete: onDelete,
    proxy_on_http_call_response: onHttpCallResponse,
    proxy_on_log: onLog,
    proxy_on_request_headers: onRequestHeaders,
    proxy_on_request_body: onRequestBody,
    proxy_on_request_trailers: onRequestTrailers,
    proxy_on_response_headers: onResponseHeaders,
    proxy_on_response_body: onResponseBody,
    proxy_on_response_trailers: onResponseTrailers,
  };

  // One function per CALLBACKS entry; the ones this SDK does not route (TCP stream callbacks)
  // just return the table's fallback.
  const callbacks: GuestCallbacks = {};
  for (const spec of CALLBACKS) {
    const fallback = spec.fallback;
    callbacks[spec.name] = handlers[spec.name] ?? ((): number => fallback);
  }

  return {
    callbacks, implemented, implementedRoot, implementedHttp,
    onImplementedChange(listener: () => void): void {
      listeners.push(listener);
    },
  };
}
