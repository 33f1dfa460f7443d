// A test hook of the lean mode: the VM answers the next call of one hostcall with a status,
// without doing the work, so a driver can reach a plugin's error paths (Envoy answers such
// statuses when a call is refused; they cannot all be provoked on purpose). Both guests look the
// VM's hostcall method up at every call (a Wasm import runs `vm.<name>(…)`, NodeHost
// `vm[name]`), so shadowing it on the instance covers the built .wasm and the in-process
// TypeScript alike: no second code path in the VM.

import { HOSTCALLS, isComposite, type Status } from '../../src/abi/table.js';
import type { Vm } from './vm.js';

/**
 * The next call of ABI function `abi` (e.g. 'proxy_http_call') on `vm` answers `status`, as
 * its result kind carries a status (ids and values as -status); later calls behave again.
 */
export function answerNextHostcall(vm: Vm, abi: string, status: Status): void {
  // the ABI function's own entry: the VM method its import calls (getBufferString and the
  // composites are served by another entry's method)
  const spec = HOSTCALLS.find((h) => h.abi === abi && !isComposite(h));
  if (spec === undefined) throw new Error(`answerNextHostcall: '${abi}' is not a hostcall of the table`);
  const answer = spec.out === 'u32' || spec.out === 'u64' ? -status : status;
  const own = vm as unknown as Record<string, unknown>;
  if (typeof own[spec.js] !== 'function') throw new Error(`answerNextHostcall: the VM does not serve ${abi}`);
  own[spec.js] = (): number => {
    delete own[spec.js]; // once: the prototype's method serves the next call
    return answer;
  };
}
