// Receiver measurements: VM time to merge a sender's aggregate (on_queue_ready) and to build,
// sign and hand over the PutMetricData calls of one publish (on_tick after the publish interval),
// for 100 and 1,000 series, on host/'s lean mode (ManualClock, manual ticks, an in-memory
// CloudWatch upstream answering 200). The sender's own sender.wasm produces the queue message,
// so the benchmark never depends on the wire format. The publish hook is the receiver's tick:
// the clock jumps past publish_interval_millisecond before it.

import { unzipSync } from 'node:zlib';
import type { HttpCallRequest } from '../../host/core/http-client.js';
import { wasmGuest } from '../../host/guests/wasm.js';
import type { WasmModule as CompiledModule } from '../../host/guests/webassembly.js';
import { HostRuntime, ManualClock } from '../../host/index.js';
import { LogLevel } from '../../src/abi/table.js';
import { LogWatch, startVm, streamInput, timedGuest, type VmSpec } from '../harness/driver.js';
import { RESPONSE, distinctRequests } from '../harness/traffic.js';
import { QUEUE_NAME, RECEIVER_VM_ID, SENDER_SPEC } from './sender-peers.js';
import { nowMs, summarize, type Summary } from './stats.js';

export const PUBLISH_INTERVAL_MS = 60_000;
const CLUSTER = 'cloudwatch_api';

export const RECEIVER_SPEC: VmSpec = {
  vmId: RECEIVER_VM_ID,
  rootId: 'acpw_receiver',
  vmConfiguration: '',
  pluginConfiguration: JSON.stringify({
    cloud_watch_region: 'us-east-1',
    cloud_watch_cluster_name: CLUSTER,
    publish_interval_millisecond: PUBLISH_INTERVAL_MS,
  }),
  // Fake credentials of the documented example shape: signing cost does not depend on them.
  environment: { ACPW_AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', ACPW_AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
};

export interface PublishResult {
  readonly series: number;
  readonly mergeMs: Summary;
  readonly publishMs: Summary;
  readonly callsPerPublish: number;
  readonly datumsPerPublish: number;
  readonly bodyBytesPerPublish: number;
  readonly problems: string[];
}

/** Datums in one PutMetricData call; its body is gzip when `content-encoding` says so (the host, as Envoy, offers `compress`). */
function countDatums(call: HttpCallRequest): number {
  const headers = call.headers;
  let gzip = false;
  for (let i = 0; i + 1 < headers.length; i += 2) if (headers[i]!.toLowerCase() === 'content-encoding' && headers[i + 1] === 'gzip') gzip = true;
  try {
    const body = gzip ? unzipSync(call.body) : call.body;
    const parsed = JSON.parse(new TextDecoder().decode(body)) as { MetricData?: unknown[] };
    return Array.isArray(parsed.MetricData) ? parsed.MetricData.length : 0;
  } catch {
    return 0;
  }
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export async function measurePublish(sender: CompiledModule, receiver: CompiledModule, series: number, repeats: number): Promise<PublishResult> {
  const calls: HttpCallRequest[] = [];
  const logs = new LogWatch();
  const clock = new ManualClock();
  const runtime = new HostRuntime({
    logLevel: LogLevel.Warn, logSink: logs.sink, clock, manualTicks: true,
    clusters: {
      [CLUSTER]: {
        host: 'monitoring.us-east-1.amazonaws.com', port: 443,
        // Every call answered 200 on the next turn, so nothing stays in flight into the next round.
        handle: (request, done) => {
          calls.push(request);
          const answer = setImmediate(() => done({ ok: true, response: { headers: [':status', '200', 'content-type', 'application/x-amz-json-1.0'], body: new Uint8Array(0), trailers: [] } }));
          return () => clearImmediate(answer);
        },
      },
    },
  });
  const merging = new Float64Array(1);
  const receiverVm = startVm(runtime, receiver, RECEIVER_SPEC, timedGuest(wasmGuest(receiver, RECEIVER_SPEC.rootId), ['proxy_on_queue_ready'], merging));
  const problems: string[] = [];
  if (runtime.sharedQueues.resolve(RECEIVER_VM_ID, QUEUE_NAME) === undefined) {
    return { series, mergeMs: summarize([NaN]), publishMs: summarize([NaN]), callsPerPublish: 0, datumsPerPublish: 0,
      bodyBytesPerPublish: 0, problems: [`receiver registered no queue ${QUEUE_NAME}`] };
  }
  const senderVm = startVm(runtime, sender, { ...SENDER_SPEC, pluginConfiguration: JSON.stringify({ receiver_vm_id: RECEIVER_VM_ID }) });
  const requests = distinctRequests(series);
  const merge: number[] = [];
  const publish: number[] = [];
  let made: HttpCallRequest[] = [];

  for (let r = 0; r < repeats; r++) {
    for (const request of requests) senderVm.runStream(streamInput(request, RESPONSE));
    senderVm.tick();
    merging[0] = 0;
    await nextTurn(); // the host delivers proxy_on_queue_ready on a later turn, as Envoy does
    merge.push(merging[0]!);

    clock.advanceMs(PUBLISH_INTERVAL_MS + 1000);
    const before = calls.length;
    const t1 = nowMs();
    receiverVm.tick();
    publish.push(nowMs() - t1);
    made = calls.slice(before);
    for (let turn = 0; turn < 100 && receiverVm.pendingHttpCalls() > 0; turn++) await nextTurn();
  }
  const datums = made.reduce((n, c) => n + countDatums(c), 0);
  if (made.length === 0) problems.push('the receiver made no PutMetricData call on the tick after the publish interval');
  else if (datums < series) problems.push(`published ${datums} datums for ${series} series`);
  if (receiverVm.pendingHttpCalls() > 0) problems.push(`${receiverVm.pendingHttpCalls()} PutMetricData calls still in flight`);
  if (logs.errors > 0) problems.push(`${logs.errors} error logs (last: ${logs.lastWarning ?? '?'})`);
  return {
    series, mergeMs: summarize(merge), publishMs: summarize(publish),
    callsPerPublish: made.length, datumsPerPublish: datums, bodyBytesPerPublish: made.reduce((n, c) => n + c.body.byteLength, 0), problems,
  };
}
