// The local-host harness: the local proxy-wasm host (host/, Node) running the BUILT sender.wasm /
// receiver.wasm from the repo's envoy.yaml, with the CloudWatch cluster pointed at a loopback
// server. The e2e suite runs in real Envoy (./e2e.ts); this one serves the tests of the local
// host itself (the Envoy-vs-local-host differential test, shutdown in the local host).

import { join } from 'node:path';
import { startHost, loadEnvoyConfig, type EnvoyConfig, type LogEntry, type RunningHost } from '../../host/index.js';
import type { RouteConfig } from '../../host/envoy-config.js';
import { LogLevel } from '../../src/abi/table.js';
import { CLOUDWATCH_CLUSTER, receiverConfig, sendToFrontEnd, senderConfig, testCredentialsEnv, type FrontEndRequest } from './e2e.js';
import { REPO_ROOT } from './python.js';

export const ENVOY_YAML = join(REPO_ROOT, 'envoy.yaml');

/** Routes that give the HTTP front end some status variety (first match wins, as in Envoy). */
export const LOCAL_VARIED_ROUTES: readonly RouteConfig[] = [
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

export async function startE2eHost(options: E2eHostOptions): Promise<E2eHost> {
  const logs: LogEntry[] = [];
  const pluginConfig: Record<string, string> = {
    receiver: JSON.stringify(receiverConfig(options.cloudwatch, options.receiver)),
    sender: JSON.stringify(senderConfig(options.sender)),
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
    env: options.env ?? testCredentialsEnv(),
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

/** The admin server's /stats text (what an operator sees). */
export async function adminStats(host: RunningHost): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${host.adminPort}/stats`);
  return response.text();
}
