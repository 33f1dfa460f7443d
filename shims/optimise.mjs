// Final shaping of a snapshotted module: keep only what Envoy uses (memory and the proxy_*
// exports), drop the engine's C API and everything only it reached, optimise at -O2.

import binaryen from 'binaryen';
import { readModule } from './snapshot.mjs';

/** Exports a proxy-wasm host may use; everything else (qjs_*, malloc, _initialize, ...) goes. */
export const isKeptExport = (name) => name === 'memory' || name.startsWith('proxy_');

/**
 * `callbacks`: when given, the proxy_on_* callbacks the plugin can use (dispatcher.ts,
 * possibleCallbacks); the other callback exports (names in `allCallbacks`) go too, so the host
 * never calls them. Other proxy_* exports (ABI version, allocator) stay.
 */
export function optimiseModule(bytes, features, callbacks, allCallbacks = []) {
  const dropped = new Set(callbacks === undefined ? [] : allCallbacks.filter((name) => !callbacks.has(name)));
  const mod = readModule(bytes, features);
  const names = [];
  for (let i = 0; i < mod.getNumExports(); i++) names.push(binaryen.getExportInfo(mod.getExportByIndex(i)).name);
  for (const name of names) if (!isKeptExport(name) || dropped.has(name)) mod.removeExport(name);
  mod.runPasses(['remove-unused-module-elements']);
  binaryen.setOptimizeLevel(2);
  binaryen.setShrinkLevel(1);
  binaryen.setDebugInfo(false);
  mod.optimize();
  if (!mod.validate()) throw new Error('optimised module does not validate');
  const out = mod.emitBinary();
  mod.dispose();
  return { bytes: out, size: out.length };
}
