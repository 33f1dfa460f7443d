// build.mjs fails loudly: non-zero exit and a message naming the culprit.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILD_TIMEOUT_MS, repoRoot } from '../fixtures/engine/build-fixture.js';
import { runProcess } from '../support/run-process.js';

// Asynchronous builds: each takes ~19 s on a loaded machine, which must not block the worker.
async function build(entry: string): Promise<{ status: number | null; output: string; out: string }> {
  const out = join(repoRoot, 'build', 'test', 'engine-build', entry.replace(/\W+/g, '_') + '.wasm');
  const r = await runProcess(process.execPath, ['build.mjs', '--skip-typecheck', '--quiet', '--entry', entry, '--out', out], { cwd: repoRoot, timeoutMs: BUILD_TIMEOUT_MS });
  return { status: r.status, output: r.stdout + r.stderr, out };
}

describe('build failures', { timeout: BUILD_TIMEOUT_MS }, () => {
  it('an exception during snapshot initialisation: exit 1, the error and its JS stack', async () => {
    const r = await build('test/fixtures/engine/throws-at-init.ts');
    expect(r.status).toBe(1);
    expect(r.output).toMatch(/exception during snapshot initialisation \(evaluation\): RangeError: settings are broken/);
    expect(r.output).toMatch(/at loadSettings \(test_fixtures_engine_throws_at_init_ts\.js:\d+:\d+\)/);
    expect(existsSync(r.out)).toBe(false);
  });

  it('a promise rejected and unhandled during initialisation', async () => {
    const r = await build('test/fixtures/engine/rejects-at-init.ts');
    expect(r.status).toBe(1);
    expect(r.output).toMatch(/unhandled promise rejection: Error: nobody handles this/);
  });

  it('a bundle error names the file and the import', async () => {
    const r = await build('test/fixtures/engine/bad-import.ts');
    expect(r.status).toBe(1);
    expect(r.output).toMatch(/bundle errors .*\n.*bad-import\.ts:\d+:\d+: Could not resolve "\.\/does-not-exist\.js"/);
  });

  it('an unknown argument', async () => {
    const r = await runProcess(process.execPath, ['build.mjs', '--nope'], { cwd: repoRoot });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/unknown argument '--nope'/);
  });
});
