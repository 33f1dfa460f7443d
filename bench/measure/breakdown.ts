// Where a request's time goes, per module: µs in each stream callback and the hostcalls (imports)
// the module makes per request. Timing each callback adds a little overhead of its own, so these
// numbers explain the per-request totals rather than replace them.

import { MiniHost, type MiniVm } from '../harness/mini-host.js';
import { REQUESTS, RESPONSE } from '../harness/traffic.js';
import type { CompiledModule } from '../harness/wasm-api.js';
import { QUEUE_NAME, RECEIVER_VM_ID, SENDER_SPEC } from './sender-peers.js';

export const PHASES = ['context create', 'request headers', 'response headers', 'log', 'done', 'delete'] as const;

export interface Breakdown {
  /** µs per request in each phase, in PHASES order. */
  readonly phaseUs: readonly number[];
  /** Imported-function calls per request, by "module.name", most frequent first. */
  readonly importsPerRequest: readonly (readonly [string, number])[];
}

export function measureBreakdown(module: CompiledModule, requests: number): Breakdown {
  const host = new MiniHost();
  host.registerQueue({ spec: { vmId: RECEIVER_VM_ID } } as unknown as MiniVm, QUEUE_NAME);
  const warm = host.createVm(module, SENDER_SPEC);
  const phases = new Float64Array(PHASES.length);
  for (let i = 0; i < requests; i++) warm.streamTimed(REQUESTS[i % REQUESTS.length]!, RESPONSE, phases);
  phases.fill(0);
  for (let i = 0; i < requests; i++) warm.streamTimed(REQUESTS[i % REQUESTS.length]!, RESPONSE, phases);

  // Import counts come from a separate VM: counting wraps every import and would skew timing.
  const counted = host.createVm(module, { ...SENDER_SPEC, countImports: true });
  counted.importCalls.clear();
  const sample = 1000;
  for (let i = 0; i < sample; i++) counted.stream(REQUESTS[i % REQUESTS.length]!, RESPONSE);
  const importsPerRequest = [...counted.importCalls.entries()]
    .map(([name, n]) => [name, n / sample] as const)
    .sort((a, b) => b[1] - a[1]);
  return { phaseUs: [...phases].map((ms) => (ms * 1000) / requests), importsPerRequest };
}
