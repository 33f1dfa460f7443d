// `npm test`: installs what is missing or stale, builds the Wasm modules, runs the whole vitest
// suite and exits with its code. Extra arguments go to vitest (`npm test -- test/config`).

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, VENV, ensureTestSystemTools, prepare, run, step } from './lib/bootstrap.mjs';

/** The plain closing line CI reads ("N passed, N failed, N skipped"), from vitest's JSON report. */
function printPlainSummary(reportPath) {
  if (!existsSync(reportPath)) {
    step('vitest wrote no JSON report (it failed before running tests)');
    return;
  }
  const report = JSON.parse(readFileSync(reportPath, 'utf8'));
  const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  process.stdout.write(
    `vitest: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped\n`,
  );
}

async function main() {
  const started = Date.now();
  await ensureTestSystemTools();
  await prepare();

  const reportDir = mkdtempSync(join(tmpdir(), 'acpw-vitest-'));
  const reportPath = join(reportDir, 'report.json');
  step('running the test suite (vitest run) ...');
  const code = await run(
    join(ROOT, 'node_modules', '.bin', 'vitest'),
    ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${reportPath}`, ...process.argv.slice(2)],
    // Tests find the Python tools through ACPW_VENV (default: ./.venv).
    { env: { ...process.env, ACPW_VENV: VENV } },
  );
  printPlainSummary(reportPath);
  rmSync(reportDir, { recursive: true, force: true });
  step(`npm test finished in ${((Date.now() - started) / 1000).toFixed(0)} s (exit ${code})`);
  process.exit(code);
}

main().catch((error) => {
  process.stderr.write(`[acpw] ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
