// The receiver's outbox: PutMetricData batches waiting to be sent, in flight, or waiting for a
// retry. Pure state; the plugin supplies the transport (sign + proxy_http_call) and the clock.
//
// Policy:
//  - at most `maxInFlight` calls at once, oldest batch first;
//  - throttling / transient failures retry after a backoff (retry.ts) up to `maxRetries` times
//    per batch and within the shared retry quota; when those run out the batch waits for the
//    next publish (its datum timestamps never change) instead of being dropped, so a long
//    outage is absorbed by the bounded buffer, which drops oldest first;
//  - other client errors (4xx) are dropped at once and counted;
//  - a call that timed out (its body was sent; CloudWatch may have stored it) is retried only
//    when `retryTimeouts` is set: a retry can double count, not retrying can lose the batch;
//  - at each publish, held batches (new, or parked after running out of retries) are merged
//    into as few calls as the limits allow (`rebatch`), so an outage's backlog goes out in
//    ceil(datums / 1000) calls rather than one per window.
// Nothing here runs at shutdown: Envoy cannot send from proxy_on_done (see src/receiver.ts).

import { backoffDelayMs, RetryQuota } from './retry.js';
import type { CallOutcome } from './response.js';
import type { PutBatch } from './batches.js';

export interface OutboxEntry {
  readonly batch: PutBatch;
  /** Retries taken in the current round. */
  retries: number;
  /** Retry tokens taken for this batch, refunded on success. */
  quotaTaken: number;
  notBeforeMs: number;
  inFlight: boolean;
}

/** What the plugin observes: counters and log lines hang off these. */
export interface PublisherEvents {
  callStarted(entry: OutboxEntry): void;
  succeeded(entry: OutboxEntry): void;
  /** A call that did not succeed; `willRetry` says whether a retry was scheduled. */
  failed(entry: OutboxEntry, outcome: Exclude<CallOutcome, { kind: 'success' }>, willRetry: boolean): void;
  /** Datums given up: a client error, the buffer bound, or shutdown. */
  dropped(datums: number, reason: 'client_error' | 'buffer_full' | 'timeout'): void;
}

/** Starts one call for the entry; must eventually call `publisher.complete(entry, outcome)`. */
export type StartCall = (entry: OutboxEntry) => void;

export interface PublisherOptions {
  readonly maxRetries: number;
  readonly maxInFlight: number;
  readonly random: () => number;
  readonly events: PublisherEvents;
  readonly startCall: StartCall;
  /** Retry calls that timed out after sending (default false: a retry may double count). */
  readonly retryTimeouts?: boolean;
  /** Re-splits held batches into as few as possible (mergeBatches); default: no merging. */
  readonly rebatch?: (batches: readonly PutBatch[]) => PutBatch[];
}

export class Publisher {
  private readonly entries: OutboxEntry[] = [];
  private readonly quota = new RetryQuota();
  private inFlight = 0;
  private nextPublishMs = 0;

  constructor(private readonly options: PublisherOptions) {}

  /** Datums held (waiting or in flight). */
  get bufferedDatums(): number {
    let total = 0;
    for (const entry of this.entries) total += entry.batch.datums;
    return total;
  }

  get idle(): boolean {
    return this.entries.length === 0;
  }

  get callsInFlight(): number {
    return this.inFlight;
  }

  get retryTokens(): number {
    return this.quota.available;
  }

  /** The earliest time a waiting batch may be sent, or undefined when none waits on a timer. */
  get nextWakeMs(): number | undefined {
    let next: number | undefined;
    for (const entry of this.entries) {
      if (!entry.inFlight && (next === undefined || entry.notBeforeMs < next)) next = entry.notBeforeMs;
    }
    return next;
  }

  /** Adds new batches (a publish) and tells the outbox when the publish after this one is due. */
  add(batches: readonly PutBatch[], nowMs: number, nextPublishMs: number): void {
    this.nextPublishMs = nextPublishMs;
    // A batch parked after exhausting its retries gets a new round at each publish.
    for (const entry of this.entries) {
      if (!entry.inFlight && entry.retries > this.options.maxRetries) {
        entry.retries = 0;
        entry.notBeforeMs = nowMs;
      }
    }
    // Merge everything that waits for its first attempt of a round (not one in flight or on a
    // retry backoff) with the new batches; the retry tokens they hold stay with the merged set.
    const rebatch = this.options.rebatch;
    const waiting = rebatch ? this.entries.filter((entry) => !entry.inFlight && entry.retries === 0) : [];
    if (rebatch && waiting.length + batches.length > 1) {
      let quotaTaken = 0;
      for (const entry of waiting) {
        quotaTaken += entry.quotaTaken;
        this.remove(entry);
      }
      const merged = rebatch([...waiting.map((entry) => entry.batch), ...batches]);
      merged.forEach((batch, i) => this.push(batch, nowMs, i === 0 ? quotaTaken : 0));
      return;
    }
    for (const batch of batches) this.push(batch, nowMs, 0);
  }

  private push(batch: PutBatch, nowMs: number, quotaTaken: number): void {
    this.entries.push({ batch, retries: 0, quotaTaken, notBeforeMs: nowMs, inFlight: false });
  }

  /** Starts the calls that are due. */
  pump(nowMs: number): void {
    // A copy: a call may complete synchronously (e.g. proxy_http_call refused) and edit the list.
    for (const entry of [...this.entries]) {
      if (this.inFlight >= this.options.maxInFlight) return;
      if (entry.inFlight || entry.notBeforeMs > nowMs) continue;
      entry.inFlight = true;
      this.inFlight++;
      this.options.events.callStarted(entry);
      this.options.startCall(entry);
    }
  }

  /** Records the outcome of the entry's call (from the http_call response or a failed start). */
  complete(entry: OutboxEntry, outcome: CallOutcome, nowMs: number): void {
    if (!entry.inFlight) return;
    entry.inFlight = false;
    this.inFlight--;
    if (outcome.kind === 'success') {
      this.quota.release(entry.quotaTaken);
      this.remove(entry);
      this.options.events.succeeded(entry);
      return;
    }
    if (outcome.kind === 'client_error') {
      this.remove(entry);
      this.options.events.failed(entry, outcome, false);
      this.options.events.dropped(entry.batch.datums, 'client_error');
      return;
    }
    if (outcome.kind === 'timeout' && !this.options.retryTimeouts) {
      this.remove(entry);
      this.options.events.failed(entry, outcome, false);
      this.options.events.dropped(entry.batch.datums, 'timeout');
      return;
    }
    const noResponse = outcome.kind === 'timeout' || (outcome.kind === 'transient' && outcome.status === undefined);
    const cost = entry.retries < this.options.maxRetries ? this.quota.acquire(noResponse) : 0;
    if (cost > 0) {
      entry.retries++;
      entry.quotaTaken += cost;
      const delay = backoffDelayMs(entry.retries, outcome.kind === 'throttling', this.options.random);
      entry.notBeforeMs = nowMs + delay;
      this.options.events.failed(entry, outcome, true);
      return;
    }
    this.options.events.failed(entry, outcome, false);
    // Out of retries for this round: park until the next publish, timestamps unchanged.
    entry.retries = this.options.maxRetries + 1;
    entry.notBeforeMs = Math.max(this.nextPublishMs, nowMs + 1);
  }

  /** Drops waiting batches, oldest first, until `datums` datums are gone; returns how many went. */
  dropOldest(datums: number): number {
    let dropped = 0;
    for (let i = 0; i < this.entries.length && dropped < datums; ) {
      const entry = this.entries[i]!;
      if (entry.inFlight) {
        i++;
        continue;
      }
      this.entries.splice(i, 1);
      dropped += entry.batch.datums;
    }
    if (dropped > 0) this.options.events.dropped(dropped, 'buffer_full');
    return dropped;
  }

  private remove(entry: OutboxEntry): void {
    const index = this.entries.indexOf(entry);
    if (index >= 0) this.entries.splice(index, 1);
  }
}
