// The whole host from an envoy.yaml: concurrent HTTP requests through the listener while a WAT
// sender filter (one VM per worker) records them and a singleton WAT receiver gets them through
// the shared queue; admin /stats; config warnings; and the project's own envoy.yaml parsed.

import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnvoyConfig, parseEnvoyConfig } from '../../host/envoy-config.js';
import { startHost } from '../../host/host.js';
import type { LogEntry } from '../../host/core/runtime.js';
import { buildFixture } from './support/wat.js';

let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'acpw-host-'));
  await buildFixture('sender-filter.wat', dir, 'wat-sender.wasm');
  await buildFixture('receiver-service.wat', dir, 'wat-receiver.wasm');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CONFIG = `
bootstrap_extensions:
  - name: envoy.bootstrap.wasm
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.wasm.v3.WasmService
      singleton: true
      config:
        name: receiver
        vm_config:
          vm_id: receiver
          runtime: envoy.wasm.runtime.v8
          code: { local: { filename: ./wat-receiver.wasm } }
static_resources:
  listeners:
    - name: ingress
      per_connection_buffer_limit_bytes: 1024
      address: { socket_address: { address: 0.0.0.0, port_value: 18000 } }
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: ingress_http
                route_config:
                  virtual_hosts:
                    - name: all
                      domains: ["example.com", "*.example.org"]
                      routes:
                        - match: { prefix: / }
                          direct_response: { status: 200, body: { inline_string: OK } }
                http_filters:
                  - name: envoy.filters.http.wasm
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
                      config:
                        name: sender
                        vm_config:
                          vm_id: sender
                          code: { local: { filename: ./wat-sender.wasm } }
                        configuration:
                          "@type": type.googleapis.com/google.protobuf.StringValue
                          value: '{"anything": true}'
                  - name: envoy.filters.http.router
  clusters:
    - name: upstream
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 9 } } }
admin:
  address: { socket_address: { address: 0.0.0.0, port_value: 8001 } }
`;

function get(port: number, path: string, host: string): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers: { host }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('front end', () => {
  it('serves concurrent requests; the receiver VM gets every one through the shared queue', async () => {
    const configPath = join(dir, 'envoy.yaml');
    writeFileSync(configPath, CONFIG);
    const logs: LogEntry[] = [];
    const host = await startHost({ config: configPath, workers: 2, listenPort: 0, adminPort: 0, logSink: (e) => logs.push(e) });
    try {
      expect(host.vms.map((v) => `${v.vmId}@${v.worker}:${v.state}`)).toEqual(['receiver@-1:running', 'sender@0:running', 'sender@1:running']);
      expect(host.warnings.some((w) => w.includes('per_connection_buffer_limit_bytes'))).toBe(true);
      expect(logs.some((l) => l.message.includes('per_connection_buffer_limit_bytes: unsupported field'))).toBe(true);

      const paths = Array.from({ length: 40 }, (_, i) => `/test/${i}`);
      const answers = await Promise.all(paths.map((p) => get(host.port, p, 'example.com')));
      expect(answers.every((a) => a.status === 200 && a.body === 'OK')).toBe(true);
      expect(answers.every((a) => a.headers['x-wat-response'] === 'unavailable')).toBe(true);

      while ((host.metric('wat_received') ?? 0) < 40) await new Promise((r) => setTimeout(r, 5));
      expect(host.metric('wat_requests')).toBe(40);
      const received = logs.filter((l) => l.vmId === 'receiver').map((l) => l.message).sort();
      expect(received).toEqual([...paths].sort());

      const notFound = await get(host.port, '/x', 'other.net');
      expect(notFound.status).toBe(404);
      expect((await get(host.port, '/x', 'a.example.org')).status).toBe(200);

      const stats = await get(host.adminPort, '/stats', 'localhost');
      while ((host.metric('wat_received') ?? 0) < 42) await new Promise((r) => setTimeout(r, 5));
      expect(stats.body).toMatch(/^wat_received: \d+\n/m);
      expect(stats.body).toContain('wat_requests: 42\n');
      expect((await get(host.adminPort, '/stats?filter=^wat_rec', 'localhost')).body).toBe('wat_received: 42\n');
    } finally {
      await host.close();
    }
    expect(host.vms.every((v) => v.state === 'closed')).toBe(true);
  });

  it('rejects a --plugin-config for an unknown vm_id or with bad JSON, naming it', async () => {
    const configPath = join(dir, 'envoy.yaml');
    writeFileSync(configPath, CONFIG);
    await expect(startHost({ config: configPath, listenPort: 0, adminPort: 0, pluginConfig: { nope: '{}' }, logSink: () => undefined })).rejects.toThrow(/'nope'/);
    await expect(startHost({ config: configPath, listenPort: 0, adminPort: 0, pluginConfig: { sender: '{bad' }, logSink: () => undefined })).rejects.toThrow(/vm_id 'sender' is not valid JSON/);
  });
});

describe('envoy.yaml reader', () => {
  it("reads the project's envoy.yaml: listener, direct response, sender filter, singleton receiver, cluster", () => {
    const config = loadEnvoyConfig('envoy.yaml');
    const listener = config.listeners[0]!;
    expect(listener.port).toBe(18000);
    expect(listener.routes[0]?.directResponse).toEqual({ status: 200, body: 'OK' });
    const sender = listener.httpFilters[0]!;
    expect(sender.vmId).toBe('sender');
    expect(sender.codeFile).toBe(join(process.cwd(), 'sender.wasm'));
    expect(JSON.parse(sender.configuration)).toMatchObject({ receiver_vm_id: 'receiver' });
    const receiver = config.services[0]!;
    expect(receiver).toMatchObject({ vmId: 'receiver', singleton: true });
    expect(receiver.environment.hostEnvKeys).toContain('ACPW_AWS_ACCESS_KEY_ID');
    const cluster = config.clusters.find((c) => c.name === 'cloudwatch_api')!;
    expect(cluster).toMatchObject({ port: 443, tls: true });
    expect(config.admin?.port).toBe(8001);
  });

  it('warns once per unsupported field, naming its path', () => {
    const config = parseEnvoyConfig(`
static_resources:
  listeners:
    - name: l
      address: { socket_address: { address: 127.0.0.1, port_value: 1 } }
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                use_remote_address: true
                route_config: { virtual_hosts: [] }
                http_filters:
                  - name: envoy.filters.http.cors
`);
    expect(config.warnings).toEqual([
      'static_resources.listeners[0].filter_chains[0].filters[0].typed_config.use_remote_address: unsupported field, ignored by the local host',
      "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0]: http filter 'envoy.filters.http.cors' is not supported, skipped",
    ]);
  });

  it('names the culprit in errors', () => {
    expect(() => parseEnvoyConfig('static_resources: { listeners: [ { address: { socket_address: { port_value: x } } } ] }')).toThrow(/port_value must be an integer/);
    expect(() => parseEnvoyConfig(': :')).toThrow(/not valid YAML/);
  });
});
