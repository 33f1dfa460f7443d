// gzip request bodies for PutMetricData, as the AWS SDKs do for operations with Smithy's
// requestCompression trait: bodies of at least `minBytes` (default 10,240, the SDKs'
// request_min_compression_size_bytes) go out as `Content-Encoding: gzip`; smaller ones as they
// are (compressing them saves little and costs a hostcall).
//
// The deflate runs in the host, at native speed: Envoy's `compress` foreign function
// (source/extensions/common/wasm/foreign.cc) is zlib's compress(), which returns a zlib stream
// (RFC 1950: a 2-byte header, raw deflate, an Adler-32 trailer). A gzip member (RFC 1952) carries
// the same raw deflate between its own 10-byte header and a CRC-32 + length trailer, so the
// stream is reframed here; the CRC-32 of the uncompressed bytes comes from the bridge (Wasm).

/** The SDKs' default for request_min_compression_size_bytes. */
export const DEFAULT_MIN_COMPRESSION_BYTES = 10_240;
/** The SDKs accept 0 .. 10,485,760 for the threshold. */
export const MAX_MIN_COMPRESSION_BYTES = 10_485_760;
export const COMPRESS_FOREIGN_FUNCTION = 'compress';

export interface CompressionSettings {
  readonly enabled: boolean;
  readonly minBytes: number;
}

/** What compression needs from the host: the zlib deflate and the CRC-32. */
export interface CompressionHost {
  /** zlib stream (RFC 1950) of the bytes, or undefined when the host has no such function. */
  zlibCompress(data: Uint8Array): Uint8Array | undefined;
  crc32(data: Uint8Array): number;
}

export type EncodedBody =
  | { readonly encoding: 'identity'; readonly body: Uint8Array; readonly reason: 'disabled' | 'below_threshold' | 'unavailable' }
  | { readonly encoding: 'gzip'; readonly body: Uint8Array; readonly uncompressedBytes: number };

const GZIP_HEADER = [
  0x1f, 0x8b, // magic
  0x08, // CM = deflate
  0x00, // FLG: no name, comment, extra or header CRC
  0x00, 0x00, 0x00, 0x00, // MTIME 0: builds and retries produce the same bytes
  0x00, // XFL
  0xff, // OS unknown
];

/**
 * Reframes a zlib stream as a gzip member. Throws on a stream that is not plain deflate (zlib's
 * compress() never sets a preset dictionary, but the bytes come from the host: check).
 */
export function gzipFromZlib(zlibStream: Uint8Array, crc32: number, uncompressedBytes: number): Uint8Array {
  if (zlibStream.length < 6) throw new Error(`zlib stream too short (${zlibStream.length} bytes)`);
  const cmf = zlibStream[0]!;
  const flg = zlibStream[1]!;
  if ((cmf & 0x0f) !== 8 || ((cmf << 8) | flg) % 31 !== 0) throw new Error('not a zlib deflate stream (bad header)');
  if ((flg & 0x20) !== 0) throw new Error('zlib stream uses a preset dictionary');
  const deflate = zlibStream.subarray(2, zlibStream.length - 4);
  const out = new Uint8Array(GZIP_HEADER.length + deflate.length + 8);
  out.set(GZIP_HEADER, 0);
  out.set(deflate, GZIP_HEADER.length);
  const trailer = GZIP_HEADER.length + deflate.length;
  writeUint32le(out, trailer, crc32 >>> 0);
  writeUint32le(out, trailer + 4, uncompressedBytes >>> 0); // ISIZE: length mod 2^32
  return out;
}

function writeUint32le(out: Uint8Array, at: number, value: number): void {
  out[at] = value & 0xff;
  out[at + 1] = (value >>> 8) & 0xff;
  out[at + 2] = (value >>> 16) & 0xff;
  out[at + 3] = (value >>> 24) & 0xff;
}

/** The body to send for `body`, gzip when the settings and the host allow. */
export function encodeBody(body: Uint8Array, settings: CompressionSettings, host: CompressionHost): EncodedBody {
  if (!settings.enabled) return { encoding: 'identity', body, reason: 'disabled' };
  if (body.length < settings.minBytes) return { encoding: 'identity', body, reason: 'below_threshold' };
  const zlibStream = host.zlibCompress(body);
  if (zlibStream === undefined) return { encoding: 'identity', body, reason: 'unavailable' };
  return { encoding: 'gzip', body: gzipFromZlib(zlibStream, host.crc32(body), body.length), uncompressedBytes: body.length };
}
