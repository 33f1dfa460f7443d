// The payload SHA-256 on the host's primitive (the bridge's Wasm-speed hash in a built module,
// node:crypto in the local host): Smithy's Hash shape over `host.sha256`.
// Stands in until the engine's src/abi/crypto.ts is the shared one.

import type { Host } from '../abi/host.js';
import type { PayloadHash } from './signer.js';

export class HostSha256 implements PayloadHash {
  private readonly chunks: Uint8Array[] = [];

  constructor(private readonly host: Host) {}

  update(data: Uint8Array): void {
    this.chunks.push(data);
  }

  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.host.sha256(this.joined())));
  }

  private joined(): ArrayBuffer {
    if (this.chunks.length === 1) {
      const only = this.chunks[0]!;
      if (only.byteOffset === 0 && only.byteLength === only.buffer.byteLength && only.buffer instanceof ArrayBuffer) return only.buffer;
      return only.slice().buffer as ArrayBuffer;
    }
    let length = 0;
    for (const chunk of this.chunks) length += chunk.byteLength;
    const all = new Uint8Array(length);
    let offset = 0;
    for (const chunk of this.chunks) {
      all.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return all.buffer;
  }
}
