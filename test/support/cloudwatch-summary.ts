// What reached moto for one namespace, read back with boto3 in one Python process
// (cloudwatch_summary.py): every metric and dimension set with its Sum and SampleCount.

import { join } from 'node:path';
import { AwsError, type AwsCredentials } from './aws.js';
import { REPO_ROOT, runPython } from './python.js';

const TOOL = join(REPO_ROOT, 'test', 'support', 'cloudwatch_summary.py');
const AWS_ERROR_EXIT = 3;

export interface PublishedSeries {
  readonly metricName: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly sum: number;
  readonly sampleCount: number;
  readonly units: readonly string[];
}

export interface SummaryQuery {
  readonly endpoint: string;
  readonly namespace: string;
  /** Epoch seconds. */
  readonly start: number;
  readonly end: number;
  readonly credentials?: AwsCredentials;
  /** Match dimension sets exactly, as CloudWatch does (see cloudwatch_summary.py); needed with rollups. */
  readonly exactDimensions?: boolean;
}

export async function publishedSeries(query: SummaryQuery): Promise<PublishedSeries[]> {
  const result = await runPython(TOOL, [], JSON.stringify(query));
  if (result.code === AWS_ERROR_EXIT) {
    const { error } = JSON.parse(result.stdout) as { error: { code: string; message: string } };
    throw new AwsError(error.code, error.message, undefined);
  }
  if (result.code !== 0) throw new Error(`cloudwatch_summary.py exited ${result.code}:\n${result.stderr.trim()}`);
  return (JSON.parse(result.stdout) as { series: PublishedSeries[] }).series;
}

/** "host|method|path|status" → value of `field` for one metric, for compact equality checks. */
export function byDimensions(
  series: readonly PublishedSeries[],
  metricName: string,
  field: 'sum' | 'sampleCount',
  order: readonly string[] = ['host', 'method', 'path', 'status'],
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of series) {
    if (s.metricName !== metricName) continue;
    const key = order.map((name) => s.dimensions[name] ?? '').join('|');
    out[key] = (out[key] ?? 0) + s[field];
  }
  return out;
}

/** Sum of `field` over every series of one metric. */
export function metricTotal(series: readonly PublishedSeries[], metricName: string, field: 'sum' | 'sampleCount'): number {
  return series.filter((s) => s.metricName === metricName).reduce((total, s) => total + s[field], 0);
}
