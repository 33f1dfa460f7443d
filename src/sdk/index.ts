// The public SDK: what plugin files (src/*.ts, examples/) import, and all they import from the
// project (test/unit/sdk-hygiene.test.ts checks the import graph). Its ABI is re-exported only
// where a plugin needs a name (enums, the Host type).

export { definePlugin } from './plugin.js';
export type { PluginDefinition, PluginSpec, RootContextClass, HttpContextClass } from './plugin.js';
export { Context, RootContext, HttpContext, StatelessHttpContext, HttpCallRegistry } from './context.js';
export type { HeaderPairsIn, HttpCallCallback } from './context.js';
export { Logger, Counter, Gauge, Histogram, HttpCallResponse, ALL_BYTES, wirePropertyPath } from './hostcalls.js';
export type { HeaderPairs, LogMessage, SharedDataEntry, WirePropertyPath } from './hostcalls.js';
export * as hostcalls from './hostcalls.js';
export { getEnv, getEnvAll } from './env.js';
export { Sha256, sha256Constructor } from './crypto.js';
export type { SourceData } from './crypto.js';
export { HostcallError, UnsupportedError, describeError, statusName } from './errors.js';
export { createDispatcher } from './dispatcher.js';
export type { Dispatcher } from './dispatcher.js';
export { Action, LogLevel, MapType, BufferType, MetricType, StreamType, PeerType, Status } from '../abi/index.js';
export type { Host, GuestCallbacks, BytesIn, FlatPairs } from '../abi/index.js';
