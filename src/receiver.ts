// The receiver: a singleton service VM that owns the queue `aws_cloudwatch_metric`, merges what
// every sender VM reports, and publishes to CloudWatch (PutMetricData, AWS JSON 1.0, SigV4)
// through proxy_http_call, with the AWS SDKs' standard retry behaviour and a bounded buffer.
//
// Timing: datums carry the start of their epoch-aligned window (publish_interval_millisecond).
// Sends happen every partial_publish_interval_millisecond (default: the window) at an offset
// inside that interval drawn once per VM, so a fleet does not call CloudWatch in the same
// second. A send carries the completed windows, and with a partial interval shorter than the
// window also the current window so far (CloudWatch merges datums that share a timestamp). Shutdown: Envoy calls this VM's proxy_on_done only after its main dispatcher and
// cluster manager are gone, so nothing can be sent then (docs/configuration.md, "Shutdown").

import { definePlugin, HttpCallResponse, RootContext, Sha256, type Counter } from './sdk/index.js';
import { parseReceiverConfig, type ReceiverConfig } from './config/receiver.js';
import { mergeBatches } from './cloudwatch/batches.js';
import { planPublish, type PublishSettings } from './cloudwatch/publish.js';
import { Publisher, type OutboxEntry, type PublisherEvents } from './cloudwatch/publisher.js';
import { classifyResponse, type CallOutcome } from './cloudwatch/response.js';
import { PutMetricDataSigner, unsignedHeaders } from './cloudwatch/signer.js';
import { createCredentialsSource, type CredentialsSource } from './cloudwatch/credentials/source.js';
import type { CredentialsTransport } from './cloudwatch/credentials/provider.js';
import { describeCompression, RequestCompressor } from './cloudwatch/request-compressor.js';
import { describeDimensionOptions } from './config/dimensions.js';
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
  readonly credentialsFetches: Counter;
  readonly credentialsFailures: Counter;
}

interface Running {
  readonly config: ReceiverConfig;
  readonly settings: PublishSettings;
  readonly merger: Merger;
  readonly publisher: Publisher;
  readonly signer: PutMetricDataSigner;
  readonly credentials: CredentialsSource;
  readonly compressor: RequestCompressor;
  readonly counters: ReceiverCounters;
}

export class ReceiverRoot extends RootContext {
  private running: Running | undefined;
  private queueId: number | undefined;
  private nextPublishMs = 0;
  /** Where this VM's sends fall inside the partial-publish interval: drawn once, at configure. */
  private offsetMs = 0;
  private tickMs = 0;
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
    // First draw of this VM's Math.random (reseeded per VM by the engine): the send offset.
    this.offsetMs = Math.floor(Math.random() * config.partialPublishIntervalMs);
    const counters: ReceiverCounters = {
      messagesMalformed: this.defineCounter('acpw.receiver.messages_malformed'),
      datumsPublished: this.defineCounter('acpw.receiver.datums_published'),
      putCalls: this.defineCounter('acpw.receiver.put_calls'),
      putFailures: this.defineCounter('acpw.receiver.put_failures'),
      putRetries: this.defineCounter('acpw.receiver.put_retries'),
      datumsDropped: this.defineCounter('acpw.receiver.datums_dropped'),
      credentialsFetches: this.defineCounter('acpw.receiver.credentials_fetches'),
      credentialsFailures: this.defineCounter('acpw.receiver.credentials_failures'),
    };
    const credentials = this.credentialsSource(config, counters);
    const host = this.host;
    this.running = {
      config,
      settings: {
        namespace: config.namespace,
        metricName: config.metricName,
        latencyMetricName: config.latencyMetricName,
        dimensions: config.dimensions,
        storageResolution: config.storageResolution,
        staticDimensions: config.staticDimensions,
        rollups: config.rollups,
      },
      merger: new Merger(config.publishIntervalMs, config.dimensions, config.maxSeries),
      publisher: new Publisher({
        maxRetries: config.maxRetries,
        maxInFlight: MAX_CALLS_IN_FLIGHT,
        random: Math.random,
        retryTimeouts: config.retryTimeouts,
        rebatch: (batches) => mergeBatches(config.namespace, batches),
        events: this.publisherEvents(counters),
        startCall: (entry) => this.startCall(entry),
      }),
      signer: new PutMetricDataSigner({
        region: config.region,
        endpoint: config.endpoint,
        credentials: () => {
          const state = credentials.state(this.getCurrentTime());
          if (state.kind !== 'sign') throw new Error(`no credentials to sign with (credentials_source ${credentials.name})`);
          return state.credentials;
        },
        createPayloadHash: () => new Sha256(host),
      }),
      credentials,
      compressor: new RequestCompressor(config.requestCompression, {
        utf8Bytes: (text) => this.utf8Bytes(text),
        callForeignFunction: (name, argument) => this.callForeignFunction(name, argument),
        crc32: (data) => this.crc32(data),
        nowNs: () => this.getCurrentTimeNanoseconds(),
        warn: (message) => this.log.warn(message),
        debug: (message) => this.log.debug(message),
      }),
      counters,
    };
    this.queueId = this.registerSharedQueue(QUEUE_NAME);
    this.nextPublishMs = this.followingSendTime(this.getCurrentTime());
    this.setTick(IDLE_TICK_MS);
    // Never the credentials: only where data goes and how.
    this.log.info(
      `receiver: configured (queue ${QUEUE_NAME}, cluster ${JSON.stringify(config.clusterName)}, endpoint ${config.endpoint}, `
      + `region ${config.region}, namespace ${JSON.stringify(config.namespace)}, windows of ${config.publishIntervalMs} ms, `
      + `sending every ${config.partialPublishIntervalMs} ms at offset ${this.offsetMs} ms, retry_timeouts ${config.retryTimeouts}, `
      + `dimensions [${config.dimensions.join(', ')}]${describeDimensionOptions(config)}, ${describeCompression(config.requestCompression)}, `
      + `credentials ${credentials.name}${config.credentialsSource.kind === 'static' ? `, session token ${config.credentials.sessionToken ? 'set' : 'not set'}` : ''})`,
    );
    return true;
  }

  override onQueueReady(queueId: number): void {
    const running = this.running;
    if (running === undefined || queueId !== this.queueId) return;
    this.takeQueue(running, queueId);
  }

  private takeQueue(running: Running, queueId: number): void {
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
  }

  override onTick(): void {
    const running = this.running;
    if (running === undefined) return;
    const now = this.getCurrentTime();
    running.credentials.poll(now);
    if (now >= this.nextPublishMs) {
      this.nextPublishMs = this.followingSendTime(now);
      this.publish(running, now);
    }
    this.pump(running, now);
    this.adjustTick(running, now);
  }

  /**
   * Envoy 1.40 calls a singleton WasmService's proxy_on_done while destroying the server: after
   * the main dispatch loop exited (no timer, http_call answer or queue delivery runs again) and
   * after the cluster manager shut down (proxy_http_call then crashes Envoy). So: send nothing,
   * finish at once, and say what is lost. The senders' proxy_on_done ran before this (their
   * worker threads stop first); their last aggregates sit in the queue and are counted too.
   */
  override onDone(): boolean {
    const running = this.running;
    if (running === undefined) return true;
    if (this.queueId !== undefined) this.takeQueue(running, this.queueId);
    const lost = running.merger.datumCount + running.publisher.bufferedDatums;
    if (lost > 0) {
      running.counters.datumsDropped.increment(lost);
      this.log.warn(
        `receiver: shutting down: ${lost} datum(s) not sent (${running.publisher.callsInFlight} call(s) in flight abandoned); `
        + 'Envoy cannot send from proxy_on_done. Drain first to lose nothing (docs/configuration.md, "Shutdown")',
      );
    }
    return true;
  }

  /** The next send time after `nowMs`: offset + k × partial-publish interval. */
  private followingSendTime(nowMs: number): number {
    const every = this.running?.config.partialPublishIntervalMs ?? 60_000;
    return (Math.floor((nowMs - this.offsetMs) / every) + 1) * every + this.offsetMs;
  }

  private publish(running: Running, now: number): void {
    // With partial publishing the current window goes out so far; without it only completed
    // windows do (one datum per series and window, as without offsets: the cost is unchanged).
    const { merger, config } = running;
    const partial = config.partialPublishIntervalMs < config.publishIntervalMs;
    const plan = planPublish(merger.drain(partial ? Infinity : merger.windowStartFor(now)), running.settings);
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

  /** Starts due calls, unless role credentials are missing: then the data stays buffered. */
  private pump(running: Running, now: number): void {
    if (running.credentials.state(now).kind !== 'wait') running.publisher.pump(now);
  }

  private startCall(entry: OutboxEntry): void {
    const running = this.running!;
    const { config, signer, publisher } = running;
    const unsigned = running.credentials.state(this.getCurrentTime()).kind === 'unsigned';
    this.runTask('PutMetricData', async () => {
      let headers;
      try {
        const { body, contentEncoding } = running.compressor.encode(entry.batch);
        headers = unsigned
          ? unsignedHeaders(config.endpoint, contentEncoding)
          : await signer.sign(body, this.getCurrentTime(), contentEncoding);
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

  /** Where signing credentials come from; role credentials are fetched over proxy_http_call. */
  private credentialsSource(config: ReceiverConfig, counters: ReceiverCounters): CredentialsSource {
    const source = config.credentialsSource;
    const what = `credentials (${source.kind})`;
    return createCredentialsSource(source, config.credentials, {
      transport: source.kind === 'imds' || source.kind === 'container' ? this.credentialsTransport(source.cluster, source.authority, source.timeoutMs) : () => undefined,
      now: () => this.getCurrentTime(),
      random: Math.random,
      events: {
        fetchStarted: () => counters.credentialsFetches.increment(),
        refreshed: (info) => {
          this.log.info(`receiver: ${what}${info.role !== undefined ? ` for role "${info.role}"` : ''} refreshed; they expire at ${new Date(info.expirationMs).toISOString()}, next refresh in ${Math.round((info.refreshAtMs - this.getCurrentTime()) / 1000)} s`);
          // Held calls go out on the next (fast) tick: calls start only from proxy_on_tick.
          const running = this.running;
          if (running !== undefined) this.adjustTick(running, this.getCurrentTime());
        },
        failed: (info) => {
          counters.credentialsFailures.increment();
          this.log.warn(`receiver: ${what} fetch failed (attempt ${info.attempt}): ${info.reason}; retry in ${info.retryInMs} ms; `
            + (info.stillValid ? 'the current credentials stay in use until they expire' : 'PutMetricData waits, data stays buffered (max_buffered_datums)'));
        },
      },
    });
  }

  private credentialsTransport(cluster: string, authority: string, timeoutMs: number): CredentialsTransport {
    return (request, onResponse) => {
      const headers: (readonly [string, string])[] = [[':method', request.method], [':path', request.path], [':authority', authority], ...request.headers];
      this.httpCall(cluster, headers, '', [], timeoutMs, (response) => {
        onResponse(response.failed ? { status: undefined, body: '' } : { status: response.status, body: response.bodyText() });
      });
    };
  }

  private outcomeOf(response: HttpCallResponse): CallOutcome {
    return classifyResponse({ headers: response.headers(), body: () => response.bodyText() });
  }

  /**
   * Calls start only from proxy_on_tick, never from an http_call answer: Envoy's shutdown resets
   * the calls in flight while tearing down the cluster manager and delivers those answers after
   * its main loop exited; a retry started there would reach a cluster manager being destroyed.
   * Timers stop with the main loop, so nothing is started then. A due retry waits ≤ one fast tick.
   */
  private afterResponse(running: Running): void {
    this.adjustTick(running, this.getCurrentTime());
  }

  /** Tick fast only while a retry is waiting on its backoff. */
  private adjustTick(running: Running, now: number): void {
    // Waiting for credentials, held calls cannot go out: no fast tick (fetch retries are ≥ 125 ms).
    const wake = running.credentials.state(now).kind === 'wait' ? undefined : running.publisher.nextWakeMs;
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
        else if (outcome.kind === 'timeout') {
          this.log.warn(`receiver: ${what}; not retried (CloudWatch may have stored it; retry_timeouts is false), ${entry.batch.datums} datum(s) given up`);
        } else this.log.warn(`receiver: ${what}; no retries left, ${entry.batch.datums} datum(s) kept for the next publish`);
      },
      dropped: (datums, reason) => {
        counters.datumsDropped.increment(datums);
        if (reason === 'buffer_full') this.log.warn(`receiver: buffer full (max_buffered_datums): dropped the ${datums} oldest datum(s)`);
      },
    };
  }
}

export default definePlugin({ name: 'acpw-receiver', root: ReceiverRoot });
