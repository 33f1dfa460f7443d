// Errors the SDK throws. A hostcall that answers with an unexpected Status becomes a
// HostcallError naming both the hostcall and the status, so a log line says what failed.

import { STATUS_NAMES, Status } from '../abi/index.js';

export function statusName(status: number): string {
  return STATUS_NAMES[status] ?? `Status(${status})`;
}

export class HostcallError extends Error {
  readonly hostcall: string;
  readonly status: Status;

  constructor(hostcall: string, status: Status, detail?: string) {
    super(`${hostcall} failed: ${statusName(status)}${detail === undefined ? '' : ` (${detail})`}`);
    this.name = 'HostcallError';
    this.hostcall = hostcall;
    this.status = status;
  }
}

/** Thrown by the gRPC helpers: the bridge does not carry gRPC yet (never a trap). */
export class UnsupportedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedError';
  }
}

/** Message plus JS stack of anything thrown, for an error log line (V8 and QuickJS stacks differ). */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) {
    try {
      return `non-Error thrown: ${typeof error === 'string' ? error : JSON.stringify(error) ?? String(error)}`;
    } catch {
      return `non-Error thrown: ${String(error)}`;
    }
  }
  const head = `${error.name}: ${error.message}`;
  const stack = typeof error.stack === 'string' ? error.stack : '';
  if (stack === '') return head;
  // V8 stacks start with "Name: message"; QuickJS stacks hold the frames only.
  return stack.startsWith(head) ? stack.trimEnd() : `${head}\n${stack.trimEnd()}`;
}
