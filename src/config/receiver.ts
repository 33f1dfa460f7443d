// The receiver's configuration: the original's keys and env fallbacks plus the new publishing
// keys. Credentials come from the config or from ACPW_AWS_* env vars (config wins); they are
// marked secret so no message ever quotes them.

import { type ConfigResult, type EnvLookup, FieldReader, parseJsonObject } from './fields.js';
import { defaultEndpoint } from '../cloudwatch/endpoint.js';
import { readCredentialsSource, CREDENTIALS_SECRET_KEYS, type CredentialsSourceConfig } from './credentials.js';

export type { CredentialsSourceConfig };
import { DEFAULT_MIN_COMPRESSION_BYTES, MAX_MIN_COMPRESSION_BYTES, type CompressionSettings } from '../cloudwatch/compression.js';
import {
  DIMENSION_CHOICES, parseRollups, parseStaticDimensions, WIRE_DIMENSION_NAMES,
  type DimensionName, type StaticDimension,
} from './dimensions.js';

/** The default (and the original's) dimensions; `dimensions` may also list DIMENSION_CHOICES. */
export const DIMENSION_NAMES = WIRE_DIMENSION_NAMES;
export { DIMENSION_CHOICES, type DimensionName, type StaticDimension };

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface ReceiverConfig {
  readonly region: string;
  readonly clusterName: string;
  /** Static keys (credentials_source "static"); empty strings for the other sources. */
  readonly credentials: AwsCredentials;
  /** Where signing credentials come from (src/config/credentials.ts). */
  readonly credentialsSource: CredentialsSourceConfig;
  /** Host sent as `:authority` and signed as `host` (may carry a port). */
  readonly endpoint: string;
  readonly httpRequestTimeoutMs: number;
  readonly namespace: string;
  readonly metricName: string;
  readonly latencyMetricName: string;
  readonly publishIntervalMs: number;
  /** How often everything held (the current window so far included) is sent; ≤ publishIntervalMs. */
  readonly partialPublishIntervalMs: number;
  /** Retry a call that timed out after its body was sent (it may have been stored: a double count). */
  readonly retryTimeouts: boolean;
  readonly dimensions: readonly DimensionName[];
  readonly storageResolution: 1 | 60;
  readonly maxSeries: number;
  readonly maxRetries: number;
  readonly maxBufferedDatums: number;
  /** Request compression (gzip) and dimension options: docs/configuration.md. */
  readonly requestCompression: CompressionSettings;
  readonly staticDimensions: readonly StaticDimension[];
  readonly rollups: readonly (readonly DimensionName[])[];
}

export const ENV_ACCESS_KEY_ID = 'ACPW_AWS_ACCESS_KEY_ID';
export const ENV_SECRET_ACCESS_KEY = 'ACPW_AWS_SECRET_ACCESS_KEY';
export const ENV_SESSION_TOKEN = 'ACPW_AWS_SESSION_TOKEN';

export const RECEIVER_DEFAULTS = {
  // Above envoy.yaml's connect_timeout (5 s): an unreachable CloudWatch then fails as a connection
  // failure (never sent, retried) before the call times out (maybe stored, not retried by default).
  http_request_timeout_millisecond: 10000,
  metric_namespace: 'AWSCloudWatchProxyWasm',
  metric_name: 'RequestCount',
  latency_metric_name: 'RequestLatency',
  publish_interval_millisecond: 60000,
  dimensions: WIRE_DIMENSION_NAMES as readonly DimensionName[],
  storage_resolution: 60 as 1 | 60,
  max_series: 10000,
  max_retries: 3,
  max_buffered_datums: 100000,
  retry_timeouts: false,
  disable_request_compression: false,
  request_min_compression_size_bytes: DEFAULT_MIN_COMPRESSION_BYTES,
} as const;

export const MIN_PUBLISH_INTERVAL_MS = 1000;

const SECRET_KEYS: ReadonlySet<string> = new Set(['aws_access_key_id', 'aws_secret_access_key', 'aws_session_token', ...CREDENTIALS_SECRET_KEYS]);

// CloudWatch: namespace and metric names are 1-255 ASCII characters; "AWS/" is reserved.
const NAME = /^[\x21-\x7e][\x20-\x7e]{0,254}$/;
const REGION = /^[a-z]{2}(-[a-z0-9]+)+-\d+$/;
const HOST_PORT = /^[A-Za-z0-9.-]+(:\d{1,5})?$/;

export function parseReceiverConfig(text: string | undefined, env: EnvLookup): ConfigResult<ReceiverConfig> {
  const source = parseJsonObject(text, 'receiver plugin configuration');
  if (typeof source === 'string') return { ok: false, errors: [source], warnings: [] };
  const read = new FieldReader(source, SECRET_KEYS);
  const region = read.string('cloud_watch_region', { required: true, pattern: REGION, patternHint: 'an AWS region name such as "us-east-1"' });
  const clusterName = read.string('cloud_watch_cluster_name', { required: true, maxLength: 1024 });
  // Credentials: static keys, Envoy signs, or role credentials fetched by the plugin.
  const credentialsSource = readCredentialsSource(read, env);
  const staticKeys = credentialsSource.kind === 'static';
  const accessKeyId = read.string('aws_access_key_id', { required: staticKeys, fallback: env(ENV_ACCESS_KEY_ID) });
  const secretAccessKey = read.string('aws_secret_access_key', { required: staticKeys, fallback: env(ENV_SECRET_ACCESS_KEY) });
  const sessionToken = read.string('aws_session_token', { fallback: env(ENV_SESSION_TOKEN) });
  if (!staticKeys && (accessKeyId !== undefined || secretAccessKey !== undefined)) {
    read.warnings.push(`static keys (aws_access_key_id / ${ENV_ACCESS_KEY_ID}) are ignored with credentials_source "${credentialsSource.kind}"`);
  }
  const endpoint = read.string('cloud_watch_endpoint', {
    pattern: HOST_PORT, patternHint: 'a host name with an optional port, without a scheme or path (e.g. "monitoring.us-east-1.amazonaws.com")',
  });
  const httpRequestTimeoutMs = read.integer('http_request_timeout_millisecond', RECEIVER_DEFAULTS.http_request_timeout_millisecond, { min: 1, max: 600_000 });
  const namespace = read.string('metric_namespace', { default: RECEIVER_DEFAULTS.metric_namespace, pattern: NAME, patternHint: '1 to 255 printable ASCII characters' });
  if (namespace !== undefined && namespace.startsWith('AWS/')) read.errors.push('configuration key "metric_namespace" must not start with "AWS/" (reserved by AWS)');
  const metricName = read.string('metric_name', { default: RECEIVER_DEFAULTS.metric_name, pattern: NAME, patternHint: '1 to 255 printable ASCII characters' });
  const latencyMetricName = read.string('latency_metric_name', { default: RECEIVER_DEFAULTS.latency_metric_name, pattern: NAME, patternHint: '1 to 255 printable ASCII characters' });
  if (metricName !== undefined && metricName === latencyMetricName) {
    read.errors.push('configuration keys "metric_name" and "latency_metric_name" must differ');
  }
  const publishIntervalMs = read.integer('publish_interval_millisecond', RECEIVER_DEFAULTS.publish_interval_millisecond, { min: MIN_PUBLISH_INTERVAL_MS, max: 3_600_000 });
  // Default: the publish interval itself (one call per interval, as without partial publishing).
  const partialPublishIntervalMs = read.integer('partial_publish_interval_millisecond', publishIntervalMs, { min: MIN_PUBLISH_INTERVAL_MS, max: 3_600_000 });
  if (partialPublishIntervalMs > publishIntervalMs) {
    read.errors.push(`configuration key "partial_publish_interval_millisecond" must not exceed publish_interval_millisecond (${publishIntervalMs}), got ${partialPublishIntervalMs}`);
  }
  const retryTimeouts = read.boolean('retry_timeouts', RECEIVER_DEFAULTS.retry_timeouts);
  const dimensions = read.stringArray('dimensions', RECEIVER_DEFAULTS.dimensions, { allowed: DIMENSION_CHOICES, unique: true }) as readonly DimensionName[];
  const storageResolution = read.integer('storage_resolution', RECEIVER_DEFAULTS.storage_resolution, { allowed: [1, 60] }) as 1 | 60;
  const maxSeries = read.integer('max_series', RECEIVER_DEFAULTS.max_series, { min: 1, max: 1_000_000 });
  const maxRetries = read.integer('max_retries', RECEIVER_DEFAULTS.max_retries, { min: 0, max: 20 });
  const maxBufferedDatums = read.integer('max_buffered_datums', RECEIVER_DEFAULTS.max_buffered_datums, { min: 1, max: 10_000_000 });
  // Request compression (the AWS SDKs' settings) and dimension options.
  const requestCompression: CompressionSettings = {
    enabled: !read.boolean('disable_request_compression', RECEIVER_DEFAULTS.disable_request_compression),
    minBytes: read.integer('request_min_compression_size_bytes', RECEIVER_DEFAULTS.request_min_compression_size_bytes, { min: 0, max: MAX_MIN_COMPRESSION_BYTES }),
  };
  const staticDimensions = parseStaticDimensions(read.value('static_dimensions'), dimensions, read.errors);
  const rollups = parseRollups(read.value('rollups'), dimensions, read.errors);
  return read.result({
    region: region ?? '',
    clusterName: clusterName ?? '',
    credentials: staticKeys
      ? { accessKeyId: accessKeyId ?? '', secretAccessKey: secretAccessKey ?? '', ...(sessionToken !== undefined ? { sessionToken } : {}) }
      : { accessKeyId: '', secretAccessKey: '' },
    credentialsSource,
    endpoint: endpoint ?? (region ? defaultEndpoint(region) : ''),
    httpRequestTimeoutMs,
    namespace: namespace ?? RECEIVER_DEFAULTS.metric_namespace,
    metricName: metricName ?? RECEIVER_DEFAULTS.metric_name,
    latencyMetricName: latencyMetricName ?? RECEIVER_DEFAULTS.latency_metric_name,
    publishIntervalMs,
    partialPublishIntervalMs,
    retryTimeouts,
    dimensions,
    storageResolution,
    maxSeries,
    maxRetries,
    maxBufferedDatums,
    requestCompression,
    staticDimensions,
    rollups,
  });
}
