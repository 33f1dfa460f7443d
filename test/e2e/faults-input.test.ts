// Issue 3 acceptance, bad input to the plugins, in real Envoy (--concurrency 2): malformed queue
// messages from another VM (a hand-written WAT service that enqueues garbage), an invalid
// configuration of either plugin (Envoy refuses to start, even with FAIL_OPEN), and a spray of
// 50,000 distinct Host headers through Envoy's listener.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runEnvoy, type Bootstrap } from '../../scripts/lib/envoy.js';
import { watToBinary } from '../host/support/wat.js';
import { byDimensions, metricTotal, publishedSeries } from '../support/cloudwatch-summary.js';
import { e2eBootstrap, pollUntil, queryWindow, startE2e, testCredentialsEnv, type E2eOptions } from '../support/e2e.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { startMoto, type MotoServer } from '../support/moto.js';
import { REPO_ROOT } from '../support/python.js';

let moto: MotoServer;
let fixtureDir: string;

beforeAll(async () => {
  moto = await startMoto();
  fixtureDir = mkdtempSync(join(tmpdir(), 'acpw-fixture-'));
});

afterAll(async () => {
  await moto?.stop();
  if (fixtureDir) rmSync(fixtureDir, { recursive: true, force: true });
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

function publishedTo(namespace: string) {
  const { start, end } = queryWindow();
  return () => publishedSeries({ endpoint: moto.endpoint, namespace, start, end });
}

/** Builds test/fixtures/envoy/garbage-enqueuer.wat (no .wasm is committed); returns its path. */
async function buildGarbageProducer(): Promise<string> {
  const wat = readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'envoy', 'garbage-enqueuer.wat'), 'utf8');
  const wasm = join(fixtureDir, 'garbage-enqueuer.wasm');
  writeFileSync(wasm, await watToBinary(wat, 'garbage-enqueuer.wat'));
  return wasm;
}

/** The garbage producer as a second singleton WasmService (vm_id "garbage") after the receiver. */
function addWasmService(bootstrap: Bootstrap, vmId: string, filename: string): void {
  (bootstrap.bootstrap_extensions as unknown[]).push({
    name: 'envoy.bootstrap.wasm',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.wasm.v3.WasmService',
      singleton: true,
      config: { name: vmId, vm_config: { vm_id: vmId, runtime: 'envoy.wasm.runtime.v8', code: { local: { filename } } } },
    },
  });
}

/** Envoy with a configuration it must refuse: run to its end (no listener ever serves). */
function runRefused(options: Omit<E2eOptions, 'cloudwatch'>) {
  return runEnvoy({ config: e2eBootstrap({ cloudwatch: `127.0.0.1:${moto.port}`, ...options }), env: testCredentialsEnv(), timeoutMs: 60_000 });
}

describe('bad input', () => {
  it('malformed queue messages are rejected and counted; good data is still published', async () => {
    const namespace = 'AWSCloudWatchProxyWasm-e2e-malformed';
    const garbage = await buildGarbageProducer();
    const e2e = await startE2e({
      cloudwatch: `127.0.0.1:${moto.port}`,
      receiver: { metric_namespace: namespace },
      edit: (bootstrap) => addWasmService(bootstrap, 'garbage', garbage),
    });
    try {
      const enqueued = await pollUntil(() => e2e.logLines('garbage: enqueued 2 malformed messages').length, (n) => n > 0);
      expect(enqueued).toBe(1);
      for (let i = 0; i < 2; i++) expect(await e2e.send({ host: 'example.com', path: '/good' })).toBe(200);
      const series = await pollUntil(publishedTo(namespace), (s) => metricTotal(s, 'RequestCount', 'sum') >= 2, { intervalMs: 500 });
      expect(byDimensions(series, 'RequestCount', 'sum')).toEqual({ 'example.com|GET|/good|200': 2 });
      expect(await e2e.counter('acpw.receiver.messages_malformed')).toBe(2);
      expect(e2e.logLines('receiver: rejected a malformed queue message')).toHaveLength(2);
      // The receiver VM survived both: it is still the one publishing, nothing trapped.
      expect(e2e.logLines(/Function: proxy_on_queue_ready failed|wasm trap/i)).toEqual([]);
    } finally {
      await e2e.close();
    }
  });

  // failure_policy: FAIL_OPEN covers a VM that fails at run time, not a configuration the plugin
  // rejects in proxy_on_configure: Envoy refuses the whole bootstrap and exits 1 at startup.
  it('an invalid sender configuration: Envoy exits 1 at startup (FAIL_OPEN or not), the log names the keys', async () => {
    const run = await runRefused({
      rawConfig: { sender: JSON.stringify({ match_hosts: ['example.com'], flush_interval_millisecond: 5 }) },
    });
    expect({ code: run.code, signal: run.signal }).toEqual({ code: 1, signal: null });
    const errors = run.log.split('\n').filter((line) => line.includes('sender: invalid configuration'));
    expect(errors.some((line) => line.includes('"receiver_vm_id"'))).toBe(true);
    expect(errors.some((line) => line.includes('"flush_interval_millisecond"'))).toBe(true);
    expect(run.log).toContain("Unable to create Wasm plugin sender");
    expect(run.log).not.toContain('starting main dispatch loop');
  });

  it('an invalid receiver configuration: Envoy exits 1 at startup, the log names the key', async () => {
    const run = await runRefused({ receiver: { publish_interval_millisecond: 500 } });
    expect({ code: run.code, signal: run.signal }).toEqual({ code: 1, signal: null });
    expect(run.log).toContain('receiver: invalid configuration: configuration key "publish_interval_millisecond" must be at least 1000 (got 500)');
    expect(run.log).not.toContain('starting main dispatch loop');
  });

  it('50,000 distinct Host headers: series capped in sender and receiver, _overflow published, Envoy memory bounded', async () => {
    const namespace = 'AWSCloudWatchProxyWasm-e2e-spray';
    const senderCap = 100;
    // Below one sender's cap, so the receiver's bound bites whichever worker served the spray.
    const receiverCap = 50;
    const requests = 50_000;
    // moto stores a Values/Counts datum as one sample per count and rescans them all on every
    // read (50,000 samples: minutes per get_metric_statistics), so this test reads the exact
    // datums sent from a recorder in front of moto and checks moto accepted every call.
    const recorder = await startFaultProxy({ host: '127.0.0.1', port: moto.port }, []);
    const e2e = await startE2e({
      cloudwatch: `127.0.0.1:${recorder.port}`,
      // A long call timeout: on a loaded machine moto can take seconds per call, and a call that
      // timed out after moto stored it would be retried and counted twice (issue 9, part 4),
      // which is not what this test is about.
      receiver: { metric_namespace: namespace, max_series: receiverCap, http_request_timeout_millisecond: 60_000 },
      sender: { match_hosts: [], max_series: senderCap },
    });
    try {
      const rssBefore = residentBytes(e2e.envoy.pid);
      const started = Date.now();
      const statuses = await e2e.sendMany(requests, (i) => ({ host: `h${i}.spray.test`, path: '/' }));
      const sprayMs = Date.now() - started;
      const rssAfter = residentBytes(e2e.envoy.pid);
      console.log(`spray: ${requests} requests in ${sprayMs} ms; Envoy RSS before ${rssBefore} bytes, after ${rssAfter} bytes`);
      expect(statuses).toEqual(new Map([[200, requests]]));

      const recorded = await pollUntil(() => e2e.counter('acpw.sender.requests_recorded'), (n) => n >= requests);
      expect(recorded).toBe(requests);
      // Each sender VM admits senderCap new series per flush window (1 s); the rest fold into
      // _overflow. The spray spans a few windows, and either worker may have served it all.
      const windows = Math.ceil(sprayMs / 1000) + 1;
      const senderOverflow = await e2e.counter('acpw.sender.series_overflow');
      expect(senderOverflow).toBeLessThanOrEqual(requests - senderCap);
      expect(senderOverflow).toBeGreaterThanOrEqual(requests - 2 * senderCap * windows);

      const datums = await pollUntil(
        () => recorder.forwarded.flatMap((call) => (JSON.parse(call.body) as PutMetricDataBody).MetricData),
        (all) => all.filter((d) => d.MetricName === 'RequestCount').reduce((n, d) => n + (d.StatisticValues?.Sum ?? 0), 0) >= requests,
        { timeoutMs: 60_000 },
      );
      expect(recorder.forwarded.map((call) => call.status).every((status) => status === 200)).toBe(true);
      // The recorder sees moto's answer before the receiver's http_call callback counts it.
      const published = await pollUntil(() => e2e.counter('acpw.receiver.datums_published'), (n) => n >= datums.length, { timeoutMs: 60_000 });
      expect(published).toBe(datums.length);
      const counts = datums.filter((d) => d.MetricName === 'RequestCount');
      const latencies = datums.filter((d) => d.MetricName === 'RequestLatency');
      expect(counts.reduce((n, d) => n + (d.StatisticValues?.Sum ?? 0), 0)).toBe(requests);
      expect(latencies.reduce((n, d) => n + (d.Counts ?? []).reduce((a, b) => a + b, 0), 0)).toBe(requests);
      // Bounded by the receiver's cap whatever the senders sent: what one send holds (one call
      // here: fewer than 1,000 datums) has at most receiverCap series + _overflow per window.
      for (const call of recorder.forwarded) {
        const perWindow = new Map<number, Set<string>>();
        for (const d of (JSON.parse(call.body) as PutMetricDataBody).MetricData) {
          if (d.MetricName !== 'RequestCount') continue;
          const set = perWindow.get(d.Timestamp) ?? new Set<string>();
          set.add(JSON.stringify(d.Dimensions));
          perWindow.set(d.Timestamp, set);
        }
        for (const set of perWindow.values()) expect(set.size).toBeLessThanOrEqual(receiverCap + 1);
      }
      const overflow = counts.filter((d) => d.Dimensions.every((dim) => dim.Value === '_overflow'));
      expect(overflow.map((d) => d.Dimensions.map((dim) => dim.Name))).toContainEqual(['host', 'method', 'path', 'status']);
      expect(overflow.reduce((n, d) => n + (d.StatisticValues?.Sum ?? 0), 0)).toBeGreaterThanOrEqual(senderOverflow);
      expect(e2e.logLines(`series went to the _overflow series this interval (max_series ${receiverCap})`).length).toBeGreaterThan(0);
      // Memory: whatever the spray, Envoy (both sender VMs, the receiver, two HTTP/2 connections) grows
      // by tens of MB at most; unbounded series would grow it by far more.
      expect(rssAfter - rssBefore).toBeLessThanOrEqual(64 * 1024 * 1024);
    } finally {
      await e2e.close();
      await recorder.close();
    }
  }, 400_000);
});

/** A process's resident set size (Linux /proc). */
function residentBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}
