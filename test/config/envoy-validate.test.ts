// envoy.yaml and the dev overlay (what `npm start` and the e2e suite run) against real Envoy's
// `--mode validate` (parses, resolves every extension, checks the bootstrap, serves nothing):
// both are accepted, and a misspelt field is refused, so the check can fail. Next to the
// xds-protos check (envoy-config.test.ts), which also catches deprecated fields.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { devOverlay, ENVOY_YAML, loadEnvoyYaml, runEnvoy, writeBootstrap, type EnvoyRun } from '../../scripts/lib/envoy.js';

const scratch = mkdtempSync(join(tmpdir(), 'acpw-envoy-validate-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function validate(configPath: string): Promise<EnvoyRun> {
  return runEnvoy({ config: configPath, args: ['--mode', 'validate'], timeoutMs: 60_000 });
}

describe('envoy --mode validate', () => {
  it('accepts envoy.yaml as shipped', async () => {
    const run = await validate(ENVOY_YAML);
    expect(run.log).toContain('configuration');
    expect(run.log).toContain('OK');
    expect({ code: run.code, signal: run.signal }).toEqual({ code: 0, signal: null });
  });

  it('accepts the dev overlay npm start runs (cloudwatch_api → 127.0.0.1:5000 over HTTP, :18000, :8001)', async () => {
    const overlay = devOverlay(loadEnvoyYaml(), {
      cloudwatch: { host: '127.0.0.1', port: 5000 },
      receiver: { cloud_watch_endpoint: '127.0.0.1:5000', publish_interval_millisecond: 5000 },
      listenerPort: 18000,
      adminPort: 8001,
    });
    const run = await validate(writeBootstrap(overlay, join(scratch, 'dev-overlay.yaml')));
    expect({ code: run.code, signal: run.signal }).toEqual({ code: 0, signal: null });
  });

  it('refuses a misspelt field (the check is not a no-op)', async () => {
    const path = join(scratch, 'misspelt.yaml');
    const text = readFileSync(ENVOY_YAML, 'utf8').replace('connect_timeout: 5s', 'connect_timout: 5s');
    expect(text).toContain('connect_timout');
    writeFileSync(path, text);
    const run = await validate(path);
    expect(run.code).toBe(1);
    expect(run.log).toContain('connect_timout');
  });
});
