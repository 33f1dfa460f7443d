// Issue 11, 1a in real Envoy: envoy-iam.yaml, where the receiver sends PutMetricData unsigned
// (credentials_source "envoy") and Envoy's aws_request_signing filter, an upstream HTTP filter
// on the cloudwatch_api cluster, signs it with Envoy's own credential chain. Checked here:
//  - `envoy --mode validate` accepts the shipped file;
//  - upstream filters DO apply to proxy_http_call's requests: with moto enforcing SigV4 the data
//    arrives, signed from Envoy's environment (AWS_ACCESS_KEY_ID/…) or from a credentials file
//    with a session token (AWS_SHARED_CREDENTIALS_FILE), two providers of the default chain;
//  - with no credentials Envoy forwards the request unsigned and counts it as signing_added
//    (not signing_failed); moto answers that with a 500 (AWS: 403 MissingAuthenticationToken),
//    which the receiver retries and holds; a 403 (here: credentials moto rejects) is logged with
//    its code, counted in put_failures, not retried, and the batch dropped.
// IMDS stays off (AWS_EC2_METADATA_DISABLED): nothing may reach 169.254.169.254 from here.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envoyBinary, ROOT } from '../../scripts/lib/envoy.js';
import { createRoleSessions, enforceSigV4, type EnforcedAuth, type RoleSessions } from '../support/aws.js';
import { pollUntil } from '../support/e2e.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { startMoto, type MotoServer } from '../support/moto.js';
import { ENVOY_IAM_YAML, leakedSecrets, sendRequests, startCredentialsEnvoy, waitForSum } from '../support/real-envoy.js';

const NO_IMDS = { AWS_EC2_METADATA_DISABLED: 'true' };
const SIGNING_STATS = 'cluster.cloudwatch_api.aws_request_signing';

let moto: MotoServer;
let auth: EnforcedAuth;
let roles: RoleSessions;
const scratch = mkdtempSync(join(tmpdir(), 'acpw-envoy-iam-'));

beforeAll(async () => {
  moto = await startMoto();
  roles = await createRoleSessions({ endpoint: moto.endpoint, roleName: 'acpw-envoy-role', sessions: 1 });
  auth = await enforceSigV4(moto.endpoint, 'envoy');
}, 60_000);

afterAll(async () => {
  await moto?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

function validate(file: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(envoyBinary(), ['--mode', 'validate', '-c', file, '--use-dynamic-base-id', '--log-level', 'warn'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

function sumFor(namespace: string, key: string, expected: number): Promise<Record<string, number>> {
  return waitForSum({ endpoint: moto.endpoint, namespace, credentials: auth.reader }, key, expected);
}

describe('envoy-iam.yaml: Envoy signs PutMetricData', () => {
  it('passes envoy --mode validate', async () => {
    const { code, output } = await validate(ENVOY_IAM_YAML);
    expect(output).toContain(`configuration '${ENVOY_IAM_YAML}' OK`);
    expect(code).toBe(0);
  });

  it('signs proxy_http_call requests with Envoy\'s environment credentials: moto accepts them', async () => {
    const namespace = 'AWSCloudWatchProxyWasm-e2e-envoy-env';
    const envoy = await startCredentialsEnvoy({
      yaml: ENVOY_IAM_YAML, cloudwatchPort: moto.port, namespace,
      env: { ...NO_IMDS, AWS_ACCESS_KEY_ID: auth.publisher.accessKeyId, AWS_SECRET_ACCESS_KEY: auth.publisher.secretAccessKey },
    });
    try {
      await sendRequests(envoy, '/envoy-env', 3);
      expect(await sumFor(namespace, 'example.com|GET|/envoy-env|200', 3)).toEqual({ 'example.com|GET|/envoy-env|200': 3 });
      const stats = await envoy.stats();
      expect(stats.get(`${SIGNING_STATS}.signing_added`)).toBeGreaterThanOrEqual(1);
      expect(stats.get(`${SIGNING_STATS}.signing_failed`)).toBe(0);
      expect(await envoy.counter('acpw.receiver.put_failures')).toBe(0);
      expect(envoy.logLines('credentials envoy').length).toBeGreaterThan(0);
      expect(await leakedSecrets(envoy, [auth.publisher.secretAccessKey])).toEqual([]);
    } finally {
      await envoy.stop();
    }
  });

  it('signs with a session from a credentials file: moto checks the session token too', async () => {
    const session = roles.sessions[0]!;
    const file = join(scratch, 'credentials');
    writeFileSync(file, `[default]\naws_access_key_id = ${session.accessKeyId}\naws_secret_access_key = ${session.secretAccessKey}\naws_session_token = ${session.sessionToken}\n`, { mode: 0o600 });
    const namespace = 'AWSCloudWatchProxyWasm-e2e-envoy-file';
    const envoy = await startCredentialsEnvoy({ yaml: ENVOY_IAM_YAML, cloudwatchPort: moto.port, namespace, env: { ...NO_IMDS, AWS_SHARED_CREDENTIALS_FILE: file } });
    try {
      await sendRequests(envoy, '/envoy-file', 2);
      expect(await sumFor(namespace, 'example.com|GET|/envoy-file|200', 2)).toEqual({ 'example.com|GET|/envoy-file|200': 2 });
      expect(await leakedSecrets(envoy, [session.secretAccessKey, session.sessionToken])).toEqual([]);
    } finally {
      await envoy.stop();
    }
  });

  it('without credentials Envoy forwards the call unsigned and counts it as signed; the receiver retries moto\'s answer and holds the data', async () => {
    const namespace = 'AWSCloudWatchProxyWasm-e2e-envoy-none';
    const recorder = await startFaultProxy({ host: '127.0.0.1', port: moto.port }, []);
    const envoy = await startCredentialsEnvoy({ yaml: ENVOY_IAM_YAML, cloudwatchPort: recorder.port, namespace, env: { ...NO_IMDS } });
    try {
      await sendRequests(envoy, '/envoy-none', 2);
      await pollUntil(() => envoy.counter('acpw.receiver.put_failures'), (n) => n >= 2);
      // What Envoy did: forwarded without Authorization / X-Amz-Date (only the payload hash) ...
      const first = recorder.forwarded[0]!;
      expect(first.headers.authorization).toBeUndefined();
      expect(first.headers['x-amz-date']).toBeUndefined();
      expect(first.headers['x-amz-content-sha256']).toMatch(/^[0-9a-f]{64}$/);
      // ... and counted it under signing_added, not signing_failed: Envoy's stats do not show it.
      const stats = await envoy.stats();
      expect(stats.get(`${SIGNING_STATS}.signing_failed`)).toBe(0);
      expect(stats.get(`${SIGNING_STATS}.signing_added`)).toBeGreaterThanOrEqual(1);
      // moto 5.2.5 answers an unsigned request with a 500 (AWS answers 403
      // MissingAuthenticationToken, a client error: see the next test for that path). A 5xx is
      // transient: retried with backoff, then held for the next publish; nothing is published.
      expect(first.status).toBe(500);
      expect(envoy.logLines('PutMetricData failed (500').length).toBeGreaterThanOrEqual(2);
      expect(await envoy.counter('acpw.receiver.put_retries')).toBeGreaterThanOrEqual(1);
      expect(await envoy.counter('acpw.receiver.datums_published')).toBe(0);
      // AWS_EC2_METADATA_DISABLED kept Envoy's chain away from 169.254.169.254.
      expect(envoy.logLines('instance_profile_credentials_provider')).toEqual([]);
    } finally {
      await envoy.stop();
      await recorder.close();
    }
  });

  it('with credentials moto rejects, the 403 is logged with its code, counted, not retried, and the batch dropped', async () => {
    const namespace = 'AWSCloudWatchProxyWasm-e2e-envoy-denied';
    const wrongSecret = `${auth.publisher.secretAccessKey}x`;
    const envoy = await startCredentialsEnvoy({
      yaml: ENVOY_IAM_YAML, cloudwatchPort: moto.port, namespace,
      env: { ...NO_IMDS, AWS_ACCESS_KEY_ID: auth.publisher.accessKeyId, AWS_SECRET_ACCESS_KEY: wrongSecret },
    });
    try {
      await sendRequests(envoy, '/envoy-denied', 2);
      await pollUntil(() => envoy.counter('acpw.receiver.datums_dropped'), (n) => n >= 2);
      const errors = envoy.logLines('PutMetricData failed (403 SignatureDoesNotMatch');
      expect(errors.length).toBeGreaterThan(0);
      expect(errors[0]).toContain('not retried');
      expect(await envoy.counter('acpw.receiver.put_retries')).toBe(0);
      expect(await envoy.counter('acpw.receiver.put_failures')).toBe(await envoy.counter('acpw.receiver.put_calls'));
      expect(await envoy.counter('acpw.receiver.datums_published')).toBe(0);
      expect(await leakedSecrets(envoy, [wrongSecret])).toEqual([]);
    } finally {
      await envoy.stop();
    }
  });
});
