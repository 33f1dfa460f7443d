// Header maps for the benchmark's synthetic traffic, encoded once so that answering a hostcall
// costs the host a byte comparison and a copy, as in Envoy, and no string conversion.

const encoder = new TextEncoder();

export type HeaderList = readonly (readonly [string, string])[];

export class EncodedHeaders {
  readonly keys: Uint8Array[];
  readonly values: Uint8Array[];
  /** The ABI's pairs wire format: u32 count, (u32 key len, u32 value len)*, then key\0 value\0 ... */
  readonly serialized: Uint8Array;

  constructor(readonly list: HeaderList) {
    this.keys = list.map(([k]) => encoder.encode(k.toLowerCase()));
    this.values = list.map(([, v]) => encoder.encode(v));
    let size = 4 + 8 * list.length;
    for (let i = 0; i < list.length; i++) size += this.keys[i]!.byteLength + this.values[i]!.byteLength + 2;
    const out = new Uint8Array(size);
    const view = new DataView(out.buffer);
    view.setUint32(0, list.length, true);
    let at = 4 + 8 * list.length;
    for (let i = 0; i < list.length; i++) {
      view.setUint32(4 + 8 * i, this.keys[i]!.byteLength, true);
      view.setUint32(8 + 8 * i, this.values[i]!.byteLength, true);
      out.set(this.keys[i]!, at);
      at += this.keys[i]!.byteLength + 1;
      out.set(this.values[i]!, at);
      at += this.values[i]!.byteLength + 1;
    }
    this.serialized = out;
  }

  get size(): number {
    return this.list.length;
  }

  /** The value of the first header whose name equals `key` (lower-case bytes), or undefined. */
  find(key: Uint8Array): Uint8Array | undefined {
    outer: for (let i = 0; i < this.keys.length; i++) {
      const k = this.keys[i]!;
      if (k.byteLength !== key.byteLength) continue;
      for (let j = 0; j < k.byteLength; j++) if (k[j] !== key[j]) continue outer;
      return this.values[i];
    }
    return undefined;
  }
}

export const NO_HEADERS = new EncodedHeaders([]);
