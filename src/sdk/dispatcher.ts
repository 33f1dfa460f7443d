// Routes each proxy_on_* callback to the right context object.
//
// - Contexts by id: a context created with parent 0 is a root context (plugin.createRootContext);
//   any other is an HTTP context made by its root (plugin.createHttpContext).
// - Every handler catches what the plugin throws: logged at error level with the JS stack via
//   host.log, then the table's fallback is returned, and the VM stays usable. Except at start: a
//   throwing onVmStart / onConfigure fails the plugin's start (false), as returning false does.
// - Handlers are generated from CALLBACKS and the method lists of methods.ts (one per root
//   callback, one per stream callback): no hand-written copy per callback.
// - httpCall tokens map to the callback and the context that made the call; the response is
//   delivered with that context made effective.
// - `implementedRoot` / `implementedHttp` are computed from the plugin's classes, per context
//   kind, so the bridge can skip entering JS for callbacks nobody overrides (a root's onDone costs
//   streams nothing); `implemented` is their union (the Node host's view).
// - Stateless HTTP contexts (StatelessHttpContext, an explicit opt-in, see context.ts): no
//   create/delete is routed for streams; ONE context
//   object (a flyweight, built once per root) serves them all, its contextId set before each
//   callback. A second root in the VM, or an httpCall from a stream context, ends this mode for
//   good (the sets change; `onImplementedChange` listeners are told).
// Handlers are built once per VM; the per-callback path allocates nothing but what the plugin does.

import type { GuestCallbacks, Host, LogBatch } from '../abi/index.js';
import type { PluginDefinition } from './plugin.js';
import { CALLBACKS, LogLevel, splitAgeEntry, type CallbackSpec } from '../abi/index.js';
import { HttpContext, RootContext, rebindStatelessContext, type Context } from './context.js';
import { describeError, HostcallError } from './errors.js';
import { ageElementChecked, HttpCallResponse } from './hostcalls.js';
import { HTTP_METHODS, overrides, ROOT_METHODS, STREAM_METHODS } from './methods.js';

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

/** Needed for root bookkeeping whatever the plugin overrides (roots map, httpCall tokens). */
const ROOT_ALWAYS = ['proxy_on_context_create', 'proxy_on_delete', 'proxy_on_http_call_response'];
/** Needed for stream bookkeeping (streams map); not in stateless mode. */
const HTTP_LIFECYCLE = ['proxy_on_context_create', 'proxy_on_delete'];
/**
 * A response is routed by its token, whatever context id the host reports (rare: not per
 * request), so every context kind enters JS for it.
 */
const HTTP_ALWAYS = ['proxy_on_http_call_response'];

/** Distinct capture records remembered by their header part (deliverBatch); emptied when full. */
const MAX_CAPTURE_TUPLES = 4096;

/**
 * A capture record's key (RootContext.onLogValues): its first `fields` values, each followed by
 * a NUL, \x01 where absent — the bridge's batch format, so the key is the same in Node and Wasm.
 */
export function captureKey(values: readonly (string | number | undefined)[], fields: number): string {
  let key = '';
  for (let k = 0; k < fields; k++) {
    const v = values[k];
    key += `${v === undefined ? '\u0001' : String(v)}\0`;
  }
  return key;
}

/** The per-stream callback of a plugin whose HTTP contexts are stateless (definePlugin checked it). */
export function statelessHttpCallback(plugin: PluginDefinition): string | undefined {
  return plugin.statelessCallback;
}

/** The callbacks root contexts need (by export name). */
export function computeImplementedRoot(plugin: PluginDefinition): Set<string> {
  const implemented = new Set<string>(ROOT_ALWAYS);
  // a log capture's batches are delivered at the latest before the root's tick and done
  if (plugin.logCapture !== undefined) implemented.add('proxy_on_tick').add('proxy_on_done');
  for (const [callback, method] of Object.entries(ROOT_METHODS)) {
    if (overrides(plugin.rootPrototype, RootContext.prototype, method)) implemented.add(callback);
  }
  return implemented;
}

/** The callbacks HTTP contexts need (by export name); `stateless`: see statelessHttpCallback. */
export function computeImplementedHttp(plugin: PluginDefinition, stateless: boolean): Set<string> {
  const implemented = new Set<string>(HTTP_ALWAYS);
  if (plugin.logCapture !== undefined) implemented.add('proxy_on_log');
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

/**
 * Every callback the plugin can ever want entered, whatever its mode (stateless or not): the
 * exports a module built from it needs. The build drops the other proxy_on_* exports, because a
 * host calls each exported stream callback per stream (Envoy: one V8 call each) even when the
 * bridge would return at once.
 */
export function possibleCallbacks(plugin: PluginDefinition): Set<string> {
  const possible = new Set([...computeImplementedRoot(plugin), ...computeImplementedHttp(plugin, false)]);
  if (plugin.logCapture !== undefined) for (const name of HTTP_LIFECYCLE) possible.add(name); // several roots
  return possible;
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
  /** The context whose callback runs now; 0 between callbacks (HttpCallRegistry.running). */
  const running = { contextId: 0 };

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

  // Log capture (plugin.logCapture): with one root, the Wasm bridge captures each stream's values
  // (host.setLogCapture) and this dispatcher delivers them in batches; otherwise (Node, or
  // several roots: a stream's root is known from its create) each stream's log reads them here.
  const capture = plugin.logCapture;
  const [captureHeaders, captureAgePath] = capture === undefined ? ['', undefined] : splitAgeEntry(capture.query);
  /** Values per record: the header entries, then the age entry if any. */
  const captureFields = (captureHeaders === '' ? 0 : captureHeaders.split('\0').length) + (captureAgePath === undefined ? 0 : 1);
  const captureAgeAt = captureAgePath === undefined ? -1 : captureFields - 1;
  /**
   * The age of request.time (the stream's start) is what a latency is: the bridge can time it
   * from the stream's context create by the clock (a cheap hostcall) rather than read the
   * property at log (Envoy evaluates an attribute path: measured ~4 µs per request).
   */
  const captureFromStart = captureAgePath === 'request\0time' ? 1 : 0;
  let bridgeCapture = false;
  /** Several roots: each stream's root, from create to delete. */
  const streamRoots = new Map<number, RootContext>();

  /** Header entries per record (the age entry, if any, follows them). */
  const captureHeaderFields = captureAgeAt >= 0 ? captureAgeAt : captureFields;
  /**
   * Records' keys seen lately → their values (the age slot rewritten per record), so a repeated
   * record costs no split: a batch is mostly repeats, and in QuickJS every string a split makes
   * is an allocation (measured with the sender in Node: parsing a text batch cost ~2.9 µs per
   * request, about as much as the aggregation). Bounded: emptied when full.
   */
  const captureTuples = new Map<string, (string | number | undefined)[]>();
  /** A batch from takeLogBatch (LogBatch) to `root`, record by record. */
  const deliverBatch = (root: RootContext, batch: LogBatch): void => {
    var n = batch.length;
    for (var i = 1; i + 1 < n; i += 2) {
      var key = batch[i] as string;
      var values = captureTuples.get(key);
      if (values === undefined) values = newCaptureTuple(key);
      if (captureAgeAt >= 0) values[captureAgeAt] = batch[i + 1];
      try {
        root.onLogValues(values, key);
      } catch (error) {
        report('proxy_on_log', root.contextId, error);
      }
    }
  };
  const newCaptureTuple = (key: string): (string | number | undefined)[] => {
    if (captureTuples.size >= MAX_CAPTURE_TUPLES) captureTuples.clear();
    const parts = key.split('\0');
    const values: (string | number | undefined)[] = new Array<string | number | undefined>(captureFields);
    for (let k = 0; k < captureHeaderFields; k++) values[k] = parts[k] === '\u0001' ? undefined : parts[k];
    captureTuples.set(key, values);
    return values;
  };
  /** What the bridge holds, to the root it was captured for (before that root's tick/done/delete). */
  const drainCapture = (root: RootContext | undefined): void => {
    if (bridgeCapture && root !== undefined && root === singleRoot) deliverBatch(root, host.takeLogBatch!());
  };
  /** A stream's log: the batch if the bridge says it is full, else this stream's values read here. */
  const captureLog = (contextId: number): void => {
    if (roots.has(contextId)) return;
    if (bridgeCapture) {
      const batch = host.takeLogBatch!();
      if (singleRoot !== undefined) deliverBatch(singleRoot, batch);
      if (batch[0] !== 0) return; // 0: this stream's record did not fit, read it below
    }
    const root = singleRoot ?? streamRoots.get(contextId);
    if (root === undefined || capture === undefined) return;
    try {
      const result = host.getHeaderMapsValues(capture.query);
      if (typeof result === 'number') throw new HostcallError('proxy_get_header_map_value', result);
      const age = result[result.length - 1];
      root.onLogValues(captureAgeAt >= 0 && typeof age === 'number' && age < 0 ? ageElementChecked(result) : result, captureKey(result, captureHeaderFields));
    } catch (error) {
      report('proxy_on_log', contextId, error);
    }
  };
  const setBridgeCapture = (on: boolean): void => {
    if (capture === undefined || host.setLogCapture === undefined || on === bridgeCapture) return;
    if (!on) drainCapture(singleRoot);
    bridgeCapture = on && host.setLogCapture(capture.query, capture.batchRecords, captureFromStart) === 0;
    if (!on) host.setLogCapture('', 0);
  };

  const rootsChanged = (): void => {
    const count = roots.size + brokenRoots.size;
    if (count !== 1) setBridgeCapture(false); // to the root it was captured for, still singleRoot here
    singleRoot = count === 1 ? roots.values().next().value : undefined;
    if (count > 1) endStatelessMode(); // which root would a stream belong to? Only create tells
    if (count > 1 && capture !== undefined && !implementedHttp.has('proxy_on_context_create')) {
      for (const name of HTTP_LIFECYCLE) {
        implementedHttp.add(name);
        implemented.add(name);
      }
      for (const listener of listeners) listener();
    }
    if (count === 1 && singleRoot !== undefined) setBridgeCapture(true);
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
          root.httpCalls.running = running;
          roots.set(contextId, root);
        } catch (error) {
          brokenRoots.add(contextId);
          throw error;
        } finally {
          rootsChanged();
        }
        return 0;
      }
      if (capture !== undefined) {
        const parent = roots.get(parentContextId);
        if (parent !== undefined && roots.size > 1) streamRoots.set(contextId, parent);
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

  /**
   * A root callback's handler, from its table entry: the root's method with the callback's params
   * after the context id. 'bool' callbacks answer 0 for false; a throw is the fallback, except
   * at start (vm_start, configure), where it fails the plugin as false does.
   */
  const rootHandler = (spec: CallbackSpec, method: keyof RootContext): Handler => {
    const failed = spec.name === 'proxy_on_vm_start' || spec.name === 'proxy_on_configure' ? 0 : spec.fallback;
    const bool = spec.result === 'bool';
    const invalidateLog = spec.name !== 'proxy_on_foreign_function';
    const drain = spec.name === 'proxy_on_tick'; // a log capture's records before the tick
    return (contextId: number, a?: number, b?: number): number => {
      const root = roots.get(contextId);
      if (root === undefined) return spec.fallback;
      if (invalidateLog) root.log.invalidate();
      if (drain) drainCapture(root);
      running.contextId = contextId;
      try {
        const result = (root[method] as (a?: number, b?: number) => unknown)(a, b);
        return bool ? (result === false ? 0 : 1) : 0;
      } catch (error) {
        report(spec.name, contextId, error);
        return failed;
      } finally {
        running.contextId = 0;
      }
    };
  };

  const onDone = (contextId: number): number => {
    const context = contextOf(contextId);
    if (context === undefined) return 1;
    running.contextId = contextId;
    if (context instanceof RootContext) drainCapture(context);
    try {
      return context.onDone() === false ? 0 : 1;
    } catch (error) {
      report('proxy_on_done', contextId, error);
      return 1;
    } finally {
      running.contextId = 0;
    }
  };

  const onDelete = (contextId: number): number => {
    if (capture !== undefined) {
      streamRoots.delete(contextId);
      drainCapture(roots.get(contextId));
    }
    const stream = streams.get(contextId);
    const context: Context | undefined = stream ?? roots.get(contextId);
    if (context === undefined) {
      unrouted.delete(contextId);
      if (brokenRoots.delete(contextId)) rootsChanged();
      return 0;
    }
    running.contextId = contextId;
    try {
      context.onDelete();
    } catch (error) {
      report('proxy_on_delete', contextId, error);
    } finally {
      running.contextId = 0;
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
    running.contextId = caller.contextId;
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
    } finally {
      running.contextId = 0;
    }
    return 0;
  };

  /**
   * A stream callback's handler, from its table entry: the stream's method with the params after
   * the context id (`endOfStream` as a boolean); the result as an Action (undefined, a forgotten
   * return, is Continue). Shaped by arity so the per-request path makes no arguments array.
   */
  const streamHandler = (spec: CallbackSpec, method: keyof HttpContext): Handler => {
    const name = spec.name;
    const fallback = spec.fallback;
    // `stream[method](...)`: a method call on the context (no Function.prototype.call on the hot path)
    type Methods = Record<string, (a?: number, endOfStream?: boolean) => unknown>;
    if (spec.params.length <= 2) {
      return (contextId: number, a?: number): number => {
        const stream = streamOf(contextId) as unknown as Methods | undefined;
        if (stream === undefined) return fallback;
        running.contextId = contextId;
        try {
          const action = (stream[method]!(a) as number) | 0;
          running.contextId = 0; // not in a finally: the per-request path stays plain
          return action;
        } catch (error) {
          running.contextId = 0;
          report(name, contextId, error);
          return fallback;
        }
      };
    }
    if (spec.params[2] !== 'endOfStream') throw new Error(`dispatcher: no stream handler shape for ${name}`);
    return (contextId: number, a: number, endOfStream: number): number => {
      const stream = streamOf(contextId) as unknown as Methods | undefined;
      if (stream === undefined) return fallback;
      running.contextId = contextId;
      try {
        const action = (stream[method]!(a, endOfStream !== 0) as number) | 0;
        running.contextId = 0;
        return action;
      } catch (error) {
        running.contextId = 0;
        report(name, contextId, error);
        return fallback;
      }
    };
  };

  const handlers: Record<string, Handler> = {
    proxy_on_context_create: onContextCreate,
    proxy_on_done: onDone,
    proxy_on_delete: onDelete,
    proxy_on_http_call_response: onHttpCallResponse,
  };
  for (const spec of CALLBACKS) {
    const rootMethod = ROOT_METHODS[spec.name];
    const streamMethod = STREAM_METHODS[spec.name];
    if (handlers[spec.name] !== undefined) continue; // done: roots and streams alike, above
    if (rootMethod !== undefined) handlers[spec.name] = rootHandler(spec, rootMethod);
    else if (streamMethod !== undefined) handlers[spec.name] = streamHandler(spec, streamMethod);
  }
  const streamLog = handlers.proxy_on_log;
  if (capture !== undefined && streamLog !== undefined) {
    handlers.proxy_on_log = (contextId: number): number => {
      captureLog(contextId);
      return plugin.httpPrototype === null ? 0 : streamLog(contextId); // no HTTP class: the capture is all
    };
  }

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
