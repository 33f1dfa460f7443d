// The local host's one wall clock: proxy_get_current_time_nanoseconds and the stream times
// (request.time, request.duration) read the same clock, so a plugin's "now - request.time" is a
// true elapsed time (Envoy reads both from its one TimeSource).

const HRTIME_AT_START = process.hrtime.bigint();
const EPOCH_NS_AT_START = BigInt(Date.now()) * 1_000_000n;

/** Nanoseconds since the epoch, monotonic within the process. */
export function wallClockNanoseconds(): bigint {
  return process.hrtime.bigint() - HRTIME_AT_START + EPOCH_NS_AT_START;
}

/** The same clock in milliseconds (fractional). */
export function wallClockMilliseconds(): number {
  return Number(wallClockNanoseconds()) / 1e6;
}
