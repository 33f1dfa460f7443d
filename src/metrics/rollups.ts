// Derived dimensions and rollups, computed from the merged series at publish time:
//  - `status_class`: the status code's class ("200" → "2xx"); the placeholders `_unknown` and
//    `_overflow` (and anything that is not a 3-digit code) stay as they are;
//  - a rollup re-aggregates one window's series onto a subset of the configured dimensions
//    (counts add up, latency histograms merge bucket by bucket), so the extra dimension sets cost
//    no extra state between publishes and agree exactly with the full set.

import type { DimensionName } from '../config/dimensions.js';
import { MergedSeries, type WindowSnapshot } from './merger.js';

export { statusClass } from './dimensions.js';

/** `window` re-aggregated onto `rollup` (each name one of `dimensions`, the snapshot's). */
export function rollUp(window: WindowSnapshot, dimensions: readonly DimensionName[], rollup: readonly DimensionName[]): WindowSnapshot {
  const positions = rollup.map((name) => {
    const at = dimensions.indexOf(name);
    if (at < 0) throw new Error(`rollup dimension "${name}" is not one of [${dimensions.join(', ')}]`);
    return at;
  });
  const merged = new Map<string, MergedSeries>();
  for (const series of window.series) {
    const values = positions.map((at) => series.dimensionValues[at]!);
    const key = values.join('\u0000');
    let target = merged.get(key);
    if (target === undefined) {
      target = new MergedSeries(values);
      merged.set(key, target);
    }
    target.count += series.count;
    const flat = series.latency.toFlat();
    for (let i = 0; i < flat.length; i += 2) target.latency.add(flat[i]!, flat[i + 1]!);
  }
  return { windowStartMs: window.windowStartMs, series: [...merged.values()] };
}
