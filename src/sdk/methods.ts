// Which context method serves which proxy_on_* callback: the SDK's one list, from which the
// dispatcher builds its handlers and definePlugin tells which callbacks a plugin overrides.

import type { HttpContext, RootContext } from './context.js';

/** Root-context callbacks and the RootContext method each one calls. */
export const ROOT_METHODS: Readonly<Record<string, keyof RootContext>> = {
  proxy_on_vm_start: 'onVmStart',
  proxy_on_configure: 'onConfigure',
  proxy_on_tick: 'onTick',
  proxy_on_queue_ready: 'onQueueReady',
  proxy_on_foreign_function: 'onForeignFunction',
  proxy_on_done: 'onDone',
};

/**
 * Per-stream callbacks and the HttpContext method each one calls: its table.ts params after
 * the context id are passed on (an `endOfStream` as a boolean), its result is the Action.
 */
export const STREAM_METHODS: Readonly<Record<string, keyof HttpContext>> = {
  proxy_on_request_headers: 'onRequestHeaders',
  proxy_on_request_body: 'onRequestBody',
  proxy_on_request_trailers: 'onRequestTrailers',
  proxy_on_response_headers: 'onResponseHeaders',
  proxy_on_response_body: 'onResponseBody',
  proxy_on_response_trailers: 'onResponseTrailers',
  proxy_on_log: 'onLog',
};

/** Every HTTP-context callback and its method. */
export const HTTP_METHODS: Readonly<Record<string, keyof HttpContext>> = { ...STREAM_METHODS, proxy_on_done: 'onDone' };

/** HttpContext methods that keep a context alive past its callback: a stateless context may not override them. */
export const HTTP_LIFETIME_METHODS: readonly (keyof HttpContext)[] = ['onDone', 'onDelete', 'onHttpCallResponse'];

export function overrides(prototype: object, base: object, method: string): boolean {
  return (prototype as Record<string, unknown>)[method] !== (base as Record<string, unknown>)[method];
}
