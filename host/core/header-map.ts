// An HTTP header map with Envoy's semantics: lower-cased keys, insertion order kept,
// repeated keys allowed, "get" returns the first value.
//
// Stored as one flat [key, value, key, value, ...] array (the ABI's own shape): building from
// and converting to FlatPairs is a copy, and lookups of keys already in lower case (pseudo-headers,
// what SDKs send) compare without lower-casing first.

import type { FlatPairs } from '../../src/abi/host.js';

/** The key in lower case; returns the same string when it has no upper-case ASCII letter. */
function lowerKey(key: string): string {
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if ((c >= 0x41 && c <= 0x5a) || c >= 0x80) return key.toLowerCase();
  }
  return key;
}

export class HeaderMap {
  private kv: string[] = [];

  constructor(pairs: Iterable<readonly [string, string]> = []) {
    for (const [k, v] of pairs) this.add(k, v);
  }

  static fromFlat(flat: FlatPairs): HeaderMap {
    const map = new HeaderMap();
    map.appendFlat(flat);
    return map;
  }

  private appendFlat(flat: FlatPairs): void {
    const n = flat.length - 1; // a trailing key without a value is dropped
    let i = 0;
    if (this.kv.length === 0) {
      // Usual case: keys already in lower case, then the whole list is one copy.
      while (i < n && lowerKey(flat[i]!) === flat[i]) i += 2;
      if (i >= n) {
        this.kv = flat.slice(0, n + 1 - ((n + 1) & 1));
        return;
      }
      this.kv = flat.slice(0, i);
    }
    const kv = this.kv;
    for (; i < n; i += 2) kv.push(lowerKey(flat[i]!), flat[i + 1]!);
  }

  get size(): number {
    return this.kv.length >> 1;
  }

  /** Sum of key and value lengths in bytes, which is what Envoy reports as the map size. */
  byteSize(): number {
    let n = 0;
    for (const s of this.kv) n += Buffer.byteLength(s);
    return n;
  }

  get(key: string): string | undefined {
    const kv = this.kv;
    const n = kv.length;
    for (let i = 0; i < n; i += 2) if (kv[i] === key) return kv[i + 1];
    const lower = lowerKey(key);
    if (lower === key) return undefined;
    for (let i = 0; i < n; i += 2) if (kv[i] === lower) return kv[i + 1];
    return undefined;
  }

  add(key: string, value: string): void {
    this.kv.push(lowerKey(key), value);
  }

  /** Sets the first entry of the key and drops the others; appends when the key is absent. */
  replace(key: string, value: string): void {
    const lower = lowerKey(key);
    const kv = this.kv;
    let i = 0;
    while (i < kv.length && kv[i] !== lower) i += 2;
    if (i >= kv.length) {
      kv.push(lower, value);
      return;
    }
    kv[i + 1] = value;
    this.removeFrom(lower, i + 2);
  }

  remove(key: string): void {
    this.removeFrom(lowerKey(key), 0);
  }

  /** Drops every entry of `lower` at or after flat index `start` (keeping the order of the rest). */
  private removeFrom(lower: string, start: number): void {
    const kv = this.kv;
    let out = start;
    for (let i = start; i < kv.length; i += 2) {
      if (kv[i] === lower) continue;
      kv[out] = kv[i]!;
      kv[out + 1] = kv[i + 1]!;
      out += 2;
    }
    kv.length = out;
  }

  setAll(flat: FlatPairs): void {
    this.kv = [];
    this.appendFlat(flat);
  }

  toFlat(): FlatPairs {
    return this.kv.slice();
  }

  pairs(): readonly (readonly [string, string])[] {
    const out: [string, string][] = [];
    for (let i = 0; i < this.kv.length; i += 2) out.push([this.kv[i]!, this.kv[i + 1]!]);
    return out;
  }
}
