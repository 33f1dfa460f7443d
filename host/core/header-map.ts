// An HTTP header map with Envoy's semantics: lower-cased keys, insertion order kept,
// repeated keys allowed, "get" returns the first value.

import type { FlatPairs } from '../../src/abi/host.js';

export class HeaderMap {
  private entries: [string, string][] = [];

  constructor(pairs: Iterable<readonly [string, string]> = []) {
    for (const [k, v] of pairs) this.add(k, v);
  }

  static fromFlat(flat: FlatPairs): HeaderMap {
    const map = new HeaderMap();
    for (let i = 0; i + 1 < flat.length; i += 2) map.add(flat[i]!, flat[i + 1]!);
    return map;
  }

  get size(): number {
    return this.entries.length;
  }

  /** Sum of key and value lengths in bytes, which is what Envoy reports as the map size. */
  byteSize(): number {
    let n = 0;
    for (const [k, v] of this.entries) n += Buffer.byteLength(k) + Buffer.byteLength(v);
    return n;
  }

  get(key: string): string | undefined {
    const lower = key.toLowerCase();
    for (const [k, v] of this.entries) if (k === lower) return v;
    return undefined;
  }

  add(key: string, value: string): void {
    this.entries.push([key.toLowerCase(), value]);
  }

  /** Sets the first entry of the key and drops the others; appends when the key is absent. */
  replace(key: string, value: string): void {
    const lower = key.toLowerCase();
    const index = this.entries.findIndex(([k]) => k === lower);
    if (index < 0) {
      this.entries.push([lower, value]);
      return;
    }
    this.entries[index] = [lower, value];
    this.entries = this.entries.filter(([k], i) => i <= index || k !== lower);
  }

  remove(key: string): void {
    const lower = key.toLowerCase();
    this.entries = this.entries.filter(([k]) => k !== lower);
  }

  setAll(flat: FlatPairs): void {
    this.entries = [];
    for (let i = 0; i + 1 < flat.length; i += 2) this.add(flat[i]!, flat[i + 1]!);
  }

  toFlat(): FlatPairs {
    const out: FlatPairs = [];
    for (const [k, v] of this.entries) out.push(k, v);
    return out;
  }

  pairs(): readonly (readonly [string, string])[] {
    return this.entries;
  }
}
