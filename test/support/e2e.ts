// The end-to-end harness: REAL Envoy (scripts/lib/envoy.ts, `--concurrency 2`) running the BUILT
// sender.wasm / receiver.wasm from the repo's envoy.yaml with the dev overlay: the CloudWatch
// cluster re-pointed at a loopback server over plain HTTP (moto, or a fault proxy in front of
// it), plugin settings merged over envoy.yaml's. Envoy's log is kept for assertions; the plugins'
// counters are read from its admin /stats. Tests in test/e2e/ use it; each file starts its moto.
//
//   const e2e = await startE2e({ cloudwatch: `127.0.0.1:${moto.port}` });
//   await e2e.send({ host: 'example.com', path: '/test' });      // → 200
//   await e2e.counter('acpw.sender.requests_recorded');
//   await e2e.close();

import { request } from 'node:http';
import { connect as connectHttp2 } from 'node:http2';
import {
  devOverlay,
  loadEnvoyYaml,
  startEnvoy,
  type Bootstrap,
  type EnvoyExit,
  type Route,
  type RunningEnvoy,
} from '../../scripts/lib/envoy.js';
import { DEFAULT_REGION } from './aws.js';

export const CLOUDWATCH_CLUSTER = 'cloudwatch_api';
/** Credentials for moto without authentication (it accepts any key then). */
export const TEST_CREDENTIALS = { accessKeyId: 'ACPWE2ETESTKEYID0000', secretAccessKey: 'e2e-test-secret' } as const;
/** Both plugins log this once configured (twice each: Envoy's configuration canary VM, then the real one). */
export const READY_LOGS = ['receiver: configured', 'sender: configured'] as const;

/** Routes that give the listener some status variety (first match wins; `path` ignores the query). */
export const VARIED_ROUTES: readonly Route[] = [
  { path: '/missing', status: 404, body: 'not here' },
  { prefix: '/fail', status: 503, body: 'down' },
  { prefix: '/', status: 200, body: 'OK' },
];

const SENDER_DEFAULTS = { receiver_vm_id: 'receiver', match_hosts: ['example.com'] };

/** The receiver's test configuration: moto's region, the endpoint as `:authority`, 1 s publishes. */
export function receiverConfig(cloudwatch: string, overrides: Readonly<Record<string, unknown>> = {}): Record<string, unknown> {
  return {
    cloud_watch_region: DEFAULT_REGION,
    cloud_watch_cluster_name: CLOUDWATCH_CLUSTER,
    cloud_watch_endpoint: cloudwatch,
    metric_namespace: 'AWSCloudWatchProxyWasm-e2e',
    publish_interval_millisecond: 1000,
    ...overrides,
  };
}

export function senderConfig(overrides: Readonly<Record<string, unknown>> = {}): Record<string, unknown> {
  return { ...SENDER_DEFAULTS, ...overrides };
}

export function testCredentialsEnv(): Record<string, string> {
  return { ACPW_AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, ACPW_AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey };
}

function parseEndpoint(hostPort: string): { host: string; port: number } {
  const match = /^(.+):(\d+)$/.exec(hostPort);
  if (!match) throw new Error(`cloudwatch must be HOST:PORT, got ${hostPort}`);
  return { host: match[1]!, port: Number(match[2]) };
}

export interface E2eOptions {
  /** The bootstrap file the overlay starts from (default envoy.yaml; e.g. envoy-iam.yaml). */
  readonly yaml?: string;
  /** Where cluster cloudwatch_api points: 'HOST:PORT' (moto, a fault proxy, a closed port). */
  readonly cloudwatch: string;
  /** Receiver configuration keys over receiverConfig()'s (region, cluster, endpoint, 1 s publish). */
  readonly receiver?: Readonly<Record<string, unknown>>;
  /** Sender configuration keys over { receiver_vm_id, match_hosts: [example.com] }. */
  readonly sender?: Readonly<Record<string, unknown>>;
  /** The exact configuration text of a plugin (bypasses the merge), e.g. an invalid one. */
  readonly rawConfig?: { readonly sender?: string; readonly receiver?: string };
  readonly routes?: readonly Route[];
  /** Envoy worker threads = sender VMs (default 2). */
  readonly concurrency?: number;
  /** Envoy's environment, read through host_env_keys (default: TEST_CREDENTIALS). */
  readonly env?: Readonly<Record<string, string>>;
  /** A release from ENVOY_RELEASE_LINES (default: the pinned one). */
  readonly version?: string;
  /** Further edits of the bootstrap (e.g. an extra Wasm service). */
  readonly edit?: (bootstrap: Bootstrap) => void;
  /** Log lines to wait for before the harness is handed out (default READY_LOGS). */
  readonly waitForLog?: readonly string[];
  /** Envoy's wasm component log level (default info; debug shows the receiver's per-publish line). */
  readonly wasmLogLevel?: 'trace' | 'debug' | 'info' | 'warning' | 'error';
}

export interface E2e {
  readonly envoy: RunningEnvoy;
  /** Envoy's whole log so far. */
  log(): string;
  /** Log lines containing `text`. */
  logLines(text: string | RegExp): string[];
  /** A plugin counter from /stats (summed over VMs); 0 when never defined. */
  counter(name: string): Promise<number>;
  /** One request through the listener; resolves with the status. */
  send(req: FrontEndRequest): Promise<number>;
  /** `count` requests (request `i` from `make(i)`) over HTTP/2 connections; statuses counted. */
  sendMany(count: number, make: (i: number) => FrontEndRequest, options?: ManyOptions): Promise<Map<number, number>>;
  /** Stops Envoy (SIGTERM) and resolves with how it exited. */
  close(): Promise<EnvoyExit>;
}

export interface FrontEndRequest {
  readonly host: string;
  readonly path: string;
  readonly method?: string;
}

/** The bootstrap a test runs: envoy.yaml + dev overlay with the test's settings. */
export function e2eBootstrap(options: E2eOptions): Bootstrap {
  return devOverlay(loadEnvoyYaml(options.yaml), {
    cloudwatch: parseEndpoint(options.cloudwatch),
    receiver: options.rawConfig?.receiver === undefined ? receiverConfig(options.cloudwatch, options.receiver) : undefined,
    sender: options.rawConfig?.sender === undefined ? senderConfig(options.sender) : undefined,
    rawConfig: options.rawConfig,
    routes: options.routes,
    edit: options.edit,
  });
}

export async function startE2e(options: E2eOptions): Promise<E2e> {
  const envoy = await startEnvoy({
    config: e2eBootstrap(options),
    concurrency: options.concurrency ?? 2,
    env: options.env ?? testCredentialsEnv(),
    version: options.version,
    componentLogLevel: `wasm:${options.wasmLogLevel ?? 'info'}`,
    waitForLog: options.waitForLog ?? READY_LOGS,
  });
  return {
    envoy,
    log: () => envoy.log(),
    logLines: (text) => envoy.logLines(text),
    counter: (name) => envoy.counter(name),
    send: (req) => sendToFrontEnd(envoy.listenerPort(), req),
    sendMany: (count, make, many) => sendManyToFrontEnd(envoy.listenerPort(), count, make, many),
    close: () => envoy.stop('SIGTERM'),
  };
}

/** node:http rather than fetch: fetch does not let a caller set the Host header. */
export function sendToFrontEnd(port: number, req: FrontEndRequest): Promise<number> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      { host: '127.0.0.1', port, path: req.path, method: req.method ?? 'GET', headers: { host: req.host }, agent: false },
      (response) => {
        response.resume();
        response.once('end', () => resolve(response.statusCode ?? 0));
      },
    );
    outgoing.once('error', reject);
    outgoing.end();
  });
}

export interface ManyOptions {
  /** TCP connections (Envoy spreads connections, not streams, over its workers); default 2. */
  readonly connections?: number;
  /** Concurrent streams per connection; default 16. */
  readonly streams?: number;
}

/**
 * Many requests at a bounded concurrency, as a load test's client would send them. HTTP/2 (the
 * listener's codec is AUTO): node:http's HTTP/1.1 client costs ~1 ms a request on a loaded
 * 2-core machine, multiplexed streams a fraction of that, so 50,000 requests take seconds.
 */
export async function sendManyToFrontEnd(
  port: number,
  count: number,
  make: (i: number) => FrontEndRequest,
  { connections = 2, streams = 16 }: ManyOptions = {},
): Promise<Map<number, number>> {
  const sessions = Array.from({ length: connections }, () => connectHttp2(`http://127.0.0.1:${port}`));
  const statuses = new Map<number, number>();
  let next = 0;
  const one = (session: ReturnType<typeof connectHttp2>, req: FrontEndRequest): Promise<void> =>
    new Promise((resolve, reject) => {
      const stream = session.request({ ':method': req.method ?? 'GET', ':path': req.path, ':authority': req.host });
      stream.once('response', (headers) => {
        const status = Number(headers[':status'] ?? 0);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      });
      stream.once('error', reject);
      stream.once('end', resolve);
      stream.resume();
      stream.end();
    });
  try {
    await Promise.all(sessions.flatMap((session) => Array.from({ length: streams }, async () => {
      while (next < count) await one(session, make(next++));
    })));
  } finally {
    for (const session of sessions) session.close();
  }
  return statuses;
}

/**
 * Polls `probe` until it returns a value `done` accepts, or the deadline passes; returns the last
 * value either way so the caller's assertion shows what was observed.
 */
export async function pollUntil<T>(
  probe: () => T | Promise<T>,
  done: (value: T) => boolean,
  { timeoutMs = 20_000, intervalMs = 100 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await probe();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    value = await probe();
  }
  return value;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A query window around now wide enough for every datum a test publishes: datums carry the start
 * of their (epoch-aligned) publish window, up to one interval in the past.
 */
export function queryWindow(publishIntervalMs = 1000): { start: number; end: number } {
  const now = Math.floor(Date.now() / 1000);
  return { start: now - 600 - Math.ceil(publishIntervalMs / 1000), end: now + 600 };
}

// The local-host harness, for what tests the local host itself (shutdown, the differential test).
export { startE2eHost, adminStats, envoyConfig, LOCAL_VARIED_ROUTES, type E2eHost, type E2eHostOptions } from './local-host.js';
