import { describe, expect, it } from 'vitest';
import { parseSenderConfig, SENDER_DEFAULTS } from '../../src/config/sender.js';
import {
  DIMENSION_NAMES, ENV_ACCESS_KEY_ID, ENV_SECRET_ACCESS_KEY, ENV_SESSION_TOKEN, parseReceiverConfig, RECEIVER_DEFAULTS,
} from '../../src/config/receiver.js';
import type { ConfigResult } from '../../src/config/fields.js';

const noEnv = (): undefined => undefined;
const envOf = (vars: Record<string, string>) => (name: string): string | undefined => vars[name];

function ok<T>(result: ConfigResult<T>): T {
  if (!result.ok) throw new Error(`expected a valid config, got: ${result.errors.join('; ')}`);
  return result.config;
}

function errors<T>(result: ConfigResult<T>): readonly string[] {
  if (result.ok) throw new Error('expected the config to be rejected');
  return result.errors;
}

const RECEIVER_MINIMAL = {
  cloud_watch_region: 'us-east-1',
  cloud_watch_cluster_name: 'cloudwatch_api',
  aws_access_key_id: 'AKIDEXAMPLE',
  aws_secret_access_key: 'SECRET-wJalrXUtnFEMI',
};

describe('sender configuration', () => {
  it('applies the defaults of every optional key', () => {
    const config = ok(parseSenderConfig('{"receiver_vm_id": "receiver"}'));
    expect(config).toEqual({
      receiverVmId: 'receiver',
      matchHosts: [],
      flushIntervalMs: 1000,
      stripQueryString: true,
      normalizePathIds: false,
      maxSeries: 10000,
    });
    expect(SENDER_DEFAULTS.flush_interval_millisecond).toBe(1000);
  });

  it('reads every key', () => {
    const config = ok(parseSenderConfig(JSON.stringify({
      receiver_vm_id: 'r', match_hosts: ['example.com', '*.example.org'], flush_interval_millisecond: 250,
      strip_query_string: false, normalize_path_ids: true, max_series: 5,
    })));
    expect(config).toEqual({
      receiverVmId: 'r', matchHosts: ['example.com', '*.example.org'], flushIntervalMs: 250,
      stripQueryString: false, normalizePathIds: true, maxSeries: 5,
    });
  });

  it('rejects a missing receiver_vm_id, naming the key', () => {
    expect(errors(parseSenderConfig('{}'))).toEqual(['configuration key "receiver_vm_id" is required']);
    expect(errors(parseSenderConfig(''))).toEqual(['configuration key "receiver_vm_id" is required']);
    expect(errors(parseSenderConfig(undefined))[0]).toContain('"receiver_vm_id"');
  });

  it('rejects wrong types, naming each key', () => {
    const result = errors(parseSenderConfig(JSON.stringify({
      receiver_vm_id: 7, match_hosts: 'example.com', flush_interval_millisecond: '1000', strip_query_string: 'yes', max_series: 1.5,
    })));
    expect(result).toEqual([
      'configuration key "receiver_vm_id" must be a string, got a number',
      'configuration key "match_hosts" must be an array of strings, got a string',
      'configuration key "flush_interval_millisecond" must be an integer, got a string',
      'configuration key "strip_query_string" must be a boolean (true or false), got a string',
      'configuration key "max_series" must be an integer, got a non-integer number',
    ]);
  });

  it('rejects out-of-range numbers and bad list items', () => {
    expect(errors(parseSenderConfig('{"receiver_vm_id":"r","max_series":0}'))[0]).toBe('configuration key "max_series" must be at least 1 (got 0)');
    expect(errors(parseSenderConfig('{"receiver_vm_id":"r","flush_interval_millisecond":10}'))[0]).toContain('"flush_interval_millisecond" must be at least 100');
    expect(errors(parseSenderConfig('{"receiver_vm_id":"r","match_hosts":["a", 3]}'))[0]).toBe('configuration key "match_hosts" item 1 must be a string, got a number');
    expect(errors(parseSenderConfig('{"receiver_vm_id":"r","match_hosts":[""]}'))[0]).toContain('"match_hosts" item 0 must not be empty');
  });

  it('warns about unknown keys without failing', () => {
    const result = parseSenderConfig('{"receiver_vm_id":"r","match_host":["typo.example.com"]}');
    expect(result.ok).toBe(true);
    expect(result.warnings).toEqual(['unknown configuration key "match_host" is ignored']);
  });

  it('rejects JSON that is not an object, and invalid JSON without quoting it', () => {
    expect(errors(parseSenderConfig('["receiver"]'))).toEqual(['sender plugin configuration must be a JSON object, got an array']);
    const bad = errors(parseSenderConfig('{"receiver_vm_id": "r", secret-ish-text'));
    expect(bad[0]).toMatch(/^sender plugin configuration is not valid JSON/);
    expect(bad[0]).not.toContain('secret-ish-text');
  });

  it('accepts null as "use the default"', () => {
    expect(ok(parseSenderConfig('{"receiver_vm_id":"r","max_series":null}')).maxSeries).toBe(10000);
  });
});

describe('receiver configuration', () => {
  it('applies the defaults of the original and of the new keys', () => {
    const config = ok(parseReceiverConfig(JSON.stringify(RECEIVER_MINIMAL), noEnv));
    expect(config).toEqual({
      region: 'us-east-1',
      clusterName: 'cloudwatch_api',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'SECRET-wJalrXUtnFEMI' },
      credentialsSource: { kind: 'static' },
      endpoint: 'monitoring.us-east-1.amazonaws.com',
      httpRequestTimeoutMs: 10000,
      namespace: 'AWSCloudWatchProxyWasm',
      metricName: 'RequestCount',
      latencyMetricName: 'RequestLatency',
      publishIntervalMs: 60000,
      partialPublishIntervalMs: 60000,
      retryTimeouts: false,
      dimensions: ['host', 'method', 'path', 'status'],
      storageResolution: 60,
      maxSeries: 10000,
      maxRetries: 3,
      maxBufferedDatums: 100000,
      requestCompression: { enabled: true, minBytes: 10240 },
      staticDimensions: [],
      rollups: [],
    });
    expect(RECEIVER_DEFAULTS.dimensions).toEqual(DIMENSION_NAMES);
  });

  it('takes credentials from the ACPW_AWS_* environment when the keys are absent', () => {
    const env = envOf({ [ENV_ACCESS_KEY_ID]: 'AKIDENV', [ENV_SECRET_ACCESS_KEY]: 'env-secret', [ENV_SESSION_TOKEN]: 'env-token' });
    const config = ok(parseReceiverConfig('{"cloud_watch_region":"ap-northeast-1","cloud_watch_cluster_name":"c"}', env));
    expect(config.credentials).toEqual({ accessKeyId: 'AKIDENV', secretAccessKey: 'env-secret', sessionToken: 'env-token' });
  });

  it('lets config keys override the environment', () => {
    const env = envOf({ [ENV_ACCESS_KEY_ID]: 'AKIDENV', [ENV_SECRET_ACCESS_KEY]: 'env-secret', [ENV_SESSION_TOKEN]: 'env-token' });
    const config = ok(parseReceiverConfig(JSON.stringify({ ...RECEIVER_MINIMAL, aws_session_token: 'cfg-token' }), env));
    expect(config.credentials).toEqual({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'SECRET-wJalrXUtnFEMI', sessionToken: 'cfg-token' });
  });

  it('treats an empty environment variable as unset', () => {
    const env = envOf({ [ENV_ACCESS_KEY_ID]: '', [ENV_SECRET_ACCESS_KEY]: '' });
    const result = errors(parseReceiverConfig('{"cloud_watch_region":"us-east-1","cloud_watch_cluster_name":"c"}', env));
    expect(result).toEqual([
      'configuration key "aws_access_key_id" is required',
      'configuration key "aws_secret_access_key" is required',
    ]);
  });

  it('names every missing required key', () => {
    expect(errors(parseReceiverConfig('{}', noEnv))).toEqual([
      'configuration key "cloud_watch_region" is required',
      'configuration key "cloud_watch_cluster_name" is required',
      'configuration key "aws_access_key_id" is required',
      'configuration key "aws_secret_access_key" is required',
    ]);
  });

  it('derives the endpoint from the region, with the .cn partition for China', () => {
    expect(ok(parseReceiverConfig(JSON.stringify({ ...RECEIVER_MINIMAL, cloud_watch_region: 'ap-northeast-1' }), noEnv)).endpoint)
      .toBe('monitoring.ap-northeast-1.amazonaws.com');
    expect(ok(parseReceiverConfig(JSON.stringify({ ...RECEIVER_MINIMAL, cloud_watch_region: 'cn-north-1' }), noEnv)).endpoint)
      .toBe('monitoring.cn-north-1.amazonaws.com.cn');
    expect(ok(parseReceiverConfig(JSON.stringify({ ...RECEIVER_MINIMAL, cloud_watch_endpoint: '127.0.0.1:5000' }), noEnv)).endpoint)
      .toBe('127.0.0.1:5000');
  });

  it('rejects an endpoint with a scheme, and a malformed region', () => {
    expect(errors(parseReceiverConfig(JSON.stringify({ ...RECEIVER_MINIMAL, cloud_watch_endpoint: 'https://x.example' }), noEnv))[0])
      .toContain('"cloud_watch_endpoint" must be a host name');
    expect(errors(parseReceiverConfig(JSON.stringify({ ...RECEIVER_MINIMAL, cloud_watch_region: 'Tokyo' }), noEnv))[0])
      .toContain('"cloud_watch_region" must be an AWS region name');
  });

  it('enforces publish_interval_millisecond >= 1000 and storage_resolution 1 or 60', () => {
    expect(errors(parseReceiverConfig(JSON.stringify({ ...RECEIVER_MINIMAL, publish_interval_millisecond: 999 }), noEnv)))
      .toEqual(['configuration key "publish_interval_millisecond" must be at least 1000 (got 999)']);
    expect(ok(parseReceiverConfig(JSON.stringify({ ...RECEIVER_MINIMAL, publish_interval_millisecond: 1000 }), noEnv)).publishIntervalMs).toBe(1000);
    expect(errors(parseReceiverConfig(JSON.stringify({ ...RECEIVER_MINIMAL, storage_resolution: 30 }), noEnv)))
      .toEqual(['configuration key "storage_resolution" must be one of 1, 60 (got 30)']);
    expect(ok(parseReceiverConfig(JSON.stringify({ ...RECEIVER_MINIMAL, storage_resolution: 1 }), noEnv)).storageResolution).toBe(1);
  });

  it('accepts dimensions that are a subset of host/method/path/status, in the given order', () => {
    expect(ok(parseReceiverConfig(JSON.stringify({ ...RECEIVER_MINIMAL, dimensions: ['status', 'host'] }), noEnv)).dimensions)
      .toEqual(['status', 'host']);
    expect(ok(parseReceiverConfig(JSON.stringify({ ...RECEIVER_MINIMAL, dimensions: [] }), noEnv)).dimensions).toEqual([]);
    expect(errors(parseReceiverConfig(JSON.stringify({ ...RECEIVER_MINIMAL, dimensions: ['host', 'Host'] }), noEnv))[0])
      .toBe('configuration key "dimensions" item 1 must be one of "host", "method", "path", "status", "status_class" (got "Host")');
    expect(errors(parseReceiverConfig(JSON.stringify({ ...RECEIVER_MINIMAL, dimensions: ['host', 'host'] }), noEnv))[0])
      .toBe('configuration key "dimensions" lists "host" twice');
  });

  it('validates names, retries and buffer sizes', () => {
    expect(errors(parseReceiverConfig(JSON.stringify({ ...RECEIVER_MINIMAL, metric_namespace: 'AWS/EC2' }), noEnv))[0]).toContain('"metric_namespace" must not start with "AWS/"');
    expect(errors(parseReceiverConfig(JSON.stringify({ ...RECEIVER_MINIMAL, metric_name: 'Same', latency_metric_name: 'Same' }), noEnv))[0]).toContain('must differ');
    expect(errors(parseReceiverConfig(JSON.stringify({ ...RECEIVER_MINIMAL, max_retries: -1 }), noEnv))[0]).toContain('"max_retries" must be at least 0');
    expect(errors(parseReceiverConfig(JSON.stringify({ ...RECEIVER_MINIMAL, max_buffered_datums: 0 }), noEnv))[0]).toContain('"max_buffered_datums" must be at least 1');
    expect(errors(parseReceiverConfig(JSON.stringify({ ...RECEIVER_MINIMAL, http_request_timeout_millisecond: 'soon' }), noEnv))[0])
      .toBe('configuration key "http_request_timeout_millisecond" must be an integer, got a string');
  });

  it('never quotes a credential in an error or a warning', () => {
    const secret = 'TOP-SECRET-VALUE-123';
    const cases = [
      { ...RECEIVER_MINIMAL, aws_secret_access_key: [secret] },
      { ...RECEIVER_MINIMAL, aws_access_key_id: { value: secret } },
      { ...RECEIVER_MINIMAL, aws_session_token: 42, aws_secret_access_key: 7 },
    ];
    for (const source of cases) {
      const result = parseReceiverConfig(JSON.stringify(source), envOf({ [ENV_SECRET_ACCESS_KEY]: secret }));
      const text = [...(result.ok ? [] : result.errors), ...result.warnings].join('\n');
      expect(result.ok).toBe(false);
      expect(text).not.toContain(secret);
    }
    const broken = parseReceiverConfig(`{"aws_secret_access_key": "${secret}", oops}`, noEnv);
    expect(broken.ok).toBe(false);
    expect(JSON.stringify(broken)).not.toContain(secret);
  });

  it('names the wrong-typed secret key without its value', () => {
    const result = errors(parseReceiverConfig(JSON.stringify({ ...RECEIVER_MINIMAL, aws_secret_access_key: 12345 }), noEnv));
    expect(result).toEqual(['configuration key "aws_secret_access_key" must be a string, got a number']);
  });

  it('warns about unknown keys', () => {
    const result = parseReceiverConfig(JSON.stringify({ ...RECEIVER_MINIMAL, metric_namspace: 'x' }), noEnv);
    expect(result.ok).toBe(true);
    expect(result.warnings).toEqual(['unknown configuration key "metric_namspace" is ignored']);
  });
});
