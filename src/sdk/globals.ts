// JS globals the bundle needs under QuickJS, backed by the bridge (a Host):
//  - TextEncoder / TextDecoder (UTF-8 at Wasm speed; lone surrogates and invalid input -> U+FFFD);
//  - console.* -> proxy_log;
//  - process.env, a getter reading WASI environ_* on every access (never frozen into the snapshot);
//  - Math.random, reseeded from randomBytes on first use after the snapshot;
//  - crypto.getRandomValues / randomUUID from WASI random_get.

import type { Host } from '../abi/index.js';
import { LogLevel } from '../abi/index.js';

type BufferLike = ArrayBuffer | ArrayBufferView;

function asBytes(input: BufferLike): { buffer: ArrayBuffer; offset: number; length: number } {
  if (input instanceof ArrayBuffer) return { buffer: input, offset: 0, length: input.byteLength };
  if (ArrayBuffer.isView(input)) return { buffer: input.buffer as ArrayBuffer, offset: input.byteOffset, length: input.byteLength };
  throw new TypeError('TextDecoder.decode: expected an ArrayBuffer or a view of one');
}

export function makeTextEncoder(host: Host) {
  return class TextEncoder {
    readonly encoding = 'utf-8';
    encode(input = ''): Uint8Array {
      return new Uint8Array(host.utf8Encode(String(input)));
    }
    encodeInto(input: string, dest: Uint8Array): { read: number; written: number } {
      // Whole code points only, as the spec requires.
      let read = 0;
      let written = 0;
      for (const ch of String(input)) {
        const bytes = new Uint8Array(host.utf8Encode(ch));
        if (written + bytes.length > dest.length) break;
        dest.set(bytes, written);
        written += bytes.length;
        read += ch.length;
      }
      return { read, written };
    }
  };
}

export function makeTextDecoder(host: Host) {
  return class TextDecoder {
    readonly encoding = 'utf-8';
    readonly fatal: boolean;
    readonly ignoreBOM: boolean;
    constructor(label = 'utf-8', options: { fatal?: boolean; ignoreBOM?: boolean } = {}) {
      const l = String(label).trim().toLowerCase();
      if (l !== 'utf-8' && l !== 'utf8' && l !== 'unicode-1-1-utf-8') {
        throw new RangeError(`TextDecoder: only utf-8 is supported, not '${label}'`);
      }
      this.fatal = options.fatal === true;
      this.ignoreBOM = options.ignoreBOM === true;
    }
    decode(input?: BufferLike): string {
      if (input === undefined) return '';
      let { buffer, offset, length } = asBytes(input);
      if (!this.ignoreBOM && length >= 3) {
        const b = new Uint8Array(buffer, offset, 3);
        if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) { offset += 3; length -= 3; }
      }
      const text = host.utf8Decode(buffer, offset, length);
      if (this.fatal && text.includes('\uFFFD')) {
        // Only a real U+FFFD in the input is legitimate: re-encode to tell them apart.
        const again = new Uint8Array(host.utf8Encode(text));
        const orig = new Uint8Array(buffer, offset, length);
        if (again.length !== orig.length || again.some((v, i) => v !== orig[i])) {
          throw new TypeError('TextDecoder: invalid UTF-8 data');
        }
      }
      return text;
    }
  };
}

function format(args: unknown[]): string {
  return args.map((a) => {
    if (typeof a === 'string') return a;
    if (a instanceof Error) return a.stack ? `${a}\n${a.stack}` : String(a);
    try {
      const json = JSON.stringify(a);
      return json === undefined ? String(a) : json;
    } catch {
      return String(a);
    }
  }).join(' ');
}

export function makeConsole(host: Host) {
  const at = (level: LogLevel) => (...args: unknown[]): void => { host.log(level, format(args)); };
  return {
    trace: at(LogLevel.Trace), debug: at(LogLevel.Debug), log: at(LogLevel.Info), info: at(LogLevel.Info),
    warn: at(LogLevel.Warn), error: at(LogLevel.Error),
  };
}

/** An object whose `env` is the environment as read now (WASI environ_*). */
export function makeProcess(host: Host) {
  return Object.defineProperty({}, 'env', {
    enumerable: true,
    get(): Record<string, string> {
      const env: Record<string, string> = {};
      for (const entry of host.environ()) {
        const eq = entry.indexOf('=');
        if (eq > 0 && !(entry.slice(0, eq) in env)) env[entry.slice(0, eq)] = entry.slice(eq + 1);
      }
      return env;
    },
  });
}

// xoshiro128** seeded from host.randomBytes on first use after the snapshot. The generator's
// state lives in its closure (no module-level state); reseed() forgets it.
export function makeRandom(host: Host): { random: () => number; reseed: () => void } {
  const state = new Uint32Array(4);
  let seeded = false;
  const next = (): number => {
    const s = state;
    const result = Math.imul(((Math.imul(s[1], 5) << 7) | (Math.imul(s[1], 5) >>> 25)), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 11) | (s[3] >>> 21);
    return result;
  };
  const random = (): number => {
    if (!seeded) {
      state.set(new Uint32Array(host.randomBytes(16)));
      if ((state[0] | state[1] | state[2] | state[3]) === 0) state[0] = 1;
      seeded = true;
    }
    // 53 random bits, as V8 does
    return ((next() >>> 5) * 67108864 + (next() >>> 6)) / 9007199254740992;
  };
  const reseed = (): void => {
    seeded = false;
    state.fill(0);
  };
  return { random, reseed };
}

/** Web Crypto's random part (uuid helpers in the AWS SDK call it), from WASI random_get. */
export function makeCrypto(host: Host) {
  const getRandomValues = <T extends ArrayBufferView>(array: T): T => {
    if (!ArrayBuffer.isView(array)) throw new TypeError('crypto.getRandomValues: expected a typed array');
    if (array.byteLength > 65536) throw new RangeError('crypto.getRandomValues: at most 65536 bytes');
    new Uint8Array(array.buffer, array.byteOffset, array.byteLength).set(new Uint8Array(host.randomBytes(array.byteLength)));
    return array;
  };
  const randomUUID = (): string => {
    const b = getRandomValues(new Uint8Array(16));
    b[6] = (b[6]! & 0x0f) | 0x40;
    b[8] = (b[8]! & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  };
  return { getRandomValues, randomUUID };
}

/**
 * Installs the globals; returns what to call at the end of initialisation: the next
 * Math.random() in a live VM then reseeds (the snapshot must not fix its sequence).
 */
export function installGlobals(host: Host): { markSnapshotTaken: () => void } {
  const g = globalThis as Record<string, unknown>;
  g.TextEncoder = makeTextEncoder(host);
  g.TextDecoder = makeTextDecoder(host);
  g.console = makeConsole(host);
  if (g.process === undefined) g.process = makeProcess(host);
  if (g.crypto === undefined) g.crypto = makeCrypto(host);
  const { random, reseed } = makeRandom(host);
  Math.random = random;
  return { markSnapshotTaken: reseed };
}
