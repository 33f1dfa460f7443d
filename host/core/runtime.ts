// What every VM of one host process shares: shared data, shared queues, the stats store, the
// cluster table used by proxy_http_call, the log sink and level.

import { randomFillSync } from 'node:crypto';
import { WALL_CLOCK, type HostClock } from './clock.js';
import { LOG_LEVEL_NAMES, LogLevel } from '../../src/abi/table.js';
import type { Upstream } from './http-client.js';
import { MetricStore } from './metrics.js';
import { SharedData, SharedQueues } from './shared.js';

export interface LogEntry {
  readonly level: LogLevel;
  readonly vmId: string;
  readonly rootId: string;
  readonly message: string;
}

export type LogSink = (entry: LogEntry) => void;

export interface RuntimeOptions {
  /** Minimum level the host prints and reports through proxy_get_log_level (default info). */
  readonly logLevel?: LogLevel;
  /** Where plugin logs go (default: stderr, Envoy-like prefix). */
  readonly logSink?: LogSink;
  /** Cluster name → upstream, for proxy_http_call. */
  readonly clusters?: ReadonlyMap<string, Upstream> | Record<string, Upstream>;
  /**
   * Lean mode (tests, benchmarks): the time comes from this clock (e.g. a ManualClock) instead of
   * the wall clock. Default: the wall clock.
   */
  readonly clock?: HostClock;
  /**
   * Lean mode: no tick timers; a VM's ticks run only when the driver calls vm.tick(), so a
   * test or benchmark decides when a flush happens. Default: false (timers, as Envoy).
   */
  readonly manualTicks?: boolean;
  /**
   * Lean mode: what WASI random_get (and NodeHost's randomBytes) fill buffers with, so a test
   * can fix a plugin's random draws (e.g. zeros). Default: node:crypto's randomFillSync.
   */
  readonly randomFill?: (bytes: Uint8Array) => void;
}

export function parseLogLevel(name: string): LogLevel {
  const index = (LOG_LEVEL_NAMES as readonly string[]).indexOf(name.toLowerCase());
  if (index < 0) throw new Error(`unknown log level '${name}' (expected one of ${LOG_LEVEL_NAMES.join(', ')})`);
  return index as LogLevel;
}

/** vmId used for the host's own messages. */
export const HOST_SOURCE = '(host)';

export const stderrLogSink: LogSink = (entry) => {
  const prefix = `[${new Date().toISOString()}][wasm][${LOG_LEVEL_NAMES[entry.level] ?? entry.level}]`;
  const source = entry.vmId === HOST_SOURCE ? 'host' : `wasm log ${[entry.vmId, entry.rootId].filter(Boolean).join(' ')}`;
  process.stderr.write(`${prefix} ${source}: ${entry.message}\n`);
};

export class HostRuntime {
  readonly sharedData = new SharedData();
  readonly sharedQueues = new SharedQueues();
  readonly metrics = new MetricStore();
  readonly clusters: Map<string, Upstream>;
  logLevel: LogLevel;
  readonly clock: HostClock;
  readonly manualTicks: boolean;
  readonly randomFill: (bytes: Uint8Array) => void;
  private readonly sink: LogSink;

  constructor(options: RuntimeOptions = {}) {
    this.logLevel = options.logLevel ?? LogLevel.Info;
    this.sink = options.logSink ?? stderrLogSink;
    this.clock = options.clock ?? WALL_CLOCK;
    this.manualTicks = options.manualTicks ?? false;
    this.randomFill = options.randomFill ?? ((bytes) => void randomFillSync(bytes));
    const clusters = options.clusters ?? {};
    this.clusters = clusters instanceof Map ? new Map(clusters) : new Map(Object.entries(clusters));
  }

  log(entry: LogEntry): void {
    if (entry.level >= this.logLevel) this.sink(entry);
  }

  /** A host-side message (not from a plugin), printed through the same sink. */
  hostLog(level: LogLevel, message: string): void {
    this.log({ level, vmId: HOST_SOURCE, rootId: '', message });
  }
}
