// Guest linear memory access with bounds checks (a bad pointer becomes InvalidMemoryAccess,
// never a host exception) and Envoy's allocation protocol: results are written into memory the
// guest allocates with proxy_on_memory_allocate (or malloc).
//
// Hot path (every hostcall goes through here): one Uint8Array and one DataView over the current
// memory.buffer are cached and rebuilt only when the memory grew. Growing a non-shared
// WebAssembly.Memory detaches the old buffer, so the cached view's length drops to 0: that is
// the cheap "refresh needed" test, instead of reading memory.buffer on every access.

import type { FlatPairs } from '../../src/abi/host.js';
import { Status } from '../../src/abi/table.js';
import { fromUtf8, utf8 } from '../core/bytes.js';
import type { WasmMemory } from './webassembly.js';

const EMPTY_VIEW = new Uint8Array(0);
/** Keys up to this length are decoded byte by byte when they are ASCII (cheaper than TextDecoder). */
const SHORT_STRING = 64;

export class GuestMemory {
  private memory?: WasmMemory;
  private allocator?: (size: number) => number;
  private u8: Uint8Array = EMPTY_VIEW;
  private view: DataView = new DataView(EMPTY_VIEW.buffer);

  bind(memory: WasmMemory, allocator: ((size: number) => number) | undefined): void {
    this.memory = memory;
    this.allocator = allocator;
    this.refresh();
  }

  get byteLength(): number {
    return this.memory?.buffer.byteLength ?? 0;
  }

  /** The current bytes view (rebuilt when the memory grew since the last access). */
  private bytes(): Uint8Array {
    if (this.u8.byteLength === 0) this.refresh();
    return this.u8;
  }

  private refresh(): void {
    if (!this.memory) return;
    const buffer = this.memory.buffer;
    if (this.u8.buffer === buffer && this.u8.byteLength !== 0) return;
    this.u8 = new Uint8Array(buffer);
    this.view = new DataView(buffer);
  }

  /** Whether [ptr, ptr + size) lies inside the memory. */
  inBounds(ptr: number, size: number): boolean {
    ptr >>>= 0;
    size >>>= 0;
    return this.memory !== undefined && ptr + size <= this.bytes().byteLength;
  }

  /** A view of guest bytes, or undefined when out of bounds. Copy before the guest runs again. */
  read(ptr: number, size: number): Uint8Array | undefined {
    ptr >>>= 0;
    size >>>= 0;
    const u8 = this.bytes();
    if (ptr + size > u8.byteLength || !this.memory) return undefined;
    return u8.subarray(ptr, ptr + size);
  }

  /** A copy of guest bytes the host owns, or undefined when out of bounds. */
  copyIn(ptr: number, size: number): Uint8Array | undefined {
    ptr >>>= 0;
    size >>>= 0;
    const u8 = this.bytes();
    if (ptr + size > u8.byteLength || !this.memory) return undefined;
    return u8.slice(ptr, ptr + size);
  }

  /** Guest bytes decoded as UTF-8 (short ASCII keys without TextDecoder), or undefined when out of bounds. */
  readString(ptr: number, size: number): string | undefined {
    ptr >>>= 0;
    size >>>= 0;
    const u8 = this.bytes();
    const end = ptr + size;
    if (end > u8.byteLength || !this.memory) return undefined;
    if (size <= SHORT_STRING) {
      let text = '';
      let i = ptr;
      for (; i < end; i++) {
        const b = u8[i]!;
        if (b >= 0x80) break;
        text += String.fromCharCode(b);
      }
      if (i === end) return text;
    }
    return fromUtf8(u8.subarray(ptr, end));
  }

  /** Guest bytes in the pairs wire format: the pairs, or the Status to answer (bad pointer / malformed). */
  readPairs(ptr: number, size: number): FlatPairs | Status {
    ptr >>>= 0;
    size >>>= 0;
    const u8 = this.bytes();
    if (ptr + size > u8.byteLength || !this.memory) return Status.InvalidMemoryAccess;
    if (size === 0) return [];
    if (size < 4) return Status.BadArgument;
    const view = this.view;
    const end = ptr + size;
    const count = view.getUint32(ptr, true);
    let data = ptr + 4 + count * 8;
    if (data > end) return Status.BadArgument;
    const out: FlatPairs = [];
    for (let i = 0; i < count; i++) {
      const keyLength = view.getUint32(ptr + 4 + i * 8, true);
      const valueLength = view.getUint32(ptr + 8 + i * 8, true);
      if (data + keyLength + 1 + valueLength + 1 > end) return Status.BadArgument;
      out.push(this.readString(data, keyLength)!);
      data += keyLength + 1;
      out.push(this.readString(data, valueLength)!);
      data += valueLength + 1;
    }
    return out;
  }

  write(ptr: number, bytes: Uint8Array): boolean {
    ptr >>>= 0;
    const u8 = this.bytes();
    if (ptr + bytes.byteLength > u8.byteLength || !this.memory) return false;
    u8.set(bytes, ptr);
    return true;
  }

  writeU32(ptr: number, value: number): boolean {
    ptr >>>= 0;
    if (ptr + 4 > this.bytes().byteLength || !this.memory) return false;
    this.view.setUint32(ptr, value >>> 0, true);
    return true;
  }

  writeU64(ptr: number, value: bigint): boolean {
    ptr >>>= 0;
    if (ptr + 8 > this.bytes().byteLength || !this.memory) return false;
    this.view.setBigUint64(ptr, BigInt.asUintN(64, value), true);
    return true;
  }

  readU32(ptr: number): number | undefined {
    ptr >>>= 0;
    if (ptr + 4 > this.bytes().byteLength || !this.memory) return undefined;
    return this.view.getUint32(ptr, true);
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

  /**
   * copyOut for a string: ASCII is written straight into the allocation (no encoder, no
   * intermediate array); anything else goes through UTF-8 encoding first.
   */
  copyOutString(text: string, ptrPtr: number, sizePtr: number): boolean {
    const length = text.length;
    for (let i = 0; i < length; i++) {
      if (text.charCodeAt(i) >= 0x80) return this.copyOut(utf8(text), ptrPtr, sizePtr);
    }
    if (length === 0) return this.writeU32(ptrPtr, 0) && this.writeU32(sizePtr, 0);
    if (!this.allocator) return false;
    const ptr = this.allocator(length) >>> 0; // may grow memory: views are checked after it
    if (ptr === 0) return false;
    const u8 = this.bytes();
    if (ptr + length > u8.byteLength) return false;
    for (let i = 0; i < length; i++) u8[ptr + i] = text.charCodeAt(i);
    return this.writeU32(ptrPtr, ptr) && this.writeU32(sizePtr, length);
  }
}
