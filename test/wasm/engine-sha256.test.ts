// SHA-256 through the BUILT module's bridge (WAT), against FIPS 180-4 vectors and node:crypto;
// CRC-32 (shims/crc32.wat, gzip's trailer) against node:zlib.

import { createHash, createHmac, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { BUILD_TIMEOUT_MS, buildFixture } from '../fixtures/engine/build-fixture.js';
import { loadWasmModule } from '../../host/guests/wasm.js';
import { RawVm } from '../support/raw-vm.js';

let h: RawVm;

beforeAll(async () => {
  const module = loadWasmModule(await buildFixture('test/fixtures/engine/probe.ts', 'probe', 'engine-sha256'));
  h = new RawVm(module);
  h.call('proxy_on_context_create', 1, 0);
  h.call('proxy_on_vm_start', 1, 0);
}, BUILD_TIMEOUT_MS);

const node = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');
const wasm = (data: Uint8Array, fn = 1): string => {
  const out = h.foreign(fn, data);
  expect(out).toHaveLength(1);
  return out[0]!.replace(/^sha /, '');
};

describe('SHA-256 in the bridge', () => {
  it('matches the FIPS 180-4 / NIST example vectors', () => {
    const vectors: [string, string][] = [
      ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
      ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
      ['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
      ['abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu',
        'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1'],
    ];
    for (const [msg, digest] of vectors) expect(wasm(Buffer.from(msg)), msg).toBe(digest);
    expect(wasm(Buffer.alloc(1_000_000, 'a'))).toBe('cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
  });

  it('matches node:crypto at every boundary length and on thousands of random inputs', () => {
    const lengths = [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 4095, 4096, 4097];
    for (const n of lengths) {
      const data = randomBytes(n);
      expect(wasm(data), `length ${n}`).toBe(node(data));
    }
    for (let i = 0; i < 3000; i++) {
      const data = randomBytes(i % 300);
      expect(wasm(data), `random #${i}`).toBe(node(data));
    }
  });

  it('hashes 1 MB in place and in streamed chunks (typed-array views) alike', () => {
    const data = randomBytes(1024 * 1024);
    expect(wasm(data)).toBe(node(data));
    expect(wasm(data, 8)).toBe(node(data));
  });

  it('hashes JS strings as their UTF-8 bytes', () => {
    for (const s of ['', 'abc', 'é✓😀', 'x'.repeat(1000), 'lone \ud800 surrogate']) {
      const utf8 = Buffer.from(new TextEncoder().encode(s));
      expect(h.foreign(3, Buffer.from(JSON.stringify(s)))[0]).toBe(`encoded ${utf8.toString('hex')} sha ${node(utf8)}`);
    }
  });

  it('HMAC-SHA-256 (Sha256 with a secret) matches node:crypto, short and long keys', () => {
    for (const key of ['key', '', 'k'.repeat(64), 'k'.repeat(65), 'AWS4wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY']) {
      const msg = 'The quick brown fox jumps over the lazy dog';
      const expected = createHmac('sha256', key).update(msg).digest('hex');
      expect(h.foreign(6, Buffer.from(JSON.stringify({ key, msg })))).toEqual([`hmac ${expected}`]);
    }
  });
});

const wasmCrc = (data: Uint8Array): [number, number] => {
  const out = h.foreign(18, data);
  expect(out).toHaveLength(1);
  const match = /^crc (\d+) (\d+)$/.exec(out[0]!);
  expect(match, out[0]).not.toBeNull();
  return [Number(match![1]), Number(match![2])];
};

describe('CRC-32 in the bridge', () => {
  it('matches the check value and node:zlib on empty, short and 1 MB inputs', () => {
    expect(wasmCrc(Buffer.from('123456789'))[0]).toBe(0xcbf43926); // the CRC-32/ISO-HDLC check value
    for (const n of [0, 1, 2, 3, 255, 256, 4097, 65_537, 1024 * 1024]) {
      const data = randomBytes(n);
      const [all, half] = wasmCrc(data);
      expect(all, `length ${n}`).toBe(crc32(data) >>> 0);
      expect(half, `second half of ${n}`).toBe(crc32(data.subarray(n >> 1)) >>> 0);
    }
  });

  it('gives unsigned values (high bit set) on many random inputs', () => {
    let highBit = 0;
    for (let i = 0; i < 500; i++) {
      const data = randomBytes(i % 97);
      const [all] = wasmCrc(data);
      expect(all).toBe(crc32(data) >>> 0);
      if (all >= 0x8000_0000) highBit++;
    }
    expect(highBit).toBeGreaterThan(100);
  });
});
