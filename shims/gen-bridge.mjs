// Generates the proxy-wasm bridge (WAT) from the ABI table (src/abi/table.ts).
//
// The generated parts are the ones that follow the table: the proxy_* imports, one marshalling
// function per hostcall, the host_call dispatcher and the proxy_on_* exports. The fixed parts
// (frames, marshalling helpers, SHA-256, CRC-32, UTF-8, environ, exception logging) are hand-written
// fragments in this directory, spliced in verbatim.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** First byte of a host function's name; the name is one byte: FIRST_NAME_BYTE + dispatch index. */
export const FIRST_NAME_BYTE = 0x21;

/**
 * The JS-visible bridge operations in dispatch order: [method name, one-byte host function name].
 * `primitives`: table.ts BRIDGE_PRIMITIVES (the bridge's operations after HOSTCALLS, defined there once).
 */
export function bridgeFunctionNames(hostcalls, primitives) {
  const names = [...hostcalls.map((h) => h.js), ...primitives];
  if (names.length > 0x7e - FIRST_NAME_BYTE) throw new Error('too many bridge functions for one-byte names');
  return names.map((js, i) => [js, String.fromCharCode(FIRST_NAME_BYTE + i)]);
}

// Constant C strings written into engine memory at init (no data segments in the bridge: they
// would land in the engine's heap). Offsets are relative to $consts.
const CSTRINGS = [
  [0, 'stack'],
  [8, 'length'],
  [16, 'uncaught JS exception: '],
  [64, 'unhandled promise rejection: '],
];
const SHA256_K_OFFSET = 128;
/** Unhandled promise rejections parked per callback before they are logged (see core.wat). */
const REJECTION_CAPACITY = 32;
/**
 * Root context ids the bridge remembers (roots are few: one per plugin configuration in the VM).
 * Past this many, unknown roots are served with the union of both masks (see core.wat).
 */
const ROOT_CAPACITY = 16;
const CONSTS_SIZE = SHA256_K_OFFSET + 256;
const SHA256_K = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

// The engine's C API the bridge uses (module "quickjs" in the merge).
const QJS_IMPORTS = `
  (import "quickjs" "memory" (memory 1))
  (import "quickjs" "__stack_pointer" (global $sp (mut i32)))
  (import "quickjs" "malloc" (func $malloc (param i32) (result i32)))
  (import "quickjs" "free" (func $free (param i32)))
  (import "quickjs" "qjs_new_number" (func $qjs_new_number (param f64) (result i32)))
  (import "quickjs" "qjs_get_float64" (func $qjs_get_float64 (param i32) (result f64)))
  (import "quickjs" "qjs_new_string" (func $qjs_new_string (param i32 i32) (result i32)))
  (import "quickjs" "qjs_get_string_len" (func $qjs_get_string_len (param i32 i32) (result i32)))
  (import "quickjs" "qjs_free_cstring" (func $qjs_free_cstring (param i32)))
  (import "quickjs" "qjs_free_value" (func $qjs_free_value (param i32)))
  (import "quickjs" "qjs_call" (func $qjs_call (param i32 i32 i32 i32) (result i32)))
  (import "quickjs" "qjs_is_exception" (func $qjs_is_exception (param i32) (result i32)))
  (import "quickjs" "qjs_get_exception" (func $qjs_get_exception (result i32)))
  (import "quickjs" "qjs_is_object" (func $qjs_is_object (param i32) (result i32)))
  (import "quickjs" "qjs_is_string" (func $qjs_is_string (param i32) (result i32)))
  (import "quickjs" "qjs_is_undefined" (func $qjs_is_undefined (param i32) (result i32)))
  (import "quickjs" "qjs_is_null" (func $qjs_is_null (param i32) (result i32)))
  (import "quickjs" "qjs_is_array_buffer" (func $qjs_is_array_buffer (param i32) (result i32)))
  (import "quickjs" "qjs_get_array_buffer" (func $qjs_get_array_buffer (param i32 i32) (result i32)))
  (import "quickjs" "qjs_get_typed_array_buffer" (func $qjs_get_typed_array_buffer (param i32 i32 i32 i32) (result i32)))
  (import "quickjs" "qjs_new_array_buffer" (func $qjs_new_array_buffer (param i32 i32) (result i32)))
  (import "quickjs" "qjs_new_array" (func $qjs_new_array (result i32)))
  (import "quickjs" "qjs_set_prop_uint32" (func $qjs_set_prop_uint32 (param i32 i32 i32) (result i32)))
  (import "quickjs" "qjs_get_prop_uint32" (func $qjs_get_prop_uint32 (param i32 i32) (result i32)))
  (import "quickjs" "qjs_get_prop_string" (func $qjs_get_prop_string (param i32 i32) (result i32)))
  (import "quickjs" "qjs_execute_pending_job" (func $qjs_execute_pending_job (result i32)))
  (import "quickjs" "qjs_get_undefined" (func $qjs_get_undefined (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $wasi_environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $wasi_environ_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $wasi_random_get (param i32 i32) (result i32)))
`;

/** ABI parameter types of a hostcall, derived from its arg and out kinds (see table.ts). */
export function abiParams(spec) {
  const params = [];
  for (const [, kind] of spec.args) {
    if (kind === 'i64') params.push('i64');
    else if (kind === 'i32' || kind === 'u32') params.push('i32');
    else if (kind === 'header_query') params.push('i32', 'i32', 'i32'); // per entry: (mapType, name)
    else params.push('i32', 'i32'); // str, bytes, pairs; strs: one str per call
  }
  switch (spec.out) {
    case 'status': break;
    case 'str': case 'bytes': case 'pairs': case 'strs': case 'u64le': case 'u64le_age': params.push('i32', 'i32'); break;
    case 'u32': case 'u64': params.push('i32'); break;
    case 'bytes_cas': params.push('i32', 'i32', 'i32'); break;
    default: throw new Error(`table.ts: unknown out kind '${spec.out}' for ${spec.js}`);
  }
  return params;
}

function proxyImports(hostcalls) {
  const seen = new Map();
  for (const spec of hostcalls) {
    const sig = abiParams(spec).join(' ');
    const prev = seen.get(spec.abi);
    if (prev !== undefined && prev !== sig) throw new Error(`table.ts: ${spec.abi} has two different signatures`);
    seen.set(spec.abi, sig);
  }
  if (!seen.has('proxy_log')) throw new Error('table.ts: proxy_log is required by the bridge');
  // core.wat's $out_u64le_age reads the clock
  if (!seen.has('proxy_get_current_time_nanoseconds')) throw new Error('table.ts: proxy_get_current_time_nanoseconds is required by the bridge');
  return [...seen].map(([abi, sig]) =>
    `  (import "env" "${abi}" (func $${abi} ${sig ? `(param ${sig}) ` : ''}(result i32)))`).join('\n');
}

// A hostcall's JS args into its frame (one 16-byte slot per arg): the locals to declare, the
// statements, and the arguments of the proxy_* call. A 'strs' arg (composites only) just has its
// length read into $n here; its elements go through its slot one by one in the composite's loop.
function marshalArgs(spec, frameSize) {
  const nargs = spec.args.length;
  const locals = [];
  const lines = [];
  const callArgs = [];
  const argHandle = (k) => `(i32.load offset=${4 * k} (local.get $argv))`;
  const fail = `(then (call $release_slots (local.get $frame) (i32.const ${nargs})) (call $frame_pop (i32.const ${frameSize})) (return (i32.const 0)))`;
  spec.args.forEach(([, kind], k) => {
    const slot = `(i32.add (local.get $frame) (i32.const ${16 * k}))`;
    switch (kind) {
      case 'i32': case 'u32':
        locals.push(`(local $a${k} i32)`);
        lines.push(`(local.set $a${k} (call $arg_${kind} ${argHandle(k)}))`);
        callArgs.push(`(local.get $a${k})`);
        break;
      case 'i64':
        locals.push(`(local $a${k} i64)`);
        lines.push(`(local.set $a${k} (call $arg_i64 ${argHandle(k)}))`);
        callArgs.push(`(local.get $a${k})`);
        break;
      case 'str': case 'bytes':
        lines.push(`(if (i32.eqz (call $bytes_in ${argHandle(k)} ${slot} (i32.const 1))) ${fail})`);
        callArgs.push(`(i32.load ${slot})`, `(i32.load offset=4 ${slot})`);
        break;
      case 'pairs':
        lines.push(`(if (i32.eqz (call $pairs_in ${argHandle(k)} ${slot})) ${fail})`);
        callArgs.push(`(i32.load ${slot})`, `(i32.load offset=4 ${slot})`);
        break;
      case 'strs':
        lines.push(`(local.set $e (call $qjs_get_prop_string ${argHandle(k)} (i32.add (global.get $consts) (i32.const 8))))`);
        lines.push(`(if (call $qjs_is_exception (local.get $e)) (then (call $qjs_free_value (local.get $e)) (call $frame_pop (i32.const ${frameSize})) (return (i32.const 0))))`);
        lines.push('(local.set $n (call $arg_u32 (local.get $e)))');
        lines.push('(call $qjs_free_value (local.get $e))');
        callArgs.push(`(i32.load ${slot})`, `(i32.load offset=4 ${slot})`);
        break;
      default: throw new Error(`table.ts: unknown arg kind '${kind}' for ${spec.js}`);
    }
  });
  return { locals, lines, callArgs };
}

// One marshalling function per hostcall: JS handles in, one proxy_* call, one JS value out.
function hostcallFunction(spec, index, table) {
  if (spec.args.some(([, kind]) => kind === 'header_query')) return headerQueryHostcallFunction(spec, index, table);
  if (table.isComposite(spec)) return compositeHostcallFunction(spec, index);
  const nargs = spec.args.length;
  const outSlot = 16 * nargs;
  const frameSize = outSlot + 16;
  const { locals: argLocals, lines, callArgs } = marshalArgs(spec, frameSize);
  const locals = ['(local $frame i32)', '(local $st i32)', '(local $res i32)', ...argLocals];
  const out = `(i32.add (local.get $frame) (i32.const ${outSlot}))`;
  const outAt = (o) => `(i32.add (local.get $frame) (i32.const ${outSlot + o}))`;
  let convert;
  switch (spec.out) {
    case 'status': convert = '(call $num_u32 (local.get $st))'; break;
    case 'str': callArgs.push(out, outAt(4)); convert = `(call $out_str (local.get $st) ${out})`; break;
    case 'bytes': callArgs.push(out, outAt(4)); convert = `(call $out_bytes (local.get $st) ${out})`; break;
    case 'pairs': callArgs.push(out, outAt(4)); convert = `(call $out_pairs (local.get $st) ${out})`; break;
    case 'u32': callArgs.push(out); convert = `(call $out_u32 (local.get $st) ${out})`; break;
    case 'u64': callArgs.push(out); convert = `(call $out_u64 (local.get $st) ${out})`; break;
    case 'u64le': callArgs.push(out, outAt(4)); convert = `(call $out_u64le (local.get $st) ${out})`; break;
    case 'u64le_age': callArgs.push(out, outAt(4)); convert = `(call $out_u64le_age (local.get $st) ${out})`; break;
    case 'bytes_cas': callArgs.push(out, outAt(4), outAt(8)); convert = `(call $out_bytes_cas (local.get $st) ${out})`; break;
    default: throw new Error(`table.ts: unknown out kind '${spec.out}'`);
  }
  return `
  ;; [${index}] ${spec.js} -> ${spec.abi}
  (func $hc_${index} (param $argc i32) (param $argv i32) (result i32)
    ${locals.join(' ')}
    (if (i32.lt_u (local.get $argc) (i32.const ${nargs})) (then (return (call $num_u32 (i32.const 2)))))
    (local.set $frame (call $frame_push (i32.const ${frameSize})))
    ${lines.join('\n    ')}
    (local.set $st (call $${spec.abi} ${callArgs.join(' ')}))
    (call $release_slots (local.get $frame) (i32.const ${nargs}))
    (local.set $res ${convert})
    (call $frame_pop (i32.const ${frameSize}))
    (local.get $res))`;
}

// Element $i of $arr from status $st and the string the call wrote at `out`: the string on Ok,
// undefined on NotFound; any other status replaces $arr and leaves the loop ($stop). Shared by
// the 'strs' composites and header queries (same locals, same indentation in the loop).
function gatherElement(out) {
  return `(if (i32.eqz (local.get $st))
        (then
          (local.set $v (call $out_str (i32.const 0) ${out}))
          (drop (call $qjs_set_prop_uint32 (local.get $arr) (local.get $i) (local.get $v)))
          (call $qjs_free_value (local.get $v)))
        (else
          (if (i32.eq (local.get $st) (i32.const 1))
            (then (drop (call $qjs_set_prop_uint32 (local.get $arr) (local.get $i) (global.get $undefined))))
            (else
              (call $qjs_free_value (local.get $arr))
              (local.set $arr (call $num_u32 (local.get $st)))
              (br $stop)))))`;
}

// A header query (table.ts 'header_query'): one string converted once; the proxy_* call made per
// NUL-separated entry with (map type digit - '0', the rest as the name), results gathered as for
// 'strs' composites. No JS value is made or read per entry but the result string.
// An entry starting with HEADER_QUERY_AGE_MARK ends the query: see table.ts and hostcalls.ts
// (headerAgeQuery).
function headerQueryHostcallFunction(spec, index, table) {
  const { hostcalls } = table;
  // Entry types are the entry's first character minus '0' (see table.ts).
  const ageType = table.headerQueryAgeMark.charCodeAt(0) - 48;
  if (spec.out !== 'strs' || spec.args.length !== 1) {
    throw new Error(`table.ts: ${spec.js}: a 'header_query' arg must be the only arg, with out 'strs'`);
  }
  if (!hostcalls.some((h) => h.abi === 'proxy_get_property') || !hostcalls.some((h) => h.abi === 'proxy_get_current_time_nanoseconds')) {
    throw new Error(`table.ts: ${spec.js}: a header query's age entry needs proxy_get_property and proxy_get_current_time_nanoseconds in HOSTCALLS`);
  }
  const frameSize = 32; // [0, 16): the query's slot; [16, 32): the result slot
  const out = '(i32.add (local.get $frame) (i32.const 16))';
  const done = '(call $bytes_release (local.get $frame)) (call $frame_pop (i32.const 32))';
  return `
  ;; [${index}] ${spec.js} -> ${spec.abi} per query entry (composite)
  (func $hc_${index} (param $argc i32) (param $argv i32) (result i32)
    (local $frame i32) (local $st i32) (local $arr i32) (local $i i32) (local $p i32) (local $end i32)
    (local $k i32) (local $type i32) (local $v i32)
    (if (i32.lt_u (local.get $argc) (i32.const 1)) (then (return (call $num_u32 (i32.const 2)))))
    (local.set $frame (call $frame_push (i32.const ${frameSize})))
    (if (i32.eqz (call $bytes_in (i32.load (local.get $argv)) (local.get $frame) (i32.const 1)))
      (then (call $frame_pop (i32.const ${frameSize})) (return (i32.const 0))))
    (local.set $p (i32.load (local.get $frame)))
    (local.set $end (i32.add (local.get $p) (i32.load offset=4 (local.get $frame))))
    (local.set $arr (call $qjs_new_array))
    (block $stop (loop $next
      (br_if $stop (i32.ge_u (local.get $p) (local.get $end)))
      ;; one entry: a map type digit, then the name up to the next NUL (or the end)
      (local.set $type (i32.sub (i32.load8_u (local.get $p)) (i32.const 48)))
      (if (i32.eq (local.get $type) (i32.const ${ageType}))
        (then
          ;; the age entry (last): the rest of the query is a property path, NULs included; its
          ;; element is the ns since that timestamp by the clock, as 'u64le_age' (>= 0, else -Status)
          (i64.store ${out} (i64.const 0))
          (local.set $v (call $out_u64le_age
            (call $proxy_get_property (i32.add (local.get $p) (i32.const 1)) (i32.sub (local.get $end) (i32.add (local.get $p) (i32.const 1)))
              ${out} (i32.add (local.get $frame) (i32.const 20)))
            ${out}))
          (drop (call $qjs_set_prop_uint32 (local.get $arr) (local.get $i) (local.get $v)))
          (call $qjs_free_value (local.get $v))
          (br $stop)))
      (if (i32.gt_u (local.get $type) (i32.const 9))
        (then
          (call $qjs_free_value (local.get $arr))
          (local.set $arr (call $num_u32 (i32.const 2)))
          (br $stop)))
      (local.set $k (i32.add (local.get $p) (i32.const 1)))
      (block $found (loop $scan
        (br_if $found (i32.ge_u (local.get $k) (local.get $end)))
        (br_if $found (i32.eqz (i32.load8_u (local.get $k))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $scan)))
      (i64.store ${out} (i64.const 0))
      (local.set $st (call $${spec.abi} (local.get $type) (i32.add (local.get $p) (i32.const 1))
        (i32.sub (local.get $k) (i32.add (local.get $p) (i32.const 1))) ${out} (i32.add (local.get $frame) (i32.const 20))))
      ${gatherElement(out)}
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (local.set $p (i32.add (local.get $k) (i32.const 1)))
      (br $next)))
    ${done}
    (local.get $arr))`;
}

// A composite hostcall (table.ts): one crossing, the proxy_* call once per element of the 'strs'
// argument, the results gathered into one JS array (undefined where the call said NotFound; any
// other failure status ends the batch and is the result).
function compositeHostcallFunction(spec, index) {
  const strsArgs = spec.args.map(([, kind], k) => (kind === 'strs' ? k : -1)).filter((k) => k >= 0);
  if (spec.out !== 'strs' || strsArgs.length !== 1) {
    throw new Error(`table.ts: composite ${spec.js} needs exactly one 'strs' arg and out 'strs'`);
  }
  const listAt = strsArgs[0];
  const unsupported = spec.args.find(([, kind]) => kind === 'pairs');
  if (unsupported) throw new Error(`table.ts: arg kind '${unsupported[1]}' is not supported in composite ${spec.js}`);
  const nargs = spec.args.length;
  const outSlot = 16 * nargs;
  const frameSize = outSlot + 16;
  const { locals: argLocals, lines, callArgs } = marshalArgs(spec, frameSize);
  const locals = ['(local $frame i32)', '(local $st i32)', '(local $arr i32)', '(local $n i32)', '(local $i i32)',
    '(local $e i32)', '(local $ok i32)', '(local $v i32)', ...argLocals];
  const argHandle = (k) => `(i32.load offset=${4 * k} (local.get $argv))`;
  const listSlot = `(i32.add (local.get $frame) (i32.const ${16 * listAt}))`;
  const out = `(i32.add (local.get $frame) (i32.const ${outSlot}))`;
  callArgs.push(out, `(i32.add (local.get $frame) (i32.const ${outSlot + 4}))`);
  return `
  ;; [${index}] ${spec.js} -> ${spec.abi} per element (composite)
  (func $hc_${index} (param $argc i32) (param $argv i32) (result i32)
    ${locals.join(' ')}
    (if (i32.lt_u (local.get $argc) (i32.const ${nargs})) (then (return (call $num_u32 (i32.const 2)))))
    (local.set $frame (call $frame_push (i32.const ${frameSize})))
    ${lines.join('\n    ')}
    (local.set $arr (call $qjs_new_array))
    (block $stop (loop $next
      (br_if $stop (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $e (call $qjs_get_prop_uint32 ${argHandle(listAt)} (local.get $i)))
      (local.set $ok (call $bytes_in (local.get $e) ${listSlot} (i32.const 1)))
      (if (i32.eqz (local.get $ok))
        (then
          ;; converting the element threw: the exception stays pending for QuickJS
          (call $qjs_free_value (local.get $e))
          (call $qjs_free_value (local.get $arr))
          (call $release_slots (local.get $frame) (i32.const ${nargs}))
          (call $frame_pop (i32.const ${frameSize}))
          (return (i32.const 0))))
      (i64.store ${out} (i64.const 0))
      (local.set $st (call $${spec.abi} ${callArgs.join(' ')}))
      (call $bytes_release ${listSlot})
      (call $qjs_free_value (local.get $e))
      ${gatherElement(out)}
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (call $release_slots (local.get $frame) (i32.const ${nargs}))
    (call $frame_pop (i32.const ${frameSize}))
    (local.get $arr))`;
}

function hostCallDispatch(hostcalls, primitives) {
  const targets = [
    ...hostcalls.map((_, i) => `$hc_${i}`),
    ...primitives.map((p) => `$prim_${p}`),
  ];
  // Nested blocks: br_table jumps out of block $b<i>, after which target i is called.
  let body = `(br_table ${targets.map((_, i) => `$b${i}`).join(' ')} $unknown
          (i32.sub (i32.load8_u (local.get $name)) (i32.const ${FIRST_NAME_BYTE})))`;
  targets.forEach((fn, i) => {
    body = `(block $b${i}\n        ${body})\n      (return (call ${fn} (local.get $argc) (local.get $argv)))`;
  });
  return `
  ;; env.host_call: QuickJS calling a host function. The name is one byte: the dispatch index.
  (func (export "host_call") (param $name i32) (param $nlen i32) (param $this i32) (param $argc i32) (param $argv i32) (result i32)
    (block $unknown
      ${body})
    (call $qjs_get_undefined))`;
}

// Each export checks the mask of its context's kind: root contexts (learnt at
// proxy_on_context_create with parent 0, forgotten at their proxy_on_delete) use the root mask,
// every other context the HTTP mask; so a root overriding onDone costs streams nothing.
function callbackExports(callbacks) {
  if (callbacks.length > 32) throw new Error('table.ts: more than 32 callbacks do not fit the implemented masks');
  return callbacks.map((cb, i) => {
    if (cb.params.length > 5) throw new Error(`table.ts: ${cb.name} has more than 5 parameters`);
    if (cb.params[0] !== 'contextId') throw new Error(`table.ts: ${cb.name} must take contextId first`);
    const params = cb.params.map((p) => `(param $${p} i32)`).join(' ');
    const args = [0, 1, 2, 3, 4].map((k) => (k < cb.params.length ? `(local.get $${cb.params[k]})` : '(i32.const 0)')).join(' ');
    const call = `(call $invoke (i32.const ${i}) (i32.const ${cb.params.length}) ${args} (i32.const ${cb.fallback}))`;
    const bit = `(i32.const ${(1 << i) | 0})`;
    let mask = '(call $mask_for (local.get $contextId))';
    let before = '';
    let after = '';
    if (cb.name === 'proxy_on_context_create') {
      before = '(if (i32.eqz (local.get $parentContextId)) (then (call $add_root (local.get $contextId))) (else (call $cap_note_start (local.get $contextId))))\n    ';
      mask = '(select (global.get $mask_root) (call $mask_for (local.get $contextId)) (i32.eqz (local.get $parentContextId)))';
    } else if (cb.name === 'proxy_on_log') {
      // log capture (capture.wat): a stream's values are read here; JS only for a full batch
      before = '(if (global.get $cap_query_len) (then (if (i32.eqz (call $is_root (local.get $contextId))) (then (if (call $capture_log (local.get $contextId)) (then (return)))))))\n    ';
    } else if (cb.name === 'proxy_on_delete') {
      // the mask is read before the root is forgotten; forgotten whether or not JS is entered
      after = '\n    (call $remove_root (local.get $contextId))';
    }
    const skip = `(i32.eqz (i32.and ${mask} ${bit}))`;
    if (cb.result === 'void') {
      return `  (func (export "${cb.name}") ${params}\n    ${before}(if ${skip} (then${after ? ` ${after.trim()}` : ''} (return)))\n    (drop ${call})${after})`;
    }
    return `  (func (export "${cb.name}") ${params} (result i32)\n    ${before}(if ${skip} (then (return (i32.const ${cb.fallback}))))\n    ${call})`;
  }).join('\n');
}

function bridgeInit(callbacks) {
  const stores = [];
  for (const [off, text] of CSTRINGS) {
    const bytes = Buffer.from(text + '\0', 'utf8');
    bytes.forEach((b, i) => stores.push(`(i32.store8 offset=${off + i} (global.get $consts) (i32.const ${b}))`));
  }
  SHA256_K.forEach((k, i) => stores.push(`(i32.store offset=${SHA256_K_OFFSET + 4 * i} (global.get $consts) (i32.const ${k | 0}))`));
  return `
  (global $consts (mut i32) (i32.const 0))
  (global $cb_table (mut i32) (i32.const 0))
  ;; implemented masks (bit i = CALLBACKS[i]) for root contexts and for all other contexts
  (global $mask_root (mut i32) (i32.const 0))
  (global $mask_http (mut i32) (i32.const 0))
  ;; known root context ids ($root_capacity of them); past that, $roots_overflow
  (global $roots (mut i32) (i32.const 0))
  (global $root_count (mut i32) (i32.const 0))
  (global $roots_overflow (mut i32) (i32.const 0))
  (global $root_capacity i32 (i32.const ${ROOT_CAPACITY}))
  (global $undefined (mut i32) (i32.const 0))
  (global $rejections (mut i32) (i32.const 0))
  (global $rejection_count (mut i32) (i32.const 0))
  (global $rejection_capacity i32 (i32.const ${REJECTION_CAPACITY}))
  (global $callback_count i32 (i32.const ${callbacks.length}))
  (global $uncaught_len i32 (i32.const ${Buffer.byteLength(CSTRINGS[2][1])}))
  (global $rejection_len i32 (i32.const ${Buffer.byteLength(CSTRINGS[3][1])}))

  ;; Build-time only (called by the snapshot initialiser, then stripped): constants and tables.
  (func (export "acpw_bridge_init")
    (global.set $consts (call $malloc (i32.const ${CONSTS_SIZE})))
    ${stores.join('\n    ')}
    (global.set $cb_table (call $malloc (i32.const ${4 * callbacks.length})))
    (memory.fill (global.get $cb_table) (i32.const 0) (i32.const ${4 * callbacks.length}))
    (global.set $rejections (call $malloc (i32.const ${8 * REJECTION_CAPACITY})))
    (global.set $roots (call $malloc (i32.const ${4 * ROOT_CAPACITY})))
    (global.set $undefined (call $qjs_get_undefined)))
  ;; Build-time only: logs rejections left unhandled by the init (the build then fails).
  (func (export "acpw_flush_rejections") (call $report_rejections))
  ;; Build-time only: the implemented masks (their union), for the snapshot report.
  (func (export "acpw_implemented_mask") (result i32) (i32.or (global.get $mask_root) (global.get $mask_http)))`;
}

/**
 * The bridge module as WAT text, from table.ts's exports: HOSTCALLS, CALLBACKS, isComposite,
 * HEADER_QUERY_AGE_MARK and BRIDGE_PRIMITIVES (passed in, so the generator repeats none of the
 * table's facts; core.wat implements `$prim_<name>` for each primitive).
 */
export function generateBridgeWat({ hostcalls, callbacks, isComposite, headerQueryAgeMark, primitives }) {
  const table = { hostcalls, isComposite, headerQueryAgeMark };
  const fragment = (name) => readFileSync(join(here, name), 'utf8');
  return `;; GENERATED by shims/gen-bridge.mjs from src/abi/table.ts: do not edit.
(module
${QJS_IMPORTS}
${proxyImports(hostcalls)}
${bridgeInit(callbacks)}
${fragment('core.wat')}
  (global $cap_age_type i32 (i32.const ${headerQueryAgeMark.charCodeAt(0) - 48}))
${fragment('capture.wat')}
${fragment('utf8.wat')}
${fragment('sha256.wat')}
${fragment('crc32.wat')}
${hostcalls.map((spec, index) => hostcallFunction(spec, index, table)).join('\n')}
${hostCallDispatch(hostcalls, primitives)}
${callbackExports(callbacks)}
)
`;
}
