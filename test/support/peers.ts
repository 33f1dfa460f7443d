// Builds the benchmark's SDK peers — the sender logic written with other proxy-wasm SDKs — so a
// test can prove that modules this project did not build run in the local host.
//   AssemblyScript: @solo-io/proxy-runtime 0.1.8 (ABI 0.2.0), pinned in bench/assemblyscript.
//   Go: the Go SDK on wasip1 (reactor, -buildmode=c-shared), when `go` is on PATH.

import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './python.js';
import { runProcess, runProcessOrThrow } from './run-process.js';

const AS_DIR = join(REPO_ROOT, 'bench', 'assemblyscript');
const GO_DIR = join(REPO_ROOT, 'bench', 'go');
// Generous: asc takes ~30 s alone and minutes on a 2-core machine shared with other work.
const BUILD_TIMEOUT_MS = 240_000;

/** npm ci of the pinned packages when missing, then asc; returns the .wasm path. Throws on failure. */
export async function buildAssemblyScriptPeer(): Promise<string> {
  if (!existsSync(join(AS_DIR, 'node_modules', 'assemblyscript'))) {
    await runProcessOrThrow('npm', ['ci', '--prefix', AS_DIR, '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: REPO_ROOT, timeoutMs: BUILD_TIMEOUT_MS,
    });
  }
  await runProcessOrThrow(process.execPath, [join(AS_DIR, 'build.mjs')], { cwd: AS_DIR, timeoutMs: BUILD_TIMEOUT_MS });
  const out = join(AS_DIR, 'build', 'sender.wasm');
  if (!existsSync(out)) throw new Error(`the AssemblyScript peer build wrote no ${out}`);
  return out;
}

/** Why the Go peer cannot be built here, or undefined when `go` runs. */
export async function goUnavailableReason(): Promise<string | undefined> {
  const probe = await runProcess('go', ['version'], { timeoutMs: 30_000 }).catch(() => undefined);
  if (probe === undefined || probe.status !== 0) return 'go not found on PATH';
  return undefined;
}

/** go build for wasip1 into a temporary directory; returns the .wasm path. Throws on failure. */
export async function buildGoPeer(): Promise<string> {
  const out = join(mkdtempSync(join(tmpdir(), 'acpw-go-peer-')), 'sender.wasm');
  await runProcessOrThrow('go', ['build', '-buildmode=c-shared', '-trimpath', '-ldflags=-s -w', '-o', out, '.'], {
    cwd: GO_DIR, timeoutMs: BUILD_TIMEOUT_MS,
    env: { ...process.env, GOOS: 'wasip1', GOARCH: 'wasm', GOFLAGS: '-mod=readonly', CGO_ENABLED: '0' },
  });
  return out;
}
