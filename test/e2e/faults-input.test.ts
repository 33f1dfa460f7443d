// Issue 3 acceptance, bad input to the plugins: a malformed queue message from another VM, an
// invalid configuration of either plugin, and a spray of 50,000 distinct Host headers. Built
// sender.wasm + receiver.wasm in the local host, publishing to moto.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVm, type Vm } from '../../host/index.js';
import { definePlugin, RootContext } from '../../src/sdk/index.js';
import { byDimensions, metricTotal, publishedSeries } from '../support/cloudwatch-summary.js';
import { pollUntil, queryWindow, startE2eHost } from '../support/e2e.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { startMoto, type MotoServer } from '../support/moto.js';

const QUEUE = 'aws_cloudwatch_metric';

let moto: MotoServer;

beforeAll(async () => {
  moto = await startMoto();
});

afterAll(async () => {
  await moto?.stop();
});

/** The parts of a PutMetricData body (AWS JSON 1.0) the spray test reads. */
interface PutMetricDataBody {
  readonly MetricData: readonly {
    readonly MetricName: string;
    readonly Dimensions: readonly { readonly Name: string; readonly Value: string }[];
    readonly Timestamp: number;
    readonly StatisticValues?: { readonly Sum: number };
    readonly Counts?: readonly number[];
  }[];
}

function countWindows(datums: PutMetricDataBody['MetricData']): number {
  return new Set(datums.map((d) => d.Timestamp)).size;
}

function publishedTo(namespace: string) {
  const { start, end } = queryWindow();
  return () => publishedSeries({ endpoint: moto.endpoint, namespace, start, end });
}

/** Another VM that, when configured, enqueues its plugin configuration text on the receiver's queue. */
class GarbageRoot extends RootContext {
  override onConfigure(): boolean {
    const queue = this.resolveSharedQueue('receiver', QUEUE);
    return queue !== undefined && this.enqueueSharedQueue(queue, this.getPluginConfiguration() ?? '');
  }
}
const garbagePlugin = definePlugin({ name: 'garbage-enqueuer', root: GarbageRoot });

describe('bad input', () => {
  it('a malformed queue message is rejected and counted; good data is still published', async () => {
    const namespace = 'AWSCloudWatchProxyWasm-e2e-malformed';
    const e2e = await startE2eHost({ cloudwatch: `127.0.0.1:${moto.port}`, receiver: { metric_namespace: namespace } });
    let garbage: Vm | undefined;
    try {
      garbage = createVm({
        plugin: garbagePlugin, runtime: e2e.host.runtime, vmId: 'garbage',
        pluginConfiguration: '{"v":1,"t":1764205260123,"s":[["example.com","GET","/x","200",-5,[]]]}',
      });
      expect(garbage.state).toBe('running'); // the enqueue succeeded
      for (let i = 0; i < 2; i++) expect(await e2e.send({ host: 'example.com', path: '/good' })).toBe(200);
      const series = await pollUntil(publishedTo(namespace), (s) => metricTotal(s, 'RequestCount', 'sum') >= 2, { intervalMs: 500 });
      expect(byDimensions(series, 'RequestCount', 'sum')).toEqual({ 'example.com|GET|/good|200': 2 });
      expect(e2e.counter('acpw.receiver.messages_malformed')).toBe(1);
      expect(e2e.logLines('receiver: rejected a malformed queue message').length).toBe(1);
    } finally {
      await garbage?.shutdown();
      await e2e.close();
    }
  });

  it('an invalid sender configuration: the sender refuses to start naming the key, traffic flows (FAIL_OPEN)', async () => {
    const e2e = await startE2eHost({
      cloudwatch: `127.0.0.1:${moto.port}`,
      rawPluginConfig: { sender: JSON.stringify({ match_hosts: ['example.com'], flush_interval_millisecond: 5 }) },
    });
    try {
      expect(e2e.host.failures).toHaveLength(2); // one sender VM per worker
      for (const failure of e2e.host.failures) expect(failure).toMatch(/^sender \(worker \d\)/);
      const errors = e2e.logLines('sender: invalid configuration');
      expect(errors.some((line) => line.includes('"receiver_vm_id"'))).toBe(true);
      expect(errors.some((line) => line.includes('"flush_interval_millisecond"'))).toBe(true);
      for (let i = 0; i < 3; i++) expect(await e2e.send({ host: 'example.com', path: '/open' })).toBe(200);
      expect(e2e.counter('acpw.sender.requests_recorded')).toBe(0);
    } finally {
      await e2e.close();
    }
  });

  it('an invalid receiver configuration: the receiver refuses to start naming the key, traffic flows, senders keep their data', async () => {
    const e2e = await startE2eHost({ cloudwatch: `127.0.0.1:${moto.port}`, receiver: { publish_interval_millisecond: 500 } });
    try {
      expect(e2e.host.failures).toHaveLength(1);
      expect(e2e.host.failures[0]).toMatch(/^receiver/);
      expect(e2e.logLines('receiver: invalid configuration: configuration key "publish_interval_millisecond" must be at least 1000 (got 500)')).toHaveLength(1);
      for (let i = 0; i < 3; i++) expect(await e2e.send({ host: 'example.com', path: '/orphan' })).toBe(200);
      const recorded = await pollUntil(() => e2e.counter('acpw.sender.requests_recorded'), (n) => n >= 3);
      expect(recorded).toBe(3);
      expect(e2e.logLines(`sender: queue ${QUEUE} of VM "receiver" not found yet`).length).toBeGreaterThan(0);
      expect(e2e.counter('acpw.sender.enqueue_failures')).toBe(0);
    } finally {
      await e2e.close();
    }
  });

  it('50,000 distinct Host headers: series capped in sender and receiver, _overflow published, memory bounded', async () => {
    const namespace = 'AWSCloudWatchProxyWasm-e2e-spray';
    const senderCap = 100;
    const receiverCap = 150;
    const requests = 50_000;
    // moto stores a Values/Counts datum as one sample per count and rescans them all on every
    // read (50,000 samples: minutes per get_metric_statistics), so this test reads the exact
    // datums sent from a recorder in front of moto and checks moto accepted every call.
    const recorder = await startFaultProxy({ host: '127.0.0.1', port: moto.port }, []);
    const e2e = await startE2eHost({
      cloudwatch: `127.0.0.1:${recorder.port}`,
      receiver: { metric_namespace: namespace, max_series: receiverCap },
      sender: { match_hosts: [], max_series: senderCap },
    });
    try {
      const senders = e2e.host.vmsById('sender');
      expect(senders).toHaveLength(2);
      const memoryBefore = senders.map((vm) => vm.guest.memoryBytes());
      // The per-stream driver: the same filter callbacks as the front end, without sockets.
      for (let i = 0; i < requests; i++) senders[i % 2]!.runStream({ authority: `h${i}.spray.test`, path: '/' });
      const memoryAfter = senders.map((vm) => vm.guest.memoryBytes());
      console.log(`spray: sender linear memory before ${memoryBefore.join(', ')} bytes, after ${memoryAfter.join(', ')} bytes`);

      const recorded = await pollUntil(() => e2e.counter('acpw.sender.requests_recorded'), (n) => n >= requests);
      expect(recorded).toBe(requests);
      // Each sender VM admits senderCap distinct series per window; the rest fold into _overflow.
      expect(e2e.counter('acpw.sender.series_overflow')).toBe(requests - 2 * senderCap);

      const datums = await pollUntil(
        () => recorder.forwarded.flatMap((call) => (JSON.parse(call.body) as PutMetricDataBody).MetricData),
        (all) => all.filter((d) => d.MetricName === 'RequestCount').reduce((n, d) => n + (d.StatisticValues?.Sum ?? 0), 0) >= requests,
      );
      expect(recorder.forwarded.map((call) => call.status).every((status) => status === 200)).toBe(true);
      // The recorder sees moto's answer before the receiver's http_call callback counts it.
      const published = await pollUntil(() => e2e.counter('acpw.receiver.datums_published'), (n) => n >= datums.length);
      expect(published).toBe(datums.length);
      const counts = datums.filter((d) => d.MetricName === 'RequestCount');
      const latencies = datums.filter((d) => d.MetricName === 'RequestLatency');
      expect(counts.reduce((n, d) => n + (d.StatisticValues?.Sum ?? 0), 0)).toBe(requests);
      expect(latencies.reduce((n, d) => n + (d.Counts ?? []).reduce((a, b) => a + b, 0), 0)).toBe(requests);
      // Bounded by the receiver's cap whatever the senders sent (they sent 2 × (senderCap + 1)).
      const dimensionSets = new Set(counts.map((d) => JSON.stringify(d.Dimensions)));
      expect(dimensionSets.size).toBeLessThanOrEqual(receiverCap + 1);
      expect(datums.length).toBeLessThanOrEqual(2 * (receiverCap + 1) * countWindows(counts));
      const overflow = counts.filter((d) => d.Dimensions.every((dim) => dim.Value === '_overflow'));
      expect(overflow.map((d) => d.Dimensions.map((dim) => dim.Name))).toContainEqual(['host', 'method', 'path', 'status']);
      expect(overflow.reduce((n, d) => n + (d.StatisticValues?.Sum ?? 0), 0)).toBeGreaterThanOrEqual(requests - 2 * senderCap);
      expect(e2e.logLines('series went to the _overflow series').length).toBeGreaterThan(0);
      const receiverMemory = e2e.host.vmsById('receiver')[0]!.guest.memoryBytes();
      console.log(`spray: receiver linear memory after publishing ${receiverMemory} bytes`);
      expect(receiverMemory).toBeLessThanOrEqual(64 * 1024 * 1024);
      // Memory: whatever the spray, the sender VMs' linear memory stays within a few MB of start.
      for (const [i, after] of memoryAfter.entries()) expect(after - memoryBefore[i]!).toBeLessThanOrEqual(8 * 1024 * 1024);
    } finally {
      await e2e.close();
      await recorder.close();
    }
  });
});
