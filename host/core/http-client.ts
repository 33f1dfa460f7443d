// proxy_http_call's transport: one real HTTP/1.1 request to a cluster's upstream, made the way
// Envoy's async client makes it (`:authority` becomes Host, `:method`/`:path` from the
// pseudo-headers, content-length from the body, the timeout covering the whole exchange).

import http from 'node:http';
import https from 'node:https';
import type { FlatPairs } from '../../src/abi/host.js';
import { EMPTY_BYTES, type Bytes } from './bytes.js';

export interface Upstream {
  readonly host: string;
  readonly port: number;
  /** The cluster's transport_socket is TLS (SNI kept for the handshake). */
  readonly tls?: boolean;
  readonly sni?: string;
  /**
   * Lean mode (tests, benchmarks): an in-memory upstream that answers calls itself, without a
   * socket (host and port are then only labels). Must call `done` on a later turn, once.
   */
  readonly handle?: (request: HttpCallRequest, done: (outcome: HttpCallOutcome) => void) => () => void;
}

export interface HttpCallRequest {
  readonly upstream: Upstream;
  readonly headers: FlatPairs;
  readonly body: Bytes;
  readonly trailers: FlatPairs;
  /** 0 = no timeout, as in Envoy. */
  readonly timeoutMs: number;
}

export interface HttpCallResponse {
  /** Lower-cased, `:status` first, like Envoy's response header map. */
  readonly headers: FlatPairs;
  readonly body: Bytes;
  readonly trailers: FlatPairs;
}

/**
 * What went wrong with a call at the transport: `timeout` (no response headers within the
 * timeout), `connection` (the connection could not be made), `disconnect` (the connection went
 * away before the response headers), `reset` (it went away after them).
 */
export type HttpCallFailure = 'timeout' | 'connection' | 'disconnect' | 'reset';

/**
 * What the plugin sees. A failure before the response headers is not a failed call in Envoy:
 * its router answers the call itself (`envoyLocalReply`), and the outcome says so in
 * `localReply`. Only a reset after the headers is delivered as a failure (0 headers, 0 body).
 */
export type HttpCallOutcome =
  | { readonly ok: true; readonly response: HttpCallResponse; readonly localReply?: { readonly reason: HttpCallFailure; readonly detail: string } }
  | { readonly ok: false; readonly reason: HttpCallFailure; readonly detail: string };

/** Envoy 1.40's router texts for its own answers to an async (http_call) request. */
const ENVOY_TIMEOUT_BODY = 'upstream request timeout';
const RESET_BEFORE_HEADERS = 'upstream connect error or disconnect/reset before headers. reset reason: ';

/**
 * The response Envoy's router gives a proxy_http_call that failed before the response headers:
 * 504 `upstream request timeout` for a timeout; 503 `upstream connect error or disconnect/reset
 * before headers. reset reason: …` for a refused connection (`remote connection failure`,
 * the exact text Envoy 1.40 gave) or a connection lost before the headers (`connection
 * termination`, also what calls in flight get when Envoy shuts down). Headers as Envoy's local
 * replies have them (:status, content-length, content-type text/plain; the bodies and statuses
 * were seen in 1.40, the header set was not checked). `undefined` for `reset`
 * (after the headers: Envoy reports a failed call).
 */
export function envoyLocalReply(reason: HttpCallFailure): HttpCallResponse | undefined {
  let status: number;
  let text: string;
  if (reason === 'timeout') {
    status = 504;
    text = ENVOY_TIMEOUT_BODY;
  } else if (reason === 'connection') {
    status = 503;
    // Envoy 1.40 over plain TCP, seen: no ", transport failure reason: …" part (that text comes
    // from a transport socket, e.g. a failed TLS handshake, which is not modelled here).
    text = `${RESET_BEFORE_HEADERS}remote connection failure`;
  } else if (reason === 'disconnect') {
    status = 503;
    text = `${RESET_BEFORE_HEADERS}connection termination`;
  } else {
    return undefined;
  }
  const body = new Uint8Array(Buffer.from(text, 'utf8'));
  return { headers: [':status', String(status), 'content-length', String(body.byteLength), 'content-type', 'text/plain'], body, trailers: [] };
}

/** Envoy's view of a transport failure: its local reply where it makes one, else the failure. */
function asEnvoy(failure: { reason: HttpCallFailure; detail: string }): HttpCallOutcome {
  const response = envoyLocalReply(failure.reason);
  return response ? { ok: true, response, localReply: failure } : { ok: false, ...failure };
}

/** Socket errors meaning the connection was never made (anything else before headers: dropped). */
const CONNECT_ERRORS: ReadonlySet<string> = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL']);

/**
 * Starts the call; `done` runs once on a later event-loop turn. Returns a cancel function.
 * Over a socket, failures before the response headers come back as Envoy's local replies; a lean
 * `handle` reports its outcome as the plugin is to see it (it may answer `envoyLocalReply(…)`).
 */
export function sendHttpCall(request: HttpCallRequest, done: (outcome: HttpCallOutcome) => void): () => void {
  if (request.upstream.handle !== undefined) return request.upstream.handle(request, done);
  let finished = false;
  let headersSeen = false;
  let connected = false;
  const finish = (outcome: HttpCallOutcome): void => {
    if (finished) return;
    finished = true;
    if (timer) clearTimeout(timer);
    done(outcome);
  };

  const headers: Record<string, string | string[]> = {};
  let method = 'GET';
  let path = '/';
  let authority = '';
  for (let i = 0; i + 1 < request.headers.length; i += 2) {
    const key = request.headers[i]!.toLowerCase();
    const value = request.headers[i + 1]!;
    if (key === ':method') method = value;
    else if (key === ':path') path = value;
    else if (key === ':authority') authority = value;
    else if (key.startsWith(':') || key === 'host' || key === 'content-length') continue;
    else {
      const prev = headers[key];
      headers[key] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
    }
  }
  headers.host = authority;
  if (request.body.byteLength > 0) headers['content-length'] = String(request.body.byteLength);
  const hasTrailers = request.trailers.length > 0;
  if (hasTrailers) headers['transfer-encoding'] = 'chunked';

  const { upstream } = request;
  const options: https.RequestOptions = {
    host: upstream.host, port: upstream.port, method, path, headers, agent: false,
    ...(upstream.tls ? { servername: upstream.sni ?? upstream.host, rejectUnauthorized: false } : {}),
  };
  const req = (upstream.tls ? https : http).request(options, (res) => {
    headersSeen = true;
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('error', (err) => finish({ ok: false, reason: 'reset', detail: err.message }));
    res.on('end', () => {
      const responseHeaders: FlatPairs = [':status', String(res.statusCode ?? 0)];
      for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
        responseHeaders.push(res.rawHeaders[i]!.toLowerCase(), res.rawHeaders[i + 1]!);
      }
      const trailers: FlatPairs = [];
      for (let i = 0; i + 1 < res.rawTrailers.length; i += 2) {
        trailers.push(res.rawTrailers[i]!.toLowerCase(), res.rawTrailers[i + 1]!);
      }
      const body = chunks.length === 0 ? EMPTY_BYTES : new Uint8Array(Buffer.concat(chunks));
      finish({ ok: true, response: { headers: responseHeaders, body, trailers } });
    });
  });
  req.on('error', (err: NodeJS.ErrnoException) => {
    if (headersSeen) return; // the response's own 'error' / 'end' settles it
    const refused = err.code !== undefined && CONNECT_ERRORS.has(err.code) && !connected;
    finish(refused
      ? asEnvoy({ reason: 'connection', detail: err.message })
      : asEnvoy({ reason: 'disconnect', detail: err.message }));
  });
  req.on('socket', (socket) => socket.once('connect', () => { connected = true; }));

  let timer: NodeJS.Timeout | undefined;
  if (request.timeoutMs > 0) {
    timer = setTimeout(() => {
      // Envoy's router times out the whole exchange; after the headers it can only reset.
      const detail = `no response within ${request.timeoutMs} ms`;
      finish(headersSeen ? { ok: false, reason: 'reset', detail } : asEnvoy({ reason: 'timeout', detail }));
      req.destroy();
    }, request.timeoutMs);
  }

  if (request.body.byteLength > 0) req.write(request.body);
  if (hasTrailers) {
    const trailerObject: Record<string, string> = {};
    for (let i = 0; i + 1 < request.trailers.length; i += 2) trailerObject[request.trailers[i]!] = request.trailers[i + 1]!;
    req.addTrailers(trailerObject);
  }
  req.end();

  return () => {
    if (finished) return;
    finished = true;
    if (timer) clearTimeout(timer);
    req.destroy();
  };
}
