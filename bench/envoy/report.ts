// The real-Envoy table (markdown).

import { statSync } from 'node:fs';
import type { Summary } from '../measure/stats.js';
import type { EnvoyResults } from './measure.js';

const fixed = (n: number, digits: number): string => (Number.isFinite(n) ? n.toFixed(digits) : '–');
const spread = (s: Summary, digits: number): string => `${fixed(s.median, digits)} (${fixed(s.min, digits)}–${fixed(s.max, digits)})`;
const signed = (s: Summary): string => `${s.median >= 0 ? '+' : ''}${fixed(s.median, 1)} (${fixed(s.min, 1)}–${fixed(s.max, 1)})`;
const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const rate = (s: Summary): string => `${int(s.median)} (${int(s.min)}–${int(s.max)})`;
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

export function renderEnvoyTable(results: EnvoyResults): string {
  const lines = [
    '| filter | .wasm | Envoy CPU µs / request, median (min–max) | added over no filter (same round) | req/s, 1 connection | p99 ms, 1 conn. | req/s, 16 connections | p99 ms, 16 conn. | CPU µs / request at 16 conn. | Envoy RSS after |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const row of results.rows) {
    const size = row.config.filter === undefined ? '–' : `${Math.round(statSync(row.config.filter).size / 1024)} KiB`;
    lines.push(`| ${row.config.label} | ${size} | ${spread(row.cpuUs, 1)} | ${row.addedUs ? signed(row.addedUs) : '0'} | ` +
      `${rate(row.rps1)} | ${spread(row.p99Ms1, 2)} | ${rate(row.rps16)} | ${spread(row.p99Ms16, 2)} | ${spread(row.cpuUs16, 1)} | ${mib(row.rssBytes)} |`);
  }
  for (const s of results.skipped) lines.push(`| ${s.label} | | skipped: ${s.why} | | | | | | | |`);
  const notes: string[] = [''];
  const requests = results.rows[0]?.requests1;
  notes.push(`Envoy 1.40.0 (V8), \`--concurrency 1\`, one Envoy per configuration started up front, receiver.wasm loaded in every one ` +
    `(the queue the filters flush to). ${results.rounds} interleaved rounds (order rotated per round); per round and configuration one wrk run ` +
    `of ${results.seconds1} s over 1 keep-alive connection (~${requests === undefined ? '?' : int(requests)} requests; the CPU columns) ` +
    `and one of ${results.seconds16} s over 16. CPU = utime+stime of the Envoy process (/proc/PID/stat) over the run ÷ requests Envoy ` +
    `counted (${'`'}http.ingress_http.downstream_rq_total${'`'}). Traffic: direct_response 200, host example.com, 10 paths × 10 query strings × ` +
    `3 methods (bench/envoy/traffic.lua). wrk runs on the same 2 cores (one thread). Load average (1 min): ` +
    `${results.load[0].toFixed(2)} at the start, ${results.load[1].toFixed(2)} at the end; ${results.seconds.toFixed(0)} s.`);
  if (results.senderToRustAdded !== undefined) {
    notes.push('', `Sender's added CPU ÷ the Rust peer's, median of same-round ratios: ${results.senderToRustAdded.toFixed(2)}×.`);
  }
  if (results.senderCheck) {
    const { recorded, served } = results.senderCheck;
    notes.push('', `Sender check: acpw.sender.requests_recorded = ${int(recorded)} of ${int(served)} requests Envoy served` +
      `${recorded === served ? ' (every request recorded).' : ' — MISMATCH: the sender did not record every request.'}`);
  }
  if (results.soak) {
    const samples = results.soak.rssBytes;
    notes.push('', `Memory soak (sender's Envoy, 16 connections): ${int(results.soak.requests)} more requests; RSS ` +
      `${samples.map(mib).join(' → ')} (first ${mib(samples[0]!)}, last ${mib(samples.at(-1)!)}, max ${mib(Math.max(...samples))}).`);
  }
  return lines.concat(notes).join('\n');
}
