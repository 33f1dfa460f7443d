// Renders the benchmark results as markdown, and BENCHMARKS.md from them.

import { cpus, totalmem, type as osType, release } from 'node:os';
import type { ApiCostRow } from './measure/api-cost.js';
import { PHASES, type Breakdown } from './measure/breakdown.js';
import type { PublishResult } from './measure/receiver.js';
import type { Summary } from './measure/stats.js';
import type { ModuleOutcome } from './modules.js';

export interface PeerResult {
  readonly perRequestUs: Summary;
  /** Median over rounds of (this module's run / the AssemblyScript peer's run in that round). */
  readonly ratioToAssemblyScript?: number;
  /** The same two on host/'s lean mode. */
  readonly leanPerRequestUs?: Summary;
  readonly leanRatioToAssemblyScript?: number;
  readonly requestsPerRun: number;
  readonly readyMs: Summary;
  readonly memoryBytesAfter: number;
  readonly memoryRequests: number;
  /** Problems that make the numbers suspect (guest errors, nothing recorded). */
  readonly problems: string[];
}

export interface PeerRow {
  readonly outcome: ModuleOutcome;
  readonly result?: PeerResult;
  readonly breakdown?: Breakdown;
}

export interface BenchResults {
  readonly host: string;
  readonly leanHost: string;
  readonly peers: readonly PeerRow[];
  readonly publishes: readonly PublishResult[];
  readonly publishSkipped?: string;
  readonly apiCost: readonly ApiCostRow[];
  readonly datumsPerSeriesSource: string;
  readonly seconds: number;
  /** 1-minute load average at the start and the end of the run: other work skews the numbers. */
  readonly load: readonly [number, number];
}

const fixed = (n: number, digits: number): string => (Number.isFinite(n) ? n.toFixed(digits) : '–');
const spread = (s: Summary, digits: number): string =>
  `${fixed(s.median, digits)} (${fixed(s.min, digits)}–${fixed(s.max, digits)})`;
const kib = (bytes: number): string => `${(bytes / 1024).toFixed(bytes < 10 * 1024 ? 1 : 0)} KiB`;
const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
const int = (n: number): string => n.toLocaleString('en-US');

export function machineLine(): string {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `${cpu}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, ${osType()} ${release()}; ` +
    `Node ${process.version} (V8 ${process.versions.v8})`;
}

function peerTable(results: BenchResults): string {
  const lines = [
    `| module | ABI | size | µs / request, median (min–max) | vs AssemblyScript | on the ${results.leanHost}: µs / request | vs AssemblyScript | VM ready, ms median (min–max) | linear memory after 100k requests |`,
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const { outcome, result } of results.peers) {
    if ('skipped' in outcome) {
      lines.push(`| ${outcome.label} | | | skipped: ${outcome.skipped} | | | | | |`);
      continue;
    }
    if (result === undefined) continue;
    const ratio = (r: number | undefined): string => (r === undefined ? '–' : `${r.toFixed(2)}×`);
    const lean = result.leanPerRequestUs === undefined ? '–' : spread(result.leanPerRequestUs, 2);
    lines.push(`| ${outcome.label} | ${outcome.abi} | ${kib(outcome.bytes)} | ${spread(result.perRequestUs, 2)} | ` +
      `${ratio(result.ratioToAssemblyScript)} | ${lean} | ${ratio(result.leanRatioToAssemblyScript)} | ` +
      `${spread(result.readyMs, 2)} | ${mib(result.memoryBytesAfter)} |`);
  }
  const runs = results.peers.find((p) => p.result !== undefined)?.result;
  if (runs !== undefined) {
    lines.push('', `Host: ${results.host}; the "${results.leanHost}" columns repeat the per-request runs on host/'s ` +
      `lean mode (a ManualClock, ticks only when the benchmark asks, no timers). ` +
      `µs / request: ${runs.perRequestUs.runs} timed runs per module after a warm-up, each of ~0.2 s of requests, ` +
      `interleaved round by round across modules; "vs AssemblyScript" is the median over rounds of the ratio ` +
      `to the AssemblyScript peer's run in the same round ` +
      `(full stream: context create → request headers → response headers → log → done → delete, plus the 1 s tick ` +
      `every 1,000 requests as at 1k req/s). VM ready: ${runs.readyMs.runs} instantiations from a compiled module, ` +
      `through _initialize, root context create, vm_start and configure.`);
  }
  return lines.join('\n');
}

function breakdownTable(results: BenchResults): string {
  const lines = [
    `| module | ${PHASES.join(' | ')} | imported calls per request |`,
    `| --- | ${PHASES.map(() => '---:').join(' | ')} | --- |`,
  ];
  for (const { outcome, breakdown } of results.peers) {
    if (breakdown === undefined) continue;
    const calls = breakdown.importsPerRequest
      .map(([name, n]) => `${name.replace(/^env\./, '')} ×${Number.isInteger(n) ? n : n.toFixed(2)}`)
      .join(', ') || 'none';
    lines.push(`| ${outcome.label} | ${breakdown.phaseUs.map((us) => us.toFixed(2)).join(' | ')} | ${calls} |`);
  }
  lines.push('', 'µs per request in each callback, timed one by one (the timer adds ~0.1 µs per callback).');
  return lines.join('\n');
}

function publishTable(results: BenchResults): string {
  if (results.publishSkipped !== undefined) return `Receiver: skipped: ${results.publishSkipped}`;
  const lines = [
    '| series in the publish | merge (on_queue_ready), ms | build + sign + send (on_tick), ms | PutMetricData calls | datums | request bytes (as sent; gzip above the compression threshold) |',
    '| ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const p of results.publishes) {
    lines.push(`| ${int(p.series)} | ${spread(p.mergeMs, 2)} | ${spread(p.publishMs, 1)} | ${p.callsPerPublish} | ` +
      `${int(p.datumsPerPublish)} | ${kib(p.bodyBytesPerPublish)} |`);
  }
  return lines.join('\n');
}

function apiTable(results: BenchResults): string {
  const lines = [
    '| design | PutMetricData calls per 1 M requests (1k req/s) | $ at $0.01 / 1,000 calls |',
    '| --- | ---: | ---: |',
  ];
  for (const row of results.apiCost) lines.push(`| ${row.design} | ${int(row.calls)} | $${row.dollars < 0.01 ? row.dollars.toFixed(5) : row.dollars.toFixed(2)} |`);
  lines.push('', `Datums per series: ${results.datumsPerSeriesSource}.`);
  return lines.join('\n');
}

function importNotes(results: BenchResults): string {
  const notes = results.peers
    .filter((p) => 'importNotes' in p.outcome && p.outcome.importNotes.length > 0)
    .map((p) => `- ${p.outcome.label}: imports ${'importNotes' in p.outcome ? p.outcome.importNotes.join(', ') : ''}`);
  return notes.length === 0 ? '' : `\nImports outside the set Envoy registers:\n${notes.join('\n')}\n`;
}

function problems(results: BenchResults): string {
  const found: string[] = [];
  for (const { outcome, result } of results.peers) {
    for (const p of result?.problems ?? []) found.push(`- ${outcome.label}: ${p}`);
  }
  for (const p of results.publishes) for (const problem of p.problems) found.push(`- receiver, ${p.series} series: ${problem}`);
  return found.length === 0 ? '' : `\n**Problems seen in this run (numbers above are suspect where listed):**\n${found.join('\n')}\n`;
}

function loadLine(results: BenchResults): string {
  const [start, end] = results.load;
  const busy = Math.max(start, end) > 1.5
    ? ' Other processes were competing for the 2 cores: absolute numbers are inflated and spread; the per-round ratios hold better.'
    : '';
  return `Load average (1 min): ${start.toFixed(2)} at the start, ${end.toFixed(2)} at the end.${busy}`;
}

export function renderTables(results: BenchResults, withLoad = true): string {
  return [
    ...(withLoad ? [loadLine(results), ''] : []),
    `### Sender and peers (${results.host})`, '', peerTable(results), importNotes(results),
    `### Where the time goes (${results.leanHost})`, '', breakdownTable(results), '',
    '### Receiver: one publish', '', publishTable(results), '',
    '### PutMetricData calls', '', apiTable(results), problems(results),
  ].join('\n');
}

export function renderBenchmarksMd(results: BenchResults, date: string): string {
  return `# Benchmarks

Measured by \`npm run bench\` (\`node bench/run.mjs\`), all modules side by side in one Node
process, same V8, same host, same synthetic traffic. \`npm run bench -- --write\` rewrites this file.

Machine: ${machineLine()}.
Run on ${date}, ${results.seconds.toFixed(0)} s in all. ${loadLine(results)}

${renderTables(results, false)}

## What is compared
- **empty filter**: \`bench/wat/empty.wat\`, a proxy-wasm module whose callbacks return at once:
  the cost of the host and of crossing into Wasm, the floor under every filter.
- **sender.wasm**: this project's sender (TypeScript → QuickJS + the WAT bridge), built by \`node build.mjs\`.
- **AssemblyScript peer**: \`bench/assemblyscript/\`, the same sender logic on \`@solo-io/proxy-runtime\`
  0.1.8 with \`assemblyscript\` 0.17.14 (\`--runtime full --use abort=abort_proc_exit -O3\`; ABI 0.2.0).
  Its stream callbacks still pay the SDK's per-context debug-log formatting in \`ensureContext\`;
  the peer's own \`onDone\`/\`onDelete\` skip the SDK's default debug logs.
- **Go peer**: \`bench/go/\`, the same logic in Go 1.24+ for \`GOOS=wasip1 GOARCH=wasm -buildmode=c-shared\`.
  The Go proxy-wasm SDK (\`github.com/proxy-wasm/proxy-wasm-go-sdk\`) is not served by the Go module proxy
  these machines reach (every version and commit answers 403), so the peer declares the ABI calls it uses
  with \`go:wasmimport\`/\`go:wasmexport\`, the mechanism that SDK is built on; it has no dependency.
  The row says "skipped: go not found" where Go is not installed.
- Same logic everywhere: at log read \`:authority\`, \`:method\`, \`:path\`, \`:status\` and the request's
  latency (the peers keep the start time at request headers; ours reads the age of \`request.time\` in the
  same crossing as the headers); on a host match (case-insensitive) strip the query and add count +
  latency to the series host|method|path|status; on the 1 s tick serialise the series to JSON and enqueue them on
  \`aws_cloudwatch_metric\` of VM \`receiver\`. Ours does more per request (dimension cleaning, path
  normalisation options, latency buckets, series caps); the peers hard-code the match host and receiver
  VM id instead of parsing the plugin configuration.

## The hosts
- **${results.host}**: the project's local proxy-wasm host driven through its programmatic API
  (\`createVm\`, \`vm.runStream\`, synchronously, no HTTP): the primary numbers, all modules in one host.
- **${results.leanHost}**: the same host with a ManualClock and manual ticks (no timers armed), the
  harness of the behaviour tests. The empty WAT filter's row is the host's own cost per stream; subtract
  it to see a module's. The breakdown per callback and the receiver publish (an in-memory CloudWatch
  upstream answering 200) run on it.
- Traffic: 10 paths on host \`example.com\` (each with a query string to strip), 8 request headers,
  5 response headers, status 200; a tick every 1,000 requests.

## Reproduce
\`\`\`
npm ci
npm run bench            # prints the tables
npm run bench -- --write # and rewrites BENCHMARKS.md
npm run bench -- --engine # only the engine numbers (module size, VM start, callback and hostcall costs, SHA-256)
\`\`\`
The bench builds what is missing: \`sender.wasm\`/\`receiver.wasm\` (\`node build.mjs\`), the WAT floor (npm
\`wabt\`), the AssemblyScript peer (\`npm ci\` in \`bench/assemblyscript\`, pinned versions), the Go peer
(\`go build\`, if \`go\` is on PATH). \`--rebuild\` rebuilds them all; \`--quick\` makes short runs for a
smoke test. On a quiet machine medians move by a few percent between runs; under load (see the load
average above) compare the "vs AssemblyScript" ratios, which are taken round by round.
`;
}
