// The signature is checked against an independent SigV4 implementation written here from the
// AWS specification with node:crypto (not with @smithy/signature-v4 or @aws-crypto).

import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  AWS_JSON_CONTENT_TYPE, PUT_METRIC_DATA_TARGET, PutMetricDataSigner, type PayloadHash,
} from '../../src/cloudwatch/signer.js';

const sha256Hex = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest();

interface Recomputed { signature: string; canonicalRequest: string }

function recompute(headers: Map<string, string>, signedHeaders: string[], body: Uint8Array, secret: string, scope: string[]): Recomputed {
  const [date, region, service] = scope;
  const canonicalHeaders = signedHeaders.map((name) => `${name}:${headers.get(name)!.trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonicalRequest = ['POST', '/', '', canonicalHeaders, signedHeaders.join(';'), sha256Hex(body)].join('\n');
  const amzDate = headers.get('x-amz-date')!;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, `${date}/${region}/${service}/aws4_request`, sha256Hex(canonicalRequest)].join('\n');
  const kDate = hmac(`AWS4${secret}`, date!);
  const kRegion = hmac(kDate, region!);
  const kService = hmac(kRegion, service!);
  const kSigning = hmac(kService, 'aws4_request');
  return { signature: createHmac('sha256', kSigning).update(stringToSign).digest('hex'), canonicalRequest };
}

class NodePayloadHash implements PayloadHash {
  static sizes: number[] = [];
  private readonly hash = createHash('sha256');
  update(data: Uint8Array): void {
    NodePayloadHash.sizes.push(data.byteLength);
    this.hash.update(data);
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
}

const body = new TextEncoder().encode('{"Namespace":"AWSCloudWatchProxyWasm","MetricData":[{"MetricName":"RequestCount","Value":1}]}');
const NOW = Date.UTC(2026, 10, 27, 1, 2, 3);

async function signedWith(credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }, endpoint = 'monitoring.ap-northeast-1.amazonaws.com', region = 'ap-northeast-1') {
  const signer = new PutMetricDataSigner({ region, endpoint, credentials, createPayloadHash: () => new NodePayloadHash() });
  const pairs = await signer.sign(body, NOW);
  return { pairs, headers: new Map(pairs) };
}

function parseAuthorization(value: string): { accessKeyId: string; scope: string[]; signedHeaders: string[]; signature: string } {
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/([^,]+), SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(value);
  if (!match) throw new Error(`unexpected Authorization header: ${value}`);
  return { accessKeyId: match[1]!, scope: match[2]!.split('/'), signedHeaders: match[3]!.split(';'), signature: match[4]! };
}

describe('PutMetricData signing', () => {
  it('produces the pseudo headers and AWS JSON 1.0 headers proxy_http_call needs', async () => {
    const { pairs, headers } = await signedWith({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' });
    expect(pairs.slice(0, 3)).toEqual([[':method', 'POST'], [':path', '/'], [':authority', 'monitoring.ap-northeast-1.amazonaws.com']]);
    expect(headers.get('content-type')).toBe(AWS_JSON_CONTENT_TYPE);
    expect(headers.get('x-amz-target')).toBe(PUT_METRIC_DATA_TARGET);
    expect(headers.get('x-amz-target')).toBe('GraniteServiceVersion20100801.PutMetricData');
    expect(headers.get('x-amz-date')).toBe('20261127T010203Z');
    expect(headers.has('host')).toBe(false); // :authority carries it
    expect(headers.has('x-amz-security-token')).toBe(false);
    expect(headers.has('x-amz-content-sha256')).toBe(false);
  });

  it('matches an independent SigV4 computation (node:crypto, from the AWS spec)', async () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
    const { headers } = await signedWith({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: secret });
    const auth = parseAuthorization(headers.get('authorization')!);
    expect(auth.accessKeyId).toBe('AKIDEXAMPLE');
    expect(auth.scope).toEqual(['20261127', 'ap-northeast-1', 'monitoring', 'aws4_request']);
    expect(auth.signedHeaders).toEqual(['content-type', 'host', 'x-amz-date', 'x-amz-target']);
    const withHost = new Map(headers);
    withHost.set('host', headers.get(':authority')!);
    const expected = recompute(withHost, auth.signedHeaders, body, secret, auth.scope);
    expect(auth.signature).toBe(expected.signature);
    // A wrong secret gives a different signature.
    expect(recompute(withHost, auth.signedHeaders, body, `${secret}x`, auth.scope).signature).not.toBe(auth.signature);
  });

  it('signs the session token and the endpoint override (with port) as host', async () => {
    const secret = 'another-secret';
    const { headers } = await signedWith({ accessKeyId: 'ASIAEXAMPLE', secretAccessKey: secret, sessionToken: 'token/with+chars==' }, '127.0.0.1:5000', 'us-east-1');
    expect(headers.get(':authority')).toBe('127.0.0.1:5000');
    expect(headers.get('x-amz-security-token')).toBe('token/with+chars==');
    const auth = parseAuthorization(headers.get('authorization')!);
    expect(auth.signedHeaders).toEqual(['content-type', 'host', 'x-amz-date', 'x-amz-security-token', 'x-amz-target']);
    const withHost = new Map(headers);
    withHost.set('host', '127.0.0.1:5000');
    expect(auth.signature).toBe(recompute(withHost, auth.signedHeaders, body, secret, auth.scope).signature);
  });

  it('hashes the payload with the injected SHA-256, not the pure-JS one', async () => {
    NodePayloadHash.sizes = [];
    await signedWith({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 's' });
    expect(NodePayloadHash.sizes).toContain(body.byteLength);
  });
});
