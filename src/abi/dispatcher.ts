// Routes each proxy_on_* callback to the right context object.
//
// - Contexts by id: a context created with parent 0 is a root context (plugin.createRootContext);
//   any other is an HTTP context made by its root (plugin.createHttpContext).
// - Every handler catches what the plugin throws: logged at error level with the JS stack via
//   host.log, then the table's fallback is returned, and the VM stays usable.
// - httpCall tokens map to the callback and the context that made the call; the response is
//   delivered with that context made effective.
// - `implemented` is computed statically from the plugin's classes, so the bridge can skip
//   entering JS for callbacks nobody overrides.
// Handlers are built once per VM; the per-callback path allocates nothing but what the plugin does.

import type { GuestCallbacks, Host } from './host.js';
import type { PluginDefinition } from './plugin.js';
import { HttpContext, RootContext, type Context } from './context.js';
import { describeError } from './errors.js';
import { HttpCallResponse } from './hostcalls.js';
import { CALLBACKS, LogLevel } from './table.js';

export interface Dispatcher {
  readonly callbacks: GuestCallbacks;
  readonly implemented: ReadonlySet<string>;
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

/** Needed for bookkeeping whatever the plugin overrides (contexts map, httpCall tokens). */
const ALWAYS_IMPLEMENTED = ['proxy_on_context_create', 'proxy_on_delete', 'proxy_on_http_call_response'];

function overrides(prototype: object, base: object, method: string): boolean {
  return (prototype as Record<string, unknown>)[method] !== (base as Record<string, unknown>)[method];
}

/** The callbacks that do real work for this plugin (by export name). */
export function computeImplemented(plugin: PluginDefinition): Set<string> {
  const implemented = new Set<string>(ALWAYS_IMPLEMENTED);
  for (const [callback, method] of Object.entries(ROOT_METHODS)) {
    if (overrides(plugin.rootPrototype, RootContext.prototype, method)) implemented.add(callback);
  }
  const httpPrototype = plugin.httpPrototype;
  if (httpPrototype === null) return implemented;
  for (const [callback, method] of Object.entries(HTTP_METHODS)) {
    // undefined: the root builds HTTP contexts of classes we cannot see; assume all are used.
    if (httpPrototype === undefined || overrides(httpPrototype, HttpContext.prototype, method)) implemented.add(callback);
  }
  return implemented;
}

export function createDispatcher(plugin: PluginDefinition, host: Host): Dispatcher {
  const roots = new Map<number, RootContext>();
  const streams = new Map<number, HttpContext>();

  const report = (callback: string, contextId: number, error: unknown): void => {
    try {
      host.log(LogLevel.Error, `${plugin.name}: ${callback} (context ${contextId}) threw: ${describeError(error)}`);
    } catch {
      // The host cannot even log: returning the fallback is all that is left.
    }
  };

  // Streams first: they are the many, short-lived contexts.
  const contextOf = (contextId: number): Context | undefined => streams.get(contextId) ?? roots.get(contextId);

  const onContextCreate = (contextId: number, parentContextId: number): number => {
    try {
      if (parentContextId === 0) {
        roots.set(contextId, plugin.createRootContext(contextId, host));
        return 0;
      }
      const root = roots.get(parentContextId);
      if (root === undefined) return 0; // not ours (e.g. a stream of a root that failed to build)
      const stream = plugin.createHttpContext(root, contextId);
      if (stream !== null) streams.set(contextId, stream);
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
    if (context === undefined) return 0;
    try {
      context.onDelete();
    } catch (error) {
      report('proxy_on_delete', contextId, error);
    } finally {
      if (stream !== undefined) streams.delete(contextId);
      else roots.delete(contextId);
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
    const stream = streams.get(contextId);
    if (stream === undefined) return 0;
    try {
      stream.onLog();
    } catch (error) {
      report('proxy_on_log', contextId, error);
    }
    return 0;
  };

  const onRequestHeaders = (contextId: number, numHeaders: number, endOfStream: number): number => {
    const stream = streams.get(contextId);
    if (stream === undefined) return 0;
    try {
      return stream.onRequestHeaders(numHeaders, endOfStream !== 0) | 0; // undefined (a forgotten return) → Continue
    } catch (error) {
      report('proxy_on_request_headers', contextId, error);
      return 0;
    }
  };

  const onRequestBody = (contextId: number, bodySize: number, endOfStream: number): number => {
    const stream = streams.get(contextId);
    if (stream === undefined) return 0;
    try {
      return stream.onRequestBody(bodySize, endOfStream !== 0) | 0; // undefined (a forgotten return) → Continue
    } catch (error) {
      report('proxy_on_request_body', contextId, error);
      return 0;
    }
  };

  const onRequestTrailers = (contextId: number, numTrailers: number): number => {
    const stream = streams.get(contextId);
    if (stream === undefined) return 0;
    try {
      return stream.onRequestTrailers(numTrailers) | 0; // undefined (a forgotten return) → Continue
    } catch (error) {
      report('proxy_on_request_trailers', contextId, error);
      return 0;
    }
  };

  const onResponseHeaders = (contextId: number, numHeaders: number, endOfStream: number): number => {
    const stream = streams.get(contextId);
    if (stream === undefined) return 0;
    try {
      return stream.onResponseHeaders(numHeaders, endOfStream !== 0) | 0; // undefined (a forgotten return) → Continue
    } catch (error) {
      report('proxy_on_response_headers', contextId, error);
      return 0;
    }
  };

  const onResponseBody = (contextId: number, bodySize: number, endOfStream: number): number => {
    const stream = streams.get(contextId);
    if (stream === undefined) return 0;
    try {
      return stream.onResponseBody(bodySize, endOfStream !== 0) | 0; // undefined (a forgotten return) → Continue
    } catch (error) {
      report('proxy_on_response_body', contextId, error);
      return 0;
    }
  };

  const onResponseTrailers = (contextId: number, numTrailers: number): number => {
    const stream = streams.get(contextId);
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

  return { callbacks, implemented: computeImplemented(plugin) };
}
