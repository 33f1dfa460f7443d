// Loading modules as Envoy does: ABI version and allocator checks, imports the host lacks named,
// _initialize/main and _start (proc_exit(0) is a clean end), a failing start reported.

import { describe, expect, it } from 'vitest';
import { HostRuntime } from '../../host/core/runtime.js';
import { createVm } from '../../host/vm-factory.js';
import { watToModule } from './support/wat.js';

const runtime = (): HostRuntime => new HostRuntime({ logSink: () => undefined });
const BASE = '(memory (export "memory") 1) (func (export "malloc") (param i32) (result i32) (i32.const 1024))';

describe('module loading', () => {
  it('rejects a module without a supported ABI version export, or ABI 0.1.0', async () => {
    const none = await watToModule(`(module ${BASE})`);
    expect(() => createVm({ wasm: none, runtime: runtime() })).toThrow(/not a proxy-wasm module/);
    const old = await watToModule(`(module ${BASE} (func (export "proxy_abi_version_0_1_0")))`);
    expect(() => createVm({ wasm: old, runtime: runtime() })).toThrow(/ABI 0.1.0 is not supported/);
  });

  it('rejects a module without an allocator export', async () => {
    const m = await watToModule('(module (memory (export "memory") 1) (func (export "proxy_abi_version_0_2_1")))');
    expect(() => createVm({ wasm: m, runtime: runtime() })).toThrow(/neither proxy_on_memory_allocate nor malloc/);
  });

  it('names the imports the host does not provide', async () => {
    const m = await watToModule(`(module (import "env" "proxy_teleport" (func (param i32) (result i32)))
      (import "other" "thing" (func)) ${BASE} (func (export "proxy_abi_version_0_2_1")))`);
    expect(() => createVm({ wasm: m, runtime: runtime() })).toThrow(/env\.proxy_teleport \(function\), other\.thing \(function\)/);
  });

  it('calls _initialize then main; a module with only _start may end with proc_exit(0)', async () => {
    const init = await watToModule(`(module ${BASE} (func (export "proxy_abi_version_0_2_1"))
      (global $steps (export "steps") (mut i32) (i32.const 0))
      (func (export "_initialize") (global.set $steps (i32.add (i32.mul (global.get $steps) (i32.const 10)) (i32.const 1))))
      (func (export "main") (param i32 i32) (result i32) (global.set $steps (i32.add (i32.mul (global.get $steps) (i32.const 10)) (i32.const 2))) (i32.const 0)))`);
    const vm = createVm({ wasm: init, runtime: runtime() });
    expect((vm.guest.exports!.steps as { value: number }).value).toBe(12);
    const start = await watToModule(`(module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      ${BASE} (func (export "proxy_abi_version_0_2_0")) (func (export "_start") (call $exit (i32.const 0))))`);
    expect(createVm({ wasm: start, runtime: runtime() }).state).toBe('running');
    const bad = await watToModule(`(module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      ${BASE} (func (export "proxy_abi_version_0_2_0")) (func (export "_start") (call $exit (i32.const 3))))`);
    expect(() => createVm({ wasm: bad, runtime: runtime() })).toThrow(/start function failed: proc_exit\(3\)/);
  });

  it('a trap in proxy_on_vm_start fails the VM, not the host', async () => {
    const m = await watToModule(`(module ${BASE} (func (export "proxy_abi_version_0_2_1"))
      (func (export "proxy_on_vm_start") (param i32 i32) (result i32) unreachable))`);
    const vm = createVm({ wasm: m, runtime: runtime() });
    expect(vm.state).toBe('failed');
    expect(vm.failure).toMatch(/proxy_on_vm_start failed: unreachable/);
  });
});
