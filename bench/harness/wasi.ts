// The WASI preview1 functions a proxy-wasm host registers (Envoy: fd_write, clock_time_get,
// random_get, environ_*, args_*, proc_exit, ...), enough for quickjs-wasi, the Go wasip1 runtime
// and AssemblyScript's abort path. Files do not exist: fd_* beyond stdout/stderr answer EBADF.

import { randomFillSync } from 'node:crypto';
import type { GuestMemory } from './guest-memory.js';
import type { HostFunction } from './wasm-api.js';

const ERRNO_SUCCESS = 0;
const ERRNO_BADF = 8;
const ERRNO_NOSYS = 52;

export class ProcExit extends Error {
  constructor(readonly code: number) {
    super(`guest called proc_exit(${code})`);
  }
}

export interface WasiOptions {
  readonly environment: readonly string[];
  readonly nowNanoseconds: () => bigint;
  /** Text the guest writes to stdout/stderr (fd 1 and 2). */
  readonly onOutput: (fd: number, text: string) => void;
}

export function wasiImports(memory: () => GuestMemory, options: WasiOptions): Record<string, HostFunction> {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const environ = options.environment.map((e) => encoder.encode(`${e}\0`));

  const sizes = (list: Uint8Array[], countPtr: number, bufSizePtr: number): number => {
    memory().writeU32(countPtr, list.length);
    memory().writeU32(bufSizePtr, list.reduce((n, e) => n + e.byteLength, 0));
    return ERRNO_SUCCESS;
  };
  const fill = (list: Uint8Array[], ptrsPtr: number, bufPtr: number): number => {
    let at = bufPtr;
    list.forEach((entry, i) => {
      memory().writeU32(ptrsPtr + 4 * i, at);
      memory().writeBytes(at, entry);
      at += entry.byteLength;
    });
    return ERRNO_SUCCESS;
  };

  return {
    args_sizes_get: (countPtr, bufSizePtr) => sizes([], Number(countPtr), Number(bufSizePtr)),
    args_get: (ptrsPtr, bufPtr) => fill([], Number(ptrsPtr), Number(bufPtr)),
    environ_sizes_get: (countPtr, bufSizePtr) => sizes(environ, Number(countPtr), Number(bufSizePtr)),
    environ_get: (ptrsPtr, bufPtr) => fill(environ, Number(ptrsPtr), Number(bufPtr)),
    clock_time_get: (_id, _precision, resultPtr) => {
      memory().writeU64(Number(resultPtr), options.nowNanoseconds());
      return ERRNO_SUCCESS;
    },
    clock_res_get: (_id, resultPtr) => {
      memory().writeU64(Number(resultPtr), 1000n);
      return ERRNO_SUCCESS;
    },
    random_get: (ptr, len) => {
      randomFillSync(memory().slice(Number(ptr), Number(len)));
      return ERRNO_SUCCESS;
    },
    fd_write: (fd, iovsPtr, iovsLen, writtenPtr) => {
      if (fd !== 1 && fd !== 2) return ERRNO_BADF;
      const mem = memory();
      const iovs = new DataView(mem.copyOut(Number(iovsPtr), 8 * Number(iovsLen)).buffer);
      let written = 0;
      let text = '';
      for (let i = 0; i < Number(iovsLen); i++) {
        const ptr = iovs.getUint32(8 * i, true);
        const len = iovs.getUint32(8 * i + 4, true);
        text += decoder.decode(mem.slice(ptr, len));
        written += len;
      }
      options.onOutput(Number(fd), text);
      mem.writeU32(Number(writtenPtr), written);
      return ERRNO_SUCCESS;
    },
    fd_fdstat_get: (fd, statPtr) => {
      if (Number(fd) > 2) return ERRNO_BADF;
      const mem = memory();
      mem.writeBytes(Number(statPtr), new Uint8Array(24));
      mem.writeBytes(Number(statPtr), Uint8Array.of(2)); // filetype: character device
      return ERRNO_SUCCESS;
    },
    fd_close: () => ERRNO_SUCCESS,
    fd_seek: () => ERRNO_BADF,
    fd_read: () => ERRNO_BADF,
    fd_prestat_get: () => ERRNO_BADF,
    fd_prestat_dir_name: () => ERRNO_BADF,
    path_open: () => ERRNO_NOSYS,
    sched_yield: () => ERRNO_SUCCESS,
    poll_oneoff: (_in, _out, _n, neventsPtr) => {
      memory().writeU32(Number(neventsPtr), 0);
      return ERRNO_SUCCESS;
    },
    proc_exit: (code) => {
      throw new ProcExit(Number(code));
    },
  };
}
