// Receiver measurements: VM time to merge a sender's aggregate (on_queue_ready) and to build,
// sign and hand over the PutMetricData calls of one publish (on_tick after the publish interval),
// for 100 and 1,000 series. The sender's own sender.wasm produces the queue message, so the
// benchmark never depends on the wire format. The publish hook is the receiver's tick: the host
// clock jumps past publish_interval_millisecond before it.

import { EncodedHeaders } from '../harness/headers.js';
import { MiniHost, type VmSpec } from '../harness/mini-host.js';
import { RESPONSE, distinctRequests } from '../harness/traffic.js';
import type { CompiledModule } from '../harness/wasm-api.js';
import { QUEUE_NAME, RECEIVER_VM_ID, SENDER_SPEC } from './sender-peers.js';
import { nowMs, summarize, type Summary } from './stats.js';

export const PUBLISH_INTERVAL_MS = 60_000;

export const RECEIVER_SPEC: VmSpec = {
  vmId: RECEIVER_VM_ID,
  rootId: 'acpw_receiver',
  vmConfiguration: '',
  pluginConfiguration: JSON.stringify({
    cloud_watch_region: 'us-east-1',
    cloud_watch_cluster_name: 'cloudwatch_api',
    publish_interval_millisecond: PUBLISH_INTERVAL_MS,
  }),
  // Fake credentials of the documented example shape: signing cost does not depend on them.
  environment: ['ACPW_AWS_ACCESS_KEY_ID=AKIDEXAMPLE', 'ACPW_AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'],
};

const OK_RESPONSE = new EncodedHeaders([[':status', '200'], ['content-type', 'application/x-amz-json-1.0']]);

export interface PublishResult {
  readonly series: number;
  readonly mergeMs: Summary;
  readonly publishMs: Summary;
  readonly callsPerPublish: number;
  readonly datumsPerPublish: number;
  readonly bodyBytesPerPublish: number;
  readonly problems: string[];
}

function countDatums(body: Uint8Array): number {
  try {
    const parsed = JSON.parse(new TextDecoder().decode(body)) as { MetricData?: unknown[] };
    return Array.isArray(parsed.MetricData) ? parsed.MetricData.length : 0;
  } catch {
    return 0;
  }
}

export function measurePublish(sender: CompiledModule, receiver: CompiledModule, series: number, repeats: number): PublishResult {
  const host = new MiniHost();
  const receiverVm = host.createVm(receiver, RECEIVER_SPEC);
  const queueId = host.resolveQueue(RECEIVER_VM_ID, QUEUE_NAME);
  const problems: string[] = [];
  if (queueId === undefined) {
    return { series, mergeMs: summarize([NaN]), publishMs: summarize([NaN]), callsPerPublish: 0, datumsPerPublish: 0,
      bodyBytesPerPublish: 0, problems: [`receiver registered no queue ${QUEUE_NAME}`] };
  }
  const senderVm = host.createVm(sender, { ...SENDER_SPEC, pluginConfiguration: JSON.stringify({ receiver_vm_id: RECEIVER_VM_ID }) });
  const requests = distinctRequests(series);
  const merge: number[] = [];
  const publish: number[] = [];
  let calls = 0;
  let datums = 0;
  let bodyBytes = 0;

  for (let r = 0; r < repeats; r++) {
    for (const request of requests) senderVm.stream(request, RESPONSE);
    senderVm.tick();
    const t0 = nowMs();
    while (host.pending(queueId) > 0) receiverVm.queueReady(queueId);
    merge.push(nowMs() - t0);

    host.clockOffsetNs += BigInt(PUBLISH_INTERVAL_MS + 1000) * 1_000_000n;
    const before = host.httpCalls.length;
    const t1 = nowMs();
    receiverVm.tick();
    publish.push(nowMs() - t1);
    const made = host.httpCalls.slice(before);
    calls = made.length;
    datums = made.reduce((n, c) => n + countDatums(c.body), 0);
    bodyBytes = made.reduce((n, c) => n + c.body.byteLength, 0);
    // Answer every call with 200 so nothing stays in flight into the next round.
    made.forEach((_, i) => receiverVm.httpCallResponse(before + i + 1, OK_RESPONSE, new Uint8Array(0)));
  }
  if (calls === 0) problems.push('the receiver made no PutMetricData call on the tick after the publish interval');
  else if (datums < series) problems.push(`published ${datums} datums for ${series} series`);
  if (receiverVm.errorCount > 0) problems.push(`${receiverVm.errorCount} receiver error logs (last: ${receiverVm.warnings.at(-1) ?? '?'})`);
  if (senderVm.errorCount > 0) problems.push(`${senderVm.errorCount} sender error logs (last: ${senderVm.warnings.at(-1) ?? '?'})`);
  return {
    series, mergeMs: summarize(merge), publishMs: summarize(publish),
    callsPerPublish: calls, datumsPerPublish: datums, bodyBytesPerPublish: bodyBytes, problems,
  };
}
