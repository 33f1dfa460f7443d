// MetricDatum JSON for one window's merged series (AWS JSON 1.0 shapes of PutMetricData):
//  - the count metric as a statistic set: Sum = SampleCount = requests, Minimum = Maximum = 1,
//    exactly what one datum of value 1 per request (the original) adds up to;
//  - the latency metric as Values/Counts in Milliseconds (≤ 149 values, see latency.ts).
// Timestamp is the start of the aggregation window, in epoch seconds. Static dimensions from the
// configuration follow the per-request ones on every datum.
// Each datum is serialised on its own so the batcher can split by count and by bytes.

import type { DimensionName, StaticDimension } from '../config/dimensions.js';
import type { WindowSnapshot } from '../metrics/merger.js';

export interface DatumSettings {
  readonly metricName: string;
  readonly latencyMetricName: string;
  readonly dimensions: readonly DimensionName[];
  readonly storageResolution: 1 | 60;
  /** Appended to every datum's dimensions (default none). */
  readonly staticDimensions?: readonly StaticDimension[];
}

/** Serialised MetricDatum objects, in order: for each series its count datum then its latency datum. */
export function buildDatums(snapshot: WindowSnapshot, settings: DatumSettings): string[] {
  const timestamp = Math.floor(snapshot.windowStartMs / 1000);
  const countHead = `{"MetricName":${JSON.stringify(settings.metricName)},"Dimensions":`;
  const latencyHead = `{"MetricName":${JSON.stringify(settings.latencyMetricName)},"Dimensions":`;
  const tail = `,"StorageResolution":${settings.storageResolution}}`;
  const names = settings.dimensions.map((name) => `{"Name":${JSON.stringify(name)},"Value":`);
  let fixed = '';
  for (const { name, value } of settings.staticDimensions ?? []) fixed += `,{"Name":${JSON.stringify(name)},"Value":${JSON.stringify(value)}}`;
  const out: string[] = [];
  for (const series of snapshot.series) {
    if (series.count <= 0) continue;
    let dimensions = '[';
    for (let i = 0; i < names.length; i++) {
      if (i > 0) dimensions += ',';
      dimensions += names[i] + JSON.stringify(series.dimensionValues[i]) + '}';
    }
    dimensions += (names.length > 0 ? fixed : fixed.slice(1)) + ']';
    out.push(
      `${countHead}${dimensions},"Timestamp":${timestamp},"StatisticValues":{"SampleCount":${series.count},"Sum":${series.count},"Minimum":1,"Maximum":1},"Unit":"Count"${tail}`,
    );
    if (series.latency.size > 0) {
      const { values, counts } = series.latency.toValuesAndCountsJson();
      out.push(`${latencyHead}${dimensions},"Timestamp":${timestamp},"Values":${values},"Counts":${counts},"Unit":"Milliseconds"${tail}`);
    }
  }
  return out;
}
