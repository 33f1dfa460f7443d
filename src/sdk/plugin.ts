// How a plugin declares itself. A plugin file does
//
//   class MyRoot extends RootContext { override onConfigure(size: number) { ... } }
//   class MyHttp extends HttpContext<MyRoot> { override onLog() { ... this.root ... } }
//   export default definePlugin({ name: 'my-plugin', root: MyRoot, http: MyHttp });
//
// (a filter with no per-stream state may extend StatelessHttpContext instead: an explicit opt-in
// to one context object reused for every stream, see context.ts)
// and keeps NO module-level mutable state (several VMs may share one module instance in Node
// mode): all state lives in context objects. The classes (not instances) are declared so the
// dispatcher can tell statically which callbacks the plugin overrides.

import type { HeaderAgeQuery, HeaderQuery, Host } from '../abi/index.js';
import { HttpContext, RootContext, StatelessHttpContext } from './context.js';
import { HTTP_LIFETIME_METHODS, overrides, STREAM_METHODS } from './methods.js';

export type RootContextClass<R extends RootContext = RootContext> = new (contextId: number, host: Host) => R;
export type HttpContextClass<R extends RootContext = RootContext> = new (contextId: number, root: R) => HttpContext<R>;

export interface PluginSpec<R extends RootContext> {
  /** Shown in error logs. */
  readonly name: string;
  /** Constructed with (contextId, host) for every root context (parent id 0). */
  readonly root: RootContextClass<R>;
  /**
   * Constructed with (contextId, root) for every HTTP stream, unless the root class overrides
   * createHttpContext (then declare here the class it returns, so unused callbacks are skipped).
   * Omit for a plugin without HTTP contexts (e.g. a singleton service).
   */
  readonly http?: HttpContextClass<R>;
  /**
   * Values to read at every stream's end (a hostcalls.headerQuery or headerAgeQuery), handed to
   * the root's onLogValues: in Wasm captured by the bridge without entering JS per stream and
   * delivered in batches of `batchRecords` (default 64). For plugins whose per-stream work is
   * "read some values at the end, aggregate them in the root". In Wasm an age entry of
   * ['request', 'time'] is timed from the stream's context create (when the filter chain is made,
   * right after the request headers; Envoy's request.time is the stream's creation, earlier by
   * the header parsing), sparing a property read per stream.
   */
  readonly logCapture?: { readonly query: HeaderQuery<LogValuesOf<R>> | HeaderAgeQuery<LogValuesOf<R>>; readonly batchRecords?: number };
}

/**
 * The values the root's onLogValues takes: a log capture's query must answer that type (e.g. the
 * sender's RequestValues), so the query and its consumer cannot drift apart.
 */
export type LogValuesOf<R extends RootContext> = Parameters<R['onLogValues']>[0];

/** Records per batch of a log capture unless the plugin says otherwise. */
export const DEFAULT_LOG_BATCH_RECORDS = 64;

export interface PluginDefinition {
  readonly name: string;
  createRootContext(contextId: number, host: Host): RootContext;
  /** The HTTP context for a new stream of `root`, or null when the plugin handles none. */
  createHttpContext(root: RootContext, contextId: number): HttpContext | null;
  /** For the dispatcher's `implemented` set: the root class's prototype. */
  readonly rootPrototype: RootContext;
  /**
   * The HTTP context class's prototype; null when the plugin creates no HTTP contexts;
   * undefined when unknown statically (root overrides createHttpContext, no `http` declared).
   */
  readonly httpPrototype: HttpContext | null | undefined;
  /**
   * The one per-stream callback (export name) of a StatelessHttpContext class, whose contexts the
   * dispatcher reuses across streams (context.ts); undefined for any other plugin.
   */
  readonly statelessCallback: string | undefined;
  /** PluginSpec.logCapture, with its default applied. */
  readonly logCapture?: { readonly query: string; readonly batchRecords: number };
}

function isSubclass(candidate: unknown, base: abstract new (...args: never[]) => object): boolean {
  return candidate === base || (typeof candidate === 'function' && candidate.prototype instanceof base);
}

/**
 * A StatelessHttpContext class's one per-stream callback; a TypeError naming what breaks the
 * rules (context.ts) otherwise. undefined for other classes: their contexts live per stream.
 */
function statelessCallbackOf(name: string, prototype: HttpContext | null | undefined): string | undefined {
  if (!(prototype instanceof StatelessHttpContext)) return undefined;
  const lifetime = HTTP_LIFETIME_METHODS.filter((method) => overrides(prototype, HttpContext.prototype, method));
  if (lifetime.length > 0) {
    throw new TypeError(`definePlugin(${name}): a StatelessHttpContext is reused across streams and may not override ${lifetime.join(', ')}; extend HttpContext`);
  }
  const used = Object.entries(STREAM_METHODS).filter(([, method]) => overrides(prototype, HttpContext.prototype, method));
  if (used.length !== 1) {
    throw new TypeError(`definePlugin(${name}): a StatelessHttpContext overrides exactly one per-stream callback, not ${used.length}`
      + `${used.length ? ` (${used.map(([, method]) => method).join(', ')})` : ''}; extend HttpContext`);
  }
  return used[0]![0];
}

export function definePlugin<R extends RootContext>(spec: PluginSpec<R>): PluginDefinition {
  if (typeof spec.name !== 'string' || spec.name === '') throw new TypeError('definePlugin: `name` must be a non-empty string');
  if (!isSubclass(spec.root, RootContext)) {
    throw new TypeError(`definePlugin(${spec.name}): \`root\` must be a class extending RootContext`);
  }
  const httpClass = spec.http;
  if (httpClass !== undefined && !isSubclass(httpClass, HttpContext)) {
    throw new TypeError(`definePlugin(${spec.name}): \`http\` must be a class extending HttpContext`);
  }
  const rootClass = spec.root;
  const rootPrototype = rootClass.prototype as RootContext;
  const rootCreatesHttp = rootPrototype.createHttpContext !== RootContext.prototype.createHttpContext;

  let httpPrototype: HttpContext | null | undefined;
  if (httpClass !== undefined) httpPrototype = httpClass.prototype as HttpContext;
  else httpPrototype = rootCreatesHttp ? undefined : null;

  const statelessCallback = statelessCallbackOf(spec.name, httpPrototype);

  const capture = spec.logCapture;
  if (capture !== undefined && (typeof capture.query !== 'string' || capture.query === '')) {
    throw new TypeError(`definePlugin(${spec.name}): \`logCapture.query\` must be a header query (hostcalls.headerQuery / headerAgeQuery)`);
  }
  return {
    name: spec.name,
    rootPrototype,
    httpPrototype,
    statelessCallback,
    ...(capture !== undefined
      ? { logCapture: { query: capture.query, batchRecords: Math.max(1, Math.floor(capture.batchRecords ?? DEFAULT_LOG_BATCH_RECORDS)) } }
      : {}),
    createRootContext(contextId: number, host: Host): RootContext {
      return new rootClass(contextId, host);
    },
    createHttpContext(root: RootContext, contextId: number): HttpContext | null {
      if (rootCreatesHttp || httpClass === undefined) return root.createHttpContext(contextId);
      // The root was built by createRootContext above, so it is an R.
      return new httpClass(contextId, root as R) as HttpContext;
    },
  };
}
