// One HTTP stream through a chain of Wasm filters, in Envoy's order: context create → request
// headers → body → trailers (filters in order) → the route's response → response headers → body →
// trailers (filters in reverse) → proxy_on_log → proxy_on_done → proxy_on_delete. A filter that
// returns Pause stops the chain until it calls proxy_continue_stream; proxy_send_local_response
// replaces the response. Runs synchronously until it pauses, so a benchmark can drive it without
// any I/O; `finished` resolves when the stream is over.
//
// Hot path (benchmarks measure µs per stream): the plan is an array of small step records, not
// closures, and nothing optional (request id, promise, dates) is made unless asked for.

import type { FlatPairs } from '../../src/abi/host.js';
import { Action, StreamType } from '../../src/abi/table.js';
import { EMPTY_BYTES, toBytes, type Bytes } from './bytes.js';
import { wallClockMilliseconds } from './clock.js';
import { HeaderMap } from './header-map.js';
import { Exposed, type LocalReply, type StreamHooks, type StreamInfo, type StreamState } from './stream-state.js';
import type { Vm } from './vm.js';

export interface StreamRequest {
  /** Must include `:method`, `:path`, `:authority`, `:scheme`. */
  readonly requestHeaders: FlatPairs;
  readonly requestBody?: Bytes | string;
  readonly requestTrailers?: FlatPairs;
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

interface PlannedStep {
  readonly step: Step;
  /** Filter index (filter steps only). */
  readonly slot: number;
}

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
    const headers = HeaderMap.fromFlat(request.requestHeaders);
    const requestId = headers.get('x-request-id');
    this.state = {
      accessLogPhase: false,
      filterState: new Map(),
      info: {
        startTimeMs: wallClockMilliseconds(),
        ...(requestId !== undefined ? { requestId } : {}),
        protocol: 'HTTP/1.1',
        sourceAddress: '127.0.0.1', sourcePort: 0, destinationAddress: '127.0.0.1', destinationPort: 0,
        connectionId: nextConnectionId++,
        responseCodeDetails: '',
        ...info,
      },
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
        const planned = this.plan[this.cursor++]!;
        const generation = this.replyGeneration;
        const action = this.execute(planned);
        if (this.reset) break;
        if (generation !== this.replyGeneration) continue; // a local reply replaced the plan
        const direction = isPause(action, planned.step);
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
    info.requestDurationMs ??= wallClockMilliseconds() - info.startTimeMs;
  }

  // -- plan --------------------------------------------------------------------------------------

  private execute({ step, slot }: PlannedStep): number {
    const state = this.state;
    switch (step) {
      case Step.RequestHeaders: {
        const f = this.slots[slot]!;
        if (f.contextId === 0) f.contextId = f.vm.createStreamContext(state);
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
    f.vm.expose(f.contextId, exposed);
    const action = f.vm.invoke(f.contextId, callback, f.contextId, a, b);
    if (action === Action.Continue) f.vm.expose(f.contextId, exposed, false);
    return action;
  }

  private planRequest(): void {
    const n = this.slots.length;
    for (let i = 0; i < n; i++) this.plan.push({ step: Step.RequestHeaders, slot: i });
    if (this.requestBody) {
      this.plan.push({ step: Step.SetRequestBody, slot: -1 });
      for (let i = 0; i < n; i++) this.plan.push({ step: Step.RequestBody, slot: i });
    }
    if (this.requestTrailers) {
      this.plan.push({ step: Step.SetRequestTrailers, slot: -1 });
      for (let i = 0; i < n; i++) this.plan.push({ step: Step.RequestTrailers, slot: i });
    }
    this.plan.push({ step: Step.Route, slot: -1 });
  }

  /** Appends the response side: headers, body, trailers through the filters in reverse order. */
  private planResponse(response: RouteResponse): void {
    this.response = response;
    this.responseBody = response.body === undefined ? EMPTY_BYTES : typeof response.body === 'string' ? toBytes(response.body) : response.body;
    this.responseTrailers = response.trailers?.length ? HeaderMap.fromFlat(response.trailers) : undefined;
    const created: number[] = [];
    for (let i = this.slots.length - 1; i >= 0; i--) if (this.slots[i]!.contextId !== 0) created.push(i);
    this.plan.push({ step: Step.SetResponse, slot: -1 });
    for (const i of created) this.plan.push({ step: Step.ResponseHeaders, slot: i });
    if (this.responseBody.byteLength > 0) {
      this.plan.push({ step: Step.SetResponseBody, slot: -1 });
      for (const i of created) this.plan.push({ step: Step.ResponseBody, slot: i });
    }
    if (this.responseTrailers) {
      this.plan.push({ step: Step.SetResponseTrailers, slot: -1 });
      for (const i of created) this.plan.push({ step: Step.ResponseTrailers, slot: i });
    }
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
    state.info.durationMs = wallClockMilliseconds() - state.info.startTimeMs;
    const slots = this.slots;
    for (const slot of slots) if (slot.contextId !== 0) slot.vm.invoke(slot.contextId, 'proxy_on_log', slot.contextId);
    for (const slot of slots) {
      if (slot.contextId === 0) continue;
      slot.vm.invoke(slot.contextId, 'proxy_on_done', slot.contextId);
      slot.vm.deleteContext(slot.contextId);
    }
    state.hooks = undefined;
    const outcome = this.snapshot(this.reset ? 'reset' : 'complete');
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
  const headers: FlatPairs = [
    ':authority', input.authority ?? 'example.com', ':path', input.path ?? '/', ':method', input.method ?? 'GET',
    ':scheme', input.scheme ?? 'http',
  ];
  if (input.headers) headers.push(...flat(input.headers));
  return {
    requestHeaders: headers,
    ...(input.body !== undefined ? { requestBody: input.body } : {}),
    ...(input.trailers ? { requestTrailers: input.trailers } : {}),
  };
}

const OK_BODY = toBytes('OK');

export function routerFromInput(input: StreamInput): Router {
  const r = input.response;
  if (!r) return () => directResponse(200, OK_BODY);
  return () => {
    const base = directResponse(r.status ?? 200, r.body ?? OK_BODY);
    return { ...base, headers: r.headers ? [...base.headers, ...r.headers] : base.headers, ...(r.trailers ? { trailers: r.trailers } : {}) };
  };
}

/** Drives one whole stream through the filters synchronously (no I/O). */
export function runStream(filters: Vm | readonly Vm[], input: StreamInput = {}): StreamOutcome {
  const list = Array.isArray(filters) ? (filters as readonly Vm[]) : [filters as Vm];
  return new HttpStream(list, requestFromInput(input), routerFromInput(input)).runSync();
}
