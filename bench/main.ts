// npm run bench: builds what is missing, measures every module side by side in one process and
// prints markdown tables; --write also rewrites BENCHMARKS.md. Flags: --write, --rebuild, --quick.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { miniHostDriver, type SenderDriver } from './harness/driver.js';
import { apiCost } from './measure/api-cost.js';
import { measurePublish, PUBLISH_INTERVAL_MS, type PublishResult } from './measure/receiver.js';
import { measureBreakdown } from './measure/breakdown.js';
import { memoryAfter, RequestSession, timeReady } from './measure/sender-peers.js';
import { summarize } from './measure/stats.js';
import { buildAll, isBuilt, REPO_DIR, type BuiltModule, type ModuleId } from './modules.js';
import { renderBenchmarksMd, renderTables, type BenchResults, type PeerResult, type PeerRow } from './report.js';

const args = new Set(process.argv.slice(2));
for (const arg of args) {
  if (!['--write', '--rebuild', '--quick'].includes(arg)) {
    console.error(`bench: unknown option ${arg} (known: --write, --rebuild, --quick)`);
    process.exit(2);
  }
}
const quick = args.has('--quick');
const options = quick
  ? { runs: 5, runMs: 50, startups: 5, memoryRequests: 100_000 }
  : { runs: 9, runMs: 200, startups: 15, memoryRequests: 100_000 };
const publishRepeats = quick ? 2 : 5;

const driver: SenderDriver = miniHostDriver;
const started = performance.now();
const outcomes = await buildAll(args.has('--rebuild'));

// Sender and peers: warm every module up, then interleave timed runs round by round (the
// module order rotates each round) so background load on a shared machine hits all alike.
const candidates = outcomes.filter((o) => o.id !== 'receiver');
const sessions = new Map<ModuleId, RequestSession>();
const failures = new Map<ModuleId, string>();
for (const outcome of candidates) {
  if (!isBuilt(outcome)) {
    console.error(`bench: ${outcome.label}: skipped: ${outcome.skipped}`);
    continue;
  }
  console.error(`bench: warming up ${outcome.label}`);
  try {
    sessions.set(outcome.id, new RequestSession(driver, outcome.module, options.runMs));
  } catch (err) {
    failures.set(outcome.id, `failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}
const built = candidates.filter((o): o is BuiltModule => isBuilt(o) && sessions.has(o.id));
const samples = new Map<ModuleId, number[]>(built.map((o) => [o.id, []]));
const ready = new Map<ModuleId, number[]>(built.map((o) => [o.id, []]));
console.error(`bench: ${options.runs} interleaved rounds of timed runs`);
for (let round = 0; round < options.runs; round++) {
  for (let k = 0; k < built.length; k++) {
    const m = built[(round + k) % built.length]!;
    samples.get(m.id)!.push(sessions.get(m.id)!.run());
  }
}
for (let i = 0; i < options.startups; i++) {
  for (const m of built) ready.get(m.id)!.push(timeReady(driver, m.module));
}
// Ratio to the AssemblyScript peer per round (runs adjacent in time share the machine's load),
// then the median over rounds: steadier than a ratio of medians on a busy machine.
const asSamples = samples.get('assemblyscript');
const ratioToAs = (id: ModuleId): number | undefined => {
  const own = samples.get(id);
  if (asSamples === undefined || own === undefined || id === 'empty') return undefined;
  return summarize(own.map((us, round) => us / asSamples[round]!)).median;
};
const peers: PeerRow[] = candidates.map((outcome) => {
  const session = sessions.get(outcome.id);
  if (!isBuilt(outcome) || session === undefined) {
    const skipped = failures.get(outcome.id) ?? ('skipped' in outcome ? outcome.skipped : 'not measured');
    return { outcome: { id: outcome.id, label: outcome.label, skipped } };
  }
  console.error(`bench: memory and breakdown of ${outcome.label}`);
  const result: PeerResult = {
    perRequestUs: summarize(samples.get(outcome.id)!),
    ...(ratioToAs(outcome.id) !== undefined ? { ratioToAssemblyScript: ratioToAs(outcome.id) } : {}),
    requestsPerRun: session.requestsPerRun,
    readyMs: summarize(ready.get(outcome.id)!),
    memoryBytesAfter: memoryAfter(driver, outcome.module, options.memoryRequests),
    memoryRequests: options.memoryRequests,
    problems: session.problems(outcome.id !== 'empty'),
  };
  return { outcome, result, breakdown: measureBreakdown(outcome.module, quick ? 2000 : 10_000) };
});

const sender = outcomes.find((o): o is BuiltModule => o.id === 'sender' && isBuilt(o));
const receiver = outcomes.find((o): o is BuiltModule => o.id === 'receiver' && isBuilt(o));
const publishes: PublishResult[] = [];
let publishSkipped: string | undefined;
if (sender === undefined || receiver === undefined) {
  publishSkipped = 'needs sender.wasm and receiver.wasm';
} else {
  for (const series of [100, 1000]) {
    console.error(`bench: measuring a ${series}-series publish`);
    try {
      publishes.push(measurePublish(sender.module, receiver.module, series, publishRepeats));
    } catch (err) {
      publishSkipped = `failed: ${err instanceof Error ? err.message : String(err)}`;
      break;
    }
  }
}

const measured = publishes.find((p) => p.series === 100 && p.datumsPerPublish > 0 && p.problems.length === 0);
const datumsPerSeries = measured === undefined ? 2 : measured.datumsPerPublish / measured.series;
const results: BenchResults = {
  host: driver.hostName,
  peers,
  publishes,
  ...(publishSkipped !== undefined ? { publishSkipped } : {}),
  apiCost: apiCost([10, 100, 1000], PUBLISH_INTERVAL_MS, datumsPerSeries),
  datumsPerSeriesSource: measured === undefined
    ? '2 (count + latency), from the design: no measured publish in this run'
    : `${datumsPerSeries} as measured in the 100-series publish above`,
  seconds: (performance.now() - started) / 1000,
};

console.log(renderTables(results));
if (args.has('--write')) {
  const path = join(REPO_DIR, 'BENCHMARKS.md');
  writeFileSync(path, renderBenchmarksMd(results, new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC'));
  console.error(`bench: wrote ${path}`);
}
