// The SDK examples (examples/*), each built by build.mjs and run in REAL Envoy from its own
// envoy.yaml (ports chosen by the OS; the http_call example's cluster pointed at a loopback
// node:http server started here). All five modules are built once, in one async build.mjs run.

import { spawn } from 'node:child_process';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  devOverlay, loadEnvoyYaml, plainHttpCluster, ROOT, startEnvoy, wasmPlugins, type Bootstrap, type RunningEnvoy,
} from '../../scripts/lib/envoy.js';
import { pollUntil } from '../support/e2e.js';

const MODULES = [
  'log-requests/plugin', 'add-header/plugin', 'http-call/plugin', 'shared-queue/producer', 'shared-queue/consumer',
] as const;

/** node build.mjs with one --entry/--out pair per example module, without blocking the worker. */
function buildExamples(): Promise<void> {
  const args = ['build.mjs', '--skip-typecheck', '--quiet'];
  for (const module of MODULES) args.push('--entry', `examples/${module}.ts`, '--out', join('build', 'examples', `${module}.wasm`));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`building the examples failed (${code}):\n${output}`))));
  });
}

/** An example's envoy.yaml on OS-chosen loopback ports (its .wasm paths are repo-relative: Envoy runs in ROOT). */
function exampleConfig(name: string, edit?: (bootstrap: Bootstrap) => void): Bootstrap {
  return devOverlay(loadEnvoyYaml(join(ROOT, 'examples', name, 'envoy.yaml')), edit === undefined ? {} : { edit });
}

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = request({ host: '127.0.0.1', port, path, headers: { host: 'example.test', ...headers }, agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => { body += chunk; });
      response.once('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
    outgoing.once('error', reject);
    outgoing.end();
  });
}

const started: RunningEnvoy[] = [];

async function start(config: Bootstrap, waitForLog: string[] = []): Promise<RunningEnvoy> {
  const envoy = await startEnvoy({ config, concurrency: 1, waitForLog });
  started.push(envoy);
  return envoy;
}

// one build.mjs run for all five modules (bundle each, one bridge and merge, snapshot + optimise each):
// about a minute on a quiet machine, several on a loaded one
beforeAll(buildExamples, 600_000);

afterAll(async () => {
  await Promise.all(started.map((envoy) => envoy.stop()));
});

describe('SDK examples in real Envoy', () => {
  it('log-requests: one log line per request, with its method, path and status', async () => {
    const envoy = await start(exampleConfig('log-requests'));
    const port = envoy.listenerPort();
    expect((await get(port, '/first')).status).toBe(200);
    expect((await get(port, '/second?x=1')).status).toBe(200);
    const lines = await pollUntil(() => envoy.logLines('log-requests: '), (found) => found.length >= 2);
    expect(lines.map((line) => /log-requests: (GET \S+ -> \d+) in [\d.]+ ms/.exec(line)?.[1])).toEqual([
      'GET /first -> 200', 'GET /second?x=1 -> 200',
    ]);
  });

  it('add-header: the configured response header on every response', async () => {
    const envoy = await start(exampleConfig('add-header'));
    const answer = await get(envoy.listenerPort(), '/');
    expect(answer.status).toBe(200);
    expect(answer.headers['x-example']).toBe('hello from wasm');
  });

  it('add-header: a bad configuration fails the plugin (Envoy refuses the static config) with a line naming the key', async () => {
    const config = exampleConfig('add-header', (bootstrap) => {
      wasmPlugins(bootstrap).get('add-header')!.configuration = { '@type': 'type.googleapis.com/google.protobuf.StringValue', value: '{"name": 7}' };
    });
    await expect(start(config)).rejects.toThrow(/add-header: configuration key "name" must be a string[\s\S]*Unable to create Wasm plugin add-header/);
  });

  describe('http-call', () => {
    let auth: Server;
    const asked: (string | undefined)[] = [];

    beforeAll(async () => {
      auth = createServer((req, res) => {
        const user = req.headers['x-user'];
        asked.push(typeof user === 'string' ? `${req.method} ${req.url} ${user}` : undefined);
        if (user === 'alice') res.writeHead(200).end('alice');
        else res.writeHead(401).end('no');
      });
      await new Promise<void>((resolve) => auth.listen(0, '127.0.0.1', resolve));
    });

    afterAll(() => new Promise<void>((resolve) => auth.close(() => resolve())));

    it('asks the auth cluster: 200 lets the request through, tagged; anything else is a local 403', async () => {
      const { port } = auth.address() as AddressInfo;
      const envoy = await start(exampleConfig('http-call', (bootstrap) => {
        const resources = bootstrap.static_resources as { clusters: unknown[] };
        resources.clusters = [plainHttpCluster('auth', { host: '127.0.0.1', port })];
      }));
      const allowed = await get(envoy.listenerPort(), '/private', { 'x-user': 'alice' });
      expect(allowed.status).toBe(200);
      expect(allowed.body).toBe('OK\n');
      expect(allowed.headers['x-auth-user']).toBe('alice');
      const refused = await get(envoy.listenerPort(), '/private', { 'x-user': 'mallory' });
      expect(refused.status).toBe(403);
      expect(refused.body).toBe('forbidden\n');
      expect(asked).toEqual(['GET /check alice', 'GET /check mallory']);
    });
  });

  it('shared-queue: the producer filter enqueues each path, the singleton consumer counts them', async () => {
    const envoy = await start(exampleConfig('shared-queue'));
    const port = envoy.listenerPort();
    for (const path of ['/a', '/b', '/c']) expect((await get(port, path)).status).toBe(200);
    expect(await pollUntil(() => envoy.counter('example.paths_seen'), (count) => count >= 3)).toBe(3);
    expect(envoy.logLines('shared-queue consumer: got ').map((line) => line.replace(/.*got /, ''))).toEqual(['/a', '/b', '/c']);
  });
});
