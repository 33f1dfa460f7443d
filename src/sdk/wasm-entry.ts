// The module's JS entry inside QuickJS. Runs once, at build time, inside the snapshot
// initialiser: picks up the bridge object (one host function per Host method, installed by
// shims/snapshot.mjs), installs the globals QuickJS lacks, builds the plugin's dispatcher and
// registers its callbacks with the bridge. Everything it computes is frozen into the snapshot,
// so nothing here may read the clock, randomness or the environment.

import type { GuestCallbacks, Host } from '../abi/index.js';
import { installGlobals } from './globals.js';
import { BRIDGE_GLOBAL, BRIDGE_PRIMITIVES, CALLBACKS, HOSTCALLS } from '../abi/index.js';

/** What a plugin (through its SDK dispatcher) offers the bridge. */
export interface WasmGuest {
  readonly callbacks: GuestCallbacks;
  /** Callbacks worth entering JS for, any context kind. */
  readonly implemented: ReadonlySet<string>;
  /** Per context kind (the bridge tells roots from streams); each defaults to `implemented`. */
  readonly implementedRoot?: ReadonlySet<string>;
  readonly implementedHttp?: ReadonlySet<string>;
  /** Lets the bridge follow changes of the sets at run time (the SDK dispatcher has it). */
  onImplementedChange?(listener: () => void): void;
}

/** The bridge object: a Host plus the registration primitives. */
interface Bridge extends Host {
  registerCallbacks(fns: readonly ((...args: number[]) => number)[], rootMask: number, httpMask: number): number;
  setCallbackMasks(rootMask: number, httpMask: number): number;
}

function takeBridge(): Bridge {
  const g = globalThis as Record<string, unknown>;
  const bridge = g[BRIDGE_GLOBAL] as Record<string, unknown> | undefined;
  delete g[BRIDGE_GLOBAL];
  if (bridge === undefined || bridge === null) {
    throw new Error(`runInWasm: no ${BRIDGE_GLOBAL} global; this bundle must be built by build.mjs`);
  }
  const expected = [...HOSTCALLS.map((h) => h.js), ...BRIDGE_PRIMITIVES];
  const missing = expected.filter((name) => typeof bridge[name] !== 'function');
  if (missing.length) throw new Error(`runInWasm: the bridge lacks ${missing.join(', ')} (bridge and table.ts out of step)`);
  return bridge as unknown as Bridge;
}

// At module evaluation: build.mjs imports this module first, so the globals exist before any
// plugin module code runs.
const bridge = takeBridge();
const { markSnapshotTaken } = installGlobals(bridge);

/**
 * Wires a plugin into the Wasm bridge. `create` receives the Wasm Host and returns the callbacks
 * (normally `(host) => createDispatcher(plugin, host)`).
 */
export function runInWasm(create: (host: Host) => WasmGuest): void {
  const guest = create(bridge);
  for (const name of guest.implemented) {
    if (!CALLBACKS.some((cb) => cb.name === name)) throw new Error(`runInWasm: '${name}' is not a proxy-wasm callback`);
  }
  const maskOf = (names: ReadonlySet<string>): number => {
    let mask = 0;
    CALLBACKS.forEach((cb, i) => {
      if (names.has(cb.name) && guest.implemented.has(cb.name)) mask |= 1 << i;
    });
    return mask >>> 0;
  };
  const rootMask = (): number => maskOf(guest.implementedRoot ?? guest.implemented);
  const httpMask = (): number => maskOf(guest.implementedHttp ?? guest.implemented);
  const noop = (): number => 0;
  const fns = CALLBACKS.map((cb) => {
    const fn = guest.callbacks[cb.name];
    // Registered even when not implemented yet: the sets may grow at run time.
    return typeof fn === 'function' ? fn : noop;
  });
  bridge.registerCallbacks(fns, rootMask(), httpMask());
  guest.onImplementedChange?.(() => {
    bridge.setCallbackMasks(rootMask(), httpMask());
  });
  markSnapshotTaken();
}
