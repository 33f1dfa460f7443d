// What the sender's `failure_policy: FAIL_OPEN` covers, as real Envoy shows it: a sender VM that
// fails at RUN time (here a filter that traps in proxy_on_request_headers, in place of
// sender.wasm) — with FAIL_OPEN requests keep flowing, unrecorded; with FAIL_CLOSED Envoy answers
// them itself. A configuration the plugin REJECTS at startup is not covered by either: Envoy
// refuses the bootstrap and exits 1 (faults-input.test.ts).

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wasmPlugins, type Bootstrap } from '../../scripts/lib/envoy.js';
import { watToBinary } from '../host/support/wat.js';
import { startE2e, type E2e } from '../support/e2e.js';
import { freeLoopbackPort } from '../support/moto.js';
import { REPO_ROOT } from '../support/python.js';

let dir: string;
let trapWasm: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'acpw-failure-policy-'));
  trapWasm = join(dir, 'trap-filter.wasm');
  const wat = readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'envoy', 'trap-filter.wat'), 'utf8');
  writeFileSync(trapWasm, await watToBinary(wat, 'trap-filter.wat'));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** envoy.yaml's sender filter, running the trapping module under `policy`. */
function trappingSender(policy: 'FAIL_OPEN' | 'FAIL_CLOSED') {
  return (bootstrap: Bootstrap): void => {
    const sender = wasmPlugins(bootstrap).get('sender');
    if (!sender) throw new Error('envoy.yaml has no sender plugin');
    sender.failure_policy = policy;
    ((sender.vm_config as Record<string, unknown>).code as { local: { filename: string } }).local.filename = trapWasm;
  };
}

async function statusesWith(policy: 'FAIL_OPEN' | 'FAIL_CLOSED'): Promise<{ statuses: number[]; e2e: E2e }> {
  // Nothing is published (the receiver has no data), so the endpoint may be closed.
  const e2e = await startE2e({
    cloudwatch: `127.0.0.1:${await freeLoopbackPort()}`,
    edit: trappingSender(policy),
    waitForLog: ['receiver: configured'],
  });
  const statuses: number[] = [];
  // One connection after another: each worker's VM traps on its first request.
  for (let i = 0; i < 6; i++) statuses.push(await e2e.send({ host: 'example.com', path: '/test' }));
  return { statuses, e2e };
}

describe('failure_policy in real Envoy: a sender VM that fails at run time', () => {
  it('FAIL_OPEN: the request that hit the failure gets a 503, every later one flows (200); Envoy keeps running', async () => {
    const { statuses, e2e } = await statusesWith('FAIL_OPEN');
    try {
      console.log(`FAIL_OPEN statuses: ${statuses.join(', ')}`);
      expect(e2e.logLines(/proxy_on_request_headers|unreachable/i).length).toBeGreaterThan(0);
      // One failed request per worker whose VM trapped: its first (1 or 2 of them: the kernel
      // spreads the connections over the workers).
      const failed = statuses.filter((status) => status === 503).length;
      expect(failed).toBeGreaterThanOrEqual(1);
      expect(failed).toBeLessThanOrEqual(2);
      expect(statuses.filter((status) => status === 200)).toHaveLength(statuses.length - failed);
      expect(JSON.parse(await e2e.envoy.admin('/server_info')).state).toBe('LIVE');
    } finally {
      const exit = await e2e.close();
      expect(exit).toEqual({ code: 0, signal: null });
    }
  });

  it('FAIL_CLOSED: every request is answered 503 by Envoy instead of the route', async () => {
    const { statuses, e2e } = await statusesWith('FAIL_CLOSED');
    try {
      console.log(`FAIL_CLOSED statuses: ${statuses.join(', ')}`);
      expect(statuses).toEqual(Array<number>(statuses.length).fill(503));
      expect(JSON.parse(await e2e.envoy.admin('/server_info')).state).toBe('LIVE');
    } finally {
      await e2e.close();
    }
  });
});
