// The WASI preview1 functions proxy-wasm-cpp-host registers, with its behaviour: stdout/stderr
// go to the plugin log (info/error), environ_* shows the configured environment, no files.

import { LogLevel } from '../../src/abi/table.js';
import { utf8, fromUtf8 } from '../core/bytes.js';
import type { Vm } from '../core/vm.js';
import type { GuestMemory } from './memory.js';

const ESUCCESS = 0;
const EBADF = 8;
const EFAULT = 21;
const ENOENT = 44;
const ENOSYS = 52;
const ENOTSUP = 58;

/** Thrown by proc_exit; the guest loader treats exit code 0 from `_start` as a normal end. */
export class ProcExit extends Error {
  constructor(readonly code: number) {
    super(`proc_exit(${code})`);
  }
}

type WasiFunction = (...args: (number | bigint)[]) => number | void;

export function wasiImports(vm: Vm, memory: GuestMemory): Record<string, WasiFunction> {
  const n = (v: number | bigint | undefined): number => Number(v ?? 0) >>> 0;
  const environ = (): Uint8Array[] => vm.environ().map((e) => utf8(`${e}\u0000`));

  const fdWrite = (fd: number, iovs: number, iovsLen: number, nwrittenPtr: number): number => {
    if (fd !== 1 && fd !== 2) return EBADF;
    const parts: Uint8Array[] = [];
    let total = 0;
    for (let i = 0; i < iovsLen; i++) {
      const buf = memory.readU32(iovs + i * 8);
      const len = memory.readU32(iovs + i * 8 + 4);
      if (buf === undefined || len === undefined) return EFAULT;
      const bytes = memory.read(buf, len);
      if (!bytes) return EFAULT;
      parts.push(bytes.slice());
      total += len;
    }
    if (total > 0) {
      let text = parts.map((p) => fromUtf8(p)).join('');
      if (text.endsWith('\n')) text = text.slice(0, -1);
      vm.log(fd === 1 ? LogLevel.Info : LogLevel.Error, text);
    }
    return memory.writeU32(nwrittenPtr, total) ? ESUCCESS : EFAULT;
  };

  return {
    fd_write: (fd, iovs, len, out) => fdWrite(n(fd), n(iovs), n(len), n(out)),
    fd_read: () => ENOSYS,
    fd_seek: () => ESUCCESS,
    fd_close: () => ESUCCESS,
    fd_fdstat_get: (fd, out) => {
      if (n(fd) !== 1 && n(fd) !== 2) return EBADF;
      const stat = new Uint8Array(24);
      new DataView(stat.buffer).setBigUint64(8, 64n, true); // rights: fd_write
      return memory.write(n(out), stat) ? ESUCCESS : EFAULT;
    },
    fd_fdstat_set_flags: () => ENOSYS,
    fd_prestat_get: () => EBADF,
    fd_prestat_dir_name: () => ENOSYS,
    fd_filestat_get: () => EBADF,
    path_open: () => ENOENT,
    path_filestat_get: () => ENOTSUP,
    environ_sizes_get: (countPtr, sizePtr) => {
      const entries = environ();
      const size = entries.reduce((sum, e) => sum + e.byteLength, 0);
      return memory.writeU32(n(countPtr), entries.length) && memory.writeU32(n(sizePtr), size) ? ESUCCESS : EFAULT;
    },
    environ_get: (arrayPtr, bufPtr) => {
      let array = n(arrayPtr);
      let buf = n(bufPtr);
      for (const entry of environ()) {
        if (!memory.writeU32(array, buf) || !memory.write(buf, entry)) return EFAULT;
        array += 4;
        buf += entry.byteLength;
      }
      return ESUCCESS;
    },
    args_sizes_get: (argcPtr, sizePtr) => (memory.writeU32(n(argcPtr), 0) && memory.writeU32(n(sizePtr), 0) ? ESUCCESS : EFAULT),
    args_get: () => ESUCCESS,
    clock_time_get: (id, _precision, out) => {
      const clock = n(id);
      if (clock > 1) return ENOTSUP;
      const now = clock === 0 ? vm.getCurrentTimeNanoseconds() : vm.monotonicTimeNanoseconds();
      return memory.writeU64(n(out), now) ? ESUCCESS : EFAULT;
    },
    clock_res_get: (id, out) => (n(id) > 1 ? ENOTSUP : memory.writeU64(n(out), 1n) ? ESUCCESS : EFAULT),
    random_get: (ptr, len) => {
      const bytes = new Uint8Array(n(len));
      vm.runtime.randomFill(bytes);
      return memory.write(n(ptr), bytes) ? ESUCCESS : EFAULT;
    },
    proc_exit: (code) => {
      throw new ProcExit(n(code));
    },
    sched_yield: () => ESUCCESS,
    poll_oneoff: () => ENOTSUP,
  };
}
