// The in-process guest: a TypeScript plugin (SDK + dispatcher) on the Node implementation of
// `Host`, behind the same VM and stream driver as a Wasm module.

import { describe, expect, it } from 'vitest';
import { fromUtf8 } from '../../host/core/bytes.js';
import { HostRuntime } from '../../host/core/runtime.js';
import { createVm } from '../../host/vm-factory.js';
import { inProcessSourceFor } from '../../host/host.js';
import echo from '../fixtures/host/echo-plugin.js';

function header(flat: string[], name: string): string | undefined {
  for (let i = 0; i < flat.length; i += 2) if (flat[i] === name) return flat[i + 1];
  return undefined;
}

/** The list without its `date` pair (streams a second apart differ there). */
function withoutDate(flat: string[]): string[] {
  return flat.filter((_, i) => flat[i - (i % 2)] !== 'date');
}

describe('in-process plugin', () => {
  it('runs the SDK plugin through the stream lifecycle with Envoy semantics', () => {
    const runtime = new HostRuntime({ logSink: () => undefined });
    const vm = createVm({ plugin: echo, runtime, vmId: 'echo', pluginConfiguration: '{"header":"x-marked"}', environment: { GREETING: 'hello' } });
    expect(vm.state).toBe('running');
    expect(vm.guest.kind).toBe('in-process');
    const outcome = vm.runStream({ path: '/some/path' });
    expect(header(outcome.requestHeaders, 'x-marked')).toBe('1');
    expect(header(outcome.responseHeaders, 'x-echo-path')).toBe('/some/path');
    expect(header(outcome.responseHeaders, 'x-greeting')).toBe('hello');
    vm.runStream({ path: '/2' });
    expect(runtime.metrics.get('echo_requests')?.value).toBe(2);
  });

  it('a replayed input starts every stream from the same headers: edits of one stream stay in it', () => {
    // the host shares a replayed input's request and route answer between streams (HeaderMap.share)
    const vm = createVm({ plugin: echo, runtime: new HostRuntime({ logSink: () => undefined }), vmId: 'echo', pluginConfiguration: '{"header":"x-marked"}' });
    const input = { path: '/same', headers: ['x-client', 'a'] };
    const first = vm.runStream(input);
    const second = vm.runStream(input);
    for (const outcome of [first, second]) {
      expect(outcome.requestHeaders.filter((k) => k === 'x-marked')).toHaveLength(1);
      expect(outcome.responseHeaders.filter((k) => k === 'x-echo-path')).toHaveLength(1);
    }
    expect(second.requestHeaders).toEqual(first.requestHeaders);
    expect(withoutDate(second.responseHeaders)).toEqual(withoutDate(first.responseHeaders));
    expect(input.headers).toEqual(['x-client', 'a']);
    // an outcome's lists are the caller's copies: changing them changes no later stream
    first.requestHeaders.push('x-caller', '1');
    first.responseHeaders.length = 0;
    const third = vm.runStream(input);
    expect(third.requestHeaders).toEqual(second.requestHeaders);
    expect(withoutDate(third.responseHeaders)).toEqual(withoutDate(second.responseHeaders));
  });

  it('local replies from the SDK reach the client', () => {
    const vm = createVm({ plugin: echo, runtime: new HostRuntime({ logSink: () => undefined }), vmId: 'echo' });
    const outcome = vm.runStream({ path: '/deny' });
    expect(header(outcome.responseHeaders, ':status')).toBe('403');
    expect(header(outcome.responseHeaders, 'x-denied')).toBe('yes');
    expect(fromUtf8(outcome.responseBody)).toBe('denied');
  });

  it('a rejected configuration fails the plugin like a Wasm one', () => {
    const vm = createVm({ plugin: echo, runtime: new HostRuntime({ logSink: () => undefined }), vmId: 'echo', pluginConfiguration: '{"header":5}' });
    expect(vm.state).toBe('failed');
  });

  it('maps X.wasm to src/X.ts for --in-process', () => {
    expect(inProcessSourceFor(`${process.cwd()}/sender.wasm`)).toBe(`${process.cwd()}/src/sender.ts`);
    expect(() => inProcessSourceFor('/nowhere/x.wasm')).toThrow(/no TypeScript source/);
  });
});
