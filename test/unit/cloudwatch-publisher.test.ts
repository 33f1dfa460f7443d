import { describe, expect, it } from 'vitest';
import { mergeBatches, splitIntoBatches, type PutBatch } from '../../src/cloudwatch/batches.js';
import { Publisher, type OutboxEntry, type PublisherEvents } from '../../src/cloudwatch/publisher.js';
import type { CallOutcome } from '../../src/cloudwatch/response.js';

const batch = (datums: number, tag = ''): PutBatch => ({ body: `{"tag":"${tag}"}`, datums, bytes: 10 });
const OK: CallOutcome = { kind: 'success' };
const E500: CallOutcome = { kind: 'transient', code: 'InternalFailure', message: 'x', status: 500 };
const NO_ANSWER: CallOutcome = { kind: 'transient', code: 'NoResponse', message: 'x' };
const THROTTLED: CallOutcome = { kind: 'throttling', code: 'Throttling', message: 'Rate exceeded', status: 400 };
const BAD: CallOutcome = { kind: 'client_error', code: 'InvalidParameterValue', message: 'bad', status: 400 };

function harness(maxRetries = 3, maxInFlight = 4, random = () => 0.5) {
  const started: OutboxEntry[] = [];
  const log: string[] = [];
  const events: PublisherEvents = {
    callStarted: (e) => log.push(`start ${e.batch.body}`),
    succeeded: (e) => log.push(`ok ${e.batch.datums}`),
    failed: (e, outcome, willRetry) => log.push(`fail ${outcome.code} retry=${willRetry} retries=${e.retries}`),
    dropped: (datums, reason) => log.push(`drop ${datums} ${reason}`),
  };
  const publisher = new Publisher({ maxRetries, maxInFlight, random, events, startCall: (e) => started.push(e) });
  return { publisher, started, log };
}

describe('publisher (outbox)', () => {
  it('sends due batches, oldest first, within the in-flight limit', () => {
    const { publisher, started } = harness(3, 2);
    publisher.add([batch(1, 'a'), batch(2, 'b'), batch(3, 'c')], 0, 60_000);
    publisher.pump(0);
    expect(started.map((e) => e.batch.body)).toEqual(['{"tag":"a"}', '{"tag":"b"}']);
    expect(publisher.callsInFlight).toBe(2);
    publisher.complete(started[0]!, OK, 10);
    publisher.pump(10);
    expect(started.map((e) => e.batch.body)).toEqual(['{"tag":"a"}', '{"tag":"b"}', '{"tag":"c"}']);
    expect(publisher.bufferedDatums).toBe(5);
  });

  it('retries transient failures after a backoff, then succeeds', () => {
    const { publisher, started, log } = harness(3, 4, () => 0.5);
    publisher.add([batch(4)], 1000, 61_000);
    publisher.pump(1000);
    publisher.complete(started[0]!, E500, 1100);
    expect(publisher.nextWakeMs).toBe(1100 + 50); // 0.5 × 100 ms
    publisher.pump(1120);
    expect(started).toHaveLength(1); // not yet
    publisher.pump(1150);
    expect(started).toHaveLength(2);
    publisher.complete(started[1]!, OK, 1200);
    expect(log).toEqual(['start {"tag":""}', 'fail InternalFailure retry=true retries=1', 'start {"tag":""}', 'ok 4']);
    expect(publisher.idle).toBe(true);
    expect(publisher.retryTokens).toBe(500);
  });

  it('uses the throttling base delay', () => {
    const { publisher, started } = harness(3, 4, () => 0.5);
    publisher.add([batch(1)], 0, 60_000);
    publisher.pump(0);
    publisher.complete(started[0]!, THROTTLED, 0);
    expect(publisher.nextWakeMs).toBe(250);
  });

  it('drops a batch on a client error and reports it', () => {
    const { publisher, started, log } = harness();
    publisher.add([batch(7)], 0, 60_000);
    publisher.pump(0);
    publisher.complete(started[0]!, BAD, 5);
    expect(log.slice(1)).toEqual(['fail InvalidParameterValue retry=false retries=0', 'drop 7 client_error']);
    expect(publisher.idle).toBe(true);
  });

  it('keeps a batch that ran out of retries for the next publish, unchanged', () => {
    const { publisher, started, log } = harness(2, 4, () => 0);
    publisher.add([batch(3, 'kept')], 0, 60_000);
    for (let i = 0; i < 3; i++) {
      publisher.pump(i);
      publisher.complete(started[i]!, NO_ANSWER, i);
    }
    expect(log.filter((l) => l.startsWith('fail'))).toEqual([
      'fail NoResponse retry=true retries=1', 'fail NoResponse retry=true retries=2', 'fail NoResponse retry=false retries=2',
    ]);
    expect(publisher.bufferedDatums).toBe(3);
    publisher.pump(30_000);
    expect(started).toHaveLength(3); // parked until the next publish
    publisher.add([], 60_000, 120_000);
    publisher.pump(60_000);
    expect(started).toHaveLength(4);
    expect(started[3]!.batch.body).toBe('{"tag":"kept"}'); // same body: same timestamps
    publisher.complete(started[3]!, E500, 60_001);
    expect(log.at(-1)).toBe('fail InternalFailure retry=true retries=1'); // a fresh round of retries
  });

  it('stops retrying when the retry quota is spent', () => {
    const { publisher, started, log } = harness(1000, 1, () => 0);
    publisher.add([batch(1)], 0, 60_000);
    let calls = 0;
    while (calls < 200) {
      publisher.pump(calls);
      const entry = started[calls];
      if (entry === undefined) break;
      publisher.complete(entry, E500, calls);
      calls++;
    }
    expect(calls).toBe(101); // 500 tokens / 5 per retry = 100 retries after the first call
    expect(log.at(-1)).toBe('fail InternalFailure retry=false retries=100');
  });

  it('drops the oldest waiting batches first, never one in flight', () => {
    const { publisher, started, log } = harness(3, 1);
    publisher.add([batch(5, 'oldest'), batch(5, 'old'), batch(5, 'new')], 0, 60_000);
    publisher.pump(0); // 'oldest' in flight
    expect(publisher.dropOldest(6)).toBe(10);
    expect(log.at(-1)).toBe('drop 10 buffer_full');
    expect(publisher.bufferedDatums).toBe(5);
    publisher.complete(started[0]!, OK, 1);
    expect(publisher.idle).toBe(true);
  });

  it('gives up a timed-out call unless retryTimeouts is set', () => {
    const TIMEOUT: CallOutcome = { kind: 'timeout', code: 'Timeout', message: 'upstream request timeout', status: 504 };
    const { publisher, started, log } = harness();
    publisher.add([batch(2)], 0, 60_000);
    publisher.pump(0);
    publisher.complete(started[0]!, TIMEOUT, 1);
    expect(log.slice(-2)).toEqual(['fail Timeout retry=false retries=0', 'drop 2 timeout']);
    expect(publisher.idle).toBe(true);
    const retrying = new Publisher({ maxRetries: 3, maxInFlight: 4, random: () => 0, events: { callStarted() {}, succeeded() {}, failed() {}, dropped() {} }, startCall: (e) => started.push(e), retryTimeouts: true });
    retrying.add([batch(2)], 0, 60_000);
    retrying.pump(0);
    retrying.complete(started[1]!, TIMEOUT, 1);
    retrying.pump(1);
    expect(started).toHaveLength(3);
    expect(retrying.retryTokens).toBe(490); // a timeout retry costs 10 tokens, as in the SDKs
  });

  it('merges parked and new batches into as few calls as the limits allow', () => {
    const started: OutboxEntry[] = [];
    const events: PublisherEvents = { callStarted() {}, succeeded() {}, failed() {}, dropped() {} };
    const publisher = new Publisher({ maxRetries: 0, maxInFlight: 4, random: () => 0, events, startCall: (e) => started.push(e), rebatch: (bs) => mergeBatches('ns', bs) });
    const window = (w: number) => splitIntoBatches('ns', Array.from({ length: 600 }, (_, i) => `{"w":${w},"i":${i}}`));
    for (let w = 0; w < 3; w++) {
      publisher.add(window(w), w * 60_000, (w + 1) * 60_000);
      publisher.pump(w * 60_000);
      for (const entry of started.splice(0)) publisher.complete(entry, E500, w * 60_000 + 1); // parked
    }
    publisher.add([], 180_000, 240_000);
    publisher.pump(180_000);
    expect(started.map((e) => e.batch.datums)).toEqual([1000, 800]);
    const first = JSON.parse(started[0]!.batch.body) as { MetricData: { w: number }[] };
    expect(first.MetricData[0]).toEqual({ w: 0, i: 0 }); // oldest first
  });

  it('ignores a second completion of the same call', () => {
    const { publisher, started, log } = harness();
    publisher.add([batch(1)], 0, 60_000);
    publisher.pump(0);
    publisher.complete(started[0]!, OK, 1);
    publisher.complete(started[0]!, OK, 2);
    expect(log.filter((l) => l.startsWith('ok'))).toHaveLength(1);
  });
});
