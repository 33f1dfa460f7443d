// Real Envoy for the credential e2e tests: e2eBootstrap (envoy.yaml or envoy-iam.yaml, the
// CloudWatch cluster on a loopback port, 1 s publishes) plus an extra cluster for a credentials
// endpoint and extra host_env_keys; an environment without the ACPW_AWS_* test keys; helpers to
// wait for data in moto and to grep everything an operator sees for a secret.

import { join } from 'node:path';
import { plainHttpCluster, ROOT, startEnvoy, wasmPlugins, type Bootstrap, type RunningEnvoy } from '../../scripts/lib/envoy.js';
import type { AwsCredentials } from './aws.js';
import { byDimensions, publishedSeries } from './cloudwatch-summary.js';
import { e2eBootstrap, pollUntil, queryWindow, sendToFrontEnd } from './e2e.js';

export const ENVOY_IAM_YAML = join(ROOT, 'envoy-iam.yaml');

export interface CredentialsEnvoyOptions {
  /** envoy.yaml (default) or envoy-iam.yaml. */
  readonly yaml?: string;
  /** Port of moto (or a recorder in front of it) on 127.0.0.1. */
  readonly cloudwatchPort: number;
  readonly namespace: string;
  readonly receiver?: Readonly<Record<string, unknown>>;
  /** An extra plain-HTTP cluster (e.g. the credentials endpoint). */
  readonly extraCluster?: { readonly name: string; readonly port: number };
  /** Variables added to the receiver's host_env_keys. */
  readonly hostEnvKeys?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

export async function startCredentialsEnvoy(options: CredentialsEnvoyOptions): Promise<RunningEnvoy> {
  const config = e2eBootstrap({
    ...(options.yaml !== undefined ? { yaml: options.yaml } : {}),
    cloudwatch: `127.0.0.1:${options.cloudwatchPort}`,
    receiver: { metric_namespace: options.namespace, ...options.receiver },
    edit: (bootstrap: Bootstrap) => {
      const extra = options.extraCluster;
      if (extra) {
        const resources = bootstrap.static_resources as { clusters: unknown[] };
        resources.clusters.push(plainHttpCluster(extra.name, { host: '127.0.0.1', port: extra.port }, '1s'));
      }
      if (options.hostEnvKeys) {
        const vmConfig = wasmPlugins(bootstrap).get('receiver')!.vm_config as Record<string, unknown>;
        const variables = (vmConfig.environment_variables ??= { host_env_keys: [] }) as { host_env_keys?: string[] };
        variables.host_env_keys = [...(variables.host_env_keys ?? []), ...options.hostEnvKeys];
      }
    },
  });
  return startEnvoy({ config, concurrency: 1, env: options.env ?? {}, waitForLog: ['receiver: configured'] });
}

export async function sendRequests(envoy: RunningEnvoy, path: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const status = await sendToFrontEnd(envoy.listenerPort(), { host: 'example.com', path });
    if (status !== 200) throw new Error(`front end answered ${status} for ${path}`);
  }
}

/** Every value in `secrets` that appears in Envoy's log or its /stats (expected: none). */
export async function leakedSecrets(envoy: RunningEnvoy, secrets: readonly string[]): Promise<string[]> {
  return leakedSecretsIn(`${envoy.log()}\n${await envoy.admin('/stats')}`, secrets);
}

/** Every value in `secrets` that appears in `text` (e.g. the log of an Envoy that has exited). */
export function leakedSecretsIn(text: string, secrets: readonly string[]): string[] {
  return secrets.filter((secret) => secret !== '' && text.includes(secret));
}

/**
 * RequestCount sums by dimension key ("host|method|path|status") in moto once `key` reached
 * `expected` (or the deadline passed: the caller's assertion shows what arrived).
 */
export async function waitForSum(
  target: { readonly endpoint: string; readonly namespace: string; readonly credentials: AwsCredentials },
  key: string,
  expected: number,
): Promise<Record<string, number>> {
  const { start, end } = queryWindow();
  const series = await pollUntil(
    () => publishedSeries({ ...target, start, end }),
    (now) => byDimensions(now, 'RequestCount', 'sum')[key] === expected,
    { timeoutMs: 30_000, intervalMs: 500 },
  );
  return byDimensions(series, 'RequestCount', 'sum');
}
