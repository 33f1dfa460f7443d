// Where the Python tools live (.venv, created by `npm test`) and how tests call them.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

/** The virtualenv `npm test` creates; ACPW_VENV overrides it. */
export function venvDir(): string {
  return process.env.ACPW_VENV ?? join(REPO_ROOT, '.venv');
}

export function venvPython(): string {
  const python = join(venvDir(), 'bin', 'python');
  if (!existsSync(python)) {
    throw new Error(`${python} not found: run \`npm test\` once (it creates .venv from requirements-dev.txt)`);
  }
  return python;
}

export interface PythonRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a Python script from the venv with `input` on stdin; never rejects on a non-zero exit. */
export function runPython(script: string, args: readonly string[], input = ''): Promise<PythonRun> {
  return new Promise((resolvePromise, reject) => {
    const child = execFile(
      venvPython(),
      [script, ...args],
      { cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(new Error(`${script} did not run: ${error.message}\n${stderr}`));
          return;
        }
        resolvePromise({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
    child.stdin?.end(input);
  });
}
