// The Smithy SigV4 signer inside QuickJS (built module) signs exactly as in Node: TextEncoder,
// the bridge's SHA-256, promise draining and the rest of the globals are what the signer needs.

import { createHash, randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BytesIn, Host } from '../../src/abi/host.js';
import { BUILD_TIMEOUT_MS, buildFixture } from '../fixtures/engine/build-fixture.js';
import { loadWasmModule } from '../../host/guests/wasm.js';
import { RawVm } from '../support/raw-vm.js';
import { SIGNING_FIXTURE, makeSigner } from '../fixtures/engine/signer-probe.js';

const nodeHost = {
  sha256: (data: BytesIn) => {
    const d = createHash('sha256').update(typeof data === 'string' ? Buffer.from(data) : Buffer.from(data)).digest();
    return d.buffer.slice(d.byteOffset, d.byteOffset + d.length);
  },
  utf8Encode: (text: string) => { const b = Buffer.from(text, 'utf8'); return b.buffer.slice(b.byteOffset, b.byteOffset + b.length); },
} as unknown as Host;

let h: RawVm;
beforeAll(async () => {
  h = new RawVm(loadWasmModule(await buildFixture('test/fixtures/engine/signer-probe.ts', 'signer-probe', 'engine-signer')));
  h.call('proxy_on_context_create', 1, 0);
}, BUILD_TIMEOUT_MS);

describe('SigV4 inside the module', () => {
  it('produces the same signed headers as in Node, for small and ~700 KB bodies', async () => {
    for (const body of [Buffer.from('{"Namespace":"x","MetricData":[]}'), Buffer.from(JSON.stringify({ blob: randomBytes(350_000).toString('hex') }))]) {
      const expected = await makeSigner(nodeHost).sign(new Uint8Array(body), SIGNING_FIXTURE.nowMs);
      const out = h.foreign(1, body);
      expect(out).toHaveLength(1);
      expect(JSON.parse(out[0]!)).toEqual(expected);
      expect(out[0]).toMatch(/AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20250601\/eu-west-1\/monitoring\/aws4_request/);
    }
  });
});
