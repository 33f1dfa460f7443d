// Request compression: the zlib → gzip reframing against node:zlib's gunzip, the threshold and
// the switches, and the signature over the compressed bytes with Content-Encoding signed.

import { createHash } from 'node:crypto';
import { crc32, deflateSync, gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MIN_COMPRESSION_BYTES, encodeBody, gzipFromZlib, type CompressionHost,
} from '../../src/cloudwatch/compression.js';
import { RequestCompressor, type CompressorHost } from '../../src/cloudwatch/request-compressor.js';
import { PutMetricDataSigner, type PayloadHash } from '../../src/cloudwatch/signer.js';
import type { PutBatch } from '../../src/cloudwatch/batches.js';

const nodeHost: CompressionHost = {
  zlibCompress: (data) => new Uint8Array(deflateSync(data)), // what Envoy's compress() returns: zlib, level 6
  crc32: (data) => crc32(data) >>> 0,
};
const on = { enabled: true, minBytes: DEFAULT_MIN_COMPRESSION_BYTES };
const bodyOf = (text: string): Uint8Array => new TextEncoder().encode(text);
const metricJson = (datums: number): string =>
  `{"Namespace":"N","MetricData":[${Array.from({ length: datums }, (_, i) => `{"MetricName":"RequestCount","Dimensions":[{"Name":"host","Value":"h${i}.example.com"}],"StatisticValues":{"SampleCount":${i + 1},"Sum":${i + 1},"Minimum":1,"Maximum":1}}`).join(',')}]}`;

describe('gzip from zlib', () => {
  it('reframes zlib streams into gzip members gunzip accepts, for empty, small, large and random bodies', () => {
    const random = new Uint8Array(200_000).map(() => Math.floor(Math.random() * 256));
    for (const data of [new Uint8Array(0), bodyOf('a'), bodyOf(metricJson(1000)), random]) {
      const gz = gzipFromZlib(nodeHost.zlibCompress(data)!, nodeHost.crc32(data), data.length);
      expect([gz[0], gz[1], gz[2]]).toEqual([0x1f, 0x8b, 8]);
      expect(gunzipSync(gz).equals(Buffer.from(data))).toBe(true);
    }
  });

  it('rejects what is not a zlib deflate stream, and a wrong CRC makes gunzip fail', () => {
    const data = bodyOf(metricJson(10));
    expect(() => gzipFromZlib(new Uint8Array([1, 2, 3, 4, 5, 6, 7]), 0, 7)).toThrow(/bad header/);
    expect(() => gzipFromZlib(new Uint8Array(3), 0, 0)).toThrow(/too short/);
    const wrongCrc = gzipFromZlib(nodeHost.zlibCompress(data)!, nodeHost.crc32(data) ^ 1, data.length);
    expect(() => gunzipSync(wrongCrc)).toThrow();
  });
});

describe('when a body is compressed', () => {
  it('compresses from request_min_compression_size_bytes on (10,240 by default), not below', () => {
    const big = bodyOf('x'.repeat(DEFAULT_MIN_COMPRESSION_BYTES));
    const small = big.subarray(1);
    expect(encodeBody(big, on, nodeHost).encoding).toBe('gzip');
    expect(encodeBody(small, on, nodeHost)).toMatchObject({ encoding: 'identity', reason: 'below_threshold' });
    expect(encodeBody(bodyOf('{}'), { enabled: true, minBytes: 0 }, nodeHost).encoding).toBe('gzip');
    expect(encodeBody(big, { enabled: false, minBytes: 0 }, nodeHost)).toMatchObject({ encoding: 'identity', reason: 'disabled' });
  });

  it('sends the body as it is when the host has no compress function', () => {
    const big = bodyOf(metricJson(200));
    const result = encodeBody(big, on, { zlibCompress: () => undefined, crc32: nodeHost.crc32 });
    expect(result).toMatchObject({ encoding: 'identity', reason: 'unavailable' });
    expect(result.body).toBe(big);
  });

  it('a 1,000-datum body shrinks by more than 5x', () => {
    const data = bodyOf(metricJson(1000));
    const result = encodeBody(data, on, nodeHost);
    expect(result.encoding).toBe('gzip');
    expect(data.length / result.body.length).toBeGreaterThan(5);
  });
});

function fakeCompressorHost(log: string[], compress: CompressorHost['callForeignFunction']): CompressorHost {
  let now = 0;
  return {
    utf8Bytes: (text) => new TextEncoder().encode(text),
    callForeignFunction: compress,
    crc32: (data) => crc32(new Uint8Array(data)) >>> 0,
    nowNs: () => (now += 1000),
    warn: (m) => log.push(`warn ${typeof m === 'string' ? m : m()}`),
    debug: (m) => log.push(`debug ${typeof m === 'string' ? m : m()}`),
  };
}

describe('RequestCompressor', () => {
  const batch = (datums: number): PutBatch => {
    const body = metricJson(datums);
    return { body, datums, bytes: body.length };
  };

  it('compresses once per batch (a retry sends the same bytes) and reports sizes and times at debug level', () => {
    const log: string[] = [];
    let calls = 0;
    const compressor = new RequestCompressor(on, fakeCompressorHost(log, (name, data) => {
      calls++;
      expect(name).toBe('compress');
      return new Uint8Array(deflateSync(new Uint8Array(data))).buffer as ArrayBuffer;
    }));
    const b = batch(500);
    const first = compressor.encode(b);
    expect(compressor.encode(b)).toBe(first);
    expect(calls).toBe(1);
    expect(first.contentEncoding).toBe('gzip');
    expect(gunzipSync(first.body).toString()).toBe(b.body);
    expect(log.filter((l) => l.startsWith('debug receiver: gzip: '))).toHaveLength(1);
    expect(log[0]).toMatch(/gzip: \d+ -> \d+ bytes \(ratio [\d.]+\), 500 datum\(s\); µs: utf8 \d+, compress \d+, crc32 \d+, reframe -?\d+, total \d+/);
  });

  it('falls back to identity, warning once, when compress is missing or fails', () => {
    const log: string[] = [];
    const missing = new RequestCompressor(on, fakeCompressorHost(log, () => undefined));
    expect(missing.encode(batch(300)).contentEncoding).toBeUndefined();
    expect(missing.encode(batch(301)).contentEncoding).toBeUndefined();
    expect(log.filter((l) => l.includes('no "compress" foreign function'))).toHaveLength(1);
    const failing = new RequestCompressor(on, fakeCompressorHost(log, () => {
      throw new Error('proxy_call_foreign_function: SerializationFailure');
    }));
    const out = failing.encode(batch(300));
    expect(out.contentEncoding).toBeUndefined();
    expect(new TextDecoder().decode(out.body)).toBe(batch(300).body);
    expect(log.some((l) => l.includes('"compress" failed (proxy_call_foreign_function: SerializationFailure)'))).toBe(true);
  });
});

class NodeHash implements PayloadHash {
  private readonly hash = createHash('sha256');
  update(data: Uint8Array): void { this.hash.update(data); }
  digest(): Promise<Uint8Array> { return Promise.resolve(new Uint8Array(this.hash.digest())); }
}

describe('signing a compressed body', () => {
  it('signs Content-Encoding and hashes the compressed bytes', async () => {
    const signer = new PutMetricDataSigner({
      region: 'us-east-1', endpoint: 'monitoring.us-east-1.amazonaws.com',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }, createPayloadHash: () => new NodeHash(),
    });
    const gz = encodeBody(bodyOf(metricJson(100)), on, nodeHost).body;
    const headers = new Map(await signer.sign(gz, Date.UTC(2026, 0, 1)));
    const gzHeaders = new Map(await signer.sign(gz, Date.UTC(2026, 0, 1), 'gzip'));
    expect(headers.has('content-encoding')).toBe(false);
    expect(gzHeaders.get('content-encoding')).toBe('gzip');
    expect(gzHeaders.get('authorization')).toMatch(/SignedHeaders=content-encoding;content-type;host;x-amz-date;x-amz-target,/);
    expect(gzHeaders.get('authorization')).not.toBe(headers.get('authorization'));
  });
});
