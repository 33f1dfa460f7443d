// Build-time pre-initialisation (Wizer's model, run in Node): instantiate the merged module with
// deterministic WASI stubs, start QuickJS, install the bridge object, evaluate the bundle, then
// write the resulting linear memory and mutable globals back into the module.
//
// Deterministic by construction: the init sees a fixed clock, fixed "random" bytes and an empty
// environment, so the same sources give the same bytes, and no secret of the build machine can
// end up in a snapshot.

import binaryen from 'binaryen';

/** The clock every build-time init sees: 2025-01-01T00:00:00Z, in nanoseconds. */
const FIXED_TIME_NS = 1735689600000000000n;
const WASI_EBADF = 8;
const WASI_ENOSYS = 52;
const STATUS_UNIMPLEMENTED = 12;
/** Zero runs shorter than this stay inside one data segment (a segment header costs ~6 bytes). */
const SEGMENT_GAP = 32;
/** QuickJS's own stack limit: below V8's native limit, so runaway recursion is a catchable RangeError, not a trap. */
const MAX_JS_STACK = 256 * 1024;

export function featureMask(features) {
  const byName = {
    'bulk-memory': binaryen.Features.BulkMemory, 'bulk-memory-opt': binaryen.Features.BulkMemoryOpt,
    'sign-ext': binaryen.Features.SignExt, 'mutable-globals': binaryen.Features.MutableGlobals,
    'nontrapping-float-to-int': binaryen.Features.NontrappingFPToInt, 'reference-types': binaryen.Features.ReferenceTypes,
    multivalue: binaryen.Features.Multivalue, 'extended-const': binaryen.Features.ExtendedConst,
    'call-indirect-overlong': binaryen.Features.CallIndirectOverlong,
  };
  return features.reduce((m, f) => {
    if (byName[f] === undefined) throw new Error(`unknown feature ${f}`);
    return m | byName[f];
  }, 0);
}

export function readModule(bytes, features) {
  const mod = binaryen.readBinary(bytes);
  mod.setFeatures(featureMask(features));
  return mod;
}

function mutableGlobals(mod) {
  const out = [];
  for (let i = 0; i < mod.getNumGlobals(); i++) {
    const info = binaryen.getGlobalInfo(mod.getGlobalByIndex(i));
    if (info.mutable && !info.module) out.push({ name: info.name, type: info.type });
  }
  return out;
}

/** Imports for the build-time instance: deterministic WASI, proxy_log to stderr, the rest inert. */
function initImports(module, getMemory, logLines) {
  const text = (ptr, len) => Buffer.from(getMemory().buffer, ptr, len).toString('utf8');
  const view = () => new DataView(getMemory().buffer);
  const known = {
    wasi_snapshot_preview1: {
      clock_time_get: (_id, _precision, out) => { view().setBigUint64(out, FIXED_TIME_NS, true); return 0; },
      random_get: (ptr, len) => {
        // A fixed byte stream: init must not depend on real randomness.
        const mem = new Uint8Array(getMemory().buffer, ptr, len);
        for (let i = 0; i < len; i++) mem[i] = (i * 131 + 17) & 0xff;
        return 0;
      },
      environ_sizes_get: (countPtr, sizePtr) => { view().setUint32(countPtr, 0, true); view().setUint32(sizePtr, 0, true); return 0; },
      environ_get: () => 0,
      fd_write: (fd, iovs, iovsLen, nwrittenPtr) => {
        let n = 0;
        const v = view();
        const parts = [];
        for (let i = 0; i < iovsLen; i++) {
          const p = v.getUint32(iovs + 8 * i, true);
          const l = v.getUint32(iovs + 8 * i + 4, true);
          parts.push(text(p, l));
          n += l;
        }
        logLines.push(`fd ${fd}: ${parts.join('')}`);
        v.setUint32(nwrittenPtr, n, true);
        return 0;
      },
      fd_close: () => 0,
      fd_fdstat_get: () => WASI_EBADF,
      fd_seek: () => WASI_EBADF,
    },
    env: {
      proxy_log: (level, ptr, len) => { logLines.push(`log(${level}): ${text(ptr, len)}`); return 0; },
    },
  };
  const imports = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind !== 'function') throw new Error(`unexpected ${imp.kind} import ${imp.module}.${imp.name}`);
    imports[imp.module] ??= {};
    imports[imp.module][imp.name] = known[imp.module]?.[imp.name]
      ?? (() => (imp.module === 'env' ? STATUS_UNIMPLEMENTED : WASI_ENOSYS));
  }
  return imports;
}

/** Memory as active data segments: the non-zero runs, with short zero gaps kept inside. */
function memorySegments(mod, mem) {
  const segments = [];
  const n = mem.length;
  let i = 0;
  while (i < n) {
    while (i < n && mem[i] === 0) i++;
    if (i >= n) break;
    const start = i;
    let end = i;
    while (i < n) {
      if (mem[i] !== 0) { end = ++i; continue; }
      let j = i;
      while (j < n && mem[j] === 0 && j - i < SEGMENT_GAP) j++;
      if (j >= n || j - i >= SEGMENT_GAP) break;
      i = j;
    }
    segments.push({ offset: mod.i32.const(start), data: mem.subarray(start, end), passive: false });
    i = end;
  }
  return segments;
}

const bytesOf = (s) => Buffer.from(s, 'utf8');

/** malloc'd copies and exception text, over an instance's exports. */
function memoryHelpers(e, getMemory) {
  const put = (buf, nulTerminate = true) => {
    const p = e.malloc(buf.length + 1);
    const mem = new Uint8Array(getMemory().buffer);
    mem.set(buf, p);
    if (nulTerminate) mem[p + buf.length] = 0;
    return p;
  };
  const read = (h) => {
    const lenPtr = e.malloc(4);
    const s = e.qjs_get_string_len(h, lenPtr);
    const len = new DataView(getMemory().buffer).getUint32(lenPtr, true);
    const t = s ? Buffer.from(getMemory().buffer, s, len).toString('utf8') : '(unprintable)';
    if (s) e.qjs_free_cstring(s);
    e.free(lenPtr);
    return t;
  };
  const exceptionText = () => {
    const exc = e.qjs_get_exception();
    let text = read(exc);
    if (e.qjs_is_object(exc)) {
      const stackName = put(bytesOf('stack'));
      const st = e.qjs_get_prop_string(exc, stackName);
      if (e.qjs_is_string(st)) text += `\n${read(st)}`;
      e.qjs_free_value(st);
      e.free(stackName);
    }
    e.qjs_free_value(exc);
    return text;
  };
  return { put, exceptionText };
}

/** An instance of the instrumented module for build-time work: exports, memory, log, helpers. */
async function initInstance(module) {
  let memory;
  const logLines = [];
  const instance = await WebAssembly.instantiate(module, initImports(module, () => memory, logLines));
  const e = instance.exports;
  memory = e.memory;
  return { e, memory, logLines, ...memoryHelpers(e, () => memory) };
}

/** QuickJS bytecode of the bundle (source text stripped, debug info kept for stack traces). */
async function compileInThrowaway(module, source, filename) {
  const { e, memory, put, exceptionText } = await initInstance(module);
  e._initialize();
  if (e.qjs_init() !== 0) throw new Error('QuickJS failed to initialise');
  const src = bytesOf(source);
  const srcPtr = put(src);
  const filePtr = put(bytesOf(filename));
  const lenOut = e.malloc(4);
  const STRIP_SOURCE = 16;
  const code = e.qjs_compile(srcPtr, src.length, filePtr, 0, STRIP_SOURCE, lenOut);
  if (!code) throw new Error(`the bundle does not compile: ${exceptionText()}`);
  const len = new DataView(memory.buffer).getUint32(lenOut, true);
  return new Uint8Array(memory.buffer, code, len).slice();
}

/**
 * Runs the bundle's initialisation inside the merged module and returns the module with that
 * state baked in (exports unchanged; stripping and optimisation come after).
 */
export async function snapshotModule({ merged, source, filename, bridgeNames, bridgeGlobal, features }) {
  // 1. Instrument: export every mutable global so its value can be read after init.
  const instr = readModule(merged, features);
  const globals = mutableGlobals(instr);
  globals.forEach((g, i) => instr.addGlobalExport(g.name, `__acpw_global_${i}`));
  const instrBytes = instr.emitBinary();
  instr.dispose();

  // 2. Initialise. The bundle is compiled in a throwaway instance so that the parser's freed
  // buffers (source text included) never reach the snapshot's heap.
  const module = await WebAssembly.compile(instrBytes);
  const bytecode = await compileInThrowaway(module, source, filename);
  const { e, memory, logLines, put, exceptionText } = await initInstance(module);
  const fail = (what) => {
    const log = logLines.length ? `\nlog during init:\n  ${logLines.join('\n  ')}` : '';
    throw new Error(`exception during snapshot initialisation (${what}): ${exceptionText()}${log}`);
  };
  e._initialize();
  e.acpw_bridge_init();
  if (e.qjs_init() !== 0) throw new Error('QuickJS failed to initialise');
  e.qjs_set_promise_rejection_handler(1);
  e.qjs_set_max_stack_size(MAX_JS_STACK);

  // The bridge object: one host function per Host method, named by its one-byte dispatch code.
  const bridge = e.qjs_new_object();
  for (const [js, code] of bridgeNames) {
    const codePtr = put(bytesOf(code));
    const fn = e.qjs_new_host_function(codePtr, 1, 0);
    const namePtr = put(bytesOf(js));
    e.qjs_set_prop_string(bridge, namePtr, fn);
    e.qjs_free_value(fn);
    e.free(codePtr);
    e.free(namePtr);
  }
  const global = e.qjs_get_global();
  const globalName = put(bytesOf(bridgeGlobal));
  e.qjs_set_prop_string(global, globalName, bridge);
  e.free(globalName);
  e.qjs_free_value(global);
  e.qjs_free_value(bridge);

  const code = put(bytecode, false);
  const codeLen = bytecode.length;
  const result = e.qjs_eval_bytecode(code, codeLen);
  new Uint8Array(memory.buffer, code, codeLen).fill(0);
  e.free(code);
  if (e.qjs_is_exception(result)) fail('evaluation');
  e.qjs_free_value(result);
  for (;;) {
    const r = e.qjs_execute_pending_job();
    if (r === 0) break;
    if (r < 0) fail('promise job');
  }
  e.acpw_flush_rejections();
  e.qjs_run_gc();

  // An uncaught error logged by the bridge during init also fails the build.
  const errors = logLines.filter((l) => l.startsWith('log(4)') || l.startsWith('log(5)'));
  if (errors.length) throw new Error(`errors logged during snapshot initialisation:\n  ${errors.join('\n  ')}`);

  const mem = new Uint8Array(memory.buffer).slice();
  const values = globals.map((_, i) => e[`__acpw_global_${i}`].value);

  // 3. Write memory and globals into a fresh copy of the merged module.
  const mod = readModule(merged, features);
  for (const [i, g] of globals.entries()) {
    mod.removeGlobal(g.name);
    const v = values[i];
    let init;
    if (g.type === binaryen.i32) init = mod.i32.const(v);
    else if (g.type === binaryen.i64) init = mod.i64.const(Number(BigInt.asUintN(64, BigInt(v)) & 0xffffffffn) | 0, Number(BigInt.asUintN(64, BigInt(v)) >> 32n) | 0);
    else if (g.type === binaryen.f64) init = mod.f64.const(v);
    else if (g.type === binaryen.f32) init = mod.f32.const(v);
    else throw new Error(`global ${g.name}: unsupported type`);
    mod.addGlobal(g.name, g.type, true, init);
  }
  const pages = mem.length / 65536;
  const memExport = binaryen.getExportInfo(mod.getExport('memory'));
  mod.removeExport('memory');
  mod.setMemory(pages, -1, 'memory', memorySegments(mod, mem), false, false, memExport.value);
  const bytes = mod.emitBinary();
  mod.dispose();
  return { bytes, size: bytes.length, memoryBytes: mem.length, logLines };
}
