// Timed per-request runs of several modules, interleaved round by round (the module order rotates
// each round) so background load on a shared machine falls on every module alike.

import type { SenderDriver } from '../harness/driver.js';
import type { BuiltModule, ModuleId } from '../modules.js';
import { RequestSession } from './sender-peers.js';
import { summarize } from './stats.js';

export interface InterleavedRuns {
  /** µs per request, one sample per round, for each module that ran. */
  readonly samples: ReadonlyMap<ModuleId, readonly number[]>;
  readonly sessions: ReadonlyMap<ModuleId, RequestSession>;
  /** Modules that could not be started on this host, and why. */
  readonly failures: ReadonlyMap<ModuleId, string>;
}

export function interleavedRuns(driver: SenderDriver, modules: readonly BuiltModule[], runs: number, runMs: number): InterleavedRuns {
  const sessions = new Map<ModuleId, RequestSession>();
  const failures = new Map<ModuleId, string>();
  for (const m of modules) {
    console.error(`bench: [${driver.hostName}] warming up ${m.label}`);
    try {
      sessions.set(m.id, new RequestSession(driver, m.module, runMs));
    } catch (err) {
      failures.set(m.id, `failed on the ${driver.hostName}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const running = modules.filter((m) => sessions.has(m.id));
  const samples = new Map<ModuleId, number[]>(running.map((m) => [m.id, []]));
  console.error(`bench: [${driver.hostName}] ${runs} interleaved rounds of timed runs`);
  for (let round = 0; round < runs; round++) {
    for (let k = 0; k < running.length; k++) {
      const m = running[(round + k) % running.length]!;
      samples.get(m.id)!.push(sessions.get(m.id)!.run());
    }
  }
  return { samples, sessions, failures };
}

/**
 * Median over rounds of (module's run / baseline's run in the same round): runs adjacent in time
 * share the machine's load, so this is steadier than a ratio of medians on a busy machine.
 */
export function ratioTo(runs: InterleavedRuns, id: ModuleId, baseline: ModuleId): number | undefined {
  const own = runs.samples.get(id);
  const base = runs.samples.get(baseline);
  if (own === undefined || base === undefined || id === baseline) return undefined;
  return summarize(own.map((us, round) => us / base[round]!)).median;
}
