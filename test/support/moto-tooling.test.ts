// Proves the test tooling itself: moto's server starts from .venv, boto3 writes and reads
// CloudWatch data through our helpers, and moto really enforces SigV4 when asked to — so a
// green end-to-end test elsewhere means what it says.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AwsError,
  createIamUser,
  enforceSigV4,
  getMetricStatistics,
  listMetrics,
  putMetricData,
  total,
} from './aws.js';
import { resetMoto, setMotoAuthentication, startMoto, type MotoServer } from './moto.js';

const NAMESPACE = 'AWSCloudWatchProxyWasm-test';
const HOST_DIMENSIONS = [
  { Name: 'host', Value: 'example.com' },
  { Name: 'method', Value: 'GET' },
  { Name: 'path', Value: '/test' },
  { Name: 'status', Value: '200' },
];

let moto: MotoServer;

beforeAll(async () => {
  moto = await startMoto();
});

afterAll(async () => {
  await moto?.stop();
});

/** A minute-aligned window around now, as the receiver stamps datums. */
function window(): { timestamp: number; start: number; end: number } {
  const timestamp = Math.floor(Date.now() / 60_000) * 60;
  return { timestamp, start: timestamp - 300, end: timestamp + 300 };
}

describe('moto + boto3 helpers', () => {
  it('reads back a statistic set and a latency distribution written through boto3', async () => {
    await resetMoto(moto.endpoint);
    const { timestamp, start, end } = window();
    await putMetricData({
      endpoint: moto.endpoint,
      namespace: NAMESPACE,
      metricData: [
        {
          MetricName: 'RequestCount', Dimensions: HOST_DIMENSIONS, Unit: 'Count', Timestamp: timestamp,
          StatisticValues: { SampleCount: 7, Sum: 7, Minimum: 1, Maximum: 1 },
        },
        {
          MetricName: 'RequestLatency', Dimensions: HOST_DIMENSIONS, Unit: 'Milliseconds', Timestamp: timestamp,
          Values: [1.5, 12], Counts: [5, 2],
        },
      ],
    });

    const names = (await listMetrics({ endpoint: moto.endpoint, namespace: NAMESPACE })).map((m) => m.MetricName);
    expect(new Set(names)).toEqual(new Set(['RequestCount', 'RequestLatency']));

    const count = await getMetricStatistics({
      endpoint: moto.endpoint, namespace: NAMESPACE, metricName: 'RequestCount',
      dimensions: HOST_DIMENSIONS, start, end, statistics: ['Sum', 'SampleCount'],
    });
    expect(total(count, 'Sum')).toBe(7);
    expect(total(count, 'SampleCount')).toBe(7);

    const latency = await getMetricStatistics({
      endpoint: moto.endpoint, namespace: NAMESPACE, metricName: 'RequestLatency',
      dimensions: HOST_DIMENSIONS, start, end, statistics: ['SampleCount', 'Sum'],
    });
    expect(total(latency, 'SampleCount')).toBe(7);
    expect(total(latency, 'Sum')).toBeCloseTo(5 * 1.5 + 2 * 12);

    // A dimension set that was never written has no data.
    const other = await getMetricStatistics({
      endpoint: moto.endpoint, namespace: NAMESPACE, metricName: 'RequestCount',
      dimensions: [{ Name: 'host', Value: 'other.example' }], start, end, statistics: ['Sum'],
    });
    expect(total(other, 'Sum')).toBe(0);
  });

  describe('with SigV4 enforced', () => {
    afterAll(async () => {
      await setMotoAuthentication(moto.endpoint, Infinity);
    });

    it('accepts the publisher and rejects a wrong secret or an unknown key', async () => {
      await resetMoto(moto.endpoint);
      const { publisher, reader } = await enforceSigV4(moto.endpoint);
      const { timestamp, start, end } = window();
      const datum = { MetricName: 'RequestCount', Unit: 'Count', Value: 1, Timestamp: timestamp };
      const put = (credentials: { accessKeyId: string; secretAccessKey: string }) =>
        putMetricData({ endpoint: moto.endpoint, namespace: NAMESPACE, metricData: [datum], credentials });

      await expect(put(publisher)).resolves.toBeUndefined();
      await expect(put({ ...publisher, secretAccessKey: `${publisher.secretAccessKey}x` })).rejects.toMatchObject({
        code: 'SignatureDoesNotMatch', httpStatus: 403,
      });
      await expect(put({ accessKeyId: 'ACPWUNKNOWNKEYID0000', secretAccessKey: 'x' })).rejects.toMatchObject({
        code: 'InvalidClientTokenId',
      });
      // Reading needs a key too now; the publisher's minimal policy does not allow it.
      await expect(
        listMetrics({ endpoint: moto.endpoint, namespace: NAMESPACE, credentials: publisher }),
      ).rejects.toBeInstanceOf(AwsError);

      const written = await getMetricStatistics({
        endpoint: moto.endpoint, namespace: NAMESPACE, metricName: 'RequestCount', dimensions: [],
        start, end, statistics: ['Sum'], credentials: reader,
      });
      expect(total(written, 'Sum')).toBe(1);
    });

    it('denies the AWS-named minimal policy alone (moto checks "monitoring:PutMetricData")', async () => {
      await setMotoAuthentication(moto.endpoint, Infinity);
      const awsNamedOnly = await createIamUser({
        endpoint: moto.endpoint, userName: 'acpw-aws-named-only', motoServiceAlias: false,
      });
      await setMotoAuthentication(moto.endpoint, 0);
      await expect(
        putMetricData({
          endpoint: moto.endpoint, namespace: NAMESPACE, credentials: awsNamedOnly,
          metricData: [{ MetricName: 'RequestCount', Unit: 'Count', Value: 1 }],
        }),
      ).rejects.toMatchObject({ code: 'AccessDenied' });
    });
  });
});
