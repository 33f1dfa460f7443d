// The HTTP front end (one node:http server per listener, loopback only) that runs each request
// through the listener's Wasm filter chain on one of the workers, answering from the route's
// direct_response; and the admin server with GET /stats (plugin metrics, Envoy's text format).

import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FlatPairs } from '../src/abi/host.js';
import { LogLevel } from '../src/abi/table.js';
import { directResponse, HttpStream, type RouteResponse } from './core/stream.js';
import type { HostRuntime } from './core/runtime.js';
import type { StreamState } from './core/stream-state.js';
import type { Vm } from './core/vm.js';
import type { ListenerConfig, RouteConfig } from './envoy-config.js';

export interface RunningServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Hop-by-hop headers Envoy does not pass to filters. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te']);

function domainMatches(domain: string, authority: string): boolean {
  if (domain === '*') return true;
  const host = authority.toLowerCase();
  const d = domain.toLowerCase();
  if (d.startsWith('*.')) return host.endsWith(d.slice(1)) || host.split(':')[0]!.endsWith(d.slice(1));
  return host === d || host.split(':')[0] === d;
}

/** The first route whose virtual host and match fit, answered with its direct response. */
export function routeRequest(routes: readonly RouteConfig[], state: StreamState): RouteResponse {
  const authority = state.requestHeaders?.get(':authority') ?? '';
  const path = state.requestHeaders?.get(':path') ?? '/';
  for (const route of routes) {
    if (!route.domains.some((d) => domainMatches(d, authority))) continue;
    if (route.path !== undefined ? path.split('?')[0] !== route.path : !path.startsWith(route.prefix ?? '/')) continue;
    if (route.directResponse) return directResponse(route.directResponse.status, route.directResponse.body);
  }
  return { ...directResponse(404, ''), details: 'route_not_found' };
}

function requestHeaders(req: http.IncomingMessage): FlatPairs {
  const headers: FlatPairs = [
    ':authority', req.headers.host ?? '', ':path', req.url ?? '/', ':method', req.method ?? 'GET', ':scheme', 'http',
  ];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    if (name === 'host' || HOP_BY_HOP.has(name)) continue;
    headers.push(name, req.rawHeaders[i + 1]!);
  }
  // What Envoy's connection manager adds by default before the filters run.
  if (!req.headers['x-forwarded-proto']) headers.push('x-forwarded-proto', 'http');
  if (!req.headers['x-request-id']) headers.push('x-request-id', randomUUID());
  return headers;
}

function listen(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/**
 * Serves a listener: requests are spread round-robin over the workers; each worker has its own
 * VM per Wasm filter (chain order as configured).
 */
export async function startListener(
  listener: ListenerConfig, workers: readonly (readonly Vm[])[], runtime: HostRuntime, port: number, host = '127.0.0.1',
): Promise<RunningServer> {
  let next = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const filters = workers.length === 0 ? [] : workers[next++ % workers.length]!;
      const body = chunks.length === 0 ? undefined : new Uint8Array(Buffer.concat(chunks));
      const trailers: FlatPairs = [];
      for (let i = 0; i + 1 < req.rawTrailers.length; i += 2) trailers.push(req.rawTrailers[i]!.toLowerCase(), req.rawTrailers[i + 1]!);
      const stream = new HttpStream(filters, {
        requestHeaders: requestHeaders(req),
        ...(body ? { requestBody: body } : {}),
        ...(trailers.length ? { requestTrailers: trailers } : {}),
      }, (state) => routeRequest(listener.routes, state), {
        protocol: `HTTP/${req.httpVersion}`,
        sourceAddress: req.socket.remoteAddress ?? '127.0.0.1', sourcePort: req.socket.remotePort ?? 0,
        destinationAddress: req.socket.localAddress ?? '127.0.0.1', destinationPort: req.socket.localPort ?? 0,
      });
      stream.run();
      stream.finished.then((outcome) => {
        if (outcome.status === 'reset') {
          res.destroy();
          return;
        }
        let status = 200;
        const headers: [string, string][] = [];
        for (let i = 0; i + 1 < outcome.responseHeaders.length; i += 2) {
          const name = outcome.responseHeaders[i]!;
          if (name === ':status') status = Number(outcome.responseHeaders[i + 1]);
          else if (!name.startsWith(':') && !HOP_BY_HOP.has(name)) headers.push([name, outcome.responseHeaders[i + 1]!]);
        }
        res.writeHead(status, headers.flat());
        res.end(outcome.responseBody);
      }, (err: unknown) => {
        runtime.hostLog(LogLevel.Error, `stream failed: ${err instanceof Error ? err.stack : String(err)}`);
        res.destroy();
      });
    });
  });
  const bound = await listen(server, port, host);
  return { port: bound, close: () => closeServer(server) };
}

/** Admin: GET /stats (optionally ?filter=REGEX) in Envoy's text format, GET /ready. */
export async function startAdmin(runtime: HostRuntime, port: number, host = '127.0.0.1'): Promise<RunningServer> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin');
    if (req.method === 'GET' && url.pathname === '/stats') {
      let text = runtime.metrics.toText();
      const filter = url.searchParams.get('filter');
      if (filter) {
        let re: RegExp;
        try {
          re = new RegExp(filter);
        } catch {
          res.writeHead(400, { 'content-type': 'text/plain' }).end(`invalid filter regex '${filter}'\n`);
          return;
        }
        text = text.split('\n').filter((line) => line && re.test(line.split(':')[0]!)).map((l) => `${l}\n`).join('');
      }
      res.writeHead(200, { 'content-type': 'text/plain; charset=UTF-8' }).end(text);
    } else if (req.method === 'GET' && url.pathname === '/ready') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('LIVE\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found (try GET /stats)\n');
    }
  });
  const bound = await listen(server, port, host);
  return { port: bound, close: () => closeServer(server) };
}
