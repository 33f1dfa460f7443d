// A loopback HTTP proxy that sits between the receiver and moto and misbehaves on cue: the first
// requests get the planned faults (an error answer, a delay longer than the caller's timeout),
// later ones pass through unchanged. It counts what it saw so tests can tie counters to calls,
// and keeps what it forwarded so a test can read the exact datums sent (with no faults planned
// it is a recorder).

import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export type Fault =
  /** Answer this instead of forwarding. */
  | { readonly kind: 'answer'; readonly status: number; readonly body: string; readonly headers?: Readonly<Record<string, string>> }
  /**
   * Hold the request without answering, then drop the connection; never forwarded, so a caller
   * that timed out and retried does not get its data stored twice.
   */
  | { readonly kind: 'stall'; readonly ms: number }
  /**
   * Forward at once (the target stores it) but hold the answer this long: a caller that times
   * out meanwhile does not know its call was applied.
   */
  | { readonly kind: 'slow'; readonly ms: number };

export interface ForwardedRequest {
  /** The body as UTF-8 text (gunzipped when it came with Content-Encoding: gzip). */
  readonly body: string;
  readonly status: number;
  /** The bytes as they arrived, and their Content-Encoding (undefined: none). */
  readonly raw: Buffer;
  readonly contentEncoding: string | undefined;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

export interface FaultProxy {
  readonly port: number;
  /** Requests received, faulted or not. */
  readonly received: number;
  /** Requests forwarded to the target and answered by it. */
  readonly passedThrough: number;
  /** Every forwarded request body with the target's answer status, in order. */
  readonly forwarded: readonly ForwardedRequest[];
  /** Stalled requests whose caller closed the connection before the stall ended (it timed out). */
  readonly abandoned: number;
  /** Drops the faults not used yet: from now on every request passes through. */
  clearFaults(): void;
  close(): Promise<void>;
}

/** AWS JSON 1.0 error answer, as CloudWatch sends it (x-amzn-query-error carries the Query code). */
export function awsJsonError(status: number, type: string, message: string): Fault {
  return {
    kind: 'answer',
    status,
    body: JSON.stringify({ __type: `com.amazonaws.cloudwatch#${type}`, message }),
    headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-query-error': `${type};Sender` },
  };
}

export interface FaultProxyOptions {
  /** Listen on this loopback port (default: one the OS picks), e.g. one the caller kept closed so far. */
  readonly port?: number;
}

export async function startFaultProxy(
  target: { host: string; port: number },
  plan: readonly Fault[],
  options: FaultProxyOptions = {},
): Promise<FaultProxy> {
  const faults = [...plan];
  let received = 0;
  let passedThrough = 0;
  let abandoned = 0;
  const forwarded: ForwardedRequest[] = [];
  const sockets = new Set<import('node:net').Socket>();

  const forward = (req: IncomingMessage, body: Buffer, res: ServerResponse, answerAfterMs = 0): void => {
    const upstream = request(
      { host: target.host, port: target.port, method: req.method, path: req.url, headers: req.headers, agent: false },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          passedThrough++;
          const contentEncoding = req.headers['content-encoding'];
          let text: string;
          try {
            text = (contentEncoding === 'gzip' ? gunzipSync(body) : body).toString('utf8');
          } catch (error) {
            text = `<not gzip: ${error instanceof Error ? error.message : String(error)}>`;
          }
          forwarded.push({ body: text, status: answer.statusCode ?? 0, raw: body, contentEncoding, headers: { ...req.headers } });
          const reply = (): void => {
            if (res.destroyed) return;
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            res.end(Buffer.concat(chunks));
          };
          if (answerAfterMs > 0) setTimeout(reply, answerAfterMs);
          else reply();
        });
      },
    );
    upstream.on('error', () => res.destroy());
    upstream.end(body);
  };

  const server: Server = createServer((req, res) => {
    received++;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const fault = faults.shift();
      if (fault === undefined) forward(req, body, res);
      else if (fault.kind === 'slow') forward(req, body, res, fault.ms);
      else if (fault.kind === 'answer') {
        res.writeHead(fault.status, { ...fault.headers, 'content-length': String(Buffer.byteLength(fault.body)) });
        res.end(fault.body);
      } else {
        let stallOver = false;
        const timer = setTimeout(() => {
          stallOver = true;
          res.destroy();
        }, fault.ms);
        res.once('close', () => {
          if (stallOver) return;
          clearTimeout(timer);
          abandoned++;
        });
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    get received() {
      return received;
    },
    get passedThrough() {
      return passedThrough;
    },
    forwarded,
    get abandoned() {
      return abandoned;
    },
    clearFaults: () => {
      faults.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
