// The command line: bad flags exit 2 with the usage; a real run prints what it started, serves,
// and drains cleanly on SIGTERM (proxy_on_done on every root) with exit code 0.

import { spawn } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProcess } from '../support/run-process.js';
import { buildFixture } from './support/wat.js';

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'acpw-cli-'));
  await buildFixture('sender-filter.wat', dir, 'sender.wasm');
  await buildFixture('receiver-service.wat', dir, 'receiver.wasm');
  writeFileSync(join(dir, 'envoy.yaml'), `
bootstrap_extensions:
  - name: envoy.bootstrap.wasm
    typed_config:
      singleton: true
      config: { name: receiver, vm_config: { vm_id: receiver, code: { local: { filename: ./receiver.wasm } } } }
static_resources:
  listeners:
    - name: ingress
      address: { socket_address: { address: 0.0.0.0, port_value: 18000 } }
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                route_config:
                  virtual_hosts:
                    - { name: all, domains: ["*"], routes: [ { match: { prefix: / }, direct_response: { status: 200, body: { inline_string: OK } } } ] }
                http_filters:
                  - name: envoy.filters.http.wasm
                    typed_config:
                      config: { name: sender, vm_config: { vm_id: sender, code: { local: { filename: ./sender.wasm } } } }
`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CLI = ['--import', 'tsx', 'host/cli.ts'];

describe('host CLI', () => {
  it('rejects a bad flag with exit code 2 and the usage', async () => {
    const r = await runProcess(process.execPath, [...CLI, '--workers', 'zero']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--workers 'zero' must be a positive integer");
    expect(r.stderr).toContain('usage: npm run host');
    const c = await runProcess(process.execPath, [...CLI, '--cluster', 'nope']);
    expect(c.status).toBe(2);
    expect(c.stderr).toContain('expected NAME=HOST:PORT');
  });

  it('starts, serves, and drains on SIGTERM', async () => {
    const child = spawn(process.execPath, [...CLI, '--config', join(dir, 'envoy.yaml'), '--listen-port', '0', '--admin-port', '0', '--workers', '3'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // the start report arrives in chunks: wait for its last lines, not just the admin line
    while (!/admin: /.test(stdout) || !/vm sender \[sender\] worker 2: /.test(stdout) || !/vm receiver \[receiver\] main thread: /.test(stdout)) {
      if (child.exitCode !== null) throw new Error(`host exited early: ${stdout}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(stdout).toMatch(/vm sender \[sender\] worker 2: running/);
    expect(stdout).toMatch(/vm receiver \[receiver\] main thread: running/);
    const port = Number(/listener ingress: http:\/\/127\.0\.0\.1:(\d+)/.exec(stdout)![1]);
    const body = await new Promise<string>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/hello', agent: false }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve(text));
      }).on('error', reject);
    });
    expect(body).toBe('OK');
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stdout).toContain('SIGTERM: draining plugins');
    expect(stdout).toContain('stopped');
  });
});
