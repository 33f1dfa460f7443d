// THE ONE ALLOWED FAKE: EC2's instance metadata service (IMDSv2) and the ECS / EKS Pod Identity
// container credentials endpoint cannot run here, so this loopback node:http server serves their
// documents. The credentials it hands out are real moto STS sessions (createRoleSessions), so
// moto still verifies every signature and its session token; only the Expiration the plugin
// sees is short, to exercise the refresh.
//
// IMDSv2 as AWS documents it: PUT /latest/api/token needs x-aws-ec2-metadata-token-ttl-seconds
// and is refused with an X-Forwarded-For header; every GET must carry the issued token in
// x-aws-ec2-metadata-token, else 401. The container endpoint checks `Authorization` when a
// token is expected. Credential documents are answered from a script, then from `fallback`.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { AwsCredentials } from './aws.js';

export type SessionCredentials = AwsCredentials & { readonly sessionToken: string };

export type CredentialsAnswer =
  /** A valid document for these credentials, expiring `expiresInMs` from now (may be negative). */
  | { readonly kind: 'credentials'; readonly credentials: SessionCredentials; readonly expiresInMs: number }
  | { readonly kind: 'status'; readonly status: number; readonly body?: string }
  /** Any body with status 200 (malformed or unknown documents). */
  | { readonly kind: 'raw'; readonly body: string }
  /** No answer: the caller's timeout must fire; the connection is dropped at close. */
  | { readonly kind: 'hang' };

export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  /** What the credentials path was answered with (undefined for token and role requests). */
  readonly answer?: CredentialsAnswer['kind'];
}

export interface FakeCredentialsEndpoint {
  readonly port: number;
  readonly requests: readonly SeenRequest[];
  /** Credential documents served (any answer on the credentials path). */
  readonly documentsServed: number;
  /** The IMDS session tokens handed out. */
  readonly imdsTokens: readonly string[];
  close(): Promise<void>;
}

export interface FakeCredentialsOptions {
  readonly role?: string;
  /** Path of the container endpoint (e.g. /v1/credentials); IMDS paths are always served. */
  readonly containerPath?: string;
  /** Expected container Authorization value; other values get 401. */
  readonly authorizationToken?: string;
  readonly script: readonly CredentialsAnswer[];
  readonly fallback: CredentialsAnswer;
}

const TOKEN_PATH = '/latest/api/token';
const ROLE_PATH = '/latest/meta-data/iam/security-credentials/';

export async function startFakeCredentials(options: FakeCredentialsOptions): Promise<FakeCredentialsEndpoint> {
  const role = options.role ?? 'acpw-instance-role';
  const script = [...options.script];
  const requests: SeenRequest[] = [];
  const imdsTokens: string[] = [];
  const sockets = new Set<Socket>();
  let documentsServed = 0;

  const answerDocument = (res: ServerResponse, seen: Omit<SeenRequest, 'answer'>): void => {
    const answer = script.shift() ?? options.fallback;
    documentsServed++;
    requests.push({ ...seen, answer: answer.kind });
    if (answer.kind === 'hang') return;
    if (answer.kind === 'status') return void res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body ?? '');
    if (answer.kind === 'raw') return void res.writeHead(200, { 'content-type': 'application/json' }).end(answer.body);
    const { accessKeyId, secretAccessKey, sessionToken } = answer.credentials;
    const now = Date.now();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
      Code: 'Success',
      LastUpdated: new Date(now).toISOString(),
      Type: 'AWS-HMAC',
      AccessKeyId: accessKeyId,
      SecretAccessKey: secretAccessKey,
      Token: sessionToken,
      Expiration: new Date(now + answer.expiresInMs).toISOString(),
    }, null, 2));
  };

  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const path = req.url ?? '/';
      const seen = { method: req.method ?? '', path, headers: req.headers };
      if (path === TOKEN_PATH) {
        requests.push(seen);
        const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
        if (req.method !== 'PUT' || req.headers['x-forwarded-for'] !== undefined || !(ttl >= 1 && ttl <= 21600)) {
          return void res.writeHead(400).end();
        }
        const token = `imds-token-${imdsTokens.length}-${Math.random().toString(36).slice(2)}`;
        imdsTokens.push(token);
        return void res.writeHead(200, { 'x-aws-ec2-metadata-token-ttl-seconds': String(ttl) }).end(token);
      }
      if (path.startsWith(ROLE_PATH)) {
        if (!imdsTokens.includes(String(req.headers['x-aws-ec2-metadata-token']))) {
          requests.push(seen);
          return void res.writeHead(401).end();
        }
        if (path === ROLE_PATH) {
          requests.push(seen);
          return void res.writeHead(200).end(role);
        }
        if (path === `${ROLE_PATH}${role}`) return answerDocument(res, seen);
        requests.push(seen);
        return void res.writeHead(404).end();
      }
      if (options.containerPath !== undefined && path === options.containerPath) {
        if (options.authorizationToken !== undefined && req.headers.authorization !== options.authorizationToken) {
          requests.push(seen);
          return void res.writeHead(401, { 'content-type': 'application/json' }).end('{"code":"InvalidToken","message":"bad authorization token"}');
        }
        return answerDocument(res, seen);
      }
      requests.push(seen);
      res.writeHead(404).end();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    get documentsServed() {
      return documentsServed;
    },
    imdsTokens,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
