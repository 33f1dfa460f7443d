// The receiver: a singleton service VM that owns the queue `aws_cloudwatch_metric`, merges what
// every sender VM reports, and publishes to CloudWatch (PutMetricData, AWS JSON 1.0, SigV4)
// through proxy_http_call every publish_interval_millisecond, with the AWS SDKs' standard
// retry behaviour, a bounded buffer, and a final publish on shutdown.

import { definePlugin, HttpCallResponse, RootContext, Sha256, type Counter } from './sdk/index.js';
import { parseReceiverConfig, type ReceiverConfig } from './config/receiver.js';
import { planPublish, type PublishSettings } from './cloudwatch/publish.js';
import { Publisher, type OutboxEntry, type PublisherEvents } from './cloudwatch/publisher.js';
import { classifyResponse, type CallOutcome } from './cloudwatch/response.js';
import { PutMetricDataSigner } from './cloudwatch/signer.js';
import { Merger } from './metrics/merger.js';
import { decodeMessage, QUEUE_NAME } from './metrics/wire.js';

export { QUEUE_NAME };
/** Concurrent PutMetricData calls. */
export const MAX_CALLS_IN_FLIGHT = 4;
/** Tick period at rest, and while a retry waits (retry delays start at tens of ms). */
export const IDLE_TICK_MS = 1000;
export const RETRY_TICK_MS = 100;
/** Malformed-message warnings per publish interval; the counter counts them all. */
const MALFORMED_LOGS_PER_INTERVAL = 10;

interface ReceiverCounters {
  readonly messagesMalformed: Counter;
  readonly datumsPublished: Counter;
  readonly putCalls: Counter;
  readonly putFailures: Counter;
  readonly putRetries: Counter;
  readonly datumsDropped: Counter;
}

interface Running {
  readonly config: ReceiverConfig;
  readonly settings: PublishSettings;
  readonly merger: Merger;
  readonly publisher: Publisher;
  readonly signer: PutMetricDataSigner;
  readonly counters: ReceiverCounters;
}

export class ReceiverRoot extends RootContext {
  private running: Running | undefined;
  private queueId: number | undefined;
  private nextPublishMs = 0;
  private tickMs = 0;
  private shuttingDown = false;
  private malformedLogged = 0;
  private seriesOverflowed = 0;

  override onConfigure(_size: number): boolean {
    const parsed = parseReceiverConfig(this.getPluginConfiguration(), (name) => this.getEnv(name));
    for (const warning of parsed.warnings) this.log.warn(`receiver: ${warning}`);
    if (!parsed.ok) {
      for (const error of parsed.errors) this.log.error(`receiver: invalid configuration: ${error}`);
      return false;
    }
    const config = parsed.config;
    const counters: ReceiverCounters = {
      messagesMalformed: this.defineCounter('acpw.receiver.messages_malformed'),
      datumsPublished: this.defineCounter('acpw.receiver.datums_published'),
      putCalls: this.defineCounter('acpw.receiver.put_calls'),
      putFailures: this.defineCounter('acpw.receiver.put_failures'),
      putRetries: this.defineCounter('acpw.receiver.put_retries'),
      datumsDropped: this.defineCounter('acpw.receiver.datums_dropped'),
    };
    const host = this.host;
    this.running = {
      config,
      settings: {
        namespace: config.namespace,
        metricName: config.metricName,
        latencyMetricName: config.latencyMetricName,
        dimensions: config.dimensions,
        storageResolution: config.storageResolution,
      },
      merger: new Merger(config.publishIntervalMs, config.dimensions, config.maxSeries),
      publisher: new Publisher({
        maxRetries: config.maxRetries,
        maxInFlight: MAX_CALLS_IN_FLIGHT,
        random: Math.random,
        events: this.publisherEvents(counters),
        startCall: (entry) => this.startCall(entry),
      }),
      signer: new PutMetricDataSigner({
        region: config.region,
        endpoint: config.endpoint,
        credentials: config.credentials,
        createPayloadHash: () => new Sha256(host),
      }),
      counters,
    };
    this.queueId = this.registerSharedQueue(QUEUE_NAME);
    this.nextPublishMs = this.followingBoundary(this.getCurrentTime());
    this.setTick(IDLE_TICK_MS);
    // Never the credentials: only where data goes and how.
    this.log.info(
      `receiver: configured (queue ${QUEUE_NAME}, cluster ${JSON.stringify(config.clusterName)}, endpoint ${config.endpoint}, `
      + `region ${config.region}, namespace ${JSON.stringify(config.namespace)}, publish every ${config.publishIntervalMs} ms, `
      + `dimensions [${config.dimensions.join(', ')}], session token ${config.credentials.sessionToken ? 'set' : 'not set'})`,
    );
    return true;
  }

  override onQueueReady(queueId: number): void {
    const running = this.running;
    if (running === undefined || queueId !== this.queueId) return;
    for (let text = this.dequeueSharedQueueString(queueId); text !== undefined; text = this.dequeueSharedQueueString(queueId)) {
      const decoded = decodeMessage(text);
      if (!decoded.ok) {
        running.counters.messagesMalformed.increment();
        if (this.malformedLogged++ < MALFORMED_LOGS_PER_INTERVAL) this.log.warn(`receiver: rejected a malformed queue message: ${decoded.reason}`);
        continue;
      }
      this.seriesOverflowed += running.merger.add(decoded.message).overflowedSeries;
    }
    this.enforceBufferBound(running);
    if (this.shuttingDown) {
      // A sender's last aggregate after our final publish: send it before proxy_done.
      const now = this.getCurrentTime();
      this.publish(running, now);
      running.publisher.pump(now);
    }
  }

  override onTick(): void {
    const running = this.running;
    if (running === undefined || this.shuttingDown) return;
    const now = this.getCurrentTime();
    if (now >= this.nextPublishMs) {
      this.nextPublishMs = this.followingBoundary(now);
      this.publish(running, now);
    }
    running.publisher.pump(now);
    this.adjustTick(running, now);
  }

  override onDone(): boolean {
    const running = this.running;
    if (running === undefined) return true;
    this.shuttingDown = true;
    const now = this.getCurrentTime();
    this.publish(running, now);
    running.publisher.beginShutdown();
    if (running.publisher.idle) return true;
    this.log.info(`receiver: shutting down; sending the last ${running.publisher.bufferedDatums} datum(s)`);
    running.publisher.pump(now);
    return false;
  }

  /** The next multiple of the publish interval after `nowMs`: windows are aligned to the epoch. */
  private followingBoundary(nowMs: number): number {
    const interval = this.running?.config.publishIntervalMs ?? 60_000;
    return (Math.floor(nowMs / interval) + 1) * interval;
  }

  private publish(running: Running, now: number): void {
    const plan = planPublish(running.merger.drain(), running.settings);
    running.publisher.add(plan.batches, now, this.nextPublishMs);
    this.malformedLogged = 0;
    if (plan.datums === 0 && running.publisher.idle) return; // an idle interval: nothing to say
    this.log.debug(() =>
      `receiver: publish: ${plan.windows} window(s), ${plan.series} series, ${plan.datums} datum(s) in ${plan.batches.length} call(s); `
      + `${running.publisher.bufferedDatums} datum(s) buffered, ${running.publisher.callsInFlight} call(s) in flight`
      + (this.seriesOverflowed > 0 ? `; ${this.seriesOverflowed} series folded into _overflow (max_series ${running.config.maxSeries})` : ''));
    if (this.seriesOverflowed > 0) {
      this.log.warn(`receiver: ${this.seriesOverflowed} series went to the _overflow series this interval (max_series ${running.config.maxSeries})`);
    }
    this.seriesOverflowed = 0;
  }

  private enforceBufferBound(running: Running): void {
    let excess = running.merger.datumCount + running.publisher.bufferedDatums - running.config.maxBufferedDatums;
    if (excess <= 0) return;
    excess -= running.publisher.dropOldest(excess); // reports through the events
    if (excess <= 0) return;
    const dropped = running.merger.dropOldest(excess);
    if (dropped > 0) {
      running.counters.datumsDropped.increment(dropped);
      this.log.warn(`receiver: buffer full (max_buffered_datums ${running.config.maxBufferedDatums}): dropped the ${dropped} oldest datum(s)`);
    }
  }

  private startCall(entry: OutboxEntry): void {
    const running = this.running!;
    const { config, signer, publisher } = running;
    const body = this.utf8Bytes(entry.batch.body);
    this.runTask('PutMetricData', async () => {
      let headers;
      try {
        headers = await signer.sign(body, this.getCurrentTime());
        // after the await: httpCall restores this context as the effective one (the SDK's job)
        this.httpCall(config.clusterName, headers, body.buffer as ArrayBuffer, [], config.httpRequestTimeoutMs, (response) => {
          publisher.complete(entry, this.outcomeOf(response), this.getCurrentTime());
          this.afterResponse(running);
        });
      } catch (error) {
        // Signing failed or proxy_http_call refused the call (e.g. unknown cluster).
        const message = error instanceof Error ? error.message : String(error);
        publisher.complete(entry, { kind: 'transient', code: 'CallNotStarted', message }, this.getCurrentTime());
        this.afterResponse(running);
      }
    });
  }

  private outcomeOf(response: HttpCallResponse): CallOutcome {
    return classifyResponse({ headers: response.headers(), body: () => response.bodyText() });
  }

  private afterResponse(running: Running): void {
    const now = this.getCurrentTime();
    running.publisher.pump(now);
    if (this.shuttingDown) {
      if (running.publisher.idle) {
        this.log.info('receiver: final publish complete');
        this.done();
      }
      return;
    }
    this.adjustTick(running, now);
  }

  /** Tick fast only while a retry is waiting on its backoff. */
  private adjustTick(running: Running, now: number): void {
    const wake = running.publisher.nextWakeMs;
    const wanted = wake !== undefined && wake < this.nextPublishMs && wake - now < IDLE_TICK_MS ? RETRY_TICK_MS : IDLE_TICK_MS;
    this.setTick(wanted);
  }

  private setTick(ms: number): void {
    if (ms === this.tickMs) return;
    this.tickMs = ms;
    this.setTickPeriod(ms);
  }

  private publisherEvents(counters: ReceiverCounters): PublisherEvents {
    return {
      callStarted: () => counters.putCalls.increment(),
      succeeded: (entry) => {
        counters.datumsPublished.increment(entry.batch.datums);
        this.log.debug(() => `receiver: PutMetricData ok: ${entry.batch.datums} datum(s), ${entry.batch.bytes} bytes`);
      },
      failed: (entry, outcome, willRetry) => {
        counters.putFailures.increment();
        if (willRetry) counters.putRetries.increment();
        const detail = `${outcome.code}${outcome.message ? `: ${outcome.message}` : ''}`;
        const what = `PutMetricData failed (${outcome.status !== undefined ? `${outcome.status} ` : ''}${detail})`;
        if (outcome.kind === 'client_error') this.log.error(`receiver: ${what}; not retried, ${entry.batch.datums} datum(s) dropped`);
        else if (willRetry) this.log.warn(`receiver: ${what}; retry ${entry.retries} of ${this.running?.config.maxRetries ?? 0}`);
        else if (!this.shuttingDown) this.log.warn(`receiver: ${what}; no retries left, ${entry.batch.datums} datum(s) kept for the next publish`);
        else this.log.warn(`receiver: ${what}; no retries left`);
      },
      dropped: (datums, reason) => {
        counters.datumsDropped.increment(datums);
        if (reason === 'buffer_full') this.log.warn(`receiver: buffer full (max_buffered_datums): dropped the ${datums} oldest datum(s)`);
        else if (reason === 'shutdown') this.log.warn(`receiver: shutting down: gave up on ${datums} datum(s)`);
      },
    };
  }
}

export default definePlugin({ name: 'acpw-receiver', root: ReceiverRoot });
