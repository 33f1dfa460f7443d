// Issue 3 acceptance, SigV4, in real Envoy: with moto verifying every signature against IAM (a user holding only
// the README's minimal policy), the receiver's signed PutMetricData is accepted and the data
// arrives; with a wrong secret nothing arrives, the failure is counted, logged with moto's error
// code, and not retried the way a 5xx would be.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enforceSigV4, type EnforcedAuth } from '../support/aws.js';
import { byDimensions, publishedSeries } from '../support/cloudwatch-summary.js';
import { pollUntil, queryWindow, sleep, startE2e, type E2e } from '../support/e2e.js';
import { startMoto, type MotoServer } from '../support/moto.js';

let moto: MotoServer;
let auth: EnforcedAuth;

beforeAll(async () => {
  moto = await startMoto();
  auth = await enforceSigV4(moto.endpoint, 'e2e');
});

afterAll(async () => {
  await moto?.stop();
});

async function envoyWith(namespace: string, secret: string): Promise<E2e> {
  return startE2e({
    cloudwatch: `127.0.0.1:${moto.port}`,
    receiver: { metric_namespace: namespace },
    env: { ACPW_AWS_ACCESS_KEY_ID: auth.publisher.accessKeyId, ACPW_AWS_SECRET_ACCESS_KEY: secret },
  });
}

describe('SigV4 against moto with authentication enforced', () => {
  it('publishes with the minimal-policy identity: the data arrives', async () => {
    const namespace = 'AWSCloudWatchProxyWasm-e2e-signed';
    const e2e = await envoyWith(namespace, auth.publisher.secretAccessKey);
    try {
      for (let i = 0; i < 3; i++) expect(await e2e.send({ host: 'example.com', path: '/signed' })).toBe(200);
      const { start, end } = queryWindow();
      const series = await pollUntil(
        () => publishedSeries({ endpoint: moto.endpoint, namespace, start, end, credentials: auth.reader }),
        (now) => byDimensions(now, 'RequestCount', 'sum')['example.com|GET|/signed|200'] === 3,
        { timeoutMs: 20_000, intervalMs: 500 },
      );
      expect(byDimensions(series, 'RequestCount', 'sum')).toEqual({ 'example.com|GET|/signed|200': 3 });
      expect(await e2e.counter('acpw.receiver.put_failures')).toBe(0);
      // Never the secret in any log line.
      expect(e2e.log()).not.toContain(auth.publisher.secretAccessKey);
      expect(await e2e.envoy.admin('/stats')).not.toContain(auth.publisher.secretAccessKey);
    } finally {
      await e2e.close();
    }
  });

  it('with a wrong secret: nothing arrives, put_failures counts it, the log names SignatureDoesNotMatch, no retry', async () => {
    const namespace = 'AWSCloudWatchProxyWasm-e2e-badsig';
    const wrongSecret = `${auth.publisher.secretAccessKey}x`;
    const e2e = await envoyWith(namespace, wrongSecret);
    try {
      for (let i = 0; i < 2; i++) expect(await e2e.send({ host: 'example.com', path: '/unsigned' })).toBe(200);
      const failures = await pollUntil(async () => e2e.counter('acpw.receiver.put_failures'), (n) => n > 0);
      expect(failures).toBeGreaterThan(0);
      // Give a retry (100 ms base backoff) every chance to happen before checking there was none.
      await sleep(1500);
      expect(await e2e.counter('acpw.receiver.put_retries')).toBe(0);
      expect(await e2e.counter('acpw.receiver.put_failures')).toBe(await e2e.counter('acpw.receiver.put_calls'));
      expect(await e2e.counter('acpw.receiver.datums_published')).toBe(0);
      expect(await e2e.counter('acpw.receiver.datums_dropped')).toBeGreaterThanOrEqual(2);
      const errors = e2e.logLines('PutMetricData failed (403 SignatureDoesNotMatch');
      expect(errors.length).toBeGreaterThan(0);
      expect(errors[0]).toContain('not retried');
      expect(e2e.log()).not.toContain(wrongSecret);
      const { start, end } = queryWindow();
      expect(await publishedSeries({ endpoint: moto.endpoint, namespace, start, end, credentials: auth.reader })).toEqual([]);
    } finally {
      await e2e.close();
    }
  });
});
