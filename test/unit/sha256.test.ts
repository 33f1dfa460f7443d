// The Sha256 class (src/sdk/crypto.ts) in Node mode: a Host whose sha256 is node:crypto.

import { createHash, createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Sha256, sha256Constructor } from '../../src/sdk/crypto.js';
import type { BytesIn, Host } from '../../src/abi/host.js';

const nodeHost = {
  sha256: (data: BytesIn) => {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
    const d = createHash('sha256').update(buf).digest();
    return d.buffer.slice(d.byteOffset, d.byteOffset + d.length);
  },
  utf8Encode: (text: string) => {
    const b = new TextEncoder().encode(text);
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
  },
} as unknown as Host;

const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex');

describe('Sha256 (Smithy Checksum shape)', () => {
  it('hashes strings, buffers and partial views; several updates equal one', async () => {
    const data = randomBytes(5000);
    const h = new Sha256(nodeHost);
    h.update(data.subarray(0, 10));
    h.update(new Uint8Array(data.subarray(10, 4000)));
    h.update(new Uint8Array(data.subarray(4000)).buffer);
    expect(hex(await h.digest())).toBe(createHash('sha256').update(data).digest('hex'));
    const s = new Sha256(nodeHost);
    s.update('é✓');
    expect(hex(await s.digest())).toBe(createHash('sha256').update('é✓', 'utf8').digest('hex'));
  });

  it('is an HMAC with a secret (short and longer-than-block keys), and resets', async () => {
    const Bound = sha256Constructor(nodeHost);
    for (const key of ['k', 'x'.repeat(100)]) {
      const h = new Bound(key);
      h.update('message');
      expect(hex(await h.digest())).toBe(createHmac('sha256', key).update('message').digest('hex'));
    }
    const keyBytes = randomBytes(32);
    const h = new Bound(keyBytes);
    h.update('discarded');
    h.reset();
    h.update('kept');
    expect(hex(await h.digest())).toBe(createHmac('sha256', keyBytes).update('kept').digest('hex'));
  });

  it('rejects non-byte input with a clear error', () => {
    expect(() => new Sha256(nodeHost).update(42 as unknown as string)).toThrow(/expected a string, an ArrayBuffer/);
  });
});
