// Creating a started VM from a plugin description: a .wasm file / compiled module, or an
// in-process PluginDefinition. Used by the host (per worker / singleton) and by tests/benchmarks.

import type { PluginDefinition } from '../src/sdk/plugin.js';
import { toBytes, type Bytes } from './core/bytes.js';
import { HostRuntime } from './core/runtime.js';
import { Vm, type GuestFactory, type PluginSpec } from './core/vm.js';
import { inProcessGuest } from './guests/in-process.js';
import { loadWasmModule, wasmGuest } from './guests/wasm.js';
import type { WasmModule } from './guests/webassembly.js';

export interface VmOptions {
  /** A .wasm path or a compiled module (compile once with loadWasmModule, instantiate per VM). */
  readonly wasm?: string | WasmModule;
  /** An in-process plugin (a module's default export) instead of a .wasm. */
  readonly plugin?: PluginDefinition;
  /** A guest factory of the caller's own (e.g. wasmGuest with an import observer), instead of both. */
  readonly guest?: GuestFactory;
  readonly name?: string;
  readonly rootId?: string;
  readonly vmId?: string;
  readonly vmConfiguration?: string | Bytes;
  readonly pluginConfiguration?: string | Bytes;
  readonly environment?: Readonly<Record<string, string>>;
  readonly failOpen?: boolean;
  /** Shared state across VMs (shared data, queues, stats, clusters, logs). Default: a new one. */
  readonly runtime?: HostRuntime;
  readonly worker?: number;
  /** Skip the start sequence (tests that want to drive proxy_on_vm_start themselves). */
  readonly noStart?: boolean;
}

export function guestFactoryFor(options: Pick<VmOptions, 'wasm' | 'plugin' | 'guest' | 'name'>): GuestFactory {
  if (options.guest) return options.guest;
  if (options.plugin) return inProcessGuest(options.plugin);
  if (options.wasm === undefined) throw new Error(`plugin '${options.name ?? '?'}': give either wasm or plugin`);
  const module = typeof options.wasm === 'string' ? loadWasmModule(options.wasm) : options.wasm;
  return wasmGuest(module, typeof options.wasm === 'string' ? options.wasm : options.name ?? 'module');
}

/**
 * Creates a VM, instantiates its guest and runs Envoy's start sequence. A guest that cannot be
 * loaded throws; a plugin whose vm_start/configure returns false gives a VM in state 'failed'
 * (with `failure` saying why), like Envoy's failed plugin.
 */
export function createVm(options: VmOptions): Vm {
  const spec: PluginSpec = {
    name: options.name ?? options.vmId ?? 'plugin',
    rootId: options.rootId ?? '',
    vmId: options.vmId ?? '',
    vmConfiguration: toBytes(options.vmConfiguration ?? ''),
    pluginConfiguration: toBytes(options.pluginConfiguration ?? ''),
    environment: options.environment ?? {},
    ...(options.failOpen !== undefined ? { failOpen: options.failOpen } : {}),
  };
  const vm = new Vm(spec, options.runtime ?? new HostRuntime(), options.worker ?? -1);
  vm.attach(guestFactoryFor(options));
  if (!options.noStart) vm.start();
  return vm;
}
