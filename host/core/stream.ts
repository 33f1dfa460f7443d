// One HTTP stream through a chain of Wasm filters, in Envoy's order: context create → request
// headers → body → trailers (filters in order) → the route's response → response headers → body →
// trailers (filters in reverse) → proxy_on_log → proxy_on_done → proxy_on_delete. A filter that
// returns Pause stops the chain until it calls proxy_continue_stream; proxy_send_local_response
// replaces the response. Runs synchronously until it pauses, so a benchmark can drive it without
// any I/O; `finished` resolves when the stream is over.

import { randomUUID } from 'node:crypto';
import type { FlatPairs } from '../../src/abi/host.js';
import { Action, StreamType } from '../../src/abi/table.js';
import { EMPTY_BYTES, toBytes, type Bytes } from './bytes.js';
import { HeaderMap } from './header-map.js';
import type { LocalReply, StreamInfo, StreamState } from './stream-state.js';
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
  readonly localReply?: LocalReply;
}

interface Step {
  /** Which direction a Pause of this step stops (undefined: cannot pause). */
  readonly direction?: StreamType.Request | StreamType.Response;
  readonly run: () => number;
}

interface Slot {
  readonly vm: Vm;
  contextId: number;
}

let nextConnectionId = 1;

/** Envoy's direct response: `:status`, the body, and the headers its router adds. */
export function directResponse(status: number, body: string | Bytes = ''): RouteResponse {
  const bytes = toBytes(body);
  const headers: FlatPairs = [':status', String(status)];
  if (bytes.byteLength > 0) headers.push('content-length', String(bytes.byteLength), 'content-type', 'text/plain');
  headers.push('date', new Date().toUTCString(), 'server', 'envoy');
  return { headers, body: bytes, details: 'direct_response' };
}

export class HttpStream {
  readonly state: StreamState;
  readonly finished: Promise<StreamOutcome>;
  private resolveFinished!: (outcome: StreamOutcome) => void;
  private readonly slots: Slot[];
  private readonly request: StreamRequest;
  private readonly router: Router;
  private steps: Step[] = [];
  private cursor = 0;
  private paused?: StreamType;
  private readonly continued = new Set<StreamType>();
  private running = false;
  private responseStarted = false;
  private replyGeneration = 0;
  private localReply?: LocalReply;
  private reset = false;
  private outcome?: StreamOutcome;

  constructor(filters: readonly Vm[], request: StreamRequest, router: Router, info: Partial<StreamInfo> = {}) {
    this.request = request;
    this.router = router;
    this.finished = new Promise((resolve) => {
      this.resolveFinished = resolve;
    });
    const headers = HeaderMap.fromFlat(request.requestHeaders);
    this.state = {
      accessLogPhase: false,
      filterState: new Map(),
      info: {
        startTimeNs: BigInt(Date.now()) * 1_000_000n,
        requestId: headers.get('x-request-id') ?? randomUUID(),
        protocol: 'HTTP/1.1',
        sourceAddress: '127.0.0.1', sourcePort: 0, destinationAddress: '127.0.0.1', destinationPort: 0,
        connectionId: nextConnectionId++,
        responseCodeDetails: '',
        ...info,
      },
      hooks: {
        continueStream: (type) => this.onContinue(type),
        closeStream: () => this.onClose(),
        sendLocalReply: (reply) => this.onLocalReply(reply),
      },
    };
    this.slots = [];
    let failedClosed: Vm | undefined;
    for (const vm of filters) {
      if (vm.state === 'running') this.slots.push({ vm, contextId: 0 });
      else if (!vm.spec.failOpen) failedClosed ??= vm;
    }
    if (failedClosed) {
      this.planResponse({ ...directResponse(503, ''), details: 'wasm_fail_stream' });
      this.localReply = { statusCode: 503, details: 'wasm_fail_stream', body: EMPTY_BYTES, headers: [], grpcStatus: -1 };
      return;
    }
    this.planRequest(headers);
  }

  /** Runs until the stream pauses or ends; returns the outcome when it ended. */
  run(): StreamOutcome | undefined {
    if (this.running || this.outcome) return this.outcome;
    this.running = true;
    try {
      while (this.cursor < this.steps.length && this.paused === undefined && !this.reset) {
        const step = this.steps[this.cursor++]!;
        const generation = this.replyGeneration;
        const action = step.run();
        if (this.reset) break;
        if (generation !== this.replyGeneration) continue; // a local reply replaced the plan
        if (action !== Action.Continue && step.direction !== undefined) {
          if (this.continued.delete(step.direction)) continue;
          this.paused = step.direction;
        }
      }
    } finally {
      this.running = false;
    }
    if (this.paused === undefined && (this.reset || this.cursor >= this.steps.length)) this.finish();
    return this.outcome;
  }

  /** The outcome of a synchronous run: complete, reset, or paused (then `finished` settles later). */
  runSync(): StreamOutcome {
    return this.run() ?? { ...this.snapshot(), status: 'paused' };
  }

  // -- plan --------------------------------------------------------------------------------------

  private planRequest(headers: HeaderMap): void {
    const body = this.request.requestBody === undefined ? undefined : toBytes(this.request.requestBody);
    const trailers = this.request.requestTrailers?.length ? HeaderMap.fromFlat(this.request.requestTrailers) : undefined;
    const hasBody = body !== undefined && body.byteLength > 0;
    this.state.requestHeaders = headers;
    for (const slot of this.slots) {
      this.steps.push({
        direction: StreamType.Request,
        run: () => {
          if (slot.contextId === 0) slot.contextId = slot.vm.createStreamContext(this.state);
          return slot.vm.invoke(slot.contextId, 'proxy_on_request_headers', slot.contextId, headers.size, hasBody || trailers ? 0 : 1);
        },
      });
    }
    if (hasBody) {
      this.steps.push({ run: () => ((this.state.requestBody = body), Action.Continue) });
      for (const slot of this.slots) {
        this.steps.push({
          direction: StreamType.Request,
          run: () => slot.vm.invoke(slot.contextId, 'proxy_on_request_body', slot.contextId, this.state.requestBody?.byteLength ?? 0, trailers ? 0 : 1),
        });
      }
    }
    if (trailers) {
      this.steps.push({ run: () => ((this.state.requestTrailers = trailers), Action.Continue) });
      for (const slot of this.slots) {
        this.steps.push({
          direction: StreamType.Request,
          run: () => slot.vm.invoke(slot.contextId, 'proxy_on_request_trailers', slot.contextId, trailers.size),
        });
      }
    }
    this.steps.push({
      run: () => {
        this.planResponse(this.router(this.state));
        return Action.Continue;
      },
    });
  }

  /** Appends the response side: headers, body, trailers through the filters in reverse order. */
  private planResponse(response: RouteResponse): void {
    const body = response.body === undefined ? EMPTY_BYTES : toBytes(response.body);
    const trailers = response.trailers?.length ? HeaderMap.fromFlat(response.trailers) : undefined;
    const hasBody = body.byteLength > 0;
    const reversed = [...this.slots].reverse().filter((s) => s.contextId !== 0);
    this.steps.push({
      run: () => {
        this.responseStarted = true;
        this.state.responseHeaders = HeaderMap.fromFlat(response.headers);
        this.state.info.responseCodeDetails = response.details ?? 'via_upstream';
        return Action.Continue;
      },
    });
    for (const slot of reversed) {
      this.steps.push({
        direction: StreamType.Response,
        run: () => slot.vm.invoke(slot.contextId, 'proxy_on_response_headers', slot.contextId,
          this.state.responseHeaders?.size ?? 0, hasBody || trailers ? 0 : 1),
      });
    }
    if (hasBody) {
      this.steps.push({ run: () => ((this.state.responseBody = body), Action.Continue) });
      for (const slot of reversed) {
        this.steps.push({
          direction: StreamType.Response,
          run: () => slot.vm.invoke(slot.contextId, 'proxy_on_response_body', slot.contextId, this.state.responseBody?.byteLength ?? 0, trailers ? 0 : 1),
        });
      }
    }
    if (trailers) {
      this.steps.push({ run: () => ((this.state.responseTrailers = trailers), Action.Continue) });
      for (const slot of reversed) {
        this.steps.push({
          direction: StreamType.Response,
          run: () => slot.vm.invoke(slot.contextId, 'proxy_on_response_trailers', slot.contextId, trailers.size),
        });
      }
    }
  }

  // -- hooks (called after the VM call that asked for them) --------------------------------------

  private onContinue(type: StreamType): void {
    if (this.paused === type) {
      this.paused = undefined;
      this.run();
    } else if (!this.outcome) {
      this.continued.add(type);
    }
  }

  private onClose(): void {
    if (this.outcome) return;
    this.reset = true;
    if (!this.running) {
      this.paused = undefined;
      this.run();
    }
  }

  private onLocalReply(reply: LocalReply): void {
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
    this.steps = this.steps.slice(0, this.cursor);
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
    state.info.durationNs = BigInt(Date.now()) * 1_000_000n - state.info.startTimeNs;
    const created = this.slots.filter((s) => s.contextId !== 0);
    for (const slot of created) slot.vm.invoke(slot.contextId, 'proxy_on_log', slot.contextId);
    for (const slot of created) {
      slot.vm.invoke(slot.contextId, 'proxy_on_done', slot.contextId);
      slot.vm.deleteContext(slot.contextId);
    }
    state.hooks = undefined;
    this.outcome = { ...this.snapshot(), status: this.reset ? 'reset' : 'complete' };
    this.resolveFinished(this.outcome);
  }

  private snapshot(): Omit<StreamOutcome, 'status'> {
    const s = this.state;
    return {
      requestHeaders: s.requestHeaders?.toFlat() ?? [],
      responseHeaders: s.responseHeaders?.toFlat() ?? [],
      responseBody: s.responseBody ?? EMPTY_BYTES,
      responseTrailers: s.responseTrailers?.toFlat() ?? [],
      ...(this.localReply ? { localReply: this.localReply } : {}),
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
  if (Array.isArray(headers)) return [...(headers as FlatPairs)];
  return Object.entries(headers).flat();
}

export function requestFromInput(input: StreamInput): StreamRequest {
  return {
    requestHeaders: [
      ':authority', input.authority ?? 'example.com', ':path', input.path ?? '/', ':method', input.method ?? 'GET',
      ':scheme', input.scheme ?? 'http', ...flat(input.headers),
    ],
    ...(input.body !== undefined ? { requestBody: input.body } : {}),
    ...(input.trailers ? { requestTrailers: input.trailers } : {}),
  };
}

export function routerFromInput(input: StreamInput): Router {
  const r = input.response ?? {};
  return () => {
    const base = directResponse(r.status ?? 200, r.body ?? 'OK');
    return { ...base, headers: [...base.headers, ...(r.headers ?? [])], ...(r.trailers ? { trailers: r.trailers } : {}) };
  };
}

/** Drives one whole stream through the filters synchronously (no I/O). */
export function runStream(filters: Vm | readonly Vm[], input: StreamInput = {}): StreamOutcome {
  const list = Array.isArray(filters) ? (filters as readonly Vm[]) : [filters as Vm];
  return new HttpStream(list, requestFromInput(input), routerFromInput(input)).runSync();
}
