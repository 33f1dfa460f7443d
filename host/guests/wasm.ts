// A compiled proxy-wasm module as a guest: every ABI 0.2.1 hostcall (and the 0.2.0 extras Envoy
// still registers) as an import marshalled from table.ts, the WASI functions Envoy provides, and
// Envoy's start protocol (_initialize then main, or _start). Compile once, instantiate per VM.

import { readFileSync } from 'node:fs';
import { CALLBACKS, HOSTCALLS, isComposite, LogLevel, Status, StreamType, UNSUPPORTED_HOSTCALLS, type HostcallSpec } from '../../src/abi/table.js';
import type { GuestCallbacks } from '../../src/abi/host.js';
import { EMPTY_BYTES, serializePairs, utf8, type Bytes } from '../core/bytes.js';
import type { Guest, GuestFactory, Vm } from '../core/vm.js';
import { GuestMemory } from './memory.js';
import { WA, type WasmImports, type WasmMemory, type WasmModule } from './webassembly.js';
import { ProcExit, wasiImports } from './wasi.js';

export const SUPPORTED_ABI_EXPORTS = ['proxy_abi_version_0_2_1', 'proxy_abi_version_0_2_0'] as const;

type Raw = number | bigint;
type ImportFunction = (...raw: Raw[]) => number | void;

const moduleCache = new Map<string, WasmModule>();

/** Compiles a .wasm file once per path (VMs then instantiate the same Module). */
export function loadWasmModule(path: string): WasmModule {
  const cached = moduleCache.get(path);
  if (cached) return cached;
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read Wasm module '${path}': ${err instanceof Error ? err.message : String(err)}`);
  }
  let module: WasmModule;
  try {
    module = new WA.Module(bytes);
  } catch (err) {
    throw new Error(`'${path}' is not a valid Wasm module: ${err instanceof Error ? err.message : String(err)}`);
  }
  moduleCache.set(path, module);
  return module;
}

/** Checks what Envoy checks before instantiating: ABI version export, allocator, memory. */
export function checkProxyWasmModule(module: WasmModule, label = 'module'): void {
  const exports = new Set(WA.Module.exports(module).map((e) => e.name));
  if (exports.has('proxy_abi_version_0_1_0')) throw new Error(`${label}: proxy-wasm ABI 0.1.0 is not supported (need 0.2.0 or 0.2.1)`);
  if (!SUPPORTED_ABI_EXPORTS.some((name) => exports.has(name))) {
    throw new Error(`${label}: not a proxy-wasm module (no ${SUPPORTED_ABI_EXPORTS.join(' / ')} export)`);
  }
  if (!exports.has('proxy_on_memory_allocate') && !exports.has('malloc')) {
    throw new Error(`${label}: exports neither proxy_on_memory_allocate nor malloc`);
  }
  if (!exports.has('memory')) throw new Error(`${label}: exports no memory`);
}

/**
 * Called before every import the guest calls ("env.proxy_log", "wasi_snapshot_preview1.fd_write"),
 * e.g. to count hostcalls per request in a benchmark. Wrapping costs time: leave it off when timing.
 */
export type ImportObserver = (module: string, name: string) => void;

/** A guest factory for the module: each call instantiates a fresh instance for one VM. */
export function wasmGuest(module: WasmModule, label = 'module', observeImport?: ImportObserver): GuestFactory {
  checkProxyWasmModule(module, label);
  return (vm) => instantiate(module, vm, label, observeImport);
}

function observed(namespaces: Record<string, Record<string, ImportFunction>>, observe: ImportObserver): Record<string, Record<string, ImportFunction>> {
  const out: Record<string, Record<string, ImportFunction>> = {};
  for (const [ns, functions] of Object.entries(namespaces)) {
    out[ns] = {};
    for (const [name, fn] of Object.entries(functions)) {
      out[ns][name] = (...raw: Raw[]) => {
        observe(ns, name);
        return fn(...raw);
      };
    }
  }
  return out;
}

function instantiate(module: WasmModule, vm: Vm, label: string, observeImport?: ImportObserver): Guest {
  const memory = new GuestMemory();
  const env: Record<string, ImportFunction> = { ...hostcallImports(vm, memory), ...extraImports(vm, memory) };
  const wasi = wasiImports(vm, memory);
  const namespaces: Record<string, Record<string, ImportFunction>> = {
    env, wasi_snapshot_preview1: wasi, wasi_unstable: wasi,
  };
  const missing = WA.Module.imports(module)
    .filter((i) => i.kind !== 'function' || !(i.name in (namespaces[i.module] ?? {})))
    .map((i) => `${i.module}.${i.name} (${i.kind})`);
  if (missing.length > 0) {
    throw new Error(`${label}: imports the host does not provide (Envoy would refuse it too): ${missing.join(', ')}`);
  }
  const instance = new WA.Instance(module, (observeImport ? observed(namespaces, observeImport) : namespaces) as WasmImports);
  const exports = instance.exports as Record<string, unknown>;
  const allocate = (exports.proxy_on_memory_allocate ?? exports.malloc) as (size: number) => number;
  memory.bind(exports.memory as WasmMemory, allocate);
  runStart(exports, label);

  const callbacks: GuestCallbacks = {};
  for (const cb of CALLBACKS) {
    const fn = exports[cb.name];
    if (typeof fn === 'function') callbacks[cb.name] = fn as (...args: number[]) => number;
  }
  return { kind: 'wasm', callbacks, memoryBytes: () => memory.byteLength, exports };
}

/** _initialize (then main if exported), or _start; a proc_exit(0) from _start is a clean end. */
function runStart(exports: Record<string, unknown>, label: string): void {
  try {
    if (typeof exports._initialize === 'function') {
      (exports._initialize as () => void)();
      if (typeof exports.main === 'function') (exports.main as (argc: number, argv: number) => number)(0, 0);
    } else if (typeof exports._start === 'function') {
      (exports._start as () => void)();
    }
  } catch (err) {
    if (err instanceof ProcExit && err.code === 0) return;
    throw new Error(`${label}: start function failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Hostcall imports generated from HOSTCALLS: read the arguments out of guest memory, call the
// VM's method of the same JS name, write the result back through the return pointers.
// ---------------------------------------------------------------------------------------------

function hostcallImports(vm: Vm, memory: GuestMemory): Record<string, ImportFunction> {
  const imports: Record<string, ImportFunction> = {};
  const writers = resultWriters(memory);
  for (const spec of HOSTCALLS) {
    if (spec.abi in imports) continue; // e.g. getBufferString shares proxy_get_buffer_bytes
    if (isComposite(spec)) continue; // batches of another entry's ABI call: no import of its own
    const method = (vm as unknown as Record<string, unknown>)[spec.js];
    // a table entry the local host does not serve yet: the module still links; the call says so
    if (typeof method !== 'function') imports[spec.abi] = () => Status.Unimplemented;
    else imports[spec.abi] = marshal(spec, vm, memory, writers);
  }
  const log = imports.proxy_log;
  if (log) imports.proxy_log = skipFilteredLogs(vm, memory, log);
  return imports;
}

/**
 * proxy_log for a message below the host's log level: the pointer is still checked (Envoy reads
 * the message before its logger filters it) but nothing is decoded or built. SDKs log a lot at
 * debug/trace; under a warn-level host that was most of their hostcall time.
 */
function skipFilteredLogs(vm: Vm, memory: GuestMemory, log: ImportFunction): ImportFunction {
  return (level, ptr, size) => {
    const l = Number(level) >>> 0;
    if (l >= vm.runtime.logLevel || l > LogLevel.Critical) return log(level, ptr, size);
    return memory.inBounds(Number(ptr), Number(size)) ? Status.Ok : Status.InvalidMemoryAccess;
  };
}

/** Writes a hostcall's JS result back to the guest; returns the ABI status. */
interface ResultWriters {
  /** 'str' | 'bytes' | 'pairs' | 'u64le': a Status number, or a value copied out to (p0, p1). */
  value(result: unknown, p0: number, p1: number): number;
  u32(result: unknown, p0: number): number;
  u64(result: unknown, p0: number): number;
  bytesCas(result: unknown, p0: number, p1: number, p2: number): number;
}

function resultWriters(memory: GuestMemory): ResultWriters {
  const ok = (written: boolean): number => (written ? Status.Ok : Status.InvalidMemoryAccess);
  return {
    value(result, p0, p1) {
      if (typeof result === 'number') return result;
      if (typeof result === 'string') return ok(memory.copyOutString(result, p0, p1));
      const bytes = Array.isArray(result) ? (result.length === 0 ? EMPTY_BYTES : serializePairs(result as string[])) : (result as Bytes);
      return ok(memory.copyOut(bytes, p0, p1));
    },
    u32(result, p0) {
      const n = result as number;
      if (n < 0) return -n;
      return ok(memory.writeU32(p0, n));
    },
    u64(result, p0) {
      if (typeof result === 'number' && result < 0) return -result;
      return ok(memory.writeU64(p0, BigInt(result as number | bigint)));
    },
    bytesCas(result, p0, p1, p2) {
      if (typeof result === 'number') return result;
      const [value, cas] = result as [Bytes, number];
      return ok(memory.copyOut(value, p0, p1) && memory.writeU32(p2, cas));
    },
  };
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

type ImportBuilder = (vm: Vm, m: GuestMemory, out: ResultWriters) => ImportFunction;

/** Generated builders by table entry: compiled once per process, bound to each VM's state. */
const builders = new WeakMap<HostcallSpec, ImportBuilder>();

/**
 * The import for one table entry, bound to one VM: a function of the entry's exact raw arity
 * that decodes each argument in place (no per-call arrays, spreads or rest arguments), calls the
 * VM method directly and writes the result. Generated from the table because the argument shapes
 * vary too much for hand-written variants; every name it embeds is checked. The source is
 * compiled once per entry (VM start compiled ~45 functions before), then bound per VM.
 */
function marshal(spec: HostcallSpec, vm: Vm, memory: GuestMemory, writers: ResultWriters): ImportFunction {
  let build = builders.get(spec);
  if (build === undefined) builders.set(spec, (build = importBuilder(spec)));
  return build(vm, memory, writers);
}

function importBuilder(spec: HostcallSpec): ImportBuilder {
  if (!IDENTIFIER.test(spec.js) || !IDENTIFIER.test(spec.abi)) throw new Error(`host: bad hostcall name in table: ${spec.abi}/${spec.js}`);
  const lines: string[] = [];
  const values: string[] = [];
  let r = 0;
  for (const [, kind] of spec.args) {
    const a = `a${values.length}`;
    values.push(a);
    switch (kind) {
      case 'i32':
      case 'u32':
        lines.push(`const ${a} = Number(r${r++}) >>> 0;`);
        break;
      case 'i64':
        lines.push(`const ${a} = BigInt(r${r++} ?? 0);`);
        break;
      case 'str':
        lines.push(`const ${a} = m.readString(Number(r${r}), Number(r${r + 1}));`, `if (${a} === undefined) return ${Status.InvalidMemoryAccess};`);
        r += 2;
        break;
      case 'bytes':
        lines.push(`const ${a} = m.copyIn(Number(r${r}), Number(r${r + 1}));`, `if (${a} === undefined) return ${Status.InvalidMemoryAccess};`);
        r += 2;
        break;
      case 'pairs':
        lines.push(`const ${a} = m.readPairs(Number(r${r}), Number(r${r + 1}));`, `if (typeof ${a} === 'number') return ${a};`);
        r += 2;
        break;
      default:
        throw new Error(`host: ${spec.abi} (${spec.js}): argument kind '${kind}' has no import marshalling (composite entries are made by the bridge)`);
    }
  }
  const call = `vm.${spec.js}(${values.join(', ')})`;
  const p = (k: number): string => `Number(r${r + k} ?? 0)`;
  let outputs = 0;
  switch (spec.out) {
    case 'status': lines.push(`return ${call};`); break;
    case 'str': case 'bytes': case 'pairs': case 'u64le': lines.push(`return out.value(${call}, ${p(0)}, ${p(1)});`); outputs = 2; break;
    case 'u32': lines.push(`return out.u32(${call}, ${p(0)});`); outputs = 1; break;
    case 'u64': lines.push(`return out.u64(${call}, ${p(0)});`); outputs = 1; break;
    case 'bytes_cas': lines.push(`return out.bytesCas(${call}, ${p(0)}, ${p(1)}, ${p(2)});`); outputs = 3; break;
    default: throw new Error(`host: ${spec.abi} (${spec.js}): result kind '${spec.out}' has no import marshalling`);
  }
  const params = Array.from({ length: r + outputs }, (_, k) => `r${k}`).join(', ');
  const source = `return function ${spec.abi}(${params}) {\n  ${lines.join('\n  ')}\n};`;
  return new Function('vm', 'm', 'out', source) as ImportBuilder;
}

/** Calls Envoy still registers beyond the 0.2.1 table: 0.2.0 names, buffer status, gRPC stubs. */
function extraImports(vm: Vm, memory: GuestMemory): Record<string, ImportFunction> {
  const warned = new Set<string>();
  const unsupported = (name: string): ImportFunction => () => {
    if (!warned.has(name)) {
      warned.add(name);
      vm.runtime.hostLog(LogLevel.Warn, `[vm ${vm.vmId}] ${name} is not supported by the local host`);
    }
    return Status.Unimplemented;
  };
  const extras: Record<string, ImportFunction> = {
    proxy_continue_request: () => vm.continueStream(StreamType.Request),
    proxy_continue_response: () => vm.continueStream(StreamType.Response),
    proxy_clear_route_cache: () => Status.Ok,
    proxy_get_buffer_status: (type, lengthPtr, flagsPtr) => {
      const status = vm.getBufferStatus(Number(type) >>> 0);
      if (typeof status === 'number') return status;
      return memory.writeU32(Number(lengthPtr), status.length) && memory.writeU32(Number(flagsPtr), status.flags)
        ? Status.Ok : Status.InvalidMemoryAccess;
    },
    proxy_get_status: (codePtr, ptrPtr, sizePtr) => {
      const status = vm.getStatus();
      return memory.writeU32(Number(codePtr), status.code) && memory.copyOut(utf8(status.message), Number(ptrPtr), Number(sizePtr))
        ? Status.Ok : Status.InvalidMemoryAccess;
    },
    proxy_get_configuration: (ptrPtr, sizePtr) =>
      memory.copyOut(vm.spec.pluginConfiguration, Number(ptrPtr), Number(sizePtr)) ? Status.Ok : Status.InvalidMemoryAccess,
  };
  for (const name of UNSUPPORTED_HOSTCALLS) extras[name] = unsupported(name);
  return extras;
}
