// A real OCI registry (Debian's `docker-registry`, the CNCF Distribution server) on a free
// loopback port, and `skopeo`, both tools this project did not write. Installed by the system
// (`apt-get install skopeo docker-registry`); a missing tool fails the test with that command.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeLoopbackPort } from './moto.js';
import { runProcess } from './run-process.js';

export const APT_PACKAGES = 'skopeo docker-registry';

function which(tool: string, candidates: readonly string[]): string {
  const found = candidates.find((path) => existsSync(path));
  if (!found) throw new Error(`${tool} not found (${candidates.join(', ')}): apt-get install ${APT_PACKAGES}`);
  return found;
}

export const SKOPEO = (): string => which('skopeo', ['/usr/bin/skopeo', '/usr/local/bin/skopeo']);
const REGISTRY = (): string => which('docker-registry', ['/usr/bin/docker-registry', '/usr/local/bin/docker-registry']);

/** skopeo with the arguments given; throws with its stderr when it fails. */
export async function skopeo(args: readonly string[]): Promise<string> {
  const result = await runProcess(SKOPEO(), args, { timeoutMs: 60_000 });
  if (result.status !== 0) throw new Error(`skopeo ${args.join(' ')} failed (${result.signal ?? `exit ${result.status}`}):\n${result.stderr}`);
  return result.stdout;
}

export interface LoopbackRegistry {
  /** host:port, e.g. 127.0.0.1:41234 */
  readonly address: string;
  stop(): Promise<void>;
}

/** Starts `docker-registry serve` on 127.0.0.1 with storage in a temporary directory. */
export async function startRegistry(): Promise<LoopbackRegistry> {
  const binary = REGISTRY();
  const dir = mkdtempSync(join(tmpdir(), 'acpw-registry-'));
  const port = await freeLoopbackPort();
  const address = `127.0.0.1:${port}`;
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'data')}`,
      'http:',
      `  addr: ${address}`,
      '',
    ].join('\n'),
  );
  let output = '';
  const child: ChildProcess = spawn(binary, ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  // Ready when /v2/ answers 200 (the Distribution API's version check); a deadline, not a sleep.
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`docker-registry exited (${child.exitCode}) before serving on ${address}:\n${output}`);
    }
    const response = await fetch(`http://${address}/v2/`).catch(() => undefined);
    if (response?.status === 200) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`docker-registry did not answer on ${address} within 20 s:\n${output}`);
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, 100));
  }
  return { address, stop };
}
