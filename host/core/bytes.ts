// Byte helpers shared by the host: UTF-8 and the proxy-wasm header-pairs wire format.

import type { FlatPairs } from '../../src/abi/host.js';

export type Bytes = Uint8Array;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const EMPTY_BYTES: Bytes = new Uint8Array(0);

export function utf8(text: string): Bytes {
  return encoder.encode(text);
}

export function fromUtf8(bytes: Bytes): string {
  return decoder.decode(bytes);
}

/** Anything a plugin may hand over as bytes, copied into a Uint8Array the host owns. */
export function toBytes(data: string | ArrayBuffer | ArrayBufferView): Bytes {
  if (typeof data === 'string') return utf8(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data.slice(0));
  return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
}

/** A fresh ArrayBuffer holding exactly these bytes (what the Host interface returns). */
export function toArrayBuffer(bytes: Bytes): ArrayBuffer {
  const out = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(out).set(bytes);
  return out;
}

/**
 * Serialises pairs the way the ABI expects: u32 count, then (u32 key length, u32 value length)
 * per pair, then each key and value followed by a NUL byte.
 */
export function serializePairs(pairs: FlatPairs): Bytes {
  const count = pairs.length >> 1;
  // Header names and values are ASCII in practice: measured in the lean host, a TextEncoder
  // call per string cost ~2 µs per stream for a request map; only non-ASCII lists use it.
  let ascii = true;
  for (let i = 0; ascii && i < pairs.length; i++) {
    const s = pairs[i]!;
    for (let c = 0; c < s.length; c++) if (s.charCodeAt(c) > 0x7f) { ascii = false; break; }
  }
  const encoded = ascii ? undefined : pairs.map((s) => utf8(s));
  const lengthOf = (i: number): number => (encoded === undefined ? pairs[i]!.length : encoded[i]!.byteLength);
  let size = 4 + count * 8;
  for (let i = 0; i < pairs.length; i++) size += lengthOf(i) + 1;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, count, true);
  let data = 4 + count * 8;
  for (let i = 0; i < pairs.length; i++) {
    const length = lengthOf(i);
    view.setUint32(4 + i * 4, length, true); // key i = 2k at 4 + 8k, its value at 8 + 8k
    if (encoded !== undefined) out.set(encoded[i]!, data);
    else for (let c = 0, s = pairs[i]!; c < length; c++) out[data + c] = s.charCodeAt(c);
    data += length + 1;
  }
  return out;
}

/** Parses the pairs wire format; returns undefined when the bytes are not well formed. */
export function deserializePairs(bytes: Bytes): FlatPairs | undefined {
  if (bytes.byteLength === 0) return [];
  if (bytes.byteLength < 4) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(0, true);
  let data = 4 + count * 8;
  if (data > bytes.byteLength) return undefined;
  const out: FlatPairs = [];
  for (let i = 0; i < count; i++) {
    const keyLength = view.getUint32(4 + i * 8, true);
    const valueLength = view.getUint32(8 + i * 8, true);
    if (data + keyLength + 1 + valueLength + 1 > bytes.byteLength) return undefined;
    out.push(fromUtf8(bytes.subarray(data, data + keyLength)));
    data += keyLength + 1;
    out.push(fromUtf8(bytes.subarray(data, data + valueLength)));
    data += valueLength + 1;
  }
  return out;
}

const TWO_32 = 0x1_0000_0000;

/** 8 bytes, little-endian, of hi * 2^32 + lo (both unsigned 32-bit words). */
export function u64WordsBytes(hi: number, lo: number): Bytes {
  const out = new Uint8Array(8);
  out[0] = lo; out[1] = lo >>> 8; out[2] = lo >>> 16; out[3] = lo >>> 24;
  out[4] = hi; out[5] = hi >>> 8; out[6] = hi >>> 16; out[7] = hi >>> 24;
  return out;
}

export function int64Bytes(value: bigint | number): Bytes {
  // Plain non-negative integers (ports, sizes, codes) without BigInt or a DataView.
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) {
    return u64WordsBytes(Math.floor(value / TWO_32), value % TWO_32);
  }
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigInt64(0, BigInt(value), true);
  return out;
}
