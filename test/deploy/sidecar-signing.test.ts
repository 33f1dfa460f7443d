// The sidecar bootstrap's Envoy-side signing, end to end with real Envoy and moto verifying
// SigV4 against IAM: the receiver runs with the manifest's configuration ("credentials_source":
// "envoy": it sends PutMetricData unsigned) and the manifest's aws_request_signing upstream
// filter on cloudwatch_api signs each call with the credentials Envoy holds. With the filter the
// data arrives; without it moto refuses the same requests.
//
// Here Envoy's credential chain is narrowed to the environment provider (the manifest uses the
// default chain, which in a pod finds IRSA / Pod Identity): the default chain would also ask
// EC2's instance metadata address, which is not loopback. IRSA and Pod Identity themselves are
// not exercised here (no STS, no EKS).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEnvoy, type RunningEnvoy } from '../../scripts/lib/envoy.js';
import { enforceSigV4, type EnforcedAuth } from '../support/aws.js';
import { byDimensions, publishedSeries } from '../support/cloudwatch-summary.js';
import { at, cluster, localSidecar } from '../support/deploy.js';
import { pollUntil, queryWindow, sendToFrontEnd } from '../support/e2e.js';
import { startMoto, type MotoServer } from '../support/moto.js';

type Json = Record<string, unknown>;

let moto: MotoServer;
let auth: EnforcedAuth;

beforeAll(async () => {
  moto = await startMoto();
  auth = await enforceSigV4(moto.endpoint, 'deploy');
});

afterAll(async () => {
  await moto?.stop();
});

async function sidecar(namespace: string, signing: boolean): Promise<RunningEnvoy> {
  const config = localSidecar({
    cloudwatch: { host: '127.0.0.1', port: moto.port },
    signing,
    routes: [{ prefix: '/', status: 200, body: 'OK' }],
    // The manifest's receiver config ("credentials_source": "envoy": it sends unsigned), with a
    // test namespace and a 1 s window so the test is short.
    receiver: { metric_namespace: namespace, publish_interval_millisecond: 1000, partial_publish_interval_millisecond: 1000, max_retries: 0 },
    edit: (bootstrap) => {
      if (!signing) return;
      const filters = at(
        cluster(bootstrap, 'cloudwatch_api'),
        'typed_extension_protocol_options',
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        'http_filters',
      ) as Json[];
      const signer = filters.find((filter) => filter.name === 'envoy.filters.http.aws_request_signing')!;
      (signer.typed_config as Json).credential_provider = { custom_credential_provider_chain: true, environment_credential_provider: {} };
    },
  });
  return startEnvoy({
    config,
    concurrency: 1,
    // Envoy's own credentials (its environment provider), never visible to the plugins.
    env: { AWS_ACCESS_KEY_ID: auth.publisher.accessKeyId, AWS_SECRET_ACCESS_KEY: auth.publisher.secretAccessKey },
    waitForLog: ['receiver: configured'],
  });
}

describe('deploy/kubernetes sidecar: Envoy signs PutMetricData (aws_request_signing upstream filter)', () => {
  it('with the filter, the unsigned calls are signed by Envoy and the data arrives', async () => {
    const namespace = 'AWSCloudWatchProxyWasm-deploy-envoy-signed';
    const envoy = await sidecar(namespace, true);
    try {
      for (let i = 0; i < 3; i++) expect(await sendToFrontEnd(envoy.listenerPort(), { host: 'example.com', path: '/signed' })).toBe(200);
      const { start, end } = queryWindow();
      const series = await pollUntil(
        () => publishedSeries({ endpoint: moto.endpoint, namespace, start, end, credentials: auth.reader }),
        (now) => byDimensions(now, 'RequestCount', 'sum')['example.com|GET|/signed|200'] === 3,
        { timeoutMs: 30_000, intervalMs: 500 },
      );
      expect(byDimensions(series, 'RequestCount', 'sum')).toEqual({ 'example.com|GET|/signed|200': 3 });
      expect(await envoy.counter('acpw.receiver.put_failures')).toBe(0);
      expect(envoy.log()).not.toContain(auth.publisher.secretAccessKey);
    } finally {
      await envoy.stop('SIGTERM');
    }
  });

  it('without the filter, moto refuses the same requests', async () => {
    const namespace = 'AWSCloudWatchProxyWasm-deploy-unsigned';
    const envoy = await sidecar(namespace, false);
    try {
      for (let i = 0; i < 3; i++) expect(await sendToFrontEnd(envoy.listenerPort(), { host: 'example.com', path: '/unsigned' })).toBe(200);
      const failures = await pollUntil(() => envoy.counter('acpw.receiver.put_failures'), (n) => n > 0, { timeoutMs: 30_000, intervalMs: 500 });
      expect(failures).toBeGreaterThan(0);
      const { start, end } = queryWindow();
      expect(await publishedSeries({ endpoint: moto.endpoint, namespace, start, end, credentials: auth.reader })).toEqual([]);
    } finally {
      await envoy.stop('SIGTERM');
    }
  });
});
