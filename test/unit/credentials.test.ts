// Role credentials without a host: the documents, the refresh policy, the IMDSv2 and container
// flows against a scripted transport, and the credential keys of the receiver's configuration.

import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { parseReceiverConfig, type AwsCredentials } from '../../src/config/receiver.js';
import { PutMetricDataSigner, unsignedHeaders, type PayloadHash } from '../../src/cloudwatch/signer.js';
import { parseCredentialsDocument, parseRoleList } from '../../src/cloudwatch/credentials/documents.js';
import { refreshAtMs, retryDelayMs, usable, RETRY_CAP_MS } from '../../src/cloudwatch/credentials/refresh.js';
import {
  IMDS_ROLE_PATH, IMDS_TOKEN_HEADER, IMDS_TOKEN_PATH, IMDS_TOKEN_TTL_HEADER, RoleCredentialsProvider,
  type CredentialsRequest, type CredentialsResponse, type FailureInfo, type RefreshedInfo, type RoleSource,
} from '../../src/cloudwatch/credentials/provider.js';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const SECRET = 'sEcReT/unit+test';
const TOKEN = 'SeSsIoNtOkEn-unit';

function doc(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    Code: 'Success', Type: 'AWS-HMAC', AccessKeyId: 'ASIAUNITTEST', SecretAccessKey: SECRET, Token: TOKEN,
    Expiration: new Date(NOW + 3_600_000).toISOString(), LastUpdated: new Date(NOW).toISOString(), ...overrides,
  });
}

describe('credential documents', () => {
  it('accepts IMDS and container documents', () => {
    const imds = parseCredentialsDocument(doc(), NOW);
    expect(imds).toEqual({ ok: true, value: { credentials: { accessKeyId: 'ASIAUNITTEST', secretAccessKey: SECRET, sessionToken: TOKEN }, expirationMs: NOW + 3_600_000 } });
    const container = parseCredentialsDocument(JSON.stringify({ AccessKeyId: 'A', SecretAccessKey: 'S', Token: 'T', Expiration: '2026-12-01T13:00:00Z', RoleArn: 'arn:aws:iam::1:role/r' }), NOW);
    expect(container.ok).toBe(true);
  });

  it.each([
    ['not JSON', `{"AccessKeyId": "x", "SecretAccessKey": "${SECRET}"`, 'is not JSON'],
    ['an array', '[1]', 'not a JSON object'],
    ['a failure code', doc({ Code: 'AssumeRoleUnauthorizedAccess' }), 'reports Code "AssumeRoleUnauthorizedAccess"'],
    ['no token', doc({ Token: undefined }), 'missing Token'],
    ['an unknown document', JSON.stringify({ hello: SECRET }), 'missing AccessKeyId, SecretAccessKey, Token, Expiration'],
    ['an error document', JSON.stringify({ code: 'InvalidToken', message: 'bad token' }), 'error document (code InvalidToken)'],
    ['a bad date', doc({ Expiration: 'tomorrow' }), 'Expiration is not an ISO-8601 date'],
    ['expired credentials', doc({ Expiration: new Date(NOW - 1000).toISOString() }), 'already expired (Expiration 2026-12-01T11:59:59.000Z)'],
  ])('rejects %s with a reason that quotes no secret', (_name, text, reason) => {
    const result = parseCredentialsDocument(text, NOW);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toContain(reason);
    expect(result.reason).not.toContain(SECRET);
    expect(result.reason).not.toContain(TOKEN);
  });

  it('reads the role list', () => {
    expect(parseRoleList('my-role\n')).toEqual({ ok: true, role: 'my-role' });
    expect(parseRoleList('').ok).toBe(false);
    expect(parseRoleList('<html>oops</html>').ok).toBe(false);
  });
});

describe('refresh policy', () => {
  it('refreshes the lead (plus at most 20 % jitter) before the credentials stop being usable', () => {
    const expiry = NOW + 3_600_000;
    expect(refreshAtMs(NOW, expiry, 300_000, () => 0)).toBe(expiry - 5_000 - 300_000);
    expect(refreshAtMs(NOW, expiry, 300_000, () => 1)).toBe(expiry - 5_000 - 360_000);
  });

  it('refreshes half-way through credentials that live shorter than twice the lead', () => {
    expect(refreshAtMs(NOW, NOW + 20_000, 300_000, () => 0)).toBe(NOW + 7_500);
    expect(refreshAtMs(NOW, NOW + 20_000, 300_000, () => 1)).toBe(NOW + 6_000);
    expect(refreshAtMs(NOW, NOW + 500, 300_000, () => 0)).toBe(NOW + 1_000); // never a busy loop
  });

  it('backs off exponentially with jitter, capped', () => {
    expect(retryDelayMs(1, () => 0)).toBe(125);
    expect(retryDelayMs(1, () => 1)).toBe(250);
    expect(retryDelayMs(4, () => 1)).toBe(2000);
    expect(retryDelayMs(50, () => 1)).toBe(RETRY_CAP_MS);
    expect(usable(NOW, NOW + 10_000)).toBe(true);
    expect(usable(NOW, NOW + 4_000)).toBe(false);
  });
});

/** A transport that answers from a script and records what was asked. */
function harness(source: RoleSource, answer: (request: CredentialsRequest, index: number) => CredentialsResponse | 'hang') {
  let now = NOW;
  const requests: CredentialsRequest[] = [];
  const refreshed: RefreshedInfo[] = [];
  const failed: FailureInfo[] = [];
  const pending: (() => void)[] = [];
  const provider = new RoleCredentialsProvider({
    source,
    refreshAheadMs: 300_000,
    now: () => now,
    random: () => 0.5,
    transport: (request, onResponse) => {
      const reply = answer(request, requests.push(request) - 1);
      if (reply !== 'hang') pending.push(() => onResponse(reply));
      else pending.push(() => onResponse({ status: undefined, body: '' })); // the timeout fires
    },
    events: { fetchStarted: () => undefined, refreshed: (info) => refreshed.push(info), failed: (info) => failed.push(info) },
  });
  const settle = (): void => {
    while (pending.length > 0) pending.shift()!();
  };
  return { provider, requests, refreshed, failed, settle, advance: (ms: number) => (now += ms), now: () => now };
}

const ok = (body: string): CredentialsResponse => ({ status: 200, body });

describe('IMDSv2 flow', () => {
  it('PUTs a token, lists the role, fetches its credentials, and reuses the token on refresh', () => {
    const h = harness({ kind: 'imds' }, (request) => {
      if (request.path === IMDS_TOKEN_PATH) return ok('imds-session-token');
      if (request.path === IMDS_ROLE_PATH) return ok('web-role');
      return ok(doc({ Expiration: new Date(NOW + 1_800_000).toISOString() }));
    });
    h.provider.poll(h.now());
    h.settle();
    expect(h.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `PUT ${IMDS_TOKEN_PATH}`, `GET ${IMDS_ROLE_PATH}`, `GET ${IMDS_ROLE_PATH}web-role`,
    ]);
    expect(h.requests[0]!.headers).toEqual([[IMDS_TOKEN_TTL_HEADER, '21600']]);
    expect(h.requests[1]!.headers).toEqual([[IMDS_TOKEN_HEADER, 'imds-session-token']]);
    expect(h.provider.credentials(h.now())?.sessionToken).toBe(TOKEN);
    expect(h.refreshed[0]).toMatchObject({ role: 'web-role', expirationMs: NOW + 1_800_000 });
    // 30 min credentials, usable until 5 s before expiry, 5 min lead + 10 % jitter.
    expect(h.refreshed[0]!.refreshAtMs).toBe(NOW + 1_800_000 - 5_000 - 330_000);
    h.provider.poll(h.now()); // not due
    expect(h.requests).toHaveLength(3);
    h.advance(1_800_000 - 5_000 - 330_000);
    h.provider.poll(h.now());
    h.settle();
    expect(h.requests.slice(3).map((r) => r.path)).toEqual([IMDS_ROLE_PATH, `${IMDS_ROLE_PATH}web-role`]);
  });

  it('drops a stale token on 401 and fetches a new one on the retry', () => {
    let denied = false;
    const h = harness({ kind: 'imds' }, (request) => {
      if (request.path === IMDS_TOKEN_PATH) return ok('t1');
      if (request.path === IMDS_ROLE_PATH && !denied) {
        denied = true;
        return { status: 401, body: '' };
      }
      if (request.path === IMDS_ROLE_PATH) return ok('r');
      return ok(doc());
    });
    h.provider.poll(h.now());
    h.settle();
    expect(h.failed[0]).toMatchObject({ reason: 'IMDS role list: HTTP 401', attempt: 1, retryInMs: 187, stillValid: false });
    h.advance(187);
    h.provider.poll(h.now());
    h.settle();
    expect(h.requests.map((r) => r.path)).toEqual([IMDS_TOKEN_PATH, IMDS_ROLE_PATH, IMDS_TOKEN_PATH, IMDS_ROLE_PATH, `${IMDS_ROLE_PATH}r`]);
    expect(h.provider.credentials(h.now())).toBeDefined();
  });
});

describe('container flow and failures', () => {
  it('sends the authorization token, retries a 500, a hang, a timeout, a malformed and an expired document with growing backoff', () => {
    const answers: (CredentialsResponse | 'hang')[] = [
      { status: 500, body: '{"code":"InternalError","message":"boom"}' },
      'hang',
      { status: 504, body: 'upstream request timeout' },
      ok(`{"AccessKeyId": "${SECRET}`),
      ok(doc({ Expiration: new Date(NOW - 60_000).toISOString() })),
      ok(doc()),
    ];
    const h = harness({ kind: 'container', path: '/v1/credentials', authorizationToken: 'auth-token-value' }, (_r, i) => answers[i]!);
    for (let i = 0; i < answers.length; i++) {
      h.provider.poll(h.now());
      h.settle();
      h.advance(h.provider.nextFetchAtMs - h.now());
    }
    expect(h.requests.every((r) => r.path === '/v1/credentials')).toBe(true);
    expect(h.requests[0]!.headers).toContainEqual(['authorization', 'auth-token-value']);
    expect(h.failed.map((f) => f.reason)).toEqual([
      'container credentials: HTTP 500 (InternalError)',
      'container credentials: no answer (connection failure, reset or timeout)',
      'container credentials: HTTP 504 (Envoy: upstream request timeout)',
      'container credentials: the credentials document is not JSON',
      'container credentials: the credentials have already expired (Expiration 2026-12-01T11:59:00.000Z)',
    ]);
    expect(h.failed.map((f) => f.retryInMs)).toEqual([187, 375, 750, 1500, 3000]);
    expect(h.refreshed).toHaveLength(1);
    for (const f of h.failed) expect(f.reason).not.toMatch(/sEcReT|auth-token-value|SeSsIoN/);
  });

  it('keeps using credentials that are still valid while a refresh fails, then stops at expiry', () => {
    let calls = 0;
    const h = harness({ kind: 'container', path: '/c' }, () => (calls++ === 0 ? ok(doc({ Expiration: new Date(NOW + 60_000).toISOString() })) : { status: 503, body: '' }));
    h.provider.poll(h.now());
    h.settle();
    h.advance(h.provider.nextFetchAtMs - h.now());
    h.provider.poll(h.now());
    h.settle();
    expect(h.failed[0]!.stillValid).toBe(true);
    expect(h.provider.credentials(h.now())).toBeDefined();
    h.advance(60_000);
    expect(h.provider.credentials(h.now())).toBeUndefined();
  });
});

describe('credential configuration keys', () => {
  const base = { cloud_watch_region: 'us-east-1', cloud_watch_cluster_name: 'cloudwatch_api' };
  const parse = (extra: object, env: Record<string, string> = {}) => parseReceiverConfig(JSON.stringify({ ...base, ...extra }), (name) => env[name]);

  it('defaults to static keys, which are then required', () => {
    const result = parse({});
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors).toContain('configuration key "aws_access_key_id" is required');
  });

  it('envoy and imds need no keys', () => {
    const envoy = parse({ credentials_source: 'envoy' });
    expect(envoy.ok && envoy.config.credentialsSource).toEqual({ kind: 'envoy' });
    const imds = parse({ credentials_source: 'imds', credentials_cluster_name: 'imds' });
    expect(imds.ok && imds.config.credentialsSource).toEqual({ kind: 'imds', cluster: 'imds', authority: '169.254.169.254', refreshAheadMs: 300_000, timeoutMs: 1000 });
  });

  it('container: full URI over relative, token from the environment, never echoed', () => {
    const full = parse({ credentials_source: 'container', credentials_cluster_name: 'pod_identity' }, {
      AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.23/v1/credentials',
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/abc',
      AWS_CONTAINER_AUTHORIZATION_TOKEN: 'tok',
    });
    expect(full.ok && full.config.credentialsSource).toMatchObject({ kind: 'container', authority: '169.254.170.23', path: '/v1/credentials', authorizationToken: 'tok' });
    const relative = parse({ credentials_source: 'container', credentials_cluster_name: 'ecs' }, { AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/abc' });
    expect(relative.ok && relative.config.credentialsSource).toMatchObject({ authority: '169.254.170.2', path: '/v2/credentials/abc' });
    const bad = parse({ credentials_source: 'container', credentials_cluster_name: 'ecs', container_authorization_token: 'line\nbreak-secret' });
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.errors.join('\n')).toContain('needs "container_credentials_full_uri" or "container_credentials_relative_uri"');
      expect(bad.errors.join('\n')).toContain('"container_authorization_token" (or AWS_CONTAINER_AUTHORIZATION_TOKEN) must not contain a line break');
      expect(bad.errors.join('\n')).not.toContain('break-secret');
    }
  });

  it('names the key on a bad source or a missing cluster', () => {
    const unknown = parse({ credentials_source: 'sso' });
    expect(!unknown.ok && unknown.errors[0]).toContain('"credentials_source" must be one of "static", "envoy", "imds", "container"');
    const noCluster = parse({ credentials_source: 'imds' });
    expect(!noCluster.ok && noCluster.errors).toContain('configuration key "credentials_cluster_name" is required');
  });
});

describe('signing with rotating credentials, and unsigned calls', () => {
  class NodeHash implements PayloadHash {
    private readonly hash = createHash('sha256');
    update(data: Uint8Array): void {
      this.hash.update(data);
    }
    digest(): Promise<Uint8Array> {
      return Promise.resolve(new Uint8Array(this.hash.digest()));
    }
  }

  it('asks for the credentials at each signing: a refresh takes effect on the next call', async () => {
    let current: AwsCredentials = { accessKeyId: 'ASIAFIRST', secretAccessKey: 's1', sessionToken: 't1' };
    const signer = new PutMetricDataSigner({ region: 'us-east-1', endpoint: 'monitoring.us-east-1.amazonaws.com', credentials: () => current, createPayloadHash: () => new NodeHash() });
    const body = new TextEncoder().encode('{}');
    const first = new Map(await signer.sign(body, NOW));
    current = { accessKeyId: 'ASIASECOND', secretAccessKey: 's2', sessionToken: 't2' };
    const second = new Map(await signer.sign(body, NOW));
    expect(first.get('authorization')).toContain('Credential=ASIAFIRST/');
    expect(first.get('x-amz-security-token')).toBe('t1');
    expect(second.get('authorization')).toContain('Credential=ASIASECOND/');
    expect(second.get('x-amz-security-token')).toBe('t2');
  });

  it('an unsigned call carries only what Envoy\'s filter signs over', () => {
    expect(unsignedHeaders('monitoring.us-east-1.amazonaws.com')).toEqual([
      [':method', 'POST'], [':path', '/'], [':authority', 'monitoring.us-east-1.amazonaws.com'],
      ['content-type', 'application/x-amz-json-1.0'], ['x-amz-target', 'GraniteServiceVersion20100801.PutMetricData'],
    ]);
  });
});
