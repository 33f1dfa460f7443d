// The product running locally, as `npm start` shows it (scripts/start.mjs installs and builds,
// then runs this file with tsx): moto's server on 127.0.0.1:5000 standing in for CloudWatch, and
// the local proxy-wasm host serving envoy.yaml (listener :18000, admin :8001) with the built
// sender and receiver, the receiver's cluster pointed at moto and publishing every 5 s.
// Ctrl-C stops the host first (so the receiver's final publish still reaches moto), then moto.

import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startMotoServer, type MotoServer } from './lib/moto-server.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
const VENV = process.env.ACPW_VENV ?? join(ROOT, '.venv');
const MOTO_PORT = 5000;
const LISTENER_PORT = 18000;
const ADMIN_PORT = 8001;
const NAMESPACE = 'AWSCloudWatchProxyWasm-dev';
const REGION = 'ap-northeast-1';

/** The receiver's configuration from envoy.yaml, plus a demo-friendly publish interval. */
const RECEIVER_CONFIG = {
  cloud_watch_region: REGION,
  cloud_watch_cluster_name: 'cloudwatch_api',
  metric_namespace: NAMESPACE,
  publish_interval_millisecond: 5000,
};

/** moto accepts any credentials while it does not enforce authentication. */
const FAKE_CREDENTIALS = {
  ACPW_AWS_ACCESS_KEY_ID: 'testing',
  ACPW_AWS_SECRET_ACCESS_KEY: 'testing',
};

function say(message: string): void {
  process.stdout.write(`[acpw] ${message}\n`);
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the local host exited (${child.exitCode ?? child.signalCode}) before listening on :${port}`);
    }
    if (await portAnswers(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the local host did not listen on :${port} within ${timeoutMs / 1000} s`);
}

function stopProcess(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const killTimer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(killTimer);
      resolve();
    });
    child.kill(signal);
  });
}

function printInstructions(): void {
  const lines = [
    '',
    `ACPW is running: listener http://localhost:${LISTENER_PORT}, admin http://localhost:${ADMIN_PORT}/stats,`,
    `CloudWatch emulator (moto) http://127.0.0.1:${MOTO_PORT} (log: build/demo/moto.log).`,
    '',
    'In another terminal:',
    `  curl localhost:${LISTENER_PORT}/test -H "Host: example.com"        # -> OK`,
    '  # within ~6 s (sender flush 1 s + receiver publish 5 s):',
    '  npm run list-metrics',
    `  # = .venv/bin/aws cloudwatch list-metrics --namespace ${NAMESPACE} --region ${REGION} \\`,
    `  #     --endpoint-url http://127.0.0.1:${MOTO_PORT}   (with AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY=testing)`,
    '',
    'Ctrl-C stops everything.',
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

/** Everything the demo started, stopped in the right order exactly once. */
class Demo {
  moto: MotoServer | undefined;
  host: ChildProcess | undefined;
  private stopping: Promise<void> | undefined;
  readonly motoLog: WriteStream;

  constructor(logDir: string) {
    mkdirSync(logDir, { recursive: true });
    this.motoLog = createWriteStream(join(logDir, 'moto.log'), { flags: 'w' });
  }

  get stopped(): boolean {
    return this.stopping !== undefined;
  }

  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    this.stopping ??= (async () => {
      say('stopping ...');
      // The host first: its receiver publishes what it still buffers while moto is up.
      if (this.host) await stopProcess(this.host, signal === 'SIGINT' ? 'SIGINT' : 'SIGTERM');
      if (this.moto) await this.moto.stop();
      this.motoLog.end();
    })();
    return this.stopping;
  }
}

async function main(): Promise<number> {
  for (const port of [MOTO_PORT, LISTENER_PORT, ADMIN_PORT]) {
    if (await portAnswers(port)) throw new Error(`port ${port} is already in use (another \`npm start\`?)`);
  }
  const demo = new Demo(join(ROOT, 'build', 'demo'));
  // Registered first, so a Ctrl-C during start-up also stops whatever is already running.
  const interrupted = new Promise<number>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      // `on`, not `once`: a second signal (terminal + start.mjs forwarding) must not kill us mid-stop.
      process.on(signal, () => void demo.stop(signal).then(() => resolve(0)));
    }
  });

  try {
    say(`starting moto (CloudWatch emulator) on 127.0.0.1:${MOTO_PORT} ...`);
    demo.moto = await startMotoServer({
      venv: VENV,
      port: MOTO_PORT,
      detached: true,
      onOutput: (line) => demo.motoLog.write(`${line}\n`),
    });
    if (demo.stopped) return interrupted;

    say('starting the local host with envoy.yaml (sender.wasm, receiver.wasm) ...');
    const host = spawn(
      process.execPath,
      [
        '--import', 'tsx', join('host', 'cli.ts'),
        '--config', 'envoy.yaml',
        '--cluster', `cloudwatch_api=127.0.0.1:${MOTO_PORT}`,
        '--plugin-config', `receiver=${JSON.stringify(RECEIVER_CONFIG)}`,
      ],
      // Own process group: Ctrl-C reaches this script, which stops the host exactly once.
      { cwd: ROOT, stdio: 'inherit', detached: true, env: { ...process.env, ...FAKE_CREDENTIALS } },
    );
    demo.host = host;
    const hostExited = new Promise<number>((resolve) => host.once('exit', (code) => resolve(code ?? 1)));
    await waitForPort(LISTENER_PORT, host, 60_000);
    if (demo.stopped) return interrupted;
    printInstructions();

    return await Promise.race([
      interrupted,
      hostExited.then(async (exitCode) => {
        if (demo.stopped) return interrupted;
        say(`the local host exited (${exitCode}); stopping moto`);
        await demo.stop();
        return 1;
      }),
    ]);
  } catch (error) {
    await demo.stop();
    throw error;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`[acpw] ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
