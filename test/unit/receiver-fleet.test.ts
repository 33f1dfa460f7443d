// Issue 11 part 2, a fleet simulation: many receiver VMs, each with the offset it draws at start,
// publish the same minute of data. Their calls must spread over the interval instead of all
// landing on the minute boundary, while every datum keeps the window-aligned timestamp.
// In-process on host/'s lean mode (test/support/receiver-vm.ts): 300 VMs must run in seconds;
// one VM's timing runs both ways (TypeScript and receiver.wasm) in receiver.test.ts.

import { describe, expect, it } from 'vitest';
import { BASE_CONFIG, ENV_CREDENTIALS, series, startReceiver, T0_MS } from '../support/receiver-vm.js';

const VMS = 300;
const INTERVAL_MS = 60_000;
const SECOND_BUCKETS = INTERVAL_MS / 1000;

describe('fleet timing (simulated)', () => {
  it(`spreads ${VMS} VMs' publishes across the interval, timestamps aligned`, async () => {
    const sendSecond: number[] = [];
    for (let vm = 0; vm < VMS; vm++) {
      const r = startReceiver('TypeScript in-process', BASE_CONFIG, ENV_CREDENTIALS, 'random');
      r.sendSeries(T0_MS + 1000, series('fleet.test', 1)); // the VM started at T0 + 1 s
      // Tick once a second (the receiver's idle tick) until the first call.
      for (let s = 2; s <= 2 * SECOND_BUCKETS + 2 && r.host.httpCallRecords.length === 0; s++) await r.at(T0_MS + s * 1000);
      expect(r.host.httpCallRecords).toHaveLength(1);
      expect(r.bodyOf(0).MetricData[0]).toMatchObject({ Timestamp: T0_MS / 1000 }); // the window start, wherever it was sent
      // Where in the minute the call went (the boundary is second 0); the window closed at T0 + 60 s.
      expect(r.host.nowMs).toBeGreaterThanOrEqual(T0_MS + INTERVAL_MS);
      sendSecond.push(Math.floor(((r.host.nowMs - T0_MS) % INTERVAL_MS) / 1000));
    }
    const perSecond = new Array<number>(SECOND_BUCKETS).fill(0);
    for (const second of sendSecond) perSecond[second] = (perSecond[second] ?? 0) + 1;
    const busiest = Math.max(...perSecond);
    const usedSeconds = perSecond.filter((n) => n > 0).length;
    const sorted = [...sendSecond].sort((a, b) => a - b);
    const quartiles = [0.25, 0.5, 0.75].map((q) => sorted[Math.floor(q * (sorted.length - 1))]);
    console.log(`fleet of ${VMS} VMs, 60 s interval: calls in ${usedSeconds} of 60 seconds, busiest second ${busiest} call(s) `
      + `(${((100 * busiest) / VMS).toFixed(1)} %; all on the boundary before), quartiles at ${quartiles.join(' / ')} s, `
      + `first ${sorted[0]} s, last ${sorted.at(-1)} s`);
    // Uniform over 60 s: ~5 calls a second. Without offsets all 300 land in second 0.
    expect(usedSeconds).toBeGreaterThanOrEqual(50);
    expect(busiest).toBeLessThanOrEqual(20);
    expect(quartiles[1]).toBeGreaterThanOrEqual(20);
    expect(quartiles[1]).toBeLessThanOrEqual(40);
  });
});
