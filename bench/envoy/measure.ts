// The real-Envoy benchmark: one Envoy 1.40 (--concurrency 1, scripts/lib/envoy.ts) per
// configuration, all started up front, then interleaved rounds: in each round every configuration
// takes a wrk run at 1 connection and one at 16 (the order rotates round by round). Envoy's CPU
// per request is utime+stime of the Envoy process over the 1-connection run divided by the
// requests Envoy counted (http.ingress_http.downstream_rq_total); "added" is the difference to the
// no-filter Envoy in the same round.

import { devOverlay, loadEnvoyYaml, startEnvoy, type Bootstrap, type RunningEnvoy } from '../../scripts/lib/envoy.js';
import { summarize, type Summary } from '../measure/stats.js';
import { cpuMicros, rssBytes } from './proc.js';
import { runWrk, type WrkResult } from './wrk.js';

/** 'variant': another sender build, for comparing builds in the same rounds (--sender-variant). */
export type EnvoyConfigId = 'none' | 'empty' | 'rust' | 'go' | 'assemblyscript' | 'sender' | 'variant';

export interface EnvoyConfig {
  readonly id: EnvoyConfigId;
  readonly label: string;
  /** The HTTP filter's .wasm; none for the no-filter Envoy. */
  readonly filter?: string;
}

export interface EnvoyBenchOptions {
  readonly rounds: number;
  readonly seconds1: number;
  readonly seconds16: number;
  readonly warmupSeconds: number;
  /** Requests for the sender's memory soak (0: none). */
  readonly soakRequests: number;
  readonly wrk: string;
  readonly receiver: string;
  /** Called with Envoy's pid before each 1-connection run (bench/envoy/profile.ts starts perf there). */
  readonly onRound?: (pid: number) => void;
}

export interface EnvoyRow {
  readonly config: EnvoyConfig;
  readonly cpuUs: Summary;
  /** Over no filter, same round. */
  readonly addedUs?: Summary;
  readonly rps1: Summary;
  readonly p99Ms1: Summary;
  readonly rps16: Summary;
  readonly p99Ms16: Summary;
  /** Envoy CPU per request in the 16-connection runs. */
  readonly cpuUs16: Summary;
  readonly requests1: number;
  readonly rssBytes: number;
}

export interface EnvoyResults {
  readonly rows: readonly EnvoyRow[];
  readonly skipped: readonly { readonly label: string; readonly why: string }[];
  /** Median over rounds of the sender's added CPU / the Rust peer's (same round). */
  readonly senderToRustAdded?: number;
  /** requests_recorded against downstream_rq_total for the sender's Envoy. */
  readonly senderCheck?: { readonly recorded: number; readonly served: number };
  readonly soak?: { readonly requests: number; readonly rssBytes: readonly number[] };
  readonly rounds: number;
  readonly seconds1: number;
  readonly seconds16: number;
  readonly load: readonly [number, number];
  readonly seconds: number;
}

const SERVED = 'http.ingress_http.downstream_rq_total';
// Fake credentials (the receiver needs some to sign); its endpoint is a closed loopback port, so
// nothing leaves the machine. The publish (every 60 s) fails and is retried: the same for all.
const BENCH_ENV = { ACPW_AWS_ACCESS_KEY_ID: 'BENCHFAKEKEYID', ACPW_AWS_SECRET_ACCESS_KEY: 'bench-fake-secret' };

type Json = Record<string, unknown>;

/** envoy.yaml with the receiver kept (the queue every filter flushes to) and the HTTP filter swapped. */
function bootstrapFor(config: EnvoyConfig, receiver: string): Bootstrap {
  return devOverlay(loadEnvoyYaml(), {
    cloudwatch: { host: '127.0.0.1', port: 1 },
    routes: [{ prefix: '/', status: 200, body: 'OK' }],
    edit: (bootstrap) => {
      const service = ((bootstrap.bootstrap_extensions as Json[])[0]!.typed_config as Json).config as Json;
      (((service.vm_config as Json).code as Json).local as Json).filename = receiver;
      for (const listener of (bootstrap.static_resources as Json).listeners as Json[]) {
        for (const chain of listener.filter_chains as Json[]) {
          for (const filter of chain.filters as Json[]) {
            const manager = filter.typed_config as Json;
            const filters = manager.http_filters as Json[] | undefined;
            if (!filters) continue;
            const wasm = filters.findIndex((f) => f.name === 'envoy.filters.http.wasm');
            if (config.filter === undefined) filters.splice(wasm, 1);
            else {
              const plugin = (filters[wasm]!.typed_config as Json).config as Json;
              (((plugin.vm_config as Json).code as Json).local as Json).filename = config.filter;
            }
          }
        }
      }
    },
  });
}

interface Running {
  readonly config: EnvoyConfig;
  readonly envoy: RunningEnvoy;
  readonly port: number;
  readonly cpu1: number[];
  readonly cpu16: number[];
  readonly runs1: WrkResult[];
  readonly runs16: WrkResult[];
}

async function served(envoy: RunningEnvoy): Promise<number> {
  return (await envoy.stats()).get(SERVED) ?? 0;
}

/** One wrk run; returns it with Envoy's CPU µs per request Envoy served during it. */
async function timedRun(r: Running, wrk: string, connections: number, seconds: number): Promise<{ run: WrkResult; cpuUs: number }> {
  const before = await served(r.envoy);
  const cpuBefore = cpuMicros(r.envoy.pid);
  const run = await runWrk(wrk, r.port, connections, seconds);
  const cpuAfter = cpuMicros(r.envoy.pid);
  const count = (await served(r.envoy)) - before;
  if (run.errors > 0) throw new Error(`${r.config.label}: wrk counted ${run.errors} errors`);
  // the two stats reads fall outside the CPU window; count is Envoy's, not wrk's
  return { run, cpuUs: (cpuAfter - cpuBefore) / count };
}

async function pollUntil(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return check();
}

export async function measureEnvoy(configs: readonly EnvoyConfig[], options: EnvoyBenchOptions, loadavg: () => number): Promise<EnvoyResults> {
  const started = performance.now();
  const loadAtStart = loadavg();
  const running: Running[] = [];
  const skipped: { label: string; why: string }[] = [];
  try {
    for (const config of configs) {
      console.error(`bench: envoy: starting Envoy with ${config.label}`);
      try {
        const envoy = await startEnvoy({
          config: bootstrapFor(config, options.receiver),
          concurrency: 1,
          env: BENCH_ENV,
          logLevel: 'warn',
          componentLogLevel: 'wasm:warn',
        });
        running.push({ config, envoy, port: envoy.listenerPort(), cpu1: [], cpu16: [], runs1: [], runs16: [] });
      } catch (err) {
        skipped.push({ label: config.label, why: (err instanceof Error ? err.message : String(err)).split('\n')[0]! });
      }
    }
    for (const r of running) await runWrk(options.wrk, r.port, 16, options.warmupSeconds);
    for (let round = 0; round < options.rounds; round++) {
      const order = running.map((_, i) => running[(i + round) % running.length]!);
      for (const r of order) {
        console.error(`bench: envoy: round ${round + 1}/${options.rounds}: ${r.config.label}`);
        options.onRound?.(r.envoy.pid);
        const one = await timedRun(r, options.wrk, 1, options.seconds1);
        const sixteen = await timedRun(r, options.wrk, 16, options.seconds16);
        r.cpu1.push(one.cpuUs);
        r.runs1.push(one.run);
        r.cpu16.push(sixteen.cpuUs);
        r.runs16.push(sixteen.run);
      }
    }

    // Every request the sender's Envoy served was recorded (the counter moves at each 1 s flush).
    const sender = running.find((r) => r.config.id === 'sender');
    let senderCheck: EnvoyResults['senderCheck'];
    if (sender) {
      const total = await served(sender.envoy);
      await pollUntil(async () => (await sender.envoy.counter('acpw.sender.requests_recorded')) >= total, 10_000);
      senderCheck = { recorded: await sender.envoy.counter('acpw.sender.requests_recorded'), served: total };
    }

    let soak: EnvoyResults['soak'];
    if (sender && options.soakRequests > 0) {
      const samples = [rssBytes(sender.envoy.pid)];
      const start = await served(sender.envoy);
      const step = Math.ceil(options.soakRequests / 10);
      while ((await served(sender.envoy)) - start < options.soakRequests) {
        const target = Math.min(start + options.soakRequests, (await served(sender.envoy)) + step);
        while ((await served(sender.envoy)) < target) await runWrk(options.wrk, sender.port, 16, 2);
        samples.push(rssBytes(sender.envoy.pid));
        console.error(`bench: envoy: soak: ${(await served(sender.envoy)) - start} requests, RSS ${(samples.at(-1)! / 2 ** 20).toFixed(1)} MiB`);
      }
      soak = { requests: (await served(sender.envoy)) - start, rssBytes: samples };
    }

    const none = running.find((r) => r.config.id === 'none');
    const rust = running.find((r) => r.config.id === 'rust');
    const added = (r: Running): number[] | undefined => (none && r !== none ? r.cpu1.map((c, i) => c - none.cpu1[i]!) : undefined);
    const rows = running.map((r): EnvoyRow => {
      const add = added(r);
      return {
        config: r.config,
        cpuUs: summarize(r.cpu1),
        ...(add ? { addedUs: summarize(add) } : {}),
        rps1: summarize(r.runs1.map((w) => w.requestsPerSecond)),
        p99Ms1: summarize(r.runs1.map((w) => w.p99Ms)),
        rps16: summarize(r.runs16.map((w) => w.requestsPerSecond)),
        p99Ms16: summarize(r.runs16.map((w) => w.p99Ms)),
        cpuUs16: summarize(r.cpu16),
        requests1: Math.round(summarize(r.runs1.map((w) => w.requests)).median),
        rssBytes: rssBytes(r.envoy.pid),
      };
    });
    const senderAdded = sender ? added(sender) : undefined;
    const rustAdded = rust ? added(rust) : undefined;
    return {
      rows,
      skipped,
      ...(senderAdded && rustAdded ? { senderToRustAdded: summarize(senderAdded.map((s, i) => s / rustAdded[i]!)).median } : {}),
      ...(senderCheck ? { senderCheck } : {}),
      ...(soak ? { soak } : {}),
      rounds: options.rounds,
      seconds1: options.seconds1,
      seconds16: options.seconds16,
      load: [loadAtStart, loadavg()],
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await Promise.all(running.map((r) => r.envoy.stop('SIGTERM', 10_000)));
  }
}
