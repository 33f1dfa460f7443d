#!/usr/bin/env node
// The build, top to bottom: typecheck → bundle → bridge → merge → snapshot → optimise.
//
//   node build.mjs                          sender.wasm and receiver.wasm at the repository root
//   node build.mjs --entry f.ts --out x.wasm  one module from a plugin file (default export:
//                                           definePlugin(...), as in examples/) or a test fixture
//                                           (default export: a (host) => Dispatcher factory)
//   --skip-typecheck                        skip `tsc --noEmit` (tests building fixtures)
//
// Intermediate files go to build/. Nothing outside the repository is read, and nothing from the
// build environment (clock, randomness, environment variables) reaches the snapshot.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { snapshotModule } from './shims/snapshot.mjs';
import { generateBridgeWat, bridgeFunctionNames } from './shims/gen-bridge.mjs';

const root = dirname(fileURLToPath(import.meta.url));
const buildRoot = join(root, 'build');
// Intermediates of this run. Fixture builds (tests, run in parallel) get a private directory.
let buildDir = buildRoot;
const require = createRequire(import.meta.url);

/** Features quickjs.wasm declares (target_features); never "all" (see engine notes). */
export const FEATURES = [
  'bulk-memory', 'bulk-memory-opt', 'sign-ext', 'mutable-globals', 'nontrapping-float-to-int',
  'reference-types', 'multivalue', 'extended-const', 'call-indirect-overlong',
];

const USAGE = `usage: node build.mjs [--skip-typecheck] [--quiet] [--entry FILE.ts --out FILE.wasm]...
  no --entry: builds sender.wasm and receiver.wasm from src/sender.ts and src/receiver.ts
  --entry:    builds one module from a plugin file (default export: definePlugin(...), e.g. examples/)
              or a fixture whose default export is (host) => { callbacks, implemented }`;

class BuildError extends Error {}

function parseArgs(argv) {
  const opts = { entries: [], outs: [], typecheck: true, quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--entry') opts.entries.push(argv[++i]);
    else if (a === '--out') opts.outs.push(argv[++i]);
    else if (a === '--skip-typecheck') opts.typecheck = false;
    else if (a === '--quiet') opts.quiet = true;
    else if (a === '--help' || a === '-h') { console.log(USAGE); process.exit(0); }
    else throw new BuildError(`unknown argument '${a}' (expected --entry FILE --out FILE, --skip-typecheck, --quiet)`);
  }
  if (opts.entries.length !== opts.outs.length) throw new BuildError('--entry and --out go together (one --out per --entry)');
  return opts;
}

const fmtSize = (n) => (n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(2)} MB` : `${(n / 1024).toFixed(1)} KB`);

function makeReporter(quiet) {
  return async function stage(label, fn) {
    const t0 = performance.now();
    const result = await fn();
    const ms = performance.now() - t0;
    const size = result && typeof result.size === 'number' ? fmtSize(result.size) : '';
    if (!quiet) console.log(`${label.padEnd(28)} ${(ms / 1000).toFixed(2).padStart(6)} s  ${size}`);
    return result;
  };
}

function typecheck() {
  const tsc = require.resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '--noEmit', '-p', join(root, 'tsconfig.json')], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new BuildError(`type errors:\n${(r.stdout + r.stderr).trim()}`);
  return {};
}

async function bundle(name, entryCode) {
  const esbuild = await import('esbuild');
  let result;
  try {
    result = await esbuild.build({
      stdin: { contents: entryCode, resolveDir: root, sourcefile: `${name}-entry.ts`, loader: 'ts' },
      bundle: true,
      write: false,
      // browser: with neutral, @smithy/* resolve their Node builds and pull node:* modules
      platform: 'browser',
      format: 'iife',
      target: 'es2022',
      minifyWhitespace: true,
      minifySyntax: true,
      legalComments: 'none',
      charset: 'utf8',
      logLevel: 'silent',
    });
  } catch (err) {
    const msgs = (err.errors ?? []).map((m) => `${m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ` : ''}${m.text}`);
    throw new BuildError(`bundle errors (${name}):\n${msgs.join('\n') || err.message}`);
  }
  const code = result.outputFiles[0].text;
  writeFileSync(join(buildDir, `${name}.js`), code);
  return { code, size: Buffer.byteLength(code) };
}

/** table.ts, bundled to an ES module so this script can read the ABI table. */
async function loadAbiTable() {
  const esbuild = await import('esbuild');
  const out = join(buildDir, 'table.mjs');
  await esbuild.build({
    entryPoints: [join(root, 'src/abi/table.ts')], bundle: true, platform: 'node', format: 'esm',
    outfile: out, logLevel: 'silent',
  });
  return import(`${pathToFileURL(out).href}?v=${Date.now()}`);
}

async function buildBridge(table) {
  const wat = generateBridgeWat({
    hostcalls: table.HOSTCALLS, callbacks: table.CALLBACKS,
    isComposite: table.isComposite, headerQueryAgeMark: table.HEADER_QUERY_AGE_MARK, primitives: table.BRIDGE_PRIMITIVES,
  });
  writeFileSync(join(buildDir, 'bridge.wat'), wat);
  const wabt = await require('wabt')();
  let mod;
  try {
    mod = wabt.parseWat('bridge.wat', wat, {
      bulk_memory: true, sign_extension: true, mutable_globals: true, sat_float_to_int: true, multi_value: true,
    });
    mod.validate();
  } catch (err) {
    throw new BuildError(`bridge WAT does not assemble: ${err.message}`);
  }
  const bytes = Buffer.from(mod.toBinary({ log: false, write_debug_names: true }).buffer);
  mod.destroy();
  writeFileSync(join(buildDir, 'bridge.wasm'), bytes);
  return { bytes, size: bytes.length };
}

function merge() {
  const quickjs = require.resolve('quickjs-wasi/quickjs.wasm');
  const out = join(buildDir, 'merged.wasm');
  const bin = join(dirname(require.resolve('binaryen/package.json')), 'bin', 'wasm-merge');
  const args = [
    ...FEATURES.map((f) => `--enable-${f}`),
    quickjs, 'quickjs', join(buildDir, 'bridge.wasm'), 'env', '-o', out,
  ];
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new BuildError(`wasm-merge failed:\n${(r.stdout + r.stderr).trim()}`);
  const bytes = readFileSync(out);
  return { bytes, size: bytes.length };
}

/**
 * The callbacks a product's plugin can use, from its definition (dispatcher.ts,
 * possibleCallbacks), read by bundling the entry for Node: decided at build time, so the module
 * exports no callback the host would call for nothing.
 */
async function possibleCallbacksOf(target) {
  const esbuild = await import('esbuild');
  const out = join(buildDir, `${target.name}.callbacks.mjs`);
  const entry = JSON.stringify('./' + relative(root, target.entry).split('\\').join('/'));
  await esbuild.build({
    stdin: {
      contents: `import plugin from ${entry};\nimport { possibleCallbacks } from './src/sdk/dispatcher.ts';\nexport default [...possibleCallbacks(plugin)];\n`,
      resolveDir: root, sourcefile: `${target.name}-callbacks.ts`, loader: 'ts',
    },
    // browser, as the product bundle: the Node builds of @smithy/* need require() of node:*
    bundle: true, platform: 'browser', format: 'esm', outfile: out, logLevel: 'silent',
  });
  return new Set((await import(`${pathToFileURL(out).href}?v=${Date.now()}`)).default);
}

// wasm-entry comes first: its module code installs the globals before any plugin code runs.
function entryCodeFor(target) {
  const entry = JSON.stringify('./' + relative(root, target.entry).split('\\').join('/'));
  const wasmEntry = JSON.stringify('./src/sdk/wasm-entry.ts');
  if (target.kind === 'product') {
    return `import { runInWasm } from ${wasmEntry};\nimport plugin from ${entry};\n` +
      `import { createDispatcher } from './src/sdk/dispatcher.ts';\nrunInWasm((host) => createDispatcher(plugin, host));\n`;
  }
  // --entry: a plugin (default export: definePlugin(...), e.g. examples/) or a test fixture
  // (default export: a (host) => { callbacks, implemented } factory)
  return `import { runInWasm } from ${wasmEntry};\nimport { createDispatcher } from './src/sdk/dispatcher.ts';\n` +
    `import entry from ${entry};\nrunInWasm(typeof entry === 'function' ? entry : (host) => createDispatcher(entry, host));\n`;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const stage = makeReporter(opts.quiet);
  if (opts.entries.length > 0) buildDir = join(buildRoot, 'tmp', `${basename(opts.outs[0]).replace(/\.wasm$/, '')}-${process.pid}`);
  mkdirSync(buildDir, { recursive: true });

  // several --entry/--out pairs share one bridge and one merge (each gets its own snapshot)
  const targets = opts.entries.length > 0
    ? opts.entries.map((entry, i) => ({ name: basename(opts.outs[i]).replace(/\.wasm$/, ''), kind: 'fixture', entry: resolve(entry), out: resolve(opts.outs[i]) }))
    : ['sender', 'receiver'].map((name) => ({ name, kind: 'product', entry: join(root, 'src', `${name}.ts`), out: join(root, `${name}.wasm`) }));
  for (const t of targets) {
    if (!existsSync(t.entry)) throw new BuildError(`entry not found: ${relative(root, t.entry)}`);
  }

  const t0 = performance.now();
  if (opts.typecheck) await stage('typecheck', typecheck);
  const bundles = [];
  for (const t of targets) bundles.push(await stage(`bundle ${t.name}`, () => bundle(t.name, entryCodeFor(t))));
  const table = await loadAbiTable();
  await stage('bridge (WAT → wasm)', () => buildBridge(table));
  const merged = await stage('merge (wasm-merge)', merge);
  const names = bridgeFunctionNames(table.HOSTCALLS, table.BRIDGE_PRIMITIVES);
  for (const [i, t] of targets.entries()) {
    const snap = await stage(`snapshot ${t.name}`, () => snapshotModule({
      merged: merged.bytes, source: bundles[i].code, filename: `${t.name}.js`, bridgeNames: names, bridgeGlobal: table.BRIDGE_GLOBAL, features: FEATURES,
    }).catch((err) => { throw new BuildError(`${t.name}: ${err.message}`); }));
    writeFileSync(join(buildDir, `${t.name}.snapshot.wasm`), snap.bytes);
    // fixtures (factories, not plugin definitions) keep every callback export
    const callbacks = t.kind === 'product' ? await possibleCallbacksOf(t) : undefined;
    const final = await stage(`optimise ${t.name}`, async () => {
      const { optimiseModule } = await import('./shims/optimise.mjs');
      return optimiseModule(snap.bytes, FEATURES, callbacks, table.CALLBACKS.map((cb) => cb.name));
    });
    mkdirSync(dirname(t.out), { recursive: true });
    writeFileSync(t.out, final.bytes);
    const sha = createHash('sha256').update(final.bytes).digest('hex').slice(0, 16);
    if (!opts.quiet) console.log(`wrote ${relative(root, t.out) || t.out}  ${fmtSize(final.bytes.length)}  sha256:${sha}…`);
  }
  if (!opts.quiet) console.log(`done in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
  if (buildDir !== buildRoot) rmSync(buildDir, { recursive: true, force: true });
}

main().catch((err) => {
  if (err instanceof BuildError) console.error(`build failed: ${err.message}`);
  else console.error(`build failed: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
