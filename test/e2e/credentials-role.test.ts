// Issue 11, 1b in real Envoy: the receiver fetches role credentials itself (EC2 IMDSv2, and the
// ECS / EKS Pod Identity container endpoint) over proxy_http_call, signs with Smithy, refreshes
// ahead of expiry, holds data while it has no credentials, and never logs a secret.
//
// The credentials endpoint is the one fake here (test/support/fake-credentials.ts: real IMDS
// cannot run on this machine). What it hands out are real moto STS sessions of an IAM role with
// the minimal policy, and moto runs with authentication enforced: each PutMetricData is checked
// against the session's secret AND its session token (moto rejects a mismatched
// X-Amz-Security-Token). A recorder between Envoy and moto shows which session signed each call.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoleSessions, enforceSigV4, type EnforcedAuth, type RoleSessions } from '../support/aws.js';
import { byDimensions, publishedSeries } from '../support/cloudwatch-summary.js';
import { pollUntil, queryWindow } from '../support/e2e.js';
import { startFakeCredentials, type SessionCredentials } from '../support/fake-credentials.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { startMoto, type MotoServer } from '../support/moto.js';
import { leakedSecrets, leakedSecretsIn, sendRequests, startCredentialsEnvoy, waitForSum } from '../support/real-envoy.js';

let moto: MotoServer;
let roles: RoleSessions;
let auth: EnforcedAuth;

beforeAll(async () => {
  moto = await startMoto();
  roles = await createRoleSessions({ endpoint: moto.endpoint, roleName: 'acpw-instance-role', sessions: 3 });
  auth = await enforceSigV4(moto.endpoint, 'role');
}, 60_000);

afterAll(async () => {
  await moto?.stop();
});

function secretsOf(...sessions: SessionCredentials[]): string[] {
  return sessions.flatMap((session) => [session.secretAccessKey, session.sessionToken]);
}

function sumFor(namespace: string, key: string, expected: number): Promise<Record<string, number>> {
  return waitForSum({ endpoint: moto.endpoint, namespace, credentials: auth.reader }, key, expected);
}

/** The access key id in a SigV4 Authorization header. */
function signingKeyOf(headers: Readonly<Record<string, string | string[] | undefined>>): string | undefined {
  return /Credential=([^/]+)\//.exec(String(headers.authorization ?? ''))?.[1];
}

describe('plugin-fetched role credentials in real Envoy, moto verifying each signature and session token', () => {
  it('IMDSv2: token, role, credentials; data arrives; refreshed ahead of expiry, the new session signs', async () => {
    const [first, second] = roles.sessions as [SessionCredentials, SessionCredentials];
    // The first session is announced as expiring in 12 s: usable for 7 s (5 s margin), so with a
    // 2 s lead it is refreshed about 4.6-5 s in, and the second one (10 min) takes over.
    const imds = await startFakeCredentials({ script: [{ kind: 'credentials', credentials: first, expiresInMs: 12_000 }], fallback: { kind: 'credentials', credentials: second, expiresInMs: 600_000 } });
    const recorder: FaultProxy = await startFaultProxy({ host: '127.0.0.1', port: moto.port }, []);
    const namespace = 'AWSCloudWatchProxyWasm-e2e-imds';
    const envoy = await startCredentialsEnvoy({
      cloudwatchPort: recorder.port,
      namespace,
      extraCluster: { name: 'instance_metadata', port: imds.port },
      receiver: { credentials_source: 'imds', credentials_cluster_name: 'instance_metadata', credentials_refresh_ahead_millisecond: 2000 },
    });
    try {
      await sendRequests(envoy, '/imds-first', 3);
      expect(await sumFor(namespace, 'example.com|GET|/imds-first|200', 3)).toEqual({ 'example.com|GET|/imds-first|200': 3 });

      // The IMDSv2 conversation.
      const [token, list, document] = imds.requests;
      expect(token).toMatchObject({ method: 'PUT', path: '/latest/api/token' });
      expect(token!.headers['x-aws-ec2-metadata-token-ttl-seconds']).toBe('21600');
      expect(token!.headers['x-forwarded-for']).toBeUndefined(); // IMDS refuses proxied token requests
      expect(list).toMatchObject({ method: 'GET', path: '/latest/meta-data/iam/security-credentials/' });
      expect(document).toMatchObject({ method: 'GET', path: '/latest/meta-data/iam/security-credentials/acpw-instance-role', answer: 'credentials' });
      expect(document!.headers['x-aws-ec2-metadata-token']).toBe(imds.imdsTokens[0]);

      // The refresh: a second document, fetched with the cached IMDS token (no second PUT).
      await pollUntil(() => imds.documentsServed, (n) => n >= 2, { timeoutMs: 20_000 });
      expect(imds.imdsTokens).toHaveLength(1);
      await sendRequests(envoy, '/imds-second', 2);
      expect(await sumFor(namespace, 'example.com|GET|/imds-second|200', 2)).toMatchObject({ 'example.com|GET|/imds-second|200': 2 });

      // Every call was accepted; the early ones signed with the first session, the last with the second.
      const calls = recorder.forwarded;
      expect(calls.length).toBeGreaterThanOrEqual(2);
      expect(calls.map((call) => call.status).every((status) => status === 200)).toBe(true);
      expect(signingKeyOf(calls[0]!.headers)).toBe(first.accessKeyId);
      expect(calls[0]!.headers['x-amz-security-token']).toBe(first.sessionToken);
      expect(signingKeyOf(calls.at(-1)!.headers)).toBe(second.accessKeyId);
      expect(calls.at(-1)!.headers['x-amz-security-token']).toBe(second.sessionToken);

      expect(await envoy.counter('acpw.receiver.credentials_fetches')).toBeGreaterThanOrEqual(2);
      expect(await envoy.counter('acpw.receiver.credentials_failures')).toBe(0);
      expect(await envoy.counter('acpw.receiver.put_failures')).toBe(0);
      expect(envoy.logLines('credentials (imds) for role "acpw-instance-role" refreshed').length).toBeGreaterThanOrEqual(2);
      expect(await leakedSecrets(envoy, [...secretsOf(first, second), ...imds.imdsTokens])).toEqual([]);
    } finally {
      await envoy.stop();
      await recorder.close();
      await imds.close();
    }
  }, 90_000);

  it('container endpoint: 500, hang, malformed, expired and unknown documents are counted and retried while data waits; then it arrives', async () => {
    const session = roles.sessions[2]!;
    const authorizationToken = 'acpw-pod-identity-token-5c1e7';
    const leakMarker = 'leak-marker-in-a-malformed-document';
    const endpoint = await startFakeCredentials({
      containerPath: '/v1/credentials',
      authorizationToken,
      script: [
        { kind: 'status', status: 500, body: '{"code":"InternalServerError","message":"try again"}' },
        { kind: 'hang' },
        { kind: 'raw', body: `{"AccessKeyId": "ASIAMALFORMED", "SecretAccessKey": "${leakMarker}"` },
        { kind: 'credentials', credentials: session, expiresInMs: -60_000 },
        { kind: 'raw', body: JSON.stringify({ hello: leakMarker }) },
      ],
      fallback: { kind: 'credentials', credentials: session, expiresInMs: 600_000 },
    });
    const namespace = 'AWSCloudWatchProxyWasm-e2e-container';
    const envoy = await startCredentialsEnvoy({
      cloudwatchPort: moto.port,
      namespace,
      extraCluster: { name: 'pod_identity', port: endpoint.port },
      hostEnvKeys: ['AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_AUTHORIZATION_TOKEN'],
      env: { AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.23/v1/credentials', AWS_CONTAINER_AUTHORIZATION_TOKEN: authorizationToken },
      receiver: { credentials_source: 'container', credentials_cluster_name: 'pod_identity', credentials_timeout_millisecond: 2000 },
    });
    try {
      await sendRequests(envoy, '/container', 4);
      // Five failed fetches; retries back off (0.1-0.25 s, …, 1-2 s), so the sixth comes 2-4 s later.
      const failures = await pollUntil(() => envoy.counter('acpw.receiver.credentials_failures'), (n) => n >= 5, { timeoutMs: 20_000 });
      expect(failures).toBe(5);
      // Nothing went out meanwhile: no credentials, no call (never unsigned).
      expect(await envoy.counter('acpw.receiver.put_calls')).toBe(0);
      expect(envoy.logLines('PutMetricData waits, data stays buffered').length).toBeGreaterThanOrEqual(5);

      expect(await sumFor(namespace, 'example.com|GET|/container|200', 4)).toEqual({ 'example.com|GET|/container|200': 4 });
      expect(await envoy.counter('acpw.receiver.put_failures')).toBe(0);
      // Six fetches (five failures, then success); a loaded machine may time out one more.
      expect(await envoy.counter('acpw.receiver.credentials_fetches')).toBeGreaterThanOrEqual(6);
      expect(await envoy.counter('acpw.receiver.credentials_fetches')).toBe(await envoy.counter('acpw.receiver.credentials_failures') + 1);

      const reasons = envoy.logLines('credentials (container) fetch failed').join('\n');
      for (const reason of [
        '(attempt 1): container credentials: HTTP 500 (InternalServerError)',
        // Envoy answers a call that timed out itself, with a 504.
        '(attempt 2): container credentials: HTTP 504 (Envoy: upstream request timeout)',
        '(attempt 3): container credentials: the credentials document is not JSON',
        '(attempt 4): container credentials: the credentials have already expired',
        '(attempt 5): container credentials: the credentials document is missing AccessKeyId, SecretAccessKey, Token, Expiration',
      ]) expect(reasons).toContain(reason);
      const documents = endpoint.requests.filter((request) => request.answer !== undefined);
      expect(documents.every((request) => request.headers.authorization === authorizationToken)).toBe(true);
      expect(await leakedSecrets(envoy, [...secretsOf(session), authorizationToken, leakMarker])).toEqual([]);
    } finally {
      await envoy.stop();
      await endpoint.close();
    }
  }, 90_000);

  it('credentials that expire while refreshes fail: calls stop, data is held (never sent unsigned), a shutdown gives it up cleanly', async () => {
    const session = roles.sessions[2]!;
    // Usable for 4 s (9 s minus the 5 s margin); the refresh ~3 s in and every retry get a 503.
    const endpoint = await startFakeCredentials({
      containerPath: '/creds',
      script: [{ kind: 'credentials', credentials: session, expiresInMs: 9_000 }],
      fallback: { kind: 'status', status: 503 },
    });
    const namespace = 'AWSCloudWatchProxyWasm-e2e-expiry';
    const envoy = await startCredentialsEnvoy({
      cloudwatchPort: moto.port,
      namespace,
      extraCluster: { name: 'ecs_credentials', port: endpoint.port },
      receiver: { credentials_source: 'container', credentials_cluster_name: 'ecs_credentials', container_credentials_relative_uri: '/creds', credentials_refresh_ahead_millisecond: 1000 },
    });
    let stopped = false;
    try {
      await sendRequests(envoy, '/before-expiry', 2);
      expect(await sumFor(namespace, 'example.com|GET|/before-expiry|200', 2)).toEqual({ 'example.com|GET|/before-expiry|200': 2 });
      // The first failure keeps the old credentials; once they expire a failure says so.
      await pollUntil(() => envoy.logLines('PutMetricData waits, data stays buffered').length, (n) => n > 0, { timeoutMs: 20_000 });
      expect(envoy.logLines('HTTP 503; retry in')[0]).toContain('the current credentials stay in use until they expire');
      const callsAtExpiry = await envoy.counter('acpw.receiver.put_calls');
      await sendRequests(envoy, '/after-expiry', 3);
      await pollUntil(() => envoy.counter('acpw.sender.requests_recorded'), (n) => n >= 5);
      await new Promise((resolve) => setTimeout(resolve, 2500)); // two publish intervals
      expect(await envoy.counter('acpw.receiver.put_calls')).toBe(callsAtExpiry);

      const exit = await envoy.stop('SIGTERM');
      stopped = true;
      expect(exit).toEqual({ code: 0, signal: null });
      expect(envoy.logLines(/receiver: shutting down: \d+ datum\(s\) not sent/).length).toBe(1);
      const { start, end } = queryWindow();
      const arrived = byDimensions(await publishedSeries({ endpoint: moto.endpoint, namespace, start, end, credentials: auth.reader }), 'RequestCount', 'sum');
      expect(arrived['example.com|GET|/after-expiry|200']).toBeUndefined();
      expect(await leakedSecretsIn(envoy.log(), secretsOf(session))).toEqual([]);
    } finally {
      if (!stopped) await envoy.stop();
      await endpoint.close();
    }
  }, 90_000);
});
