// The modules the benchmark compares, and how each is built. Everything is built from this repo
// and packages from registries; a module that cannot be built becomes a "skipped" row saying why.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HOSTCALLS, UNSUPPORTED_HOSTCALLS } from '../src/abi/table.js';
import { WA, type WasmModule as CompiledModule } from '../host/guests/webassembly.js';

// WASI functions proxy-wasm-cpp-host registers (under wasi_snapshot_preview1 and wasi_unstable);
// the last two only in newer Envoy releases.
const ENVOY_WASI = new Set(['fd_write', 'fd_read', 'fd_seek', 'fd_close', 'fd_fdstat_get', 'environ_get',
  'environ_sizes_get', 'args_get', 'args_sizes_get', 'clock_time_get', 'random_get', 'proc_exit', 'path_open',
  'fd_prestat_get', 'fd_prestat_dir_name']);
const NEWER_ENVOY_WASI = new Set(['sched_yield', 'poll_oneoff']);
const PROXY_IMPORTS = new Set<string>([...HOSTCALLS.map((h) => h.abi), ...UNSUPPORTED_HOSTCALLS, 'proxy_get_status',
  'proxy_get_buffer_status', 'proxy_set_buffer_status', 'proxy_clear_route_cache']);

function importNotes(module: CompiledModule): string[] {
  const notes: string[] = [];
  for (const imp of WA.Module.imports(module)) {
    const name = `${imp.module}.${imp.name}`;
    if (imp.module === 'env' && PROXY_IMPORTS.has(imp.name)) continue;
    if ((imp.module === 'wasi_snapshot_preview1' || imp.module === 'wasi_unstable') && ENVOY_WASI.has(imp.name)) continue;
    if (imp.module === 'wasi_snapshot_preview1' && NEWER_ENVOY_WASI.has(imp.name)) notes.push(`${name} (newer Envoy only)`);
    else notes.push(`${name} (not provided by Envoy)`);
  }
  return notes;
}

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const REPO_DIR = dirname(BENCH_DIR);

export type ModuleId = 'empty' | 'sender' | 'assemblyscript' | 'go' | 'receiver';

export interface BuiltModule {
  readonly id: ModuleId;
  readonly label: string;
  readonly path: string;
  readonly bytes: number;
  readonly module: CompiledModule;
  readonly abi: string;
  /** Imports a proxy-wasm host like Envoy may not provide (it refuses such a module). */
  readonly importNotes: readonly string[];
}

export interface SkippedModule {
  readonly id: ModuleId;
  readonly label: string;
  readonly skipped: string;
}

export type ModuleOutcome = BuiltModule | SkippedModule;

export const isBuilt = (m: ModuleOutcome): m is BuiltModule => 'module' in m;

const LABELS: Record<ModuleId, string> = {
  empty: 'empty filter (WAT, the floor)',
  sender: 'sender.wasm (ours: TypeScript on QuickJS)',
  assemblyscript: 'AssemblyScript peer (@solo-io/proxy-runtime 0.1.8)',
  go: 'Go peer (Go wasip1, go:wasmexport)',
  receiver: 'receiver.wasm (ours)',
};

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): void {
  execFileSync(command, args, { cwd, env, stdio: ['ignore', 'inherit', 'inherit'] });
}

function newerThan(output: string, inputs: string[]): boolean {
  if (!existsSync(output)) return false;
  const built = statSync(output).mtimeMs;
  return inputs.every((input) => !existsSync(input) || statSync(input).mtimeMs <= built);
}

/** Loads a built file and checks it is a proxy-wasm module, as Envoy does before running it. */
function load(id: ModuleId, path: string): BuiltModule {
  const bytes = readFileSync(path);
  const module = new WA.Module(bytes);
  const names = new Set(WA.Module.exports(module).map((e) => e.name));
  const abi = ['proxy_abi_version_0_2_1', 'proxy_abi_version_0_2_0'].find((n) => names.has(n));
  if (abi === undefined) throw new Error(`${path}: not a proxy-wasm module (no proxy_abi_version_0_2_x export)`);
  if (!names.has('memory')) throw new Error(`${path}: exports no memory`);
  if (!names.has('proxy_on_memory_allocate') && !names.has('malloc')) {
    throw new Error(`${path}: exports neither proxy_on_memory_allocate nor malloc`);
  }
  return {
    id, label: LABELS[id], path, bytes: bytes.byteLength, module,
    abi: abi.replace('proxy_abi_version_', '').replace(/_/g, '.'),
    importNotes: importNotes(module),
  };
}

function attempt(id: ModuleId, build: () => string): ModuleOutcome {
  try {
    return load(id, build());
  } catch (err) {
    const message = err instanceof Error ? err.message.split('\n')[0]! : String(err);
    return { id, label: LABELS[id], skipped: message };
  }
}

/** The floor: bench/wat/empty.wat assembled with wabt's JS build (an npm devDependency). */
async function buildEmpty(): Promise<ModuleOutcome> {
  const out = join(BENCH_DIR, 'wat', 'build', 'empty.wasm');
  try {
    const require = createRequire(import.meta.url);
    const initWabt = require('wabt') as () => Promise<{
      parseWat(name: string, text: string): { toBinary(o: object): { buffer: Uint8Array }; destroy(): void };
    }>;
    const wabt = await initWabt();
    const parsed = wabt.parseWat('empty.wat', readFileSync(join(BENCH_DIR, 'wat', 'empty.wat'), 'utf8'));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, parsed.toBinary({}).buffer);
    parsed.destroy();
    return load('empty', out);
  } catch (err) {
    return { id: 'empty', label: LABELS.empty, skipped: err instanceof Error ? err.message : String(err) };
  }
}

/** Ours: `node build.mjs` at the repo root when either module is missing. */
function buildOurs(rebuild: boolean): { sender: ModuleOutcome; receiver: ModuleOutcome } {
  const sender = join(REPO_DIR, 'sender.wasm');
  const receiver = join(REPO_DIR, 'receiver.wasm');
  let failure: string | undefined;
  if (rebuild || !existsSync(sender) || !existsSync(receiver)) {
    if (!existsSync(join(REPO_DIR, 'build.mjs'))) failure = 'build.mjs not found';
    else {
      console.error('bench: building sender.wasm and receiver.wasm (node build.mjs)');
      try {
        run(process.execPath, ['build.mjs'], REPO_DIR);
      } catch {
        failure = 'node build.mjs failed';
      }
    }
  }
  const pick = (id: ModuleId, path: string): ModuleOutcome =>
    existsSync(path) ? attempt(id, () => path) : { id, label: LABELS[id], skipped: failure ?? `${path} missing` };
  return { sender: pick('sender', sender), receiver: pick('receiver', receiver) };
}

/** AssemblyScript: pinned packages installed into bench/assemblyscript/node_modules, then asc. */
function buildAssemblyScript(rebuild: boolean): ModuleOutcome {
  const dir = join(BENCH_DIR, 'assemblyscript');
  const out = join(dir, 'build', 'sender.wasm');
  return attempt('assemblyscript', () => {
    const installed = join(dir, 'node_modules', '.package-lock.json');
    if (!newerThan(installed, [join(dir, 'package-lock.json')])) {
      console.error('bench: installing the AssemblyScript peer\'s packages (npm ci)');
      run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], dir);
    }
    if (rebuild || !newerThan(out, [join(dir, 'assembly', 'sender.as'), join(dir, 'build.mjs'), installed])) {
      console.error('bench: building the AssemblyScript peer');
      run(process.execPath, ['build.mjs'], dir);
    }
    return out;
  });
}

/** Go: the toolchain on PATH, wasip1 reactor (-buildmode=c-shared); skipped where go is missing. */
function buildGo(rebuild: boolean): ModuleOutcome {
  const dir = join(BENCH_DIR, 'go');
  const out = join(dir, 'build', 'sender.wasm');
  if (spawnSync('go', ['version'], { stdio: 'ignore' }).status !== 0) {
    return { id: 'go', label: LABELS.go, skipped: 'go not found' };
  }
  return attempt('go', () => {
    const sources = ['main.go', 'abi.go', 'go.mod'].map((f) => join(dir, f));
    if (rebuild || !newerThan(out, sources)) {
      console.error('bench: building the Go peer');
      run('go', ['build', '-buildmode=c-shared', '-trimpath', '-ldflags=-s -w', '-o', out, '.'], dir,
        { ...process.env, GOOS: 'wasip1', GOARCH: 'wasm', GOFLAGS: '-mod=readonly', CGO_ENABLED: '0' });
    }
    return out;
  });
}

export async function buildAll(rebuild: boolean): Promise<ModuleOutcome[]> {
  const ours = buildOurs(rebuild);
  return [await buildEmpty(), ours.sender, buildAssemblyScript(rebuild), buildGo(rebuild), ours.receiver];
}
