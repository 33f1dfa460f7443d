// proxy_http_call for real: a loopback node:http upstream; the response (headers, body,
// trailers) read back through the map and buffer hostcalls inside proxy_on_http_call_response;
// failures answered as Envoy 1.40's router answers them: a timeout 504 `upstream request
// timeout`, a refused or dropped connection 503 `upstream connect error …`, a reset after the
// headers 0 headers / 0 body; at shutdown calls in flight are reset (503) and new ones refused.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Status } from '../../src/abi/table.js';
import { serializePairs, utf8 } from '../../host/core/bytes.js';
import { HostRuntime } from '../../host/core/runtime.js';
import type { Vm } from '../../host/core/vm.js';
import { createVm } from '../../host/vm-factory.js';
import type { WasmMemory, WasmModule } from '../../host/guests/webassembly.js';
import { probeWat, watToModule } from './support/wat.js';

interface Seen { method?: string; url?: string; host?: string; body?: string; custom?: string }

let probe: WasmModule;
let upstream: http.Server;
let upstreamPort = 0;
let closedPort = 0;
const seen: Seen[] = [];

beforeAll(async () => {
  probe = await watToModule(probeWat(), 'probe.wat');
  upstream = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, host: req.headers.host, body: Buffer.concat(chunks).toString(), custom: req.headers['x-custom'] as string });
      if (req.url === '/hang') return; // never answers: the caller's timeout must fire
      if (req.url === '/drop') return void req.socket.destroy(); // gone before the headers
      if (req.url === '/half') { // gone after the headers and part of the body
        res.writeHead(200, { 'content-length': '100' });
        res.write('part', () => setTimeout(() => req.socket.destroy(), 20));
        return;
      }
      res.writeHead(201, { 'x-reply': 'yes', trailer: 'x-trailer' });
      res.addTrailers({ 'x-trailer': 'end' });
      res.end('created!');
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamPort = (upstream.address() as AddressInfo).port;
  const tmp = http.createServer();
  await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', r));
  closedPort = (tmp.address() as AddressInfo).port;
  await new Promise<void>((r) => tmp.close(() => r()));
});

afterAll(async () => {
  upstream.closeAllConnections();
  await new Promise<void>((r) => upstream.close(() => r()));
});

function probeVm(logs: string[] = []): Vm {
  const runtime = new HostRuntime({
    logSink: (entry) => void logs.push(entry.message),
    clusters: { up: { host: '127.0.0.1', port: upstreamPort }, down: { host: '127.0.0.1', port: closedPort } },
  });
  return createVm({ wasm: probe, runtime, vmId: 'caller' });
}

function global(vm: Vm, name: string): number {
  return (vm.guest.exports![name] as { value: number }).value;
}

function memory(vm: Vm): Uint8Array {
  return new Uint8Array((vm.guest.exports!.memory as WasmMemory).buffer);
}

/** Writes the call's arguments into guest memory and calls proxy_http_call from the root context. */
function call(vm: Vm, cluster: string, headers: string[], body: string, timeoutMs: number): { status: number; token: number } {
  const mem = memory(vm);
  const put = (bytes: Uint8Array, at: number): [number, number] => {
    mem.set(bytes, at);
    return [at, bytes.byteLength];
  };
  const [c, cl] = put(utf8(cluster), 2048);
  const [h, hl] = put(serializePairs(headers), 2304);
  const [b, bl] = put(utf8(body), 4096);
  const fn = vm.guest.exports!.call_proxy_http_call as (...a: number[]) => number;
  const status = vm.withContext(vm.rootContextId, () => fn(c, cl, h, hl, b, bl, 0, 0, timeoutMs, 16));
  return { status, token: new DataView(mem.buffer).getUint32(16, true) };
}

/** The last response's :status and body, as the probe copied them out in its callback. */
function lastResponse(vm: Vm): { status: string; body: string } {
  const mem = memory(vm);
  const view = new DataView(mem.buffer);
  const text = (at: number): string => Buffer.from(mem.slice(view.getUint32(at, true), view.getUint32(at, true) + view.getUint32(at + 4, true))).toString();
  return { body: text(600), status: text(608) };
}

async function responses(vm: Vm, count: number): Promise<void> {
  while (global(vm, 'resp_calls') < count) await new Promise((r) => setTimeout(r, 5));
}

describe('proxy_http_call', () => {
  it('sends method, path, :authority as Host and the body; the response is readable in the callback', async () => {
    const vm = probeVm();
    const { status, token } = call(vm, 'up', [':method', 'POST', ':path', '/put?x=1', ':authority', 'monitoring.example', 'x-custom', 'c'], '{"a":1}', 5000);
    expect(status).toBe(Status.Ok);
    expect(token).toBeGreaterThan(0);
    expect(global(vm, 'resp_calls')).toBe(0); // never inside the calling callback
    await responses(vm, 1);
    expect(seen.at(-1)).toEqual({ method: 'POST', url: '/put?x=1', host: 'monitoring.example', body: '{"a":1}', custom: 'c' });
    expect(global(vm, 'resp_token')).toBe(token);
    expect(global(vm, 'resp_context')).toBe(vm.rootContextId);
    expect(global(vm, 'resp_headers')).toBeGreaterThanOrEqual(3); // :status, x-reply, ...
    expect(global(vm, 'resp_body')).toBe('created!'.length);
    expect(global(vm, 'resp_trailers')).toBe(1);
    expect(global(vm, 'resp_body_status')).toBe(Status.Ok);
    expect(global(vm, 'resp_status_status')).toBe(Status.Ok);
    expect(lastResponse(vm)).toEqual({ status: '201', body: 'created!' });
  });

  it('a timeout is answered as Envoy does: 504 "upstream request timeout", a real response', async () => {
    const vm = probeVm();
    const { status, token } = call(vm, 'up', [':method', 'GET', ':path', '/hang', ':authority', 'x'], '', 50);
    expect(status).toBe(Status.Ok);
    await responses(vm, 1);
    // :status, content-length, content-type (Envoy's local reply); no trailers
    expect([global(vm, 'resp_token'), global(vm, 'resp_headers'), global(vm, 'resp_trailers')]).toEqual([token, 3, 0]);
    expect(lastResponse(vm)).toEqual({ status: '504', body: 'upstream request timeout' });
    expect(global(vm, 'resp_body_status')).toBe(Status.Ok);
  });

  it('a refused connection is answered 503 "upstream connect error … remote connection failure"', async () => {
    const vm = probeVm();
    const { status } = call(vm, 'down', [':method', 'GET', ':path', '/', ':authority', 'x'], '', 2000);
    expect(status).toBe(Status.Ok);
    await responses(vm, 1);
    expect([global(vm, 'resp_headers'), global(vm, 'resp_trailers')]).toEqual([3, 0]);
    expect(lastResponse(vm)).toEqual({
      status: '503',
      // exactly what the receiver in real Envoy 1.40 got for a refused connection
      body: 'upstream connect error or disconnect/reset before headers. reset reason: remote connection failure',
    });
  });

  it('a connection lost before the headers is answered 503 "… reset reason: connection termination"', async () => {
    const vm = probeVm();
    call(vm, 'up', [':method', 'GET', ':path', '/drop', ':authority', 'x'], '', 2000);
    await responses(vm, 1);
    expect(lastResponse(vm)).toEqual({ status: '503', body: 'upstream connect error or disconnect/reset before headers. reset reason: connection termination' });
  });

  it('a connection lost after the headers is a failed call: 0 headers, 0 body, 0 trailers', async () => {
    const vm = probeVm();
    const { token } = call(vm, 'up', [':method', 'GET', ':path', '/half', ':authority', 'x'], '', 2000);
    await responses(vm, 1);
    expect([global(vm, 'resp_token'), global(vm, 'resp_headers'), global(vm, 'resp_body'), global(vm, 'resp_trailers')]).toEqual([token, 0, 0, 0]);
    expect(global(vm, 'resp_status_status')).toBe(Status.BadArgument); // nothing to read after a failure
  });

  it('at shutdown a call in flight is reset and answered 503 at once; a new call is refused and logged', async () => {
    const logs: string[] = [];
    const vm = probeVm(logs);
    const { token } = call(vm, 'up', [':method', 'GET', ':path', '/hang', ':authority', 'x'], '', 0);
    expect(vm.pendingHttpCalls()).toBe(1);
    vm.beginShutdown();
    const refused = call(vm, 'up', [':method', 'GET', ':path', '/', ':authority', 'x'], '', 1000);
    expect(refused.status).toBe(Status.InternalFailure);
    expect(logs.filter((l) => l.includes("proxy_http_call to 'up' during shutdown refused"))).toHaveLength(1);
    await vm.shutdown();
    // answered synchronously during shutdown (as Envoy's cluster manager teardown does)
    expect(global(vm, 'resp_calls')).toBe(1);
    expect(global(vm, 'resp_token')).toBe(token);
    expect(lastResponse(vm)).toEqual({ status: '503', body: 'upstream connect error or disconnect/reset before headers. reset reason: connection termination' });
    expect(vm.pendingHttpCalls()).toBe(0);
    expect(vm.state).toBe('closed');
  });
});
