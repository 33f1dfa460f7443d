// The SDK under the engine the plugins really run on: the SDK, a small plugin and host/'s VM
// (test/support/sdk-vm.ts: NodeHost over a lean-mode VM, the same driver as the other SDK
// tests) are bundled by esbuild (as build.mjs does: browser platform, one script) and run in
// QuickJS-NG (quickjs-wasi). This checks the SDK's JS works there — classes, Maps, exception
// containment with QuickJS stacks, httpCall token routing, async tasks drained as jobs —
// independently of the Wasm bridge (the built modules' tests run the bridge).

import { build, type Plugin } from 'esbuild';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { QuickJS } from 'quickjs-wasi';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '..', '..');

// QuickJS has no TextEncoder/TextDecoder (the engine's shims add real ones; ASCII is enough
// here), no `process`, `performance` or `Buffer`, which host/ reads for its wall clock and map
// sizes: fixed stand-ins (the lean mode's ManualClock gives the plugin its time).
const ENGINE_GLOBALS = `
globalThis.TextEncoder = class { encode(s) { const a = new Uint8Array(s.length); for (let i = 0; i < s.length; i++) a[i] = s.charCodeAt(i); return a; } };
globalThis.TextDecoder = class { decode(b) { const a = b instanceof Uint8Array ? b : new Uint8Array(b); let s = ''; for (const c of a) s += String.fromCharCode(c); return s; } };
globalThis.process = { hrtime: { bigint: () => 0n }, stderr: { write() {} } };
globalThis.performance = { now: () => 0 };
globalThis.Buffer = { byteLength: (s) => s.length };
`;

/** host/ imports node:* modules for what this scenario never reaches (sockets, files, zlib, hashes): empty stand-ins. */
const stubNodeBuiltins: Plugin = {
  name: 'stub-node-builtins',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: 'node-stub' }));
    b.onLoad({ filter: /.*/, namespace: 'node-stub' }, (args) => ({
      contents: `const unavailable = () => { throw new Error('${args.path} is not available under QuickJS'); };
        export default new Proxy({}, { get: () => unavailable });
        export const randomFillSync = unavailable, createHash = unavailable, crc32 = unavailable, pathToFileURL = unavailable,
          readFileSync = unavailable, deflateSync = unavailable, inflateSync = unavailable, randomUUID = unavailable;`,
      loader: 'js',
    }));
  },
};

const SCENARIO = `
import { Action, HttpContext, MapType, RootContext, definePlugin } from './src/sdk/index.ts';
import { SdkVm } from './test/support/sdk-vm.ts';

const out = { responses: [] };
class Root extends RootContext {
  override onConfigure(size) { return this.getPluginConfiguration()?.length === size; }
  override onTick() {
    this.runTask('publish', async () => {
      await Promise.resolve();
      this.httpCall('cw', [[':method', 'POST'], [':path', '/'], [':authority', 'cw']], '{}', [], 1000, (r) => out.responses.push(r.status + ' ' + r.bodyText()));
      throw new Error('after the call');
    });
  }
}
class Http extends HttpContext {
  override onRequestHeaders(n, eos) {
    const path = this.getRequestHeader(':path');
    if (path === '/throw') null.boom();
    return path === '/pause' ? Action.Pause : Action.Continue;
  }
}
const sdk = new SdkVm(definePlugin({ name: 'qjs', root: Root, http: Http }), { pluginConfiguration: 'abc', clusters: ['cw'] });
const cb = sdk.cb;
cb.proxy_on_context_create(1, 0);
out.configure = cb.proxy_on_configure(1, 3);
cb.proxy_on_context_create(2, 1);
sdk.headers(2, MapType.HttpRequestHeaders, [[':path', '/pause']]);
out.pause = cb.proxy_on_request_headers(2, 1, 1);
sdk.headers(2, MapType.HttpRequestHeaders, [[':path', '/throw']]);
out.thrown = cb.proxy_on_request_headers(2, 1, 1);
sdk.headers(2, MapType.HttpRequestHeaders, [[':path', '/ok']]);
out.after = cb.proxy_on_request_headers(2, 1, 1);
cb.proxy_on_tick(1);
globalThis.__finish = () => {
  out.calls = sdk.httpCalls.length;
  sdk.httpCalls[0]?.answer(200, [], 'ok'); // the host delivers it to root 1
  out.logs = sdk.argsOf('log').map(([level, message]) => level + ' ' + message);
  out.implemented = [...sdk.dispatcher.implemented].sort();
  return JSON.stringify(out);
};
`;

async function bundleScenario(): Promise<string> {
  const result = await build({
    stdin: { contents: SCENARIO, resolveDir: root, loader: 'ts', sourcefile: 'scenario.ts' },
    bundle: true, write: false, platform: 'browser', format: 'iife', target: 'es2022',
    banner: { js: ENGINE_GLOBALS }, logLevel: 'silent', plugins: [stubNodeBuiltins],
  });
  return result.outputFiles[0]!.text;
}

describe('SDK under QuickJS', () => {
  it('routes, contains exceptions with QuickJS stacks, and delivers http_call responses', async () => {
    const code = await bundleScenario();
    const wasm = readFileSync(createRequire(import.meta.url).resolve('quickjs-wasi/quickjs.wasm'));
    const vm = await QuickJS.create({ wasm });
    try {
      vm.evalCode(code, 'scenario.js').dispose();
      vm.executePendingJobs(); // what the bridge does after every callback
      const finish = vm.evalCode('__finish()');
      const out = JSON.parse(vm.dump(finish) as string) as {
        configure: number; pause: number; thrown: number; after: number; logs: string[]; implemented: string[];
        responses: string[]; calls: number;
      };
      finish.dispose();
      expect(out.configure).toBe(1);
      expect(out.pause).toBe(1);
      expect(out.thrown).toBe(0);
      expect(out.after).toBe(0);
      expect(out.calls).toBe(1); // the task's call, made after its await
      expect(out.responses).toEqual(['200 ok']);
      expect(out.logs).toHaveLength(2);
      // Exception containment: message and QuickJS stack frames.
      expect(out.logs[0]).toMatch(/^4 qjs: proxy_on_request_headers \(context 2\) threw: TypeError: .*null/);
      expect(out.logs[0]).toMatch(/\n\s+at /);
      // The async task's rejection, after the job queue was drained.
      expect(out.logs[1]).toMatch(/^4 publish failed: Error: after the call/);
      expect(out.implemented).toEqual([
        'proxy_on_configure', 'proxy_on_context_create', 'proxy_on_delete', 'proxy_on_http_call_response',
        'proxy_on_request_headers', 'proxy_on_tick',
      ]);
    } finally {
      vm.dispose();
    }
  });
});
