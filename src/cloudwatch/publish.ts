// One publish: the drained windows → PutMetricData request bodies. Each window publishes its
// series on the configured dimensions, then once more per rollup (rollups.ts).

import type { WindowSnapshot } from '../metrics/merger.js';
import { splitIntoBatches, type PutBatch } from './batches.js';
import { buildDatums, type DatumSettings } from './datums.js';
import type { DimensionName } from '../config/dimensions.js';
import { rollUp } from '../metrics/rollups.js';

export interface PublishSettings extends DatumSettings {
  readonly namespace: string;
  /** Extra dimension sets, each a subset of `dimensions` (default none). */
  readonly rollups?: readonly (readonly DimensionName[])[];
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
    for (const rollup of settings.rollups ?? []) {
      for (const datum of buildDatums(rollUp(snapshot, settings.dimensions, rollup), { ...settings, dimensions: rollup })) datums.push(datum);
    }
  }
  return { batches: splitIntoBatches(settings.namespace, datums), windows: snapshots.length, series, datums: datums.length };
}
