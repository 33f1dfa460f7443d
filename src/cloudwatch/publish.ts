// One publish: the drained windows → PutMetricData request bodies.

import type { WindowSnapshot } from '../metrics/merger.js';
import { splitIntoBatches, type PutBatch } from './batches.js';
import { buildDatums, type DatumSettings } from './datums.js';

export interface PublishSettings extends DatumSettings {
  readonly namespace: string;
}

export interface PublishPlan {
  readonly batches: PutBatch[];
  readonly windows: number;
  readonly series: number;
  readonly datums: number;
}

export function planPublish(snapshots: readonly WindowSnapshot[], settings: PublishSettings): PublishPlan {
  const datums: string[] = [];
  let series = 0;
  for (const snapshot of snapshots) {
    series += snapshot.series.length;
    for (const datum of buildDatums(snapshot, settings)) datums.push(datum);
  }
  return { batches: splitIntoBatches(settings.namespace, datums), windows: snapshots.length, series, datums: datums.length };
}
