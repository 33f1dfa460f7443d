// Builds WAT fixtures to Wasm at test time (npm wabt; no .wasm is committed), and generates the
// hostcall "probe": a module that imports every hostcall of table.ts and re-exports each one as
// `call_<abi name>`, so a test can call a hostcall directly with pointers it chose.

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';
import { HOSTCALLS, type ArgKind, type OutKind } from '../../../src/abi/table.js';
import { WA, type WasmModule } from '../../../host/guests/webassembly.js';

let wabtPromise: ReturnType<typeof wabtInit> | undefined;

export async function watToBinary(text: string, name = 'fixture.wat'): Promise<Uint8Array> {
  wabtPromise ??= wabtInit();
  const wabt = await wabtPromise;
  const parsed = wabt.parseWat(name, text, { mutable_globals: true, sign_extension: true, bulk_memory: true });
  try {
    parsed.resolveNames();
    parsed.validate();
    return parsed.toBinary({}).buffer;
  } finally {
    parsed.destroy();
  }
}

export async function watToModule(text: string, name = 'fixture.wat'): Promise<WasmModule> {
  return new WA.Module(await watToBinary(text, name));
}

/** Builds a WAT fixture into `dir/<out>` (a temp dir: .wasm files are never committed). */
export async function buildFixture(name: string, dir: string, out: string): Promise<string> {
  const path = `${dir}/${out}`;
  writeFileSync(path, await watToBinary(readFileSync(fixturePath(name), 'utf8'), name));
  return path;
}

export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../../fixtures/host/${name}`, import.meta.url));
}

export async function fixtureModule(name: string): Promise<WasmModule> {
  return watToModule(readFileSync(fixturePath(name), 'utf8'), name);
}

function argParams(kind: ArgKind): string {
  if (kind === 'i64') return 'i64';
  if (kind === 'str' || kind === 'bytes' || kind === 'pairs') return 'i32 i32';
  return 'i32';
}

function outParams(kind: OutKind): string {
  switch (kind) {
    case 'status': return '';
    case 'u32': case 'u64': return 'i32';
    case 'bytes_cas': return 'i32 i32 i32';
    default: return 'i32 i32';
  }
}

/** The probe: all hostcalls re-exported, a bump allocator, and no-op start callbacks. */
export function probeWat(): string {
  const seen = new Set<string>();
  const imports: string[] = [];
  for (const spec of HOSTCALLS) {
    if (seen.has(spec.abi)) continue;
    seen.add(spec.abi);
    const params = [...spec.args.map(([, k]) => argParams(k)), outParams(spec.out)].filter(Boolean).join(' ');
    imports.push(`(import "env" "${spec.abi}" (func $${spec.abi} (param ${params}) (result i32)))`);
    imports.push(`(export "call_${spec.abi}" (func $${spec.abi}))`);
  }
  return `(module
  ${imports.join('\n  ')}
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (export "call_environ_sizes_get" (func $environ_sizes_get))
  (export "call_environ_get" (func $environ_get))
  (export "call_fd_write" (func $fd_write))
  (export "call_clock_time_get" (func $clock_time_get))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 32768))
  (global $allocations (export "allocations") (mut i32) (i32.const 0))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $ptr i32)
    (global.set $allocations (i32.add (global.get $allocations) (i32.const 1)))
    (local.set $ptr (global.get $heap))
    (global.set $heap (i32.and (i32.add (i32.add (global.get $heap) (local.get $size)) (i32.const 7)) (i32.const -8)))
    (local.get $ptr))
  (func (export "proxy_on_context_create") (param i32 i32))
  ;; http_call responses: counts, sizes and what the hostcalls returned, for the test to read
  (data (i32.const 512) ":status")
  (global $resp_calls (export "resp_calls") (mut i32) (i32.const 0))
  (global $resp_context (export "resp_context") (mut i32) (i32.const 0))
  (global $resp_token (export "resp_token") (mut i32) (i32.const 0))
  (global $resp_headers (export "resp_headers") (mut i32) (i32.const 0))
  (global $resp_body (export "resp_body") (mut i32) (i32.const 0))
  (global $resp_trailers (export "resp_trailers") (mut i32) (i32.const 0))
  (global $resp_body_status (export "resp_body_status") (mut i32) (i32.const 0))
  (global $resp_status_status (export "resp_status_status") (mut i32) (i32.const 0))
  (func (export "proxy_on_http_call_response") (param $ctx i32) (param $token i32) (param $nh i32) (param $body i32) (param $nt i32)
    (global.set $resp_calls (i32.add (global.get $resp_calls) (i32.const 1)))
    (global.set $resp_context (local.get $ctx))
    (global.set $resp_token (local.get $token))
    (global.set $resp_headers (local.get $nh))
    (global.set $resp_body (local.get $body))
    (global.set $resp_trailers (local.get $nt))
    ;; body -> (ptr, size) at 600/604; :status value -> (ptr, size) at 608/612
    (global.set $resp_body_status (call $proxy_get_buffer_bytes (i32.const 4) (i32.const 0) (local.get $body) (i32.const 600) (i32.const 604)))
    (global.set $resp_status_status (call $proxy_get_header_map_value (i32.const 6) (i32.const 512) (i32.const 7) (i32.const 608) (i32.const 612))))
  ;; queue readiness
  (global $queue_ready_calls (export "queue_ready_calls") (mut i32) (i32.const 0))
  (global $queue_ready_id (export "queue_ready_id") (mut i32) (i32.const 0))
  (func (export "proxy_on_queue_ready") (param $ctx i32) (param $queue i32)
    (global.set $queue_ready_calls (i32.add (global.get $queue_ready_calls) (i32.const 1)))
    (global.set $queue_ready_id (local.get $queue)))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
)`;
}
