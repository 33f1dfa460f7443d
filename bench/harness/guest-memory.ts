// Reads and writes a guest's linear memory. Views are refreshed whenever the memory grows
// (growing detaches the old ArrayBuffer), and results go back through the guest's allocator the
// way proxy-wasm hosts do: allocate, copy, write (pointer, length) into the return slots.

import type { GuestFunction, LinearMemory } from './wasm-api.js';

export class GuestMemory {
  private buffer: ArrayBuffer;
  private bytes: Uint8Array;
  private view: DataView;
  /** Set once the instance exists (the allocator is an export of the very module being built). */
  allocate: GuestFunction | undefined;

  constructor(private readonly memory: LinearMemory) {
    this.buffer = memory.buffer;
    this.bytes = new Uint8Array(this.buffer);
    this.view = new DataView(this.buffer);
  }

  private refresh(): void {
    if (this.memory.buffer !== this.buffer) {
      this.buffer = this.memory.buffer;
      this.bytes = new Uint8Array(this.buffer);
      this.view = new DataView(this.buffer);
    }
  }

  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }

  /** A view of guest bytes, valid until the guest's memory next grows. */
  slice(ptr: number, len: number): Uint8Array {
    this.refresh();
    return this.bytes.subarray(ptr >>> 0, (ptr >>> 0) + (len >>> 0));
  }

  copyOut(ptr: number, len: number): Uint8Array {
    return this.slice(ptr, len).slice();
  }

  writeU32(ptr: number, value: number): void {
    this.refresh();
    this.view.setUint32(ptr >>> 0, value >>> 0, true);
  }

  writeU64(ptr: number, value: bigint): void {
    this.refresh();
    this.view.setBigUint64(ptr >>> 0, value, true);
  }

  writeBytes(ptr: number, data: Uint8Array): void {
    this.refresh();
    this.bytes.set(data, ptr >>> 0);
  }

  /** Copies `data` into guest-allocated memory and stores (pointer, length) at the two slots. */
  returnBytes(data: Uint8Array, ptrSlot: number, lenSlot: number): void {
    if (data.byteLength === 0) {
      this.writeU32(ptrSlot, 0);
      this.writeU32(lenSlot, 0);
      return;
    }
    if (this.allocate === undefined) throw new Error('guest exports no proxy_on_memory_allocate/malloc');
    const at = this.allocate(data.byteLength) >>> 0;
    if (at === 0) throw new Error(`guest allocator returned 0 for ${data.byteLength} bytes`);
    this.writeBytes(at, data);
    this.writeU32(ptrSlot, at);
    this.writeU32(lenSlot, data.byteLength);
  }
}
