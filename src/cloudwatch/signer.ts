// SigV4 for PutMetricData with @smithy/signature-v4 (service `monitoring`).
//
// Hashing is split by cost: the signer asks for keyed hashes (HMAC, short inputs) and unkeyed
// ones (the canonical request and the payload, up to 1 MB). HMAC stays with
// @aws-crypto/sha256-js; unkeyed hashes go to an injected SHA-256 (the bridge's, at Wasm speed,
// in the plugin; any implementation in tests), since a pure-JS hash of a 700 KB body costs ~1 s
// inside QuickJS.

import { Sha256 as JsSha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentials } from '../config/receiver.js';

export const PUT_METRIC_DATA_TARGET = 'GraniteServiceVersion20100801.PutMetricData';
export const AWS_JSON_CONTENT_TYPE = 'application/x-amz-json-1.0';
export const SIGNING_SERVICE = 'monitoring';

type SourceData = string | ArrayBuffer | ArrayBufferView;

/** The unkeyed SHA-256 the signer uses for the payload: Smithy's Hash shape. */
export interface PayloadHash {
  update(data: Uint8Array): void;
  digest(): Promise<Uint8Array>;
}

type SignerInit = ConstructorParameters<typeof SignatureV4>[0];
type HashConstructorForSigner = SignerInit['sha256'];
type RequestToSign = Parameters<SignatureV4['sign']>[0] & { headers: Record<string, string> };

function toBytes(data: SourceData): Uint8Array {
  if (typeof data === 'string') return new TextEncoder().encode(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** A Smithy hash constructor: keyed → pure-JS HMAC, unkeyed → the injected fast SHA-256. */
export function signingHashConstructor(createPayloadHash: () => PayloadHash): HashConstructorForSigner {
  class SigningSha256 {
    private readonly keyed: JsSha256 | undefined;
    private readonly plain: PayloadHash | undefined;
    constructor(secret?: SourceData) {
      if (secret !== undefined) this.keyed = new JsSha256(secret);
      else this.plain = createPayloadHash();
    }
    update(data: SourceData): void {
      if (this.keyed) this.keyed.update(data);
      else this.plain!.update(toBytes(data));
    }
    digest(): Promise<Uint8Array> {
      return this.keyed ? this.keyed.digest() : this.plain!.digest();
    }
    reset(): void {
      throw new Error('SigningSha256.reset is not supported');
    }
  }
  return SigningSha256 as unknown as HashConstructorForSigner;
}

export interface SignerOptions {
  readonly region: string;
  /** `:authority` of the call, signed as the `host` header. */
  readonly endpoint: string;
  /** Fixed keys, or a function asked at each signing (role credentials that rotate). */
  readonly credentials: AwsCredentials | (() => AwsCredentials);
  readonly createPayloadHash: () => PayloadHash;
}

/** Header pairs for proxy_http_call: pseudo headers first, then the signed ones. */
export type CallHeaders = [name: string, value: string][];

export class PutMetricDataSigner {
  private readonly signer: SignatureV4;

  constructor(private readonly options: SignerOptions) {
    const identity = ({ accessKeyId, secretAccessKey, sessionToken }: AwsCredentials): AwsCredentials =>
      (sessionToken ? { accessKeyId, secretAccessKey, sessionToken } : { accessKeyId, secretAccessKey });
    const source = options.credentials;
    this.signer = new SignatureV4({
      service: SIGNING_SERVICE,
      region: options.region,
      credentials: typeof source === 'function' ? () => Promise.resolve(identity(source())) : identity(source),
      sha256: signingHashConstructor(options.createPayloadHash),
      // AWS JSON services do not need x-amz-content-sha256; the SDKs don't send it either.
      applyChecksum: false,
    });
  }

  /** `contentEncoding` 'gzip': the body is compressed; the header is signed with the compressed bytes. */
  async sign(body: Uint8Array, nowMs: number, contentEncoding?: 'gzip'): Promise<CallHeaders> {
    const request: RequestToSign = {
      method: 'POST',
      protocol: 'https:',
      hostname: this.options.endpoint,
      path: '/',
      query: {},
      headers: {
        host: this.options.endpoint,
        'content-type': AWS_JSON_CONTENT_TYPE,
        'x-amz-target': PUT_METRIC_DATA_TARGET,
        ...(contentEncoding !== undefined ? { 'content-encoding': contentEncoding } : {}),
      },
      body,
    };
    const signed = await this.signer.sign(request, { signingDate: new Date(nowMs) });
    const headers: CallHeaders = [[':method', 'POST'], [':path', '/'], [':authority', this.options.endpoint]];
    for (const [name, value] of Object.entries(signed.headers)) {
      if (name.toLowerCase() === 'host') continue; // sent as :authority
      headers.push([name.toLowerCase(), value]);
    }
    return headers;
  }
}

/** Headers of an unsigned PutMetricData (credentials_source "envoy": Envoy's filter signs it). */
export function unsignedHeaders(endpoint: string, contentEncoding?: 'gzip'): CallHeaders {
  return [
    [':method', 'POST'], [':path', '/'], [':authority', endpoint],
    ['content-type', AWS_JSON_CONTENT_TYPE], ['x-amz-target', PUT_METRIC_DATA_TARGET],
    ...(contentEncoding !== undefined ? [['content-encoding', contentEncoding] as [string, string]] : []),
  ];
}
