// The local host's one wall clock: proxy_get_current_time_nanoseconds and the stream times
// (request.time, request.duration) read the same clock, so a plugin's "now - request.time" is a
// true elapsed time (Envoy reads both from its one TimeSource).

const HRTIME_AT_START = process.hrtime.bigint();
const EPOCH_MS_AT_START = Date.now();
const EPOCH_NS_AT_START = BigInt(EPOCH_MS_AT_START) * 1_000_000n;
// performance.now() reads the same monotonic clock as process.hrtime, without a BigInt. Sampled
// just after HRTIME_AT_START, so ms times lean a few ns early, never late, relative to the ns
// clock (beyond the ~0.1 µs rounding of an epoch-ms double, which the BigInt version had too).
const PERFORMANCE_AT_START = performance.now();

/** Nanoseconds since the epoch, monotonic within the process. */
export function wallClockNanoseconds(): bigint {
  return process.hrtime.bigint() - HRTIME_AT_START + EPOCH_NS_AT_START;
}

/** The same clock in milliseconds (fractional). */
export function wallClockMilliseconds(): number {
  return performance.now() - PERFORMANCE_AT_START + EPOCH_MS_AT_START;
}

/** What the host reads the time from: the wall clock, or a ManualClock (tests, benchmarks). */
export interface HostClock {
  nowNs(): bigint;
  nowMs(): number;
}

export const WALL_CLOCK: HostClock = { nowNs: wallClockNanoseconds, nowMs: wallClockMilliseconds };

/**
 * A clock that moves only when told (the lean mode's clock): latencies and windows become exact,
 * so one test body gives the same answers in-process and in Wasm.
 */
export class ManualClock implements HostClock {
  private ns: bigint;
  /** nowMs() kept beside ns: streams read it several times each, a BigInt division every time showed in the benchmark. */
  private ms: number;

  constructor(startMs = 1_700_000_000_000) {
    this.ns = BigInt(startMs) * 1_000_000n;
    this.ms = clockMs(this.ns);
  }

  nowNs(): bigint {
    return this.ns;
  }

  nowMs(): number {
    return this.ms;
  }

  setMs(ms: number): void {
    this.setNs(BigInt(Math.round(ms * 1e3)) * 1000n);
  }

  setNs(ns: bigint): void {
    this.ns = ns;
    this.ms = clockMs(ns);
  }

  advanceMs(ms: number): void {
    this.setNs(this.ns + BigInt(Math.round(ms * 1e6)));
  }
}

/** ns as fractional ms at µs precision (what nowMs has always answered). */
function clockMs(ns: bigint): number {
  return Number(ns / 1000n) / 1000;
}
