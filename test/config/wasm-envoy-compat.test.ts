// The built modules against what Envoy (proxy-wasm-cpp-host) links: Envoy refuses a module that
// imports anything it does not provide, and needs ABI 0.2.1 plus an allocator export. This is
// the check behind README's "minimum Envoy version" (see docs/envoy-compatibility.md).

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WA } from '../../host/guests/webassembly.js';
import { ABI_VERSION_EXPORT, CALLBACKS, HOSTCALLS } from '../../src/abi/table.js';
import { REPO_ROOT } from '../support/python.js';

/**
 * The WASI functions every Envoy since 1.18 registers (proxy-wasm-cpp-host's list in 2021;
 * later releases only add to it). A module importing anything else fails to load on some
 * Envoy we claim to support.
 */
const ENVOY_WASI_FUNCTIONS = new Set([
  'fd_write', 'fd_read', 'fd_seek', 'fd_close', 'fd_fdstat_get', 'environ_get', 'environ_sizes_get',
  'args_get', 'args_sizes_get', 'clock_time_get', 'random_get', 'proc_exit',
]);

const HOSTCALL_IMPORTS = new Set<string>(HOSTCALLS.map((h) => h.abi));
const CALLBACK_EXPORTS = new Set(CALLBACKS.map((c) => c.name));

for (const name of ['sender.wasm', 'receiver.wasm']) {
  const path = join(REPO_ROOT, name);
  describe(`${name} loads in Envoy`, () => {
    // npm test builds both modules first: a missing one fails here, never skips.
    it('is built', () => expect(existsSync(path), `${path} is missing: run node build.mjs`).toBe(true));
    const module = existsSync(path) ? new WA.Module(readFileSync(path)) : undefined;
    const imports = module ? WA.Module.imports(module) : [];
    const exports = module ? WA.Module.exports(module) : [];

    it('imports only proxy-wasm hostcalls and the WASI functions Envoy provides', () => {
      const unexpected = imports
        .filter((i) =>
          i.module === 'env' ? !HOSTCALL_IMPORTS.has(i.name)
            : i.module === 'wasi_snapshot_preview1' ? !ENVOY_WASI_FUNCTIONS.has(i.name)
              : true)
        .map((i) => `${i.module}.${i.name}`);
      expect(unexpected).toEqual([]);
      expect(imports.every((i) => i.kind === 'function')).toBe(true);
    });

    it('exports ABI 0.2.1, an allocator and memory; every proxy_on_* is a known callback', () => {
      const names = exports.map((e) => e.name);
      expect(names.filter((n) => n.startsWith('proxy_abi_version_'))).toEqual([ABI_VERSION_EXPORT]);
      expect(names).toContain('proxy_on_memory_allocate');
      expect(exports.find((e) => e.name === 'memory')?.kind).toBe('memory');
      const unknownCallbacks = names.filter(
        (n) => n.startsWith('proxy_on_') && n !== 'proxy_on_memory_allocate' && !CALLBACK_EXPORTS.has(n),
      );
      expect(unknownCallbacks).toEqual([]);
    });
  });
}
