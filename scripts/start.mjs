// `npm start`: installs what is missing or stale, builds the Wasm modules, then runs the demo
// (scripts/demo.ts: moto on 127.0.0.1:5000 + the local host serving envoy.yaml on :18000).
// Ctrl-C stops everything; this script waits for the demo to finish its orderly shutdown.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, VENV, prepare, step } from './lib/bootstrap.mjs';

async function main() {
  await prepare();
  step('starting the demo ...');
  const demo = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'demo.ts')], {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, ACPW_VENV: VENV },
  });
  // A terminal Ctrl-C reaches the demo too (same process group); a signal sent to this process
  // alone is passed on. Either way this script exits when the demo has stopped its children.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      if (demo.exitCode === null && demo.signalCode === null) demo.kill(signal);
    });
  }
  const code = await new Promise((resolve) => demo.on('exit', (exitCode) => resolve(exitCode ?? 0)));
  process.exit(code);
}

main().catch((error) => {
  process.stderr.write(`[acpw] ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
