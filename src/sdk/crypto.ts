// SHA-256 and HMAC-SHA-256 for the Smithy signer, on top of Host.sha256 (the Wasm bridge hashes
// at Wasm speed without a JS-side copy; the Node host uses node:crypto).
//
//   const Sha256 = sha256Constructor(host);        // a Smithy HashConstructor / Checksum class
//   new SignatureV4({ sha256: Sha256, ... });
//   await new Sha256().update(body).digest();      // plain hash
//   await new Sha256(secret).update(data).digest(); // HMAC

import type { BytesIn, Host } from '../abi/index.js';

/** What Smithy passes to update(): a string (hashed as UTF-8) or bytes. */
export type SourceData = string | ArrayBuffer | ArrayBufferView;

const BLOCK = 64;

function toBytesIn(data: SourceData): BytesIn {
  if (typeof data === 'string' || data instanceof ArrayBuffer) return data;
  if (ArrayBuffer.isView(data)) {
    const buf = data.buffer as ArrayBuffer;
    // A view of a whole buffer goes in place; a partial view is copied (rare in the signer).
    if (data.byteOffset === 0 && data.byteLength === buf.byteLength) return buf;
    return buf.slice(data.byteOffset, data.byteOffset + data.byteLength);
  }
  throw new TypeError('Sha256.update: expected a string, an ArrayBuffer or a view of one');
}

function bytesOf(host: Host, data: BytesIn): Uint8Array {
  return typeof data === 'string' ? new Uint8Array(host.utf8Encode(data)) : new Uint8Array(data);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

export class Sha256 {
  private chunks: BytesIn[] = [];
  private readonly innerPad: Uint8Array | null = null;
  private readonly outerPad: Uint8Array | null = null;

  constructor(private readonly host: Host, secret?: SourceData) {
    if (secret !== undefined) {
      let key = bytesOf(host, toBytesIn(secret));
      if (key.length > BLOCK) key = new Uint8Array(host.sha256(key.slice().buffer));
      const ipad = new Uint8Array(BLOCK);
      const opad = new Uint8Array(BLOCK);
      for (let i = 0; i < BLOCK; i++) {
        const k = i < key.length ? key[i] : 0;
        ipad[i] = k ^ 0x36;
        opad[i] = k ^ 0x5c;
      }
      this.innerPad = ipad;
      this.outerPad = opad;
    }
  }

  update(data: SourceData): void {
    this.chunks.push(toBytesIn(data));
  }

  /** The digest, synchronously (the Promise-returning digest() is what Smithy calls). */
  digestSync(): Uint8Array {
    const message = this.message();
    if (this.innerPad === null || this.outerPad === null) return new Uint8Array(this.host.sha256(message));
    const inner = new Uint8Array(this.host.sha256(concat([this.innerPad, bytesOf(this.host, message)]).buffer as ArrayBuffer));
    return new Uint8Array(this.host.sha256(concat([this.outerPad, inner]).buffer as ArrayBuffer));
  }

  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.digestSync());
  }

  reset(): void {
    this.chunks = [];
  }

  /** One BytesIn for the whole message: a single chunk is hashed in place, several are joined. */
  private message(): BytesIn {
    if (this.chunks.length === 0) return new ArrayBuffer(0);
    if (this.chunks.length === 1) return this.chunks[0] as BytesIn;
    return concat(this.chunks.map((c) => bytesOf(this.host, c))).buffer as ArrayBuffer;
  }
}

/** A Smithy-compatible HashConstructor bound to a host: `new (sha256Constructor(host))(secret?)`. */
export function sha256Constructor(host: Host): new (secret?: SourceData) => Sha256 {
  return class BoundSha256 extends Sha256 {
    constructor(secret?: SourceData) {
      super(host, secret);
    }
  };
}
