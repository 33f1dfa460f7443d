// The end-to-end harness: the local host running the BUILT sender.wasm / receiver.wasm from the
// repo's envoy.yaml, with the CloudWatch cluster pointed at a loopback server (moto or a fault
// proxy in front of it), plugin logs captured, and small helpers to drive traffic and wait for
// counters. Tests in test/e2e/ use it; each test file starts its own moto.

import { request } from 'node:http';
import { join } from 'node:path';
import { startHost, loadEnvoyConfig, type EnvoyConfig, type LogEntry, type RunningHost } from '../../host/index.js';
import type { RouteConfig } from '../../host/envoy-config.js';
import { LogLevel } from '../../src/abi/table.js';
import { DEFAULT_REGION } from './aws.js';
import { REPO_ROOT } from './python.js';

export const ENVOY_YAML = join(REPO_ROOT, 'envoy.yaml');
export const CLOUDWATCH_CLUSTER = 'cloudwatch_api';
/** Credentials for moto without authentication (it accepts any key then). */
export const TEST_CREDENTIALS = { accessKeyId: 'ACPWE2ETESTKEYID0000', secretAccessKey: 'e2e-test-secret' } as const;

/** Routes that give the HTTP front end some status variety (first match wins, as in Envoy). */
export const VARIED_ROUTES: readonly RouteConfig[] = [
  { domains: ['*'], path: '/missing', directResponse: { status: 404, body: 'not here' } },
  { domains: ['*'], prefix: '/fail', directResponse: { status: 503, body: 'down' } },
  { domains: ['*'], prefix: '/', directResponse: { status: 200, body: 'OK' } },
];

/** envoy.yaml as the local host reads it, with the listener's routes replaced when asked. */
export function envoyConfig(routes?: readonly RouteConfig[]): EnvoyConfig {
  const config = loadEnvoyConfig(ENVOY_YAML);
  if (!routes) return config;
  return { ...config, listeners: config.listeners.map((listener) => ({ ...listener, routes })) };
}

export interface E2eHostOptions {
  /** Where cluster cloudwatch_api points: 'HOST:PORT' (moto, a fault proxy, a closed port). */
  readonly cloudwatch: string;
  /** Receiver configuration keys over the defaults below (region, cluster, endpoint, 1 s publish). */
  readonly receiver?: Readonly<Record<string, unknown>>;
  /** Sender configuration keys over envoy.yaml's ({ receiver_vm_id, match_hosts: [example.com] }). */
  readonly sender?: Readonly<Record<string, unknown>>;
  /** Raw JSON text for a plugin (bypasses the merge), e.g. to test an invalid configuration. */
  readonly rawPluginConfig?: Readonly<Record<string, string>>;
  readonly routes?: readonly RouteConfig[];
  readonly workers?: number;
  /** Environment for host_env_keys (default: TEST_CREDENTIALS). */
  readonly env?: Readonly<Record<string, string>>;
  readonly logLevel?: LogLevel;
}

export interface E2eHost {
  readonly host: RunningHost;
  /** Every plugin and host log line so far. */
  readonly logs: LogEntry[];
  /** Log lines (any VM) containing `text`. */
  logLines(text: string): string[];
  /** A counter's value; 0 when the plugin never defined or incremented it. */
  counter(name: string): number;
  /** One request through the HTTP front end; resolves with the status. */
  send(req: FrontEndRequest): Promise<number>;
  close(): Promise<void>;
}

export interface FrontEndRequest {
  readonly host: string;
  readonly path: string;
  readonly method?: string;
}

const SENDER_DEFAULTS = { receiver_vm_id: 'receiver', match_hosts: ['example.com'] };

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

export async function startE2eHost(options: E2eHostOptions): Promise<E2eHost> {
  const logs: LogEntry[] = [];
  const pluginConfig: Record<string, string> = {
    receiver: JSON.stringify(receiverConfig(options.cloudwatch, options.receiver)),
    sender: JSON.stringify({ ...SENDER_DEFAULTS, ...options.sender }),
    ...options.rawPluginConfig,
  };
  const host = await startHost({
    config: envoyConfig(options.routes),
    clusters: { [CLOUDWATCH_CLUSTER]: options.cloudwatch },
    pluginConfig,
    workers: options.workers ?? 2,
    listenPort: 0,
    adminPort: 0,
    logLevel: options.logLevel ?? LogLevel.Info,
    logSink: (entry) => logs.push(entry),
    env: options.env ?? {
      ACPW_AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      ACPW_AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    },
  });
  return {
    host,
    logs,
    logLines: (text) => logs.map((entry) => entry.message).filter((message) => message.includes(text)),
    counter: (name) => host.metric(name) ?? 0,
    send: (req) => sendToFrontEnd(host.port, req),
    close: () => host.close(),
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

/** The admin server's /stats text (what an operator sees). */
export async function adminStats(host: RunningHost): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${host.adminPort}/stats`);
  return response.text();
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
