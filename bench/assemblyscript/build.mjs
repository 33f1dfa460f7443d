// Builds the AssemblyScript peer: assembly/sender.as -> build/sender.wasm.
// Flags as the SDK documents them (--use abort=abort_proc_exit) with the full runtime it needs
// (its malloc.ts imports rt/index-full), optimised for speed.
// The source is AssemblyScript, kept as .as so the repo's tsc (which covers bench/**/*.ts) does not
// read it; asc is told the entry is assembly/sender.ts and served the .as text under that name.
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, 'package.json'));
const asc = require('assemblyscript/cli/asc');

const ENTRY = 'assembly/sender.ts';
const SOURCE = join(here, 'assembly', 'sender.as');

function readFile(filename, baseDir) {
  const name = resolve(baseDir, filename);
  if (name === join(here, ENTRY)) return readFileSync(SOURCE, 'utf8');
  try {
    return readFileSync(name, 'utf8');
  } catch {
    return null;
  }
}

function writeFile(filename, contents, baseDir) {
  const name = resolve(baseDir, filename);
  mkdirSync(dirname(name), { recursive: true });
  writeFileSync(name, contents);
  return true;
}

await asc.ready;
process.chdir(here);
const failure = await new Promise((done) => {
  asc.main([
    ENTRY,
    '--baseDir', here,
    '--binaryFile', 'build/sender.wasm',
    '--runtime', 'full',
    '--use', 'abort=abort_proc_exit',
    '-O3',
    '--noAssert',
  ], { readFile, writeFile, listFiles: () => [] }, (err) => done(err));
});
if (failure) {
  console.error(`assemblyscript peer: asc failed: ${failure.message}`);
  process.exitCode = 1;
}
