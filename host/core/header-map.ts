// An HTTP header map with Envoy's semantics: lower-cased keys, insertion order kept,
// repeated keys allowed, "get" returns the first value.
//
// Stored as one flat [key, value, key, value, ...] array (the ABI's own shape): building from
// FlatPairs is a copy (or shares a registered list, below), converting back is a copy, and
// lookups of keys already in lower case (pseudo-headers, what SDKs send) compare without
// lower-casing first.
//
// A list the host replays stream after stream (a prepared request, a route's cached answer) is
// registered once with HeaderMap.share: its keys are checked then, and maps made from it share
// it instead of copying, until their first edit. Checking the keys cost more than anything else
// in a lean-mode stream. (Not Object.freeze: V8 reads and copies frozen arrays far slower.)

import type { FlatPairs } from '../../src/abi/host.js';

/** The key in lower case; returns the same string when it has no upper-case ASCII letter. */
function lowerKey(key: string): string {
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if ((c >= 0x41 && c <= 0x5a) || c >= 0x80) return key.toLowerCase();
  }
  return key;
}

/** Lists registered with HeaderMap.share: lower-case keys, a value for every key, never edited. */
const sharedLists = new WeakSet<readonly string[]>();

function isNormalized(flat: readonly string[]): boolean {
  if ((flat.length & 1) !== 0) return false;
  for (let i = 0; i < flat.length; i += 2) if (lowerKey(flat[i]!) !== flat[i]) return false;
  return true;
}

export class HeaderMap {
  private kv: string[] = [];
  /** kv is a list registered with share(): copied before the first edit (ownKv). */
  private shared = false;

  constructor(pairs?: Iterable<readonly [string, string]>) {
    if (pairs !== undefined) for (const [k, v] of pairs) this.add(k, v);
  }

  /**
   * Registers `flat` as a list its owner never edits again (the caller's promise), so that maps
   * made from it share it. A list with upper-case keys or an odd length is not registered (maps
   * copy and normalise it as usual). Returns `flat`.
   */
  static share<T extends readonly string[]>(flat: T): T {
    if (isNormalized(flat)) sharedLists.add(flat);
    return flat;
  }

  static fromFlat(flat: FlatPairs | readonly string[]): HeaderMap {
    const map = new HeaderMap();
    if (sharedLists.has(flat)) {
      map.kv = flat as string[];
      map.shared = true;
    } else {
      map.appendFlat(flat);
    }
    return map;
  }

  /** The list to edit: a shared one is copied first. */
  private ownKv(): string[] {
    if (this.shared) {
      this.kv = this.kv.slice();
      this.shared = false;
    }
    return this.kv;
  }

  /** Only on a map's own list (a new map, or after setAll). */
  private appendFlat(flat: readonly string[]): void {
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
    this.ownKv().push(lowerKey(key), value);
  }

  /** Sets the first entry of the key and drops the others; appends when the key is absent. */
  replace(key: string, value: string): void {
    const lower = lowerKey(key);
    const kv = this.ownKv();
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
    const kv = this.ownKv();
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
    this.shared = false;
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
