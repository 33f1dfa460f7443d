// The sender: an HTTP filter that counts requests per (host, method, path, status) with their
// latency, aggregates inside its VM and hands the aggregate to the receiver's queue
// `aws_cloudwatch_metric` on every tick (flush_interval_millisecond) or when a size bound is hit.
//
// Per request: no HTTP context at all. The plugin declares a log capture (definePlugin's
// logCapture): at each stream's end the SDK reads :authority, :method, :path, :status and the
// stream's age (in Wasm timed by the clock from the stream's context create, falling back to
// Envoy's `request.time` attribute), so no callback at request headers is needed. In Wasm the
// bridge captures them without entering JS (the three request headers in one pairs read) and
// hands them to the root's onLogValues in batches (before every tick at the latest), each
// record with a key for its four header values that the aggregator counts by; in Node, at
// every stream's log. The clock is read on its own only by the first request of an
// aggregation window. Envoy counters are updated once per flush, not per request, to spare a
// crossing per request. The root overrides onDone to flush what it aggregated since the last
// tick (the bridge masks root and stream callbacks apart: streams do not pay for it).

import { definePlugin, hostcalls, MapType, RootContext, type Counter } from './sdk/index.js';
import { parseSenderConfig, type SenderConfig } from './config/sender.js';
import { DEFAULT_MAX_ENTRIES_PER_MESSAGE, SenderAggregator, type RequestValues } from './metrics/aggregator.js';
import { createHostMatcher } from './metrics/hosts.js';
import { pathNormalizer } from './metrics/path.js';
import { encodeMessage, QUEUE_NAME } from './metrics/wire.js';

export { QUEUE_NAME };
/** Messages kept while the receiver's queue cannot be resolved; older ones are dropped. */
export const MAX_PENDING_MESSAGES = 16;

interface SenderCounters {
  readonly requestsRecorded: Counter;
  readonly seriesOverflow: Counter;
  readonly enqueueFailures: Counter;
}

interface Configured {
  readonly config: SenderConfig;
  readonly aggregator: SenderAggregator;
  readonly counters: SenderCounters;
}

export class SenderRoot extends RootContext {
  private state: Configured | undefined;
  /** The configured aggregator (undefined until configured), as a field: onLogValues' hot path. */
  aggregator: SenderAggregator | undefined;
  /** The clock the aggregator reads when a request opens a window (once per window). */
  private readonly clockMs = (): number => this.getCurrentTime();
  private queueId: number | undefined;
  /** Encoded messages not yet accepted by the queue (receiver not up yet), oldest first. */
  private readonly pending: string[] = [];
  private unreportedRequests = 0;
  private unreportedOverflow = 0;
  private unreportedEnqueueFailures = 0;
  private warnedUnresolved = false;

  override onConfigure(_size: number): boolean {
    const parsed = parseSenderConfig(this.getPluginConfiguration());
    for (const warning of parsed.warnings) this.log.warn(`sender: ${warning}`);
    if (!parsed.ok) {
      for (const error of parsed.errors) this.log.error(`sender: invalid configuration: ${error}`);
      return false;
    }
    const config = parsed.config;
    const normalizePath = pathNormalizer({ stripQueryString: config.stripQueryString, normalizeIds: config.normalizePathIds });
    const aggregator = new SenderAggregator(config.maxSeries, DEFAULT_MAX_ENTRIES_PER_MESSAGE, { matchHost: createHostMatcher(config.matchHosts), normalizePath, clockMs: this.clockMs });
    this.state = {
      config,
      aggregator,
      counters: {
        requestsRecorded: this.defineCounter('acpw.sender.requests_recorded'),
        seriesOverflow: this.defineCounter('acpw.sender.series_overflow'),
        enqueueFailures: this.defineCounter('acpw.sender.enqueue_failures'),
      },
    };
    this.aggregator = aggregator;
    this.setTickPeriod(config.flushIntervalMs);
    this.log.info(`sender: configured (receiver_vm_id=${JSON.stringify(config.receiverVmId)}, ${config.matchHosts.length || 'all'} host pattern(s), flush every ${config.flushIntervalMs} ms, max_series ${config.maxSeries})`);
    return true;
  }

  /**
   * One request's LOG_QUERY values, typed by the query: [authority, method, path, status, ageNs],
   * the aggregator's RequestValues (definePlugin checks the query answers this type: a mismatch
   * is a compile error). The aggregator matches the host, buckets the latency and counts; `key`
   * (the SDK's, for the four header values) is its shortcut key.
   */
  override onLogValues(values: RequestValues, key: string): void {
    const aggregator = this.aggregator;
    if (aggregator === undefined) return; // not configured: nothing to record
    if (aggregator.recordValues(values, key)) this.flushFull();
  }

  override onTick(): void {
    this.flush(true);
  }

  /** Shutdown (or reconfiguration): hand what was aggregated since the last tick to the receiver. */
  override onDone(): boolean {
    this.flush(true);
    return true;
  }

  /** The aggregate reached its size bound: hand it over now rather than at the next tick. */
  flushFull(): void {
    this.flush(false);
  }

  private flush(endWindow: boolean): void {
    const state = this.state;
    if (state === undefined) return;
    const aggregator = state.aggregator;
    const message = aggregator.flush(endWindow);
    // the counters count what each flush took (no per-request bookkeeping)
    this.unreportedRequests += aggregator.flushedRequests;
    this.unreportedOverflow += aggregator.flushedOverflow;
    if (message !== undefined) {
      this.pending.push(encodeMessage(message));
      if (this.pending.length > MAX_PENDING_MESSAGES) {
        this.pending.shift();
        this.unreportedEnqueueFailures++;
        this.log.warn('sender: dropped the oldest undelivered aggregate: the receiver queue is still unavailable');
      }
    }
    this.deliverPending(state.config.receiverVmId);
    this.reportCounters(state.counters);
  }

  private deliverPending(receiverVmId: string): void {
    while (this.pending.length > 0) {
      if (this.queueId === undefined) {
        this.queueId = this.resolveSharedQueue(receiverVmId, QUEUE_NAME);
        if (this.queueId === undefined) {
          if (!this.warnedUnresolved) {
            this.log.warn(`sender: queue ${QUEUE_NAME} of VM ${JSON.stringify(receiverVmId)} not found yet; keeping aggregates and retrying`);
            this.warnedUnresolved = true;
          }
          return;
        }
        this.warnedUnresolved = false;
      }
      if (!this.enqueueSharedQueue(this.queueId, this.pending[0]!)) {
        // The queue went away (receiver restarted): resolve it again at the next flush.
        this.queueId = undefined;
        return;
      }
      this.pending.shift();
    }
  }

  private reportCounters(counters: SenderCounters): void {
    if (this.unreportedRequests > 0) counters.requestsRecorded.increment(this.unreportedRequests);
    if (this.unreportedOverflow > 0) counters.seriesOverflow.increment(this.unreportedOverflow);
    if (this.unreportedEnqueueFailures > 0) counters.enqueueFailures.increment(this.unreportedEnqueueFailures);
    this.unreportedRequests = 0;
    this.unreportedOverflow = 0;
    this.unreportedEnqueueFailures = 0;
  }
}

/**
 * Read at stream end in one crossing: [0] :authority (decides whether the rest matters), [1]
 * :method, [2] :path, [3] :status, then [4] the ns since `request.time` (the stream's start, as
 * Envoy's StreamInfo) by the host clock: the request's latency.
 */
const LOG_QUERY = hostcalls.headerAgeQuery([
  [MapType.HttpRequestHeaders, ':authority'], [MapType.HttpRequestHeaders, ':method'],
  [MapType.HttpRequestHeaders, ':path'], [MapType.HttpResponseHeaders, ':status'],
], ['request', 'time']);

export default definePlugin({ name: 'acpw-sender', root: SenderRoot, logCapture: { query: LOG_QUERY } });
