// One HTTP stream through a chain of Wasm filters, in Envoy's order: context create → request
// headers → body → trailers (filters in order) → the route's response → response headers → body →
// trailers (filters in reverse) → proxy_on_log → proxy_on_done → proxy_on_delete. A filter that
// returns Pause stops the chain until it calls proxy_continue_stream; proxy_send_local_response
// replaces the response. Runs synchronously until it pauses, so a benchmark can drive it without
// any I/O; `finished` resolves when the stream is over.
//
// Hot path (benchmarks measure µs per stream): the plan is an array of numbers (step and filter
// index packed in one), not closures or records, and nothing optional (request id, promise,
// dates, filter state) is made unless asked for.

import type { FlatPairs } from '../../src/abi/host.js';
import { Action, StreamType } from '../../src/abi/table.js';
import { EMPTY_BYTES, toBytes, type Bytes } from './bytes.js';
import { ManualClock, WALL_CLOCK, type HostClock } from './clock.js';
import { HeaderMap } from './header-map.js';
import { Exposed, type LocalReply, type StreamHooks, type StreamInfo, type StreamState } from './stream-state.js';
import type { Vm } from './vm.js';

export interface StreamRequest {
  /** Must include `:method`, `:path`, `:authority`, `:scheme`. */
  readonly requestHeaders: FlatPairs;
  readonly requestBody?: Bytes | string;
  readonly requestTrailers?: FlatPairs;
  /** The stream began this long ago (StreamInput.startedMsAgo). */
  readonly startedMsAgo?: number;
  /** Property paths answered NotFound (StreamInput.omitProperties). */
  readonly omitProperties?: readonly string[];
}

/** What the route answers (a direct_response here; Envoy's router in general). */
export interface RouteResponse {
  /** Must include `:status`. */
  readonly headers: FlatPairs;
  readonly body?: Bytes | string;
  readonly trailers?: FlatPairs;
  readonly details?: string;
}

export type Router = (request: StreamState) => RouteResponse;

export interface StreamOutcome {
  /** 'reset' when a filter closed the stream; 'paused' only from a synchronous run that paused. */
  readonly status: 'complete' | 'reset' | 'paused';
  readonly requestHeaders: FlatPairs;
  readonly responseHeaders: FlatPairs;
  readonly responseBody: Bytes;
  readonly responseTrailers: FlatPairs;
  readonly localReply?: LocalReply | undefined;
}

const enum Step {
  RequestHeaders,
  SetRequestBody,
  RequestBody,
  SetRequestTrailers,
  RequestTrailers,
  Route,
  SetResponse,
  ResponseHeaders,
  SetResponseBody,
  ResponseBody,
  SetResponseTrailers,
  ResponseTrailers,
}

/** A plan entry: the Step in the low 4 bits, the filter index (+1; 0 = none) above them. */
type PlannedStep = number;
const STEP_BITS = 4;
const STEP_MASK = (1 << STEP_BITS) - 1;
const planned = (step: Step, slot = -1): PlannedStep => step | ((slot + 1) << STEP_BITS);

interface Slot {
  readonly vm: Vm;
  contextId: number;
}

let nextConnectionId = 1;
let cachedDateSecond = -1;
let cachedDate = '';

/** The HTTP date, recomputed at most once a second (Envoy caches it the same way). */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== cachedDateSecond) {
    cachedDateSecond = second;
    cachedDate = new Date(now).toUTCString();
  }
  return cachedDate;
}

/** Envoy's direct response: `:status`, the body, and the headers its router adds. */
export function directResponse(status: number, body: string | Bytes = ''): RouteResponse {
  const bytes = typeof body === 'string' ? (body === '' ? EMPTY_BYTES : toBytes(body)) : body;
  const headers: FlatPairs = [':status', String(status)];
  if (bytes.byteLength > 0) headers.push('content-length', String(bytes.byteLength), 'content-type', 'text/plain');
  headers.push('date', httpDate(), 'server', 'envoy');
  return { headers, body: bytes, details: 'direct_response' };
}

const isPause = (action: number, step: Step): StreamType.Request | StreamType.Response | undefined => {
  if (action === Action.Continue) return undefined;
  switch (step) {
    case Step.RequestHeaders: case Step.RequestBody: case Step.RequestTrailers: return StreamType.Request;
    case Step.ResponseHeaders: case Step.ResponseBody: case Step.ResponseTrailers: return StreamType.Response;
    default: return undefined;
  }
};

export class HttpStream implements StreamHooks {
  readonly state: StreamState;
  private finishedPromise?: Promise<StreamOutcome>;
  private resolveFinished?: (outcome: StreamOutcome) => void;
  private readonly slots: Slot[] = [];
  private readonly router: Router;
  private readonly clock: HostClock;
  private plan: PlannedStep[] = [];
  private cursor = 0;
  private paused?: StreamType;
  private continued = 0; // bit set of StreamType continued ahead of a pause
  private running = false;
  private responseStarted = false;
  private replyGeneration = 0;
  private localReply?: LocalReply;
  private reset = false;
  private outcome?: StreamOutcome;
  // what the plan delivers
  private readonly requestBody?: Bytes;
  private readonly requestTrailers?: HeaderMap;
  private response?: RouteResponse;
  private responseBody: Bytes = EMPTY_BYTES;
  private responseTrailers?: HeaderMap;

  constructor(filters: readonly Vm[], request: StreamRequest, router: Router, info?: Partial<StreamInfo>) {
    this.router = router;
    this.clock = filters[0]?.runtime.clock ?? WALL_CLOCK;
    const headers = HeaderMap.fromFlat(request.requestHeaders);
    const requestId = headers.get('x-request-id');
    const streamInfo: StreamInfo = {
      startTimeMs: this.clock.nowMs() - (request.startedMsAgo ?? 0),
      protocol: 'HTTP/1.1',
      sourceAddress: '127.0.0.1', sourcePort: 0, destinationAddress: '127.0.0.1', destinationPort: 0,
      connectionId: nextConnectionId++,
      responseCodeDetails: '',
    };
    if (requestId !== undefined) streamInfo.requestId = requestId;
    this.state = {
      accessLogPhase: false,
      info: info === undefined ? streamInfo : Object.assign(streamInfo, info),
      hooks: this,
      requestHeaders: headers,
    };
    let failedClosed = false;
    for (const vm of filters) {
      if (vm.state === 'running') this.slots.push({ vm, contextId: 0 });
      else if (!vm.spec.failOpen) failedClosed = true;
    }
    if (failedClosed) {
      this.localReply = { statusCode: 503, details: 'wasm_fail_stream', body: EMPTY_BYTES, headers: [], grpcStatus: -1 };
      this.planResponse({ ...directResponse(503, ''), details: 'wasm_fail_stream' });
      return;
    }
    if (request.requestBody !== undefined) {
      const body = toBytes(request.requestBody);
      if (body.byteLength > 0) this.requestBody = body;
    }
    if (request.requestTrailers?.length) this.requestTrailers = HeaderMap.fromFlat(request.requestTrailers);
    if (request.omitProperties?.length) this.state.omittedProperties = new Set(request.omitProperties);
    this.planRequest();
  }

  /** Resolves when the stream is over (log, done and delete have run). */
  get finished(): Promise<StreamOutcome> {
    this.finishedPromise ??= this.outcome
      ? Promise.resolve(this.outcome)
      : new Promise((resolve) => {
        this.resolveFinished = resolve;
      });
    return this.finishedPromise;
  }

  /** Runs until the stream pauses or ends; returns the outcome when it ended. */
  run(): StreamOutcome | undefined {
    if (this.running || this.outcome) return this.outcome;
    this.running = true;
    try {
      while (this.cursor < this.plan.length && this.paused === undefined && !this.reset) {
        const entry = this.plan[this.cursor++]!;
        const step: Step = entry & STEP_MASK;
        const generation = this.replyGeneration;
        const action = this.execute(step, (entry >> STEP_BITS) - 1);
        if (this.reset) break;
        if (generation !== this.replyGeneration) continue; // a local reply replaced the plan
        const direction = isPause(action, step);
        if (direction !== undefined) {
          const bit = 1 << direction;
          if (this.continued & bit) this.continued &= ~bit;
          else this.paused = direction;
        }
      }
    } finally {
      this.running = false;
    }
    if (this.paused === undefined && (this.reset || this.cursor >= this.plan.length)) this.finish();
    return this.outcome;
  }

  /** The outcome of a synchronous run: complete, reset, or paused (then `finished` settles later). */
  runSync(): StreamOutcome {
    return this.run() ?? this.snapshot('paused');
  }

  /** The last request byte reached the filters: Envoy's request.duration ends here. */
  private requestReceived(): void {
    const info = this.state.info;
    info.requestDurationMs ??= this.clock.nowMs() - info.startTimeMs;
  }

  /**
   * Runs `create` at the stream's start time: Envoy makes a stream's contexts when it starts
   * (request.time), so a plugin timing the stream from its create (the bridge's log capture)
   * sees the same latency as one reading request.time. Only a ManualClock (lean mode) can be
   * set back for it; it is restored at once. The wall clock has no past streams to model.
   */
  private atStreamStart<T>(create: () => T): T {
    const clock = this.clock;
    const startMs = this.state.info.startTimeMs;
    if (!(clock instanceof ManualClock) || startMs >= clock.nowMs()) return create();
    const now = clock.nowNs();
    clock.setMs(startMs);
    try {
      return create();
    } finally {
      clock.setNs(now);
    }
  }

  // -- plan --------------------------------------------------------------------------------------

  private execute(step: Step, slot: number): number {
    const state = this.state;
    switch (step) {
      case Step.RequestHeaders: {
        const f = this.slots[slot]!;
        if (f.contextId === 0) f.contextId = this.atStreamStart(() => f.vm.createStreamContext(state));
        const eos = this.requestBody || this.requestTrailers ? 0 : 1;
        if (eos && slot === 0) this.requestReceived();
        return this.call(f, Exposed.RequestHeaders, 'proxy_on_request_headers', state.requestHeaders?.size ?? 0, eos);
      }
      case Step.SetRequestBody:
        state.requestBody = this.requestBody;
        if (!this.requestTrailers) this.requestReceived();
        return Action.Continue;
      case Step.RequestBody:
        return this.call(this.slots[slot]!, Exposed.RequestBody, 'proxy_on_request_body', state.requestBody?.byteLength ?? 0, this.requestTrailers ? 0 : 1);
      case Step.SetRequestTrailers:
        state.requestTrailers = this.requestTrailers;
        this.requestReceived();
        return Action.Continue;
      case Step.RequestTrailers:
        return this.call(this.slots[slot]!, Exposed.RequestTrailers, 'proxy_on_request_trailers', state.requestTrailers?.size ?? 0);
      case Step.Route:
        this.planResponse(this.router(state));
        return Action.Continue;
      case Step.SetResponse: {
        const response = this.response!;
        this.responseStarted = true;
        state.responseHeaders = HeaderMap.fromFlat(response.headers);
        state.info.responseCodeDetails = response.details ?? 'via_upstream';
        return Action.Continue;
      }
      case Step.ResponseHeaders: {
        const eos = this.responseBody.byteLength > 0 || this.responseTrailers ? 0 : 1;
        return this.call(this.slots[slot]!, Exposed.ResponseHeaders, 'proxy_on_response_headers', state.responseHeaders?.size ?? 0, eos);
      }
      case Step.SetResponseBody:
        state.responseBody = this.responseBody;
        return Action.Continue;
      case Step.ResponseBody:
        return this.call(this.slots[slot]!, Exposed.ResponseBody, 'proxy_on_response_body', state.responseBody?.byteLength ?? 0, this.responseTrailers ? 0 : 1);
      case Step.SetResponseTrailers:
        state.responseTrailers = this.responseTrailers;
        return Action.Continue;
      case Step.ResponseTrailers:
        return this.call(this.slots[slot]!, Exposed.ResponseTrailers, 'proxy_on_response_trailers', state.responseTrailers?.size ?? 0);
    }
  }

  /**
   * One filter callback with its map/buffer exposed, as Envoy sets the filter's pointer for the
   * call and drops it when the filter continues (a paused filter keeps it).
   */
  private call(f: Slot, exposed: number, callback: string, a: number, b = 0): number {
    return f.vm.invokeExposed(f.contextId, exposed, callback, a, b);
  }

  private planRequest(): void {
    const n = this.slots.length;
    const plan = this.plan;
    for (let i = 0; i < n; i++) plan.push(planned(Step.RequestHeaders, i));
    if (this.requestBody) {
      plan.push(planned(Step.SetRequestBody));
      for (let i = 0; i < n; i++) plan.push(planned(Step.RequestBody, i));
    }
    if (this.requestTrailers) {
      plan.push(planned(Step.SetRequestTrailers));
      for (let i = 0; i < n; i++) plan.push(planned(Step.RequestTrailers, i));
    }
    plan.push(planned(Step.Route));
  }

  /** Appends the response side: headers, body, trailers through the filters in reverse order. */
  private planResponse(response: RouteResponse): void {
    this.response = response;
    this.responseBody = response.body === undefined ? EMPTY_BYTES : typeof response.body === 'string' ? toBytes(response.body) : response.body;
    this.responseTrailers = response.trailers?.length ? HeaderMap.fromFlat(response.trailers) : undefined;
    const plan = this.plan;
    plan.push(planned(Step.SetResponse));
    this.planFilters(Step.ResponseHeaders);
    if (this.responseBody.byteLength > 0) {
      plan.push(planned(Step.SetResponseBody));
      this.planFilters(Step.ResponseBody);
    }
    if (this.responseTrailers) {
      plan.push(planned(Step.SetResponseTrailers));
      this.planFilters(Step.ResponseTrailers);
    }
  }

  /** One response-side step for each filter that has a context, in reverse filter order. */
  private planFilters(step: Step): void {
    const slots = this.slots;
    for (let i = slots.length - 1; i >= 0; i--) if (slots[i]!.contextId !== 0) this.plan.push(planned(step, i));
  }

  // -- hooks (StreamHooks: called after the VM call that asked for them) -------------------------

  continueStream(type: StreamType): void {
    if (this.paused === type) {
      this.paused = undefined;
      this.run();
    } else if (!this.outcome) {
      this.continued |= 1 << type;
    }
  }

  closeStream(): void {
    if (this.outcome) return;
    this.reset = true;
    if (!this.running) {
      this.paused = undefined;
      this.run();
    }
  }

  sendLocalReply(reply: LocalReply): void {
    if (this.outcome) return;
    this.localReply = reply;
    const headers: FlatPairs = [':status', String(reply.statusCode)];
    if (reply.body.byteLength > 0) headers.push('content-length', String(reply.body.byteLength), 'content-type', 'text/plain');
    headers.push(...reply.headers);
    const response: RouteResponse = { headers, body: reply.body, details: reply.details || 'local_reply' };
    if (this.responseStarted) {
      // Headers already went through the filters: the reply replaces the response content only.
      this.state.responseHeaders = HeaderMap.fromFlat(headers);
      this.state.responseBody = reply.body;
      this.state.info.responseCodeDetails = response.details!;
      return;
    }
    this.replyGeneration++;
    this.plan = this.plan.slice(0, this.cursor);
    this.planResponse(response);
    if (this.paused !== undefined) {
      this.paused = undefined;
      if (!this.running) this.run();
    }
  }

  // -- end ---------------------------------------------------------------------------------------

  private finish(): void {
    if (this.outcome) return;
    const state = this.state;
    state.accessLogPhase = true;
    state.info.durationMs = this.clock.nowMs() - state.info.startTimeMs;
    const slots = this.slots;
    for (const slot of slots) if (slot.contextId !== 0) slot.vm.invoke(slot.contextId, 'proxy_on_log', slot.contextId);
    for (const slot of slots) {
      if (slot.contextId === 0) continue;
      slot.vm.invoke(slot.contextId, 'proxy_on_done', slot.contextId);
      slot.vm.deleteContext(slot.contextId);
    }
    state.hooks = undefined;
    const outcome = new FinishedOutcome(this.reset ? 'reset' : 'complete', state, this.localReply);
    this.outcome = outcome;
    this.resolveFinished?.(outcome);
  }

  private snapshot(status: StreamOutcome['status']): StreamOutcome {
    const s = this.state;
    return {
      status,
      requestHeaders: s.requestHeaders?.toFlat() ?? [],
      responseHeaders: s.responseHeaders?.toFlat() ?? [],
      responseBody: s.responseBody ?? EMPTY_BYTES,
      responseTrailers: s.responseTrailers?.toFlat() ?? [],
      localReply: this.localReply,
    };
  }
}

/**
 * A finished stream's outcome. Its header lists are copied out of the stream's maps when first
 * read, not at the end of every stream: most callers (benchmarks, tests of counters) read none,
 * and nothing edits the maps once the stream is over (its contexts are gone, its hooks cleared).
 */
class FinishedOutcome implements StreamOutcome {
  readonly status: 'complete' | 'reset';
  readonly responseBody: Bytes;
  readonly localReply: LocalReply | undefined;
  private readonly state: StreamState;
  private requestList?: FlatPairs;
  private responseList?: FlatPairs;
  private trailerList?: FlatPairs;

  constructor(status: 'complete' | 'reset', state: StreamState, localReply: LocalReply | undefined) {
    this.status = status;
    this.responseBody = state.responseBody ?? EMPTY_BYTES;
    this.localReply = localReply;
    this.state = state;
  }

  get requestHeaders(): FlatPairs {
    return (this.requestList ??= this.state.requestHeaders?.toFlat() ?? []);
  }

  get responseHeaders(): FlatPairs {
    return (this.responseList ??= this.state.responseHeaders?.toFlat() ?? []);
  }

  get responseTrailers(): FlatPairs {
    return (this.trailerList ??= this.state.responseTrailers?.toFlat() ?? []);
  }
}

/** A convenient description of one request/response exchange for tests and benchmarks. */
export interface StreamInput {
  readonly method?: string;
  readonly path?: string;
  readonly authority?: string;
  readonly scheme?: string;
  /** Extra request headers (after the pseudo-headers). */
  readonly headers?: FlatPairs | Readonly<Record<string, string>>;
  readonly body?: string | Bytes;
  readonly trailers?: FlatPairs;
  /** The stream began this long ago (request.time; default 0: now), e.g. a latency to record. */
  readonly startedMsAgo?: number;
  /**
   * Request pseudo-headers to leave out, e.g. [':authority']. Envoy 1.40 answers an HTTP/1.0
   * request without Host through the filter chain, so filters log it without :authority (400
   * with accept_http_10; 426 without it, and then without :path too).
   */
  readonly omitHeaders?: readonly (':authority' | ':path' | ':method' | ':scheme')[];
  /**
   * Property paths (dotted, e.g. 'request.time') answered NotFound, to see how a plugin copes
   * with a host that lacks one. Envoy itself always has request.time: this one is an imitation.
   */
  readonly omitProperties?: readonly string[];
  /**
   * The downstream resets the stream before the route answers (a client gone away): the
   * filters log it without response headers, so with no :status, as Envoy 1.40's do.
   */
  readonly resetBeforeResponse?: boolean;
  /** The route's answer (default: direct response 200 "OK"). */
  readonly response?: {
    readonly status?: number;
    readonly headers?: FlatPairs;
    readonly body?: string | Bytes;
    readonly trailers?: FlatPairs;
  };
}

function flat(headers: FlatPairs | Readonly<Record<string, string>> | undefined): FlatPairs {
  if (!headers) return [];
  if (Array.isArray(headers)) return headers as FlatPairs;
  return Object.entries(headers).flat();
}

export function requestFromInput(input: StreamInput): StreamRequest {
  let headers: FlatPairs = [
    ':authority', input.authority ?? 'example.com', ':path', input.path ?? '/', ':method', input.method ?? 'GET',
    ':scheme', input.scheme ?? 'http',
  ];
  const omit: readonly string[] | undefined = input.omitHeaders;
  if (omit?.length) {
    const kept: FlatPairs = [];
    for (let i = 0; i < headers.length; i += 2) if (!omit.includes(headers[i]!)) kept.push(headers[i]!, headers[i + 1]!);
    headers = kept;
  }
  if (input.headers) headers.push(...flat(input.headers));
  return {
    requestHeaders: headers,
    ...(input.body !== undefined ? { requestBody: input.body } : {}),
    ...(input.trailers ? { requestTrailers: input.trailers } : {}),
    ...(input.startedMsAgo !== undefined ? { startedMsAgo: input.startedMsAgo } : {}),
    ...(input.omitProperties?.length ? { omitProperties: input.omitProperties } : {}),
  };
}

const OK_BODY = toBytes('OK');

export function routerFromInput(input: StreamInput): Router {
  // the reset arrives while the route is working: the stream closes and nothing is answered
  if (input.resetBeforeResponse) {
    return (state) => {
      state.hooks?.closeStream(StreamType.Response);
      return directResponse(503); // never delivered: the plan stops at the reset
    };
  }
  const r = input.response;
  const status = r?.status ?? 200;
  const body = r?.body === undefined ? OK_BODY : typeof r.body === 'string' ? (r.body === '' ? EMPTY_BYTES : toBytes(r.body)) : r.body;
  const extraHeaders = r?.headers;
  const trailers = r?.trailers;
  // The answer only changes with the date header (once a second): built then and shared by
  // every stream of the input until the next second (HeaderMap.share: maps copy it on an edit).
  let date = '';
  let answer: RouteResponse | undefined;
  return () => {
    if (answer !== undefined && date === httpDate()) return answer;
    const base = directResponse(status, body);
    date = httpDate();
    if (extraHeaders) for (let i = 0; i < extraHeaders.length; i++) base.headers.push(extraHeaders[i]!);
    HeaderMap.share(base.headers);
    answer = trailers ? { headers: base.headers, body: base.body, details: base.details, trailers: HeaderMap.share([...trailers]) } : base;
    return answer;
  };
}

/**
 * The request and router an input describes, built once per input object: benchmarks and
 * servers replay the same inputs, and both are pure functions of the (readonly) input. The
 * request's lists are the host's own (never edited), so the streams' header maps share them.
 */
const preparedInputs = new WeakMap<StreamInput, { readonly request: StreamRequest; readonly router: Router }>();

function prepared(input: StreamInput): { readonly request: StreamRequest; readonly router: Router } {
  let entry = preparedInputs.get(input);
  if (entry === undefined) {
    const built = requestFromInput(input);
    HeaderMap.share(built.requestHeaders);
    // the trailers are the input's own list: a copy is shared, not the caller's array
    const request = built.requestTrailers ? { ...built, requestTrailers: HeaderMap.share([...built.requestTrailers]) } : built;
    entry = { request, router: routerFromInput(input) };
    preparedInputs.set(input, entry);
  }
  return entry;
}

/** Drives one whole stream through the filters synchronously (no I/O). */
export function runStream(filters: Vm | readonly Vm[], input: StreamInput = {}): StreamOutcome {
  const list = Array.isArray(filters) ? (filters as readonly Vm[]) : [filters as Vm];
  const { request, router } = prepared(input);
  return new HttpStream(list, request, router).runSync();
}
