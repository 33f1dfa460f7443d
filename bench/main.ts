// npm run bench: builds what is missing, measures every module side by side in one process and
// prints markdown tables; --write also rewrites BENCHMARKS.md.
// Flags: --write, --rebuild (rebuild every module), --quick (short runs, for a smoke test),
// --envoy-only / --local-only (one half), --soak (the sender's memory over 1,000,000 requests in Envoy),
// --engine (only the engine numbers of bench/measure/engine.ts: module size, VM start, callbacks).

import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { leanHostDriver, localHostDriver } from './harness/driver.js';
import { apiCost } from './measure/api-cost.js';
import { measureBreakdown } from './measure/breakdown.js';
import { interleavedRuns, ratioTo } from './measure/interleaved.js';
import { measurePublish, PUBLISH_INTERVAL_MS, type PublishResult } from './measure/receiver.js';
import { memoryAfter, timeReady } from './measure/sender-peers.js';
import { summarize } from './measure/stats.js';
import { buildAll, isBuilt, REPO_DIR, type BuiltModule } from './modules.js';
import { runEnvoyBench, withEnvoyFirst } from './envoy/run.js';
import { renderBenchmarksMd, renderTables, type BenchResults, type PeerRow } from './report.js';

const KNOWN = ['--write', '--rebuild', '--quick', '--envoy-only', '--local-only', '--soak', '--engine'];
const args = new Set(process.argv.slice(2));
// --sender-variant=LABEL=FILE.wasm (repeatable): another sender build measured in the same Envoy rounds
const variants = [...args].filter((a) => a.startsWith('--sender-variant=')).map((a) => {
  const [label, file] = a.slice('--sender-variant='.length).split('=');
  return [label ?? '', file ?? ''] as const;
});
// --envoy-configs=none,rust,sender,variant: only these real-Envoy configurations
const onlyArg = [...args].find((a) => a.startsWith('--envoy-configs='));
const only = onlyArg === undefined ? undefined : onlyArg.slice('--envoy-configs='.length).split(',');
for (const arg of args) {
  if (!KNOWN.includes(arg) && !arg.startsWith('--sender-variant=') && !arg.startsWith('--envoy-configs=')) {
    console.error(`bench: unknown option ${arg} (known: ${KNOWN.join(', ')})`);
    process.exit(2);
  }
}
const quick = args.has('--quick');
const options = quick
  ? { runs: 5, runMs: 50, startups: 5, memoryRequests: 100_000, breakdownRequests: 2000, publishRepeats: 2 }
  : { runs: 9, runMs: 200, startups: 15, memoryRequests: 100_000, breakdownRequests: 10_000, publishRepeats: 5 };

if (args.has('--engine')) {
  (await import('./measure/engine.js')).printEngineNumbers(args.has('--rebuild'));
  process.exit(0);
}

const started = performance.now();
const loadAtStart = loadavg()[0]!;
const outcomes = await buildAll(args.has('--rebuild'));

// First the primary numbers: real Envoy (bench/envoy).
let envoyMarkdown: string | undefined;
if (!args.has('--local-only')) {
  envoyMarkdown = (await runEnvoyBench(outcomes, {
    quick, rebuild: args.has('--rebuild'), soakRequests: args.has('--soak') ? 1_000_000 : 0, variants,
    ...(only !== undefined ? { only } : {}),
  })).markdown;
  console.log(`### In real Envoy\n\n${envoyMarkdown}\n`);
}
if (args.has('--envoy-only')) {
  if (args.has('--write')) console.error('bench: --write needs both halves: BENCHMARKS.md not written');
  process.exit(0);
}
const candidates = outcomes.filter((o) => o.id !== 'receiver');
for (const o of candidates) if (!isBuilt(o)) console.error(`bench: ${o.label}: skipped: ${o.skipped}`);
const built = candidates.filter(isBuilt);

// Per request: on the local host (the primary numbers), then on its lean mode (a ManualClock,
// no timers: what the modules cost with as little host overhead as host/ has).
const driver = localHostDriver;
const primary = interleavedRuns(driver, built, options.runs, options.runMs);
const lean = interleavedRuns(leanHostDriver, built, options.runs, options.runMs);
const ready = new Map(built.map((m) => [m.id, [] as number[]]));
for (let i = 0; i < options.startups; i++) {
  for (const m of built) if (primary.sessions.has(m.id)) ready.get(m.id)!.push(timeReady(driver, m.module));
}

const peers: PeerRow[] = candidates.map((outcome): PeerRow => {
  const session = primary.sessions.get(outcome.id);
  if (!isBuilt(outcome) || session === undefined) {
    const skipped = primary.failures.get(outcome.id) ?? ('skipped' in outcome ? outcome.skipped : 'not measured');
    return { outcome: { id: outcome.id, label: outcome.label, skipped } };
  }
  console.error(`bench: memory and breakdown of ${outcome.label}`);
  const leanSamples = lean.samples.get(outcome.id);
  const ratio = ratioTo(primary, outcome.id, 'assemblyscript');
  const leanRatio = ratioTo(lean, outcome.id, 'assemblyscript');
  return {
    outcome,
    result: {
      perRequestUs: summarize(primary.samples.get(outcome.id)!),
      ...(ratio !== undefined && outcome.id !== 'empty' ? { ratioToAssemblyScript: ratio } : {}),
      ...(leanSamples !== undefined ? { leanPerRequestUs: summarize(leanSamples) } : {}),
      ...(leanRatio !== undefined && outcome.id !== 'empty' ? { leanRatioToAssemblyScript: leanRatio } : {}),
      requestsPerRun: session.requestsPerRun,
      readyMs: summarize(ready.get(outcome.id)!),
      memoryBytesAfter: memoryAfter(driver, outcome.module, options.memoryRequests),
      memoryRequests: options.memoryRequests,
      problems: session.problems(outcome.id !== 'empty'),
    },
    breakdown: measureBreakdown(outcome.module, options.breakdownRequests),
  };
});

// Receiver: one publish of 100 and of 1,000 series (needs both of our modules).
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
      publishes.push(await measurePublish(sender.module, receiver.module, series, options.publishRepeats));
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
  leanHost: leanHostDriver.hostName,
  peers,
  publishes,
  ...(publishSkipped !== undefined ? { publishSkipped } : {}),
  apiCost: apiCost([10, 100, 1000], PUBLISH_INTERVAL_MS, datumsPerSeries),
  datumsPerSeriesSource: measured === undefined
    ? '2 (count + latency), from the design: no measured publish in this run'
    : `${datumsPerSeries} as measured in the 100-series publish above`,
  seconds: (performance.now() - started) / 1000,
  load: [loadAtStart, loadavg()[0]!],
};

console.log(renderTables(results));
if (args.has('--write')) {
  const path = join(REPO_DIR, 'BENCHMARKS.md');
  const local = renderBenchmarksMd(results, new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC');
  writeFileSync(path, envoyMarkdown === undefined ? local : withEnvoyFirst(local, envoyMarkdown));
  console.error(`bench: wrote ${path}`);
}
// Timers the local host left behind (queue notifications, tick timers) must not keep us alive.
process.exit(0);
