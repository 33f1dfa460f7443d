// The cost model the README quotes: PutMetricData calls and CloudWatch metrics per month for a
// fleet of Envoys, against the original's one call per request. Rollups (extra dimension sets
// published from the same aggregate) add their own series to both terms; static dimensions add
// none unless their values differ between Envoys (then count the series over the fleet in
// `seriesTotal`).
//
// Prices default to the us-east-1 list prices (PutMetricData $0.01 per 1,000 requests; custom
// metrics $0.30 for the first 10,000, $0.10 up to 250,000, $0.05 up to 1,000,000, $0.02 after).

import { MAX_DATUMS_PER_CALL } from './batches.js';

export interface CostInput {
  /** Distinct dimension sets each Envoy reports per publish interval. */
  readonly seriesPerEnvoy: number;
  /** Distinct dimension sets over the whole fleet (≥ seriesPerEnvoy). */
  readonly seriesTotal: number;
  readonly envoys: number;
  /** Series the rollups add per Envoy and over the fleet (sum over rollups; default 0). */
  readonly rollupSeriesPerEnvoy?: number;
  readonly rollupSeriesTotal?: number;
  readonly publishIntervalMs: number;
  /**
   * The receiver's partial_publish_interval_millisecond (default: the window). Shorter: more
   * sends per window, each carrying the window so far (≤ 2 datums per series), and the send that
   * crosses a window boundary carries two windows.
   */
  readonly partialPublishIntervalMs?: number;
  /** Requests per second over the fleet, for the comparison with the original. */
  readonly requestsPerSecond?: number;
  readonly pricePerThousandCalls?: number;
  readonly metricTiers?: readonly (readonly [upTo: number, pricePerMetricMonth: number])[];
}

export interface CostEstimate {
  readonly callsPerPublishPerEnvoy: number;
  /** PutMetricData calls per window and Envoy (= callsPerPublishPerEnvoy without partial publishing). */
  readonly callsPerWindowPerEnvoy: number;
  readonly putCallsPerMonth: number;
  /** Each series is two metrics: the count and the latency. */
  readonly metrics: number;
  readonly apiCostPerMonth: number;
  readonly metricCostPerMonth: number;
  readonly totalPerMonth: number;
  /** The original: one call per request. */
  readonly originalCallsPerMonth?: number;
  readonly originalApiCostPerMonth?: number;
}

export const SECONDS_PER_MONTH = 30 * 24 * 3600;
export const DEFAULT_PRICE_PER_THOUSAND_CALLS = 0.01;
export const DEFAULT_METRIC_TIERS: readonly (readonly [number, number])[] = [
  [10_000, 0.3], [250_000, 0.1], [1_000_000, 0.05], [Infinity, 0.02],
];

export function metricCost(metrics: number, tiers: readonly (readonly [number, number])[] = DEFAULT_METRIC_TIERS): number {
  let cost = 0;
  let previous = 0;
  for (const [upTo, price] of tiers) {
    if (metrics <= previous) break;
    cost += (Math.min(metrics, upTo) - previous) * price;
    previous = upTo;
  }
  return cost;
}

export function estimateCost(input: CostInput): CostEstimate {
  const pricePerCall = (input.pricePerThousandCalls ?? DEFAULT_PRICE_PER_THOUSAND_CALLS) / 1000;
  const datumsPerEnvoy = 2 * (input.seriesPerEnvoy + (input.rollupSeriesPerEnvoy ?? 0));
  const callsPerPublishPerEnvoy = Math.ceil(datumsPerEnvoy / MAX_DATUMS_PER_CALL);
  const partial = input.partialPublishIntervalMs ?? input.publishIntervalMs;
  const sendsPerWindow = input.publishIntervalMs / partial;
  const callsPerWindowPerEnvoy = partial >= input.publishIntervalMs
    ? callsPerPublishPerEnvoy
    : (sendsPerWindow - 1) * callsPerPublishPerEnvoy + Math.ceil((2 * datumsPerEnvoy) / MAX_DATUMS_PER_CALL);
  const publishesPerMonth = (SECONDS_PER_MONTH * 1000) / input.publishIntervalMs;
  const putCallsPerMonth = callsPerWindowPerEnvoy * input.envoys * publishesPerMonth;
  const metrics = 2 * (input.seriesTotal + (input.rollupSeriesTotal ?? 0));
  const apiCostPerMonth = putCallsPerMonth * pricePerCall;
  const metricCostPerMonth = metricCost(metrics, input.metricTiers);
  const estimate: CostEstimate = {
    callsPerPublishPerEnvoy, callsPerWindowPerEnvoy, putCallsPerMonth, metrics, apiCostPerMonth, metricCostPerMonth,
    totalPerMonth: apiCostPerMonth + metricCostPerMonth,
  };
  if (input.requestsPerSecond === undefined) return estimate;
  const originalCallsPerMonth = input.requestsPerSecond * SECONDS_PER_MONTH;
  return { ...estimate, originalCallsPerMonth, originalApiCostPerMonth: originalCallsPerMonth * pricePerCall };
}
