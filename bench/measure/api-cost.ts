// PutMetricData calls per 1 M requests at 1k req/s: this project's design (aggregate, publish
// every interval, ≤ 1,000 datums per call) against the original's one call per request.

import { MAX_DATUMS_PER_CALL } from '../../src/cloudwatch/batches.js';

export const REQUESTS = 1_000_000;
export const REQUESTS_PER_SECOND = 1000;
export const PRICE_PER_THOUSAND_CALLS = 0.01;

export interface ApiCostRow {
  readonly design: string;
  readonly calls: number;
  readonly dollars: number;
}

/**
 * `datumsPerSeries` comes from a measured publish when there is one (count + latency datums),
 * else from the design (2).
 */
export function apiCost(seriesCounts: readonly number[], publishIntervalMs: number, datumsPerSeries: number): ApiCostRow[] {
  const seconds = REQUESTS / REQUESTS_PER_SECOND;
  const publishes = Math.ceil((seconds * 1000) / publishIntervalMs);
  const dollars = (calls: number): number => (calls / 1000) * PRICE_PER_THOUSAND_CALLS;
  const rows: ApiCostRow[] = [{ design: 'original: one call per request', calls: REQUESTS, dollars: dollars(REQUESTS) }];
  for (const series of seriesCounts) {
    const calls = publishes * Math.ceil((series * datumsPerSeries) / MAX_DATUMS_PER_CALL);
    rows.push({
      design: `ours: ${series} series, publish every ${publishIntervalMs / 1000} s`,
      calls,
      dollars: dollars(calls),
    });
  }
  return rows;
}
