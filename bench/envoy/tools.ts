// What the real-Envoy benchmark needs beyond the repo: the load generator (wrk, from Debian) and
// the Rust peer (cargo + the wasm32-wasip1 target). Each is set up here on first use, with a
// message saying what is being installed; a failure names the missing piece.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR, REPO_DIR } from '../modules.js';

function has(command: string, args: string[]): boolean {
  return spawnSync(command, args, { stdio: 'ignore' }).status === 0;
}

/** wrk on PATH, installed with apt-get (Debian's `wrk` package) when missing. Throws saying why not. */
export function ensureWrk(): string {
  // `wrk --version` exits 1 after printing its banner; -v alone does the same, so look for the banner
  const probe = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  if (!probe.error && /^wrk .*Glozer/m.test(`${probe.stdout}${probe.stderr}`)) return 'wrk';
  console.error('bench: wrk (HTTP load generator) is missing: installing the Debian package `wrk` with apt-get');
  const asRoot = process.getuid?.() === 0;
  const apt = (args: string[]): boolean =>
    spawnSync(asRoot ? 'apt-get' : 'sudo', asRoot ? args : ['-n', 'apt-get', ...args], { stdio: ['ignore', 'ignore', 'inherit'] }).status === 0;
  if (!apt(['install', '-y', '-qq', 'wrk']) && !(apt(['update', '-qq']) && apt(['install', '-y', '-qq', 'wrk']))) {
    throw new Error('wrk is not installed and `apt-get install wrk` failed (install it: apt-get install wrk)');
  }
  return 'wrk';
}

export const RUST_DIR = join(BENCH_DIR, 'rust');
const RUST_TARGET_DIR = join(REPO_DIR, 'build', 'rust');
export const RUST_WASM = join(RUST_TARGET_DIR, 'wasm32-wasip1', 'release', 'acpw_rust_peer.wasm');

/**
 * The Rust peer (bench/rust, crate proxy-wasm =0.2.5 locked by Cargo.lock), built for
 * wasm32-wasip1; the target is added with rustup when missing. Returns the .wasm path.
 */
export function buildRustPeer(rebuild: boolean): string {
  if (!has('cargo', ['--version'])) throw new Error('cargo not found (install Rust: https://rustup.rs)');
  const sources = ['Cargo.toml', 'Cargo.lock', join('src', 'lib.rs')].map((f) => join(RUST_DIR, f));
  const fresh = existsSync(RUST_WASM) && sources.every((s) => statSync(s).mtimeMs <= statSync(RUST_WASM).mtimeMs);
  if (fresh && !rebuild) return RUST_WASM;
  const targets = spawnSync('rustup', ['target', 'list', '--installed'], { encoding: 'utf8' });
  if (targets.status === 0 && !targets.stdout.split('\n').includes('wasm32-wasip1')) {
    console.error('bench: adding the Rust target wasm32-wasip1 (rustup target add wasm32-wasip1)');
    execFileSync('rustup', ['target', 'add', 'wasm32-wasip1'], { stdio: ['ignore', 'inherit', 'inherit'] });
  }
  console.error('bench: building the Rust peer (cargo build --release --locked --target wasm32-wasip1)');
  execFileSync('cargo', ['build', '--release', '--locked', '--target', 'wasm32-wasip1', '--target-dir', RUST_TARGET_DIR],
    { cwd: RUST_DIR, stdio: ['ignore', 'inherit', 'inherit'] });
  if (!existsSync(RUST_WASM)) throw new Error(`cargo build did not write ${RUST_WASM}`);
  return RUST_WASM;
}
