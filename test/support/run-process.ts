// Child processes for tests, asynchronously: a test must never block its vitest worker's event
// loop for seconds (a blocked worker misses vitest's RPC deadlines: `Timeout calling
// "onTaskUpdate"` on a loaded machine), so builds and CLIs run with spawn, never spawnSync.

import { spawn } from 'node:child_process';

export interface ProcessResult {
  /** Exit code; null when a signal (or the timeout) ended the process. */
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunProcessOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** SIGKILL after this long (default 120 s). */
  readonly timeoutMs?: number;
}

/** Runs a command to its end; never rejects on a non-zero exit (only when it cannot start). */
export function runProcess(command: string, args: readonly string[], options: RunProcessOptions = {}): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

/** runProcess, throwing with the output when the command fails. */
export async function runProcessOrThrow(command: string, args: readonly string[], options: RunProcessOptions = {}): Promise<ProcessResult> {
  const result = await runProcess(command, args, options);
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${result.signal ?? `exit ${result.status}`}):\n${result.stdout}${result.stderr}`);
  }
  return result;
}
