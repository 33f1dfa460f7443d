// The proxy-wasm ABI 0.2.1 as data: the single source of truth for enums, hostcalls, callbacks
// and the bridge's own primitives. The WAT bridge generator (shims/gen-bridge.mjs), the `Host`
// type (host.ts, derived from HOSTCALLS), the SDK (src/sdk/) and the local host (host/) all read
// this table. Other files name a hostcall only as the label of an error (HostcallError) or a test
// expectation; no arity, marshalling kind or enum value is written anywhere else.

export enum Status {
  Ok = 0,
  NotFound = 1,
  BadArgument = 2,
  SerializationFailure = 3,
  ParseFailure = 4,
  BadExpression = 5,
  InvalidMemoryAccess = 6,
  Empty = 7,
  CasMismatch = 8,
  ResultMismatch = 9,
  InternalFailure = 10,
  BrokenConnection = 11,
  Unimplemented = 12,
}

export const STATUS_NAMES = [
  'Ok', 'NotFound', 'BadArgument', 'SerializationFailure', 'ParseFailure', 'BadExpression',
  'InvalidMemoryAccess', 'Empty', 'CasMismatch', 'ResultMismatch', 'InternalFailure',
  'BrokenConnection', 'Unimplemented',
] as const;

/** Filter return values. Envoy maps these onto FilterHeadersStatus / FilterDataStatus. */
export enum Action {
  Continue = 0,
  Pause = 1,
}

export enum LogLevel {
  Trace = 0,
  Debug = 1,
  Info = 2,
  Warn = 3,
  Error = 4,
  Critical = 5,
}

export const LOG_LEVEL_NAMES = ['trace', 'debug', 'info', 'warn', 'error', 'critical'] as const;

export enum MapType {
  HttpRequestHeaders = 0,
  HttpRequestTrailers = 1,
  HttpResponseHeaders = 2,
  HttpResponseTrailers = 3,
  GrpcReceiveInitialMetadata = 4,
  GrpcReceiveTrailingMetadata = 5,
  HttpCallResponseHeaders = 6,
  HttpCallResponseTrailers = 7,
}

export enum BufferType {
  HttpRequestBody = 0,
  HttpResponseBody = 1,
  DownstreamData = 2,
  UpstreamData = 3,
  HttpCallResponseBody = 4,
  GrpcReceiveBuffer = 5,
  VmConfiguration = 6,
  PluginConfiguration = 7,
  CallData = 8,
}

export enum MetricType {
  Counter = 0,
  Gauge = 1,
  Histogram = 2,
}

export enum StreamType {
  Request = 0,
  Response = 1,
  Downstream = 2,
  Upstream = 3,
}

export enum PeerType {
  Unknown = 0,
  Local = 1,
  Remote = 2,
}

// ---------------------------------------------------------------------------------------------
// Hostcalls.
//
// Each entry is one JS-visible host operation = one crossing between QuickJS and the bridge.
// `args` are the JS arguments, in ABI order; `out` is what the ABI writes back through return
// pointers (appended after the args in the ABI signature). The ABI signature is derived:
//   i32 / u32 -> one i32;  i64 -> one i64;  str / bytes / pairs -> (ptr, len) i32 pair;
//   out str / bytes / pairs -> (ret_ptr_ptr, ret_len_ptr);  out u32 -> ret_ptr;  out u64 -> ret_ptr;
//   out bytes_cas -> (ret_ptr_ptr, ret_len_ptr, ret_cas_ptr).
// Every ABI function returns an i32 Status.
//
// Composite entries (an arg 'strs' with out 'strs') batch several ABI calls into one crossing:
// the bridge makes the `abi` call once per element of the 'strs' array (passed as a 'str'), and
// the ABI signature is that of the single call ('strs' counts as 'str' in both places).
// A 'header_query' arg (headerQuery in hostcalls.ts) is one string of entries separated by NUL,
// each a map type digit ('0' + MapType) then a header name: the bridge makes the `abi` call
// (mapType, name) once per entry, so names of several maps cost one crossing and one string
// conversion (an entry without a valid digit ends the batch with BadArgument). A last entry may
// start with HEADER_QUERY_AGE_MARK (':', i.e. type 10) instead: the rest of the query (NULs
// included) is a property path, read with proxy_get_property as out 'u64le_age' (the clock in the
// same crossing); its element is that number (>= 0, else -Status). So a stream's headers and its
// age (request.time) cost one crossing.
//
// JS result conventions (see host.ts):
//   out 'status'           -> the Status number (0 = Ok)
//   out 'str' | 'bytes'    -> string / ArrayBuffer on Ok, else the Status number
//   out 'pairs'            -> flat string[] [k0, v0, k1, v1, ...] on Ok, else the Status number
//   out 'u32' | 'u64'      -> the value (>= 0) on Ok, else -Status (a negative number)
//   out 'bytes_cas'        -> [ArrayBuffer, cas] on Ok, else the Status number
//   out 'u64le'            -> returned bytes (ret_ptr_ptr, ret_len_ptr) holding an 8-byte little-endian
//                             integer: its value as a number (>= 0) on Ok, else -Status
//                             (-SerializationFailure when the bytes are not 8)
//   out 'u64le_age'        -> as 'u64le', read as a timestamp (ns since the epoch): the ns elapsed
//                             since it, by proxy_get_current_time_nanoseconds in the same crossing
//                             (>= 0; 0 if the clock is behind), else -Status; a zero timestamp
//                             (unset) is -NotFound
//   out 'strs'             -> (string | undefined)[] (undefined where a call said NotFound);
//                             the Status number when any call failed otherwise
//                             (a header query's age entry: a number, as 'u64le_age')
// ---------------------------------------------------------------------------------------------

/** Starts a header query's age entry (see above): '0' + 10. */
export const HEADER_QUERY_AGE_MARK = ':';

export type ArgKind = 'i32' | 'u32' | 'i64' | 'str' | 'bytes' | 'pairs' | 'strs' | 'header_query';
export type OutKind = 'status' | 'str' | 'bytes' | 'pairs' | 'u32' | 'u64' | 'bytes_cas' | 'strs' | 'u64le' | 'u64le_age';

export interface HostcallSpec {
  /** Method name on the Host interface. */
  readonly js: string;
  /** The imported ABI function (module `env`). */
  readonly abi: string;
  readonly args: readonly (readonly [name: string, kind: ArgKind])[];
  readonly out: OutKind;
}

export const HOSTCALLS = [
  { js: 'log', abi: 'proxy_log', args: [['level', 'i32'], ['message', 'str']], out: 'status' },
  { js: 'getLogLevel', abi: 'proxy_get_log_level', args: [], out: 'u32' },
  { js: 'getCurrentTimeNanoseconds', abi: 'proxy_get_current_time_nanoseconds', args: [], out: 'u64' },
  { js: 'setTickPeriodMilliseconds', abi: 'proxy_set_tick_period_milliseconds', args: [['period', 'u32']], out: 'status' },
  { js: 'getBufferBytes', abi: 'proxy_get_buffer_bytes', args: [['type', 'i32'], ['start', 'u32'], ['maxSize', 'u32']], out: 'bytes' },
  { js: 'getBufferString', abi: 'proxy_get_buffer_bytes', args: [['type', 'i32'], ['start', 'u32'], ['maxSize', 'u32']], out: 'str' },
  { js: 'setBufferBytes', abi: 'proxy_set_buffer_bytes', args: [['type', 'i32'], ['start', 'u32'], ['size', 'u32'], ['data', 'bytes']], out: 'status' },
  { js: 'getHeaderMapPairs', abi: 'proxy_get_header_map_pairs', args: [['mapType', 'i32']], out: 'pairs' },
  { js: 'setHeaderMapPairs', abi: 'proxy_set_header_map_pairs', args: [['mapType', 'i32'], ['pairs', 'pairs']], out: 'status' },
  { js: 'getHeaderMapValue', abi: 'proxy_get_header_map_value', args: [['mapType', 'i32'], ['key', 'str']], out: 'str' },
  // Composite: one crossing for several values of one map (e.g. three request headers).
  { js: 'getHeaderMapValues', abi: 'proxy_get_header_map_value', args: [['mapType', 'i32'], ['keys', 'strs']], out: 'strs' },
  // Composite over several maps (a header query): request headers and :status at stream end.
  { js: 'getHeaderMapsValues', abi: 'proxy_get_header_map_value', args: [['query', 'header_query']], out: 'strs' },
  { js: 'addHeaderMapValue', abi: 'proxy_add_header_map_value', args: [['mapType', 'i32'], ['key', 'str'], ['value', 'str']], out: 'status' },
  { js: 'replaceHeaderMapValue', abi: 'proxy_replace_header_map_value', args: [['mapType', 'i32'], ['key', 'str'], ['value', 'str']], out: 'status' },
  { js: 'removeHeaderMapValue', abi: 'proxy_remove_header_map_value', args: [['mapType', 'i32'], ['key', 'str']], out: 'status' },
  { js: 'getHeaderMapSize', abi: 'proxy_get_header_map_size', args: [['mapType', 'i32']], out: 'u32' },
  { js: 'getProperty', abi: 'proxy_get_property', args: [['path', 'str']], out: 'bytes' },
  // Int64 attributes (request.time, request.duration, ...) without an ArrayBuffer in JS.
  { js: 'getPropertyU64', abi: 'proxy_get_property', args: [['path', 'str']], out: 'u64le' },
  // Time since a timestamp attribute (request.time: the stream's start) with the clock, in one crossing.
  { js: 'getPropertyU64Age', abi: 'proxy_get_property', args: [['path', 'str']], out: 'u64le_age' },
  { js: 'setProperty', abi: 'proxy_set_property', args: [['path', 'str'], ['value', 'bytes']], out: 'status' },
  { js: 'getSharedData', abi: 'proxy_get_shared_data', args: [['key', 'str']], out: 'bytes_cas' },
  { js: 'setSharedData', abi: 'proxy_set_shared_data', args: [['key', 'str'], ['value', 'bytes'], ['cas', 'u32']], out: 'status' },
  { js: 'registerSharedQueue', abi: 'proxy_register_shared_queue', args: [['name', 'str']], out: 'u32' },
  { js: 'resolveSharedQueue', abi: 'proxy_resolve_shared_queue', args: [['vmId', 'str'], ['name', 'str']], out: 'u32' },
  { js: 'enqueueSharedQueue', abi: 'proxy_enqueue_shared_queue', args: [['queueId', 'u32'], ['value', 'bytes']], out: 'status' },
  { js: 'dequeueSharedQueue', abi: 'proxy_dequeue_shared_queue', args: [['queueId', 'u32']], out: 'bytes' },
  { js: 'dequeueSharedQueueString', abi: 'proxy_dequeue_shared_queue', args: [['queueId', 'u32']], out: 'str' },
  { js: 'continueStream', abi: 'proxy_continue_stream', args: [['streamType', 'i32']], out: 'status' },
  { js: 'closeStream', abi: 'proxy_close_stream', args: [['streamType', 'i32']], out: 'status' },
  {
    js: 'sendLocalResponse', abi: 'proxy_send_local_response',
    args: [['statusCode', 'u32'], ['details', 'str'], ['body', 'bytes'], ['headers', 'pairs'], ['grpcStatus', 'i32']],
    out: 'status',
  },
  {
    js: 'httpCall', abi: 'proxy_http_call',
    args: [['cluster', 'str'], ['headers', 'pairs'], ['body', 'bytes'], ['trailers', 'pairs'], ['timeoutMs', 'u32']],
    out: 'u32',
  },
  { js: 'setEffectiveContext', abi: 'proxy_set_effective_context', args: [['contextId', 'u32']], out: 'status' },
  { js: 'done', abi: 'proxy_done', args: [], out: 'status' },
  { js: 'callForeignFunction', abi: 'proxy_call_foreign_function', args: [['name', 'str'], ['argument', 'bytes']], out: 'bytes' },
  { js: 'defineMetric', abi: 'proxy_define_metric', args: [['metricType', 'i32'], ['name', 'str']], out: 'u32' },
  { js: 'incrementMetric', abi: 'proxy_increment_metric', args: [['metricId', 'u32'], ['offset', 'i64']], out: 'status' },
  { js: 'recordMetric', abi: 'proxy_record_metric', args: [['metricId', 'u32'], ['value', 'i64']], out: 'status' },
  { js: 'getMetric', abi: 'proxy_get_metric', args: [['metricId', 'u32']], out: 'u64' },
] as const satisfies readonly HostcallSpec[];

/** An entry of HOSTCALLS, with its literal types (host.ts derives the Host methods from them). */
export type Hostcall = (typeof HOSTCALLS)[number];

// ---------------------------------------------------------------------------------------------
// The bridge's local primitives: JS-visible operations that are not proxy_* hostcalls (Wasm-speed
// helpers and the callback registration). The bridge dispatches them after HOSTCALLS, in this
// order (shims/gen-bridge.mjs); the snapshot initialiser hands the bridge object to the bundle
// through BRIDGE_GLOBAL (shims/snapshot.mjs → src/sdk/wasm-entry.ts). Defined here once.
// ---------------------------------------------------------------------------------------------

/** Primitives every Host offers (the Node host implements them with node:crypto, TextEncoder...). */
export const HOST_PRIMITIVES = ['sha256', 'utf8Encode', 'utf8Decode', 'environ', 'randomBytes', 'crc32'] as const;
/** Primitives only the Wasm bridge has: how the bundle registers its callbacks. */
export const REGISTRATION_PRIMITIVES = ['registerCallbacks', 'setCallbackMasks'] as const;
/** Bridge-only and optional in Host (shims/capture.wat): the sender's in-Wasm log capture. */
export const CAPTURE_PRIMITIVES = ['setLogCapture', 'takeLogBatch'] as const;
export const BRIDGE_PRIMITIVES = [...HOST_PRIMITIVES, ...REGISTRATION_PRIMITIVES, ...CAPTURE_PRIMITIVES] as const;
/** Global through which the snapshot initialiser hands the bridge object to the bundle. */
export const BRIDGE_GLOBAL = '__acpwBridge';

/** A composite entry batches several `abi` calls (one per element of its 'strs' arg) into one crossing. */
export function isComposite(spec: HostcallSpec): boolean {
  return spec.out === 'strs' || spec.args.some(([, kind]) => kind === 'strs' || kind === 'header_query');
}

/** gRPC hostcalls exist in the ABI but are not bridged yet: the SDK fails them with a clear error. */
export const UNSUPPORTED_HOSTCALLS = [
  'proxy_grpc_call', 'proxy_grpc_stream', 'proxy_grpc_send', 'proxy_grpc_cancel', 'proxy_grpc_close',
] as const;

// ---------------------------------------------------------------------------------------------
// Callbacks: functions the module exports and the host calls. `result` says what the export
// returns; `fallback` is what the bridge returns when the plugin does not implement the callback
// or when its JS throws (Continue for actions, true for bools).
// ---------------------------------------------------------------------------------------------

export type CallbackResult = 'void' | 'bool' | 'action';

export interface CallbackSpec {
  readonly name: string;
  readonly params: readonly string[];
  readonly result: CallbackResult;
  readonly fallback: number;
}

const cb = (name: string, params: string[], result: CallbackResult): CallbackSpec => ({
  name, params, result, fallback: result === 'bool' ? 1 : 0,
});

export const CALLBACKS: readonly CallbackSpec[] = [
  cb('proxy_on_context_create', ['contextId', 'parentContextId'], 'void'),
  cb('proxy_on_vm_start', ['contextId', 'vmConfigurationSize'], 'bool'),
  cb('proxy_on_configure', ['contextId', 'pluginConfigurationSize'], 'bool'),
  cb('proxy_on_tick', ['contextId'], 'void'),
  cb('proxy_on_done', ['contextId'], 'bool'),
  cb('proxy_on_log', ['contextId'], 'void'),
  cb('proxy_on_delete', ['contextId'], 'void'),
  cb('proxy_on_new_connection', ['contextId'], 'action'),
  cb('proxy_on_downstream_data', ['contextId', 'dataSize', 'endOfStream'], 'action'),
  cb('proxy_on_downstream_connection_close', ['contextId', 'peerType'], 'void'),
  cb('proxy_on_upstream_data', ['contextId', 'dataSize', 'endOfStream'], 'action'),
  cb('proxy_on_upstream_connection_close', ['contextId', 'peerType'], 'void'),
  cb('proxy_on_request_headers', ['contextId', 'numHeaders', 'endOfStream'], 'action'),
  cb('proxy_on_request_body', ['contextId', 'bodySize', 'endOfStream'], 'action'),
  cb('proxy_on_request_trailers', ['contextId', 'numTrailers'], 'action'),
  cb('proxy_on_response_headers', ['contextId', 'numHeaders', 'endOfStream'], 'action'),
  cb('proxy_on_response_body', ['contextId', 'bodySize', 'endOfStream'], 'action'),
  cb('proxy_on_response_trailers', ['contextId', 'numTrailers'], 'action'),
  cb('proxy_on_http_call_response', ['contextId', 'token', 'numHeaders', 'bodySize', 'numTrailers'], 'void'),
  cb('proxy_on_queue_ready', ['contextId', 'queueId'], 'void'),
  cb('proxy_on_foreign_function', ['contextId', 'functionId', 'dataSize'], 'void'),
];

/** The ABI version export Envoy looks for. */
export const ABI_VERSION_EXPORT = 'proxy_abi_version_0_2_1';
