// Guest linear memory access with bounds checks (a bad pointer becomes InvalidMemoryAccess,
// never a host exception) and Envoy's allocation protocol: results are written into memory the
// guest allocates with proxy_on_memory_allocate (or malloc).

import type { WasmMemory } from './webassembly.js';

export class GuestMemory {
  private memory?: WasmMemory;
  private allocator?: (size: number) => number;

  bind(memory: WasmMemory, allocator: ((size: number) => number) | undefined): void {
    this.memory = memory;
    this.allocator = allocator;
  }

  get byteLength(): number {
    return this.memory?.buffer.byteLength ?? 0;
  }

  private inBounds(ptr: number, size: number): boolean {
    return ptr >= 0 && size >= 0 && ptr + size <= this.byteLength;
  }

  /** A view of guest bytes, or undefined when out of bounds. Copy before the guest runs again. */
  read(ptr: number, size: number): Uint8Array | undefined {
    ptr >>>= 0;
    size >>>= 0;
    if (!this.memory || !this.inBounds(ptr, size)) return undefined;
    return new Uint8Array(this.memory.buffer, ptr, size);
  }

  write(ptr: number, bytes: Uint8Array): boolean {
    ptr >>>= 0;
    if (!this.memory || !this.inBounds(ptr, bytes.byteLength)) return false;
    new Uint8Array(this.memory.buffer, ptr, bytes.byteLength).set(bytes);
    return true;
  }

  writeU32(ptr: number, value: number): boolean {
    ptr >>>= 0;
    if (!this.memory || !this.inBounds(ptr, 4)) return false;
    new DataView(this.memory.buffer).setUint32(ptr, value >>> 0, true);
    return true;
  }

  writeU64(ptr: number, value: bigint): boolean {
    ptr >>>= 0;
    if (!this.memory || !this.inBounds(ptr, 8)) return false;
    new DataView(this.memory.buffer).setBigUint64(ptr, BigInt.asUintN(64, value), true);
    return true;
  }

  readU32(ptr: number): number | undefined {
    ptr >>>= 0;
    if (!this.memory || !this.inBounds(ptr, 4)) return undefined;
    return new DataView(this.memory.buffer).getUint32(ptr, true);
  }

  /**
   * Copies bytes into freshly allocated guest memory and stores (pointer, size) at the two
   * return slots. Empty results store (0, 0) without allocating. False on any bad pointer.
   */
  copyOut(bytes: Uint8Array, ptrPtr: number, sizePtr: number): boolean {
    if (bytes.byteLength === 0) return this.writeU32(ptrPtr, 0) && this.writeU32(sizePtr, 0);
    if (!this.allocator) return false;
    const ptr = this.allocator(bytes.byteLength) >>> 0;
    if (ptr === 0) return false;
    return this.write(ptr, bytes) && this.writeU32(ptrPtr, ptr) && this.writeU32(sizePtr, bytes.byteLength);
  }
}
