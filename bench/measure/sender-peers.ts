// Per-module measurements for the sender and its peers: µs per request over the full stream
// lifecycle, VM instantiate-to-ready time, linear memory after 100k requests.
// Timed runs of all modules are interleaved round by round (see main.ts), so that load from
// other processes on a shared machine falls on every module alike.

import type { WasmModule as CompiledModule } from '../../host/guests/webassembly.js';
import type { SenderDriver, SenderHandle, VmSpec } from '../harness/driver.js';
import { REQUESTS, RESPONSE, MATCH_HOST } from '../harness/traffic.js';
import { nowMs } from './stats.js';
import { QUEUE_NAME } from '../../src/metrics/wire.js';

export { QUEUE_NAME };

export const RECEIVER_VM_ID = 'receiver';
/** One tick per 1,000 requests: the sender's 1 s tick at 1k req/s. */
export const REQUESTS_PER_TICK = 1000;

export const SENDER_SPEC: VmSpec = {
  vmId: 'sender',
  rootId: 'acpw_sender',
  vmConfiguration: '',
  pluginConfiguration: JSON.stringify({ receiver_vm_id: RECEIVER_VM_ID, match_hosts: [MATCH_HOST] }),
};

function drive(sender: SenderHandle, count: number, offset: number): void {
  for (let i = 0; i < count; i++) {
    sender.stream(REQUESTS[(offset + i) % REQUESTS.length]!, RESPONSE);
    if ((offset + i + 1) % REQUESTS_PER_TICK === 0) sender.tick();
  }
  sender.drainQueue();
}

const newSender = (driver: SenderDriver, module: CompiledModule): SenderHandle =>
  driver.createSender(module, SENDER_SPEC, RECEIVER_VM_ID, QUEUE_NAME);

/** One warmed-up sender VM whose timed runs main.ts interleaves with the other modules'. */
export class RequestSession {
  private readonly vm: SenderHandle;
  private done = 0;
  readonly requestsPerRun: number;

  constructor(driver: SenderDriver, module: CompiledModule, runMs: number) {
    this.vm = newSender(driver, module);
    const warmStart = nowMs();
    while (this.done < 2000 || nowMs() - warmStart < 200) {
      drive(this.vm, 500, this.done);
      this.done += 500;
    }
    const perRequestMs = (nowMs() - warmStart) / this.done;
    this.requestsPerRun = Math.max(REQUESTS_PER_TICK, Math.min(500_000,
      Math.round(runMs / perRequestMs / REQUESTS_PER_TICK) * REQUESTS_PER_TICK));
  }

  /** One timed run: µs per request. */
  run(): number {
    const t0 = nowMs();
    drive(this.vm, this.requestsPerRun, this.done);
    const us = ((nowMs() - t0) * 1000) / this.requestsPerRun;
    this.done += this.requestsPerRun;
    return us;
  }

  /** Whether the work really happened: a tick hands the receiver the series counted; no errors. */
  problems(expectsRecords: boolean): string[] {
    const found: string[] = [];
    if (expectsRecords) {
      this.vm.stream(REQUESTS[0]!, RESPONSE);
      this.vm.tick();
      const sent = this.vm.drainQueue().map((b) => new TextDecoder().decode(b)).join('\n');
      if (!sent.includes(MATCH_HOST) || !sent.includes('/api/items/0')) found.push('tick enqueued no series for the traffic sent');
    }
    if (this.vm.errorCount > 0) found.push(`${this.vm.errorCount} error logs (last: ${this.vm.lastWarning ?? '?'})`);
    return found;
  }
}

/** Instantiate-to-ready, ms: instance, _initialize, root context, vm_start, configure. */
export function timeReady(driver: SenderDriver, module: CompiledModule): number {
  const t0 = nowMs();
  newSender(driver, module);
  return nowMs() - t0;
}

/** Linear memory, bytes, of a fresh VM after `requests` requests (ticking as at 1k req/s). */
export function memoryAfter(driver: SenderDriver, module: CompiledModule, requests: number): number {
  const vm = newSender(driver, module);
  drive(vm, requests, 0);
  return vm.memoryBytes;
}
