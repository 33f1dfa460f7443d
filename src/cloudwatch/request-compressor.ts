// The receiver's side of request compression: a batch's JSON → the bytes proxy_http_call sends
// (gzip through Envoy's `compress` foreign function and the bridge's CRC-32, see compression.ts),
// kept per batch so a retry sends the same bytes without compressing again. Each compression is
// timed with the host's nanosecond clock and reported at debug level (bytes before and after,
// µs per step), which is how the README's figures were measured in real Envoy.

import type { PutBatch } from './batches.js';
import { COMPRESS_FOREIGN_FUNCTION, encodeBody, type CompressionSettings, type EncodedBody } from './compression.js';

/** What the compressor needs from the plugin (the root context and its host). */
export interface CompressorHost {
  utf8Bytes(text: string): Uint8Array;
  /** undefined when the host has no such function; throws on a failed call. */
  callForeignFunction(name: string, argument: ArrayBuffer): ArrayBuffer | undefined;
  crc32(data: ArrayBuffer): number;
  nowNs(): number;
  // as the SDK's Logger takes them (domain code imports no SDK): a function is built only if logged
  warn(message: string | (() => string)): void;
  debug(message: string | (() => string)): void;
}

export interface WireBody {
  readonly body: Uint8Array;
  readonly contentEncoding?: 'gzip';
}

/** One line for the `configured` log. */
export function describeCompression(settings: CompressionSettings): string {
  return settings.enabled ? `gzip bodies of ${settings.minBytes} bytes or more` : 'request compression disabled';
}

/** The bytes as an ArrayBuffer of their own: the view's buffer when it covers it (no copy). */
function ownBuffer(data: Uint8Array): ArrayBuffer {
  if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength) return data.buffer as ArrayBuffer;
  return data.slice().buffer as ArrayBuffer;
}

const micros = (ns: number): string => (ns / 1000).toFixed(0);

export class RequestCompressor {
  private readonly encoded = new WeakMap<PutBatch, WireBody>();
  private unavailableLogged = false;

  constructor(private readonly settings: CompressionSettings, private readonly host: CompressorHost) {}

  encode(batch: PutBatch): WireBody {
    const cached = this.encoded.get(batch);
    if (cached !== undefined) return cached;
    const host = this.host;
    const t0 = host.nowNs();
    const json = host.utf8Bytes(batch.body);
    const t1 = host.nowNs();
    let compressNs = 0;
    let crcNs = 0;
    const result = encodeBody(json, this.settings, {
      zlibCompress: (data) => {
        const start = host.nowNs();
        try {
          const out = host.callForeignFunction(COMPRESS_FOREIGN_FUNCTION, ownBuffer(data));
          return out === undefined ? undefined : new Uint8Array(out);
        } catch (error) {
          host.warn(`receiver: the host's "compress" failed (${error instanceof Error ? error.message : String(error)}); sending this body uncompressed`);
          return undefined;
        } finally {
          compressNs = host.nowNs() - start;
        }
      },
      crc32: (data) => {
        const start = host.nowNs();
        const crc = host.crc32(ownBuffer(data));
        crcNs = host.nowNs() - start;
        return crc;
      },
    });
    const t2 = host.nowNs();
    const wire = this.wireBody(result);
    if (result.encoding === 'gzip') {
      host.debug(() =>
        `receiver: gzip: ${result.uncompressedBytes} -> ${result.body.length} bytes (ratio ${(result.uncompressedBytes / result.body.length).toFixed(2)}), `
        + `${batch.datums} datum(s); µs: utf8 ${micros(t1 - t0)}, compress ${micros(compressNs)}, crc32 ${micros(crcNs)}, `
        + `reframe ${micros(t2 - t1 - compressNs - crcNs)}, total ${micros(t2 - t0)}`);
    }
    this.encoded.set(batch, wire);
    return wire;
  }

  private wireBody(result: EncodedBody): WireBody {
    if (result.encoding === 'gzip') return { body: result.body, contentEncoding: 'gzip' };
    if (result.reason === 'unavailable' && !this.unavailableLogged) {
      this.unavailableLogged = true;
      this.host.warn('receiver: the host has no "compress" foreign function; PutMetricData bodies go out uncompressed');
    }
    return { body: result.body };
  }
}
