// The HTTP stream lifecycle as Envoy runs it, observed through a hand-made guest (a
// GuestCallbacks object that records every callback and calls hostcalls on the VM directly).

import { describe, expect, it } from 'vitest';
import { Action, MapType, Status, StreamType } from '../../src/abi/table.js';
import { fromUtf8, utf8 } from '../../host/core/bytes.js';
import { HostRuntime } from '../../host/core/runtime.js';
import { HttpStream, requestFromInput, routerFromInput, runStream } from '../../host/core/stream.js';
import { Vm } from '../../host/core/vm.js';
import type { HttpCallOutcome } from '../../host/core/http-client.js';
import { shutdownLikeEnvoy } from '../../host/host.js';
import type { GuestCallbacks } from '../../src/abi/host.js';

type Behaviour = Partial<Record<string, (vm: Vm, ...args: number[]) => number | void>>;

function recordingVm(calls: string[], behaviour: Behaviour = {}, runtime = new HostRuntime({ logSink: () => undefined }), label = '', worker = -1): Vm {
  const vmId = label === '' ? 'rec' : label.replace(/\W/g, '');
  const vm = new Vm({ name: 'rec', rootId: '', vmId, vmConfiguration: utf8(''), pluginConfiguration: utf8(''), environment: {} }, runtime, worker);
  const names = ['proxy_on_context_create', 'proxy_on_vm_start', 'proxy_on_configure', 'proxy_on_request_headers', 'proxy_on_request_body',
    'proxy_on_request_trailers', 'proxy_on_response_headers', 'proxy_on_response_body', 'proxy_on_response_trailers', 'proxy_on_log',
    'proxy_on_done', 'proxy_on_delete', 'proxy_on_http_call_response', 'proxy_on_queue_ready', 'proxy_on_tick'];
  const callbacks: GuestCallbacks = {};
  for (const name of names) {
    callbacks[name] = (...args: number[]) => {
      calls.push(`${label}${name.replace('proxy_on_', '')}(${args.filter((a) => a !== undefined).join(',')})`.replace(/(,0)+\)$/, ')'));
      const custom = behaviour[name]?.(vm, ...args);
      if (typeof custom === 'number') return custom;
      return name === 'proxy_on_vm_start' || name === 'proxy_on_configure' || name === 'proxy_on_done' ? 1 : 0;
    };
  }
  vm.attach(() => ({ kind: 'in-process', callbacks, memoryBytes: () => 0 }));
  vm.start();
  return vm;
}

function value(vm: Vm, map: MapType, key: string): string | number {
  return vm.getHeaderMapValue(map, key);
}

describe('stream lifecycle', () => {
  it('runs create → request headers → response headers → log → done → delete, in order', () => {
    const calls: string[] = [];
    const seen: Record<string, unknown> = {};
    const vm = recordingVm(calls, {
      proxy_on_request_headers: (v) => {
        seen.request = v.getHeaderMapPairs(MapType.HttpRequestHeaders);
      },
      proxy_on_log: (v) => {
        seen.logPath = value(v, MapType.HttpRequestHeaders, ':path');
        seen.logStatus = value(v, MapType.HttpResponseHeaders, ':status');
      },
    });
    calls.length = 0;
    const outcome = vm.runStream({ path: '/x?y=1', authority: 'example.com', headers: { 'user-agent': 'test' } });
    expect(outcome.status).toBe('complete');
    expect(calls.map((c) => c.replace(/\(.*/, ''))).toEqual([
      'context_create', 'request_headers', 'response_headers', 'response_body', 'log', 'done', 'delete',
    ]);
    expect(calls[0]).toBe('context_create(2,1)');
    expect(seen.request).toEqual([':authority', 'example.com', ':path', '/x?y=1', ':method', 'GET', ':scheme', 'http', 'user-agent', 'test']);
    expect(seen.logPath).toBe('/x?y=1');
    expect(seen.logStatus).toBe('200');
  });

  it("maps are the callback's own: request headers unreadable in the response phase, read-only at log", () => {
    const calls: string[] = [];
    const seen: Record<string, unknown> = {};
    const vm = recordingVm(calls, {
      proxy_on_request_headers: (v) => {
        seen.inRequest = value(v, MapType.HttpRequestHeaders, ':path');
        seen.responseInRequest = value(v, MapType.HttpResponseHeaders, ':status');
      },
      proxy_on_response_headers: (v) => {
        seen.requestInResponse = value(v, MapType.HttpRequestHeaders, ':path');
        seen.addInResponse = v.addHeaderMapValue(MapType.HttpResponseHeaders, 'x-added', '1');
      },
      proxy_on_log: (v) => {
        seen.addAtLog = v.addHeaderMapValue(MapType.HttpResponseHeaders, 'x-late', '1');
        seen.trailersAtLog = value(v, MapType.HttpRequestTrailers, 'x');
      },
    });
    const outcome = vm.runStream({ path: '/p' });
    expect(seen).toEqual({
      inRequest: '/p', responseInRequest: Status.BadArgument, requestInResponse: Status.BadArgument,
      addInResponse: Status.Ok, addAtLog: Status.BadArgument, trailersAtLog: Status.NotFound,
    });
    expect(outcome.responseHeaders).toContain('x-added');
  });

  it('request body and trailers: end_of_stream only on the last piece', () => {
    const calls: string[] = [];
    let body: string | number = 0;
    const vm = recordingVm(calls, {
      proxy_on_request_body: (v, _ctx, size) => {
        const r = v.getBufferBytes(0, 0, size!);
        body = typeof r === 'number' ? r : fromUtf8(r);
      },
    });
    calls.length = 0;
    vm.runStream({ method: 'POST', body: 'hello', trailers: ['x-t', '1'], response: { body: '' } });
    expect(calls.slice(1, 4)).toEqual(['request_headers(2,4)', 'request_body(2,5)', 'request_trailers(2,1)']);
    expect(body).toBe('hello');
    // response without body: end_of_stream on the headers
    expect(calls[4]).toBe('response_headers(2,3,1)');
  });

  it('Pause stops the chain until proxy_continue_stream; finished settles afterwards', async () => {
    const calls: string[] = [];
    const vm = recordingVm(calls, { proxy_on_request_headers: () => Action.Pause });
    calls.length = 0;
    const stream = new HttpStream([vm], requestFromInput({}), routerFromInput({}));
    const first = stream.runSync();
    expect(first.status).toBe('paused');
    expect(calls.map((c) => c.replace(/\(.*/, ''))).toEqual(['context_create', 'request_headers']);
    // continuing the other direction does nothing
    vm.withContext(2, () => vm.continueStream(StreamType.Response));
    expect(calls).toHaveLength(2);
    vm.withContext(2, () => vm.continueStream(StreamType.Request));
    const outcome = await stream.finished;
    expect(outcome.status).toBe('complete');
    expect(calls.map((c) => c.replace(/\(.*/, '')).slice(2)).toEqual(['response_headers', 'response_body', 'log', 'done', 'delete']);
  });

  it('a continue issued inside the pausing callback is honoured after the callback returns', () => {
    const calls: string[] = [];
    const vm = recordingVm(calls, {
      proxy_on_request_headers: (v) => {
        v.continueStream(StreamType.Request);
        return Action.Pause;
      },
    });
    expect(vm.runStream({}).status).toBe('complete');
  });

  it('proxy_send_local_response replaces the route response and still runs the response phase and log', () => {
    const calls: string[] = [];
    let statusAtResponse: string | number = 0;
    const vm = recordingVm(calls, {
      proxy_on_request_headers: (v) => {
        v.sendLocalResponse(403, 'denied_by_test', utf8('go away'), ['x-why', 'test'], -1);
        return Action.Pause;
      },
      proxy_on_response_headers: (v) => {
        statusAtResponse = value(v, MapType.HttpResponseHeaders, ':status');
      },
    });
    calls.length = 0;
    const outcome = vm.runStream({ body: 'ignored' });
    expect(outcome.status).toBe('complete');
    expect(statusAtResponse).toBe('403');
    expect(fromUtf8(outcome.responseBody)).toBe('go away');
    expect(outcome.responseHeaders).toContain('x-why');
    expect(outcome.localReply?.details).toBe('denied_by_test');
    expect(calls.some((c) => c.startsWith('request_body'))).toBe(false);
    expect(calls.at(-3)).toMatch(/^log/);
  });

  it('proxy_close_stream resets the stream; log/done/delete still run', () => {
    const calls: string[] = [];
    const vm = recordingVm(calls, { proxy_on_request_headers: (v) => void v.closeStream(StreamType.Request) });
    calls.length = 0;
    const outcome = vm.runStream({});
    expect(outcome.status).toBe('reset');
    expect(calls.map((c) => c.replace(/\(.*/, ''))).toEqual(['context_create', 'request_headers', 'log', 'done', 'delete']);
  });

  it('a stream input can leave out a pseudo-header or a property, or be reset before the response', () => {
    const calls: string[] = [];
    const seen: Record<string, unknown> = {};
    const vm = recordingVm(calls, {
      proxy_on_log: (v) => {
        seen.authority = value(v, MapType.HttpRequestHeaders, ':authority');
        seen.path = value(v, MapType.HttpRequestHeaders, ':path');
        seen.status = value(v, MapType.HttpResponseHeaders, ':status');
        seen.time = v.getProperty('request\0time');
        seen.method = v.getProperty('request\0method');
      },
    });
    calls.length = 0;
    const outcome = vm.runStream({ path: '/p', omitHeaders: [':authority'], omitProperties: ['request.time'], resetBeforeResponse: true });
    expect(outcome.status).toBe('reset');
    expect(outcome.responseHeaders).toEqual([]);
    expect(calls.map((c) => c.replace(/\(.*/, ''))).toEqual(['context_create', 'request_headers', 'log', 'done', 'delete']);
    expect(seen).toEqual({ authority: Status.NotFound, path: '/p', status: Status.NotFound, time: Status.NotFound, method: utf8('GET') });
    // by default all of them are there
    vm.runStream({ path: '/p' });
    expect(seen).toMatchObject({ authority: 'example.com', status: '200' });
    expect(seen.time).toBeInstanceOf(Uint8Array);
  });

  it('a chain runs requests in filter order and responses in reverse', () => {
    const calls: string[] = [];
    const runtime = new HostRuntime({ logSink: () => undefined });
    const a = recordingVm(calls, {}, runtime, 'A:');
    const b = recordingVm(calls, {}, runtime, 'B:');
    calls.length = 0;
    runStream([a, b], {});
    const phases = calls.map((c) => c.replace(/\(.*/, ''));
    expect(phases.slice(0, 4)).toEqual(['A:context_create', 'A:request_headers', 'B:context_create', 'B:request_headers']);
    expect(phases.slice(4, 6)).toEqual(['B:response_headers', 'A:response_headers']);
  });

  it('a trapping callback fails the VM (fallbacks from then on), never the host', () => {
    const calls: string[] = [];
    const vm = recordingVm(calls, { proxy_on_request_headers: () => { throw new Error('boom'); } });
    const outcome = vm.runStream({});
    expect(vm.state).toBe('failed');
    expect(vm.failure).toMatch(/proxy_on_request_headers failed: boom/);
    expect(outcome.status).toBe('complete');
  });

  it('ticks reach the root context on a timer and stop when shutdown begins', async () => {
    const calls: string[] = [];
    let ticks = 0;
    const vm = recordingVm(calls, {
      proxy_on_configure: (v) => {
        v.setTickPeriodMilliseconds(5);
        return 1;
      },
      proxy_on_tick: () => {
        ticks++;
      },
    });
    while (ticks < 2) await new Promise((r) => setTimeout(r, 5));
    expect(calls.filter((c) => c === 'tick(1)').length).toBe(ticks);
    vm.beginShutdown();
    const before = ticks;
    vm.tick(); // a manual tick is refused too
    await new Promise((r) => setTimeout(r, 30)); // six periods
    expect(ticks).toBe(before);
    calls.length = 0;
    await vm.shutdown();
    expect(calls).toEqual(['done(1)', 'delete(1)']);
    expect(vm.state).toBe('closed');
  });

  it('a root that returns false from proxy_on_done is logged as one that would hang in Envoy, and deleted', async () => {
    const calls: string[] = [];
    const logs: string[] = [];
    const runtime = new HostRuntime({ logSink: (e) => void logs.push(e.message) });
    const doneStatus: number[] = [];
    const vm = recordingVm(calls, {
      proxy_on_done: (v) => {
        doneStatus.push(v.withContext(1, () => v.done())); // cpp-host: not parked yet, NotFound
        return 0;
      },
    }, runtime);
    calls.length = 0;
    await vm.shutdown();
    expect(calls).toEqual(['done(1)', 'delete(1)']);
    expect(doneStatus).toEqual([Status.NotFound]);
    expect(vm.doneCalls).toBe(0);
    expect(vm.state).toBe('closed');
    expect(logs.filter((l) => l.includes('proxy_on_done returned false') && l.includes('would hang in Envoy'))).toHaveLength(1);
  });

  it("shuts a host down in Envoy's order: no ticks or deliveries, filters' done, calls reset, services' done last", async () => {
    const calls: string[] = [];
    const logs: string[] = [];
    let answer: ((outcome: HttpCallOutcome) => void) | undefined;
    const runtime = new HostRuntime({
      logSink: (e) => void logs.push(e.message),
      clusters: { cw: { host: 'cw', port: 0, handle: (_request, done) => { answer = done; return () => undefined; } } },
    });
    const headers = [':method', 'POST', ':path', '/', ':authority', 'cw'];
    let queue = 0;
    const callStatus: number[] = [];
    const drained: string[] = [];
    const service = recordingVm(calls, {
      proxy_on_configure: (v) => {
        queue = v.registerSharedQueue('q');
        v.setTickPeriodMilliseconds(5);
        return 1;
      },
      proxy_on_done: (v) => {
        for (let item = v.dequeueSharedQueue(queue); typeof item !== 'number'; item = v.dequeueSharedQueue(queue)) drained.push(fromUtf8(item));
        callStatus.push(v.httpCall('cw', headers, utf8('last'), [], 1000)); // refused: Envoy cannot send now
        return 0; // Envoy would park this root forever
      },
    }, runtime, 'svc:', -1);
    const filters = [0, 1].map((w) => recordingVm(calls, {
      proxy_on_done: (v) => {
        const id = v.resolveSharedQueue('svc', 'q');
        expect(v.enqueueSharedQueue(id, utf8(`flush ${w}`))).toBe(Status.Ok);
        return 1;
      },
    }, runtime, `f${w}:`, w));
    const inFlight = service.withContext(service.rootContextId, () => service.httpCall('cw', headers, utf8('batch'), [], 1000));
    expect(inFlight).toBeGreaterThan(0);
    calls.length = 0;

    await shutdownLikeEnvoy(filters, [service], async () => {
      answer!({ ok: true, response: { headers: [':status', '200'], body: utf8(''), trailers: [] } }); // arrives after the loop exited: not delivered
      await new Promise((r) => setTimeout(r, 30)); // queue notices and tick timers would run here
    });

    expect(calls).toEqual([
      'f0:done(1)', 'f1:done(1)',
      `svc:http_call_response(1,${inFlight},3,95)`, // reset: Envoy's 503 "… connection termination", outside any loop
      'f0:delete(1)', 'f1:delete(1)',
      'svc:done(1)', 'svc:delete(1)',
    ]);
    expect(drained).toEqual(['flush 0', 'flush 1']);
    expect(callStatus).toEqual([-Status.InternalFailure]); // Vm.httpCall's form: a negative status instead of a token
    expect(logs.filter((l) => l.includes("proxy_http_call to 'cw' during shutdown refused"))).toHaveLength(1);
    expect(logs.filter((l) => l.includes('[vm svc]') && l.includes('would hang in Envoy'))).toHaveLength(1);
    expect([service, ...filters].every((v) => v.state === 'closed')).toBe(true);
  });
});
