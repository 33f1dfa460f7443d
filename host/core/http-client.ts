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

/** Why a call produced no response (Envoy reports all of these as 0 headers, 0 body). */
export type HttpCallFailure = 'timeout' | 'connection' | 'reset';

export type HttpCallOutcome =
  | { readonly ok: true; readonly response: HttpCallResponse }
  | { readonly ok: false; readonly reason: HttpCallFailure; readonly detail: string };

/** Starts the call; `done` runs once on a later event-loop turn. Returns a cancel function. */
export function sendHttpCall(request: HttpCallRequest, done: (outcome: HttpCallOutcome) => void): () => void {
  if (request.upstream.handle !== undefined) return request.upstream.handle(request, done);
  let finished = false;
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
  req.on('error', (err) => finish({ ok: false, reason: 'connection', detail: err.message }));

  let timer: NodeJS.Timeout | undefined;
  if (request.timeoutMs > 0) {
    timer = setTimeout(() => {
      finish({ ok: false, reason: 'timeout', detail: `no response within ${request.timeoutMs} ms` });
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
