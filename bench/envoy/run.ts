// The real-Envoy part of `npm run bench`: picks the configurations from the built modules (plus
// the Rust peer), sets up wrk and runs measure.ts.

import { loadavg } from 'node:os';
import { isBuilt, type ModuleId, type ModuleOutcome } from '../modules.js';
import { measureEnvoy, type EnvoyConfig, type EnvoyConfigId, type EnvoyResults } from './measure.js';
import { renderEnvoyTable } from './report.js';
import { buildRustPeer, ensureWrk } from './tools.js';

export interface EnvoyRunFlags {
  readonly quick: boolean;
  readonly rebuild: boolean;
  /** Requests of the sender's memory soak; 0 for none. */
  readonly soakRequests: number;
  /** Other sender builds measured beside it: [label, .wasm path]. */
  readonly variants?: readonly (readonly [string, string])[];
  /** Only these configurations (ids), e.g. to compare builds quickly; default all. */
  readonly only?: readonly string[];
}

const LABELS: Record<EnvoyConfigId, string> = {
  none: 'no filter',
  empty: 'empty WAT filter',
  rust: 'Rust SDK peer (proxy-wasm 0.2.5)',
  go: 'Go peer',
  assemblyscript: 'AssemblyScript peer',
  sender: 'sender.wasm (+ receiver)',
  variant: 'sender variant',
};

export interface EnvoyBenchOutput {
  readonly results?: EnvoyResults;
  readonly markdown: string;
}

export async function runEnvoyBench(outcomes: readonly ModuleOutcome[], flags: EnvoyRunFlags): Promise<EnvoyBenchOutput> {
  const path = (id: ModuleId): ModuleOutcome | undefined => outcomes.find((o) => o.id === id);
  const receiver = path('receiver');
  if (receiver === undefined || !isBuilt(receiver)) return { markdown: 'Real Envoy: not measured: receiver.wasm is not built (node build.mjs).' };
  let wrk: string;
  try {
    wrk = ensureWrk();
  } catch (err) {
    return { markdown: `Real Envoy: not measured: ${err instanceof Error ? err.message : String(err)}` };
  }
  const configs: EnvoyConfig[] = [{ id: 'none', label: LABELS.none }];
  const notBuilt: string[] = [];
  for (const id of ['empty', 'rust', 'go', 'assemblyscript', 'sender'] as const) {
    if (id === 'rust') {
      try {
        configs.push({ id, label: LABELS.rust, filter: buildRustPeer(flags.rebuild) });
      } catch (err) {
        notBuilt.push(`${LABELS.rust}: not built: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
      }
      continue;
    }
    const outcome = path(id);
    if (outcome !== undefined && isBuilt(outcome)) configs.push({ id, label: LABELS[id], filter: outcome.path });
    else notBuilt.push(`${LABELS[id]}: not built${outcome && 'skipped' in outcome ? `: ${outcome.skipped}` : ''}`);
  }
  for (const [label, file] of flags.variants ?? []) configs.push({ id: 'variant', label, filter: file });
  const only = flags.only;
  const results = await measureEnvoy(only === undefined ? configs : configs.filter((c) => only.includes(c.id)), {
    // many short rounds rather than few long ones: on a shared machine load comes in bursts
    rounds: flags.quick ? 2 : 8,
    seconds1: flags.quick ? 3 : 6,
    seconds16: flags.quick ? 2 : 3,
    warmupSeconds: flags.quick ? 1 : 3,
    soakRequests: flags.soakRequests,
    wrk,
    receiver: receiver.path,
  }, () => loadavg()[0]!);
  const markdown = renderEnvoyTable(results) + notBuilt.map((line) => `\n- ${line}`).join('');
  return { results, markdown };
}

/** BENCHMARKS.md: the real-Envoy table first, then the local-host document as secondary. */
export function withEnvoyFirst(localMd: string, envoyMarkdown: string): string {
  const body = localMd.replace(/^# Benchmarks\n/, '');
  return `# Benchmarks

## In real Envoy (the primary numbers)

Measured by \`npm run bench\` (bench/envoy): what a request costs Envoy itself with each filter.

${envoyMarkdown}

${ENVOY_NOTES}

## On the local host (secondary)
${body.replace(/^### /gm, '#### ').replace(/^## /gm, '### ')}`;
}

/** What the real-Envoy table compares and how to run it (BENCHMARKS.md). */
export const ENVOY_NOTES = `What the real-Envoy rows are:
- **no filter**: the listener with the router only; every other row adds one Wasm HTTP filter (vm_id \`sender\`) in front of it.
- **empty WAT filter**: \`bench/wat/empty.wat\`, every callback exported and returning at once: Envoy's own per-stream Wasm cost.
- **Rust SDK peer**: \`bench/rust/\` on the reference SDK (crate \`proxy-wasm\` =0.2.5, Cargo.lock committed, \`wasm32-wasip1\`):
  the start time at request headers; at log :authority, :method, :path, :status, a case-insensitive host match, query stripped,
  per-series count and the 149-bucket latency histogram of src/metrics/latency.ts; every 1 s the series as JSON on the queue
  \`aws_cloudwatch_metric\` of VM \`receiver\` (the receiver drops it as malformed: the queue only has to take it).
- **Go peer**, **AssemblyScript peer**: \`bench/go/\`, \`bench/assemblyscript/\` (same logic, with a latency sum instead of the histogram).
- **sender.wasm**: ours. Rows named "step …" or "(a) …" are earlier builds of the sender passed with \`--sender-variant=LABEL=FILE\`.
- Setup the bench does itself: \`wrk\` from Debian (\`apt-get install wrk\` when missing), \`rustup target add wasm32-wasip1\`
  and \`cargo build --release --locked\` for the Rust peer. \`--quick\`: 2 rounds of 3 s + 2 s; \`--soak\`: the sender's Envoy
  RSS over 1,000,000 more requests; \`--envoy-only\` / \`--local-only\`; \`--envoy-configs=none,rust,sender\`.
  \`node --import tsx bench/envoy/profile.ts FILE.wasm 8\` records one configuration with \`perf record -g\`.`;
