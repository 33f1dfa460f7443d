// envoy-iam.yaml (Envoy signs PutMetricData) against Envoy's API (PyPI xds-protos), like
// envoy.yaml in envoy-config.test.ts: every typed_config resolves, the signing filter and the
// upstream codec included. `envoy --mode validate` runs in test/e2e/credentials-envoy.test.ts.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT, runPython } from '../support/python.js';

const VALIDATOR = join(REPO_ROOT, 'test', 'config', 'validate_envoy_config.py');
const ENVOY_IAM_YAML = join(REPO_ROOT, 'envoy-iam.yaml');

describe('envoy-iam.yaml against Envoy API definitions (xds-protos)', () => {
  it('parses into Bootstrap with the signing filter on the CloudWatch cluster', async () => {
    const result = await runPython(VALIDATOR, [ENVOY_IAM_YAML]);
    const verdict = JSON.parse(result.stdout.trim()) as { ok: boolean; errors: string[]; types: string[] };
    expect(verdict.errors).toEqual([]);
    expect(result.code).toBe(0);
    expect(verdict.types).toContain('type.googleapis.com/envoy.extensions.filters.http.aws_request_signing.v3.AwsRequestSigning');
    expect(verdict.types).toContain('type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions');
  });

  it('sends unsigned, signs as "monitoring" in the receiver\'s region, and keeps no keys', () => {
    const text = readFileSync(ENVOY_IAM_YAML, 'utf8');
    const bootstrap = parse(text) as {
      bootstrap_extensions: { typed_config: { config: { configuration: { value: string } } } }[];
      static_resources: { clusters: { name: string; typed_extension_protocol_options: Record<string, { http_filters: { name: string; typed_config: Record<string, unknown> }[] }> }[] };
    };
    const receiver = JSON.parse(bootstrap.bootstrap_extensions[0]!.typed_config.config.configuration.value) as Record<string, unknown>;
    expect(receiver.credentials_source).toBe('envoy');
    const cluster = bootstrap.static_resources.clusters.find((c) => c.name === 'cloudwatch_api')!;
    const filters = cluster.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions']!.http_filters;
    expect(filters.map((f) => f.name)).toEqual(['envoy.filters.http.aws_request_signing', 'envoy.filters.http.upstream_codec']);
    expect(filters[0]!.typed_config).toMatchObject({ service_name: 'monitoring', region: receiver.cloud_watch_region });
    expect(text).not.toMatch(/ACPW_AWS_|aws_secret_access_key|inline_credential/);
  });

  it('is envoy.yaml apart from the signing: a change to envoy.yaml must be made here too', () => {
    interface Shape {
      bootstrap_extensions: { typed_config: { config: { configuration: { value: unknown }; vm_config: { environment_variables?: unknown } } } }[];
      static_resources: { clusters: ({ name: string } & Record<string, unknown>)[] };
    }
    const strip = (file: string, iam: boolean): Shape => {
      const bootstrap = parse(readFileSync(join(REPO_ROOT, file), 'utf8')) as Shape;
      const service = bootstrap.bootstrap_extensions[0]!.typed_config.config;
      const receiver = JSON.parse(String(service.configuration.value)) as Record<string, unknown>;
      delete receiver.credentials_source;
      service.configuration.value = receiver;
      delete service.vm_config.environment_variables; // envoy.yaml's ACPW_AWS_* keys
      if (iam) {
        const cluster = bootstrap.static_resources.clusters.find((c) => c.name === 'cloudwatch_api')!;
        delete cluster.typed_extension_protocol_options;
        delete cluster.per_connection_buffer_limit_bytes;
      }
      return bootstrap;
    };
    expect(strip('envoy-iam.yaml', true)).toEqual(strip('envoy.yaml', false));
  });
});
