// The sender's configuration: the original's keys (receiver_vm_id, match_hosts) plus the new
// aggregation keys, with their defaults.

import { type ConfigResult, FieldReader, parseJsonObject } from './fields.js';

export interface SenderConfig {
  /** VM id of the receiver that owns the queue `aws_cloudwatch_metric`. */
  readonly receiverVmId: string;
  /** Hosts to record; empty records every host. Exact (case-insensitive) or `*.example.com`. */
  readonly matchHosts: readonly string[];
  readonly flushIntervalMs: number;
  readonly stripQueryString: boolean;
  readonly normalizePathIds: boolean;
  /** Distinct series per flush window before requests fold into the overflow series. */
  readonly maxSeries: number;
}

export const SENDER_DEFAULTS = {
  match_hosts: [] as readonly string[],
  flush_interval_millisecond: 1000,
  strip_query_string: true,
  normalize_path_ids: false,
  max_series: 10000,
} as const;


export const MIN_FLUSH_INTERVAL_MS = 100;

export function parseSenderConfig(text: string | undefined): ConfigResult<SenderConfig> {
  const source = parseJsonObject(text, 'sender plugin configuration');
  if (typeof source === 'string') return { ok: false, errors: [source], warnings: [] };
  const read = new FieldReader(source);
  const receiverVmId = read.string('receiver_vm_id', { required: true, maxLength: 256 });
  const matchHosts = read.stringArray('match_hosts', SENDER_DEFAULTS.match_hosts, { nonEmptyItems: true });
  const flushIntervalMs = read.integer('flush_interval_millisecond', SENDER_DEFAULTS.flush_interval_millisecond, {
    min: MIN_FLUSH_INTERVAL_MS, max: 3_600_000,
  });
  const stripQueryString = read.boolean('strip_query_string', SENDER_DEFAULTS.strip_query_string);
  const normalizePathIds = read.boolean('normalize_path_ids', SENDER_DEFAULTS.normalize_path_ids);
  const maxSeries = read.integer('max_series', SENDER_DEFAULTS.max_series, { min: 1, max: 1_000_000 });
  return read.result({
    receiverVmId: receiverVmId ?? '',
    matchHosts,
    flushIntervalMs,
    stripQueryString,
    normalizePathIds,
    maxSeries,
  });
}
