// The public SDK: what plugin files import.

export { definePlugin } from './plugin.js';
export type { PluginDefinition, PluginSpec, RootContextClass, HttpContextClass } from './plugin.js';
export { Context, RootContext, HttpContext, HttpCallRegistry } from './context.js';
export type { HeaderPairsIn, HttpCallCallback } from './context.js';
export { Logger, Counter, Gauge, Histogram, HttpCallResponse, ALL_BYTES, wirePropertyPath } from './hostcalls.js';
export type { HeaderPairs, LogMessage, SharedDataEntry, WirePropertyPath } from './hostcalls.js';
export * as hostcalls from './hostcalls.js';
export { getEnv, getEnvAll } from './env.js';
export { HostcallError, UnsupportedError, describeError, statusName } from './errors.js';
export { createDispatcher } from './dispatcher.js';
export type { Dispatcher } from './dispatcher.js';
export { Action, LogLevel, MapType, BufferType, MetricType, StreamType, PeerType, Status } from './table.js';
export type { Host, GuestCallbacks, BytesIn, FlatPairs } from './host.js';
