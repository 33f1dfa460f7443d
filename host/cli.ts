// `npm run host -- --config envoy.yaml [--cluster NAME=HOST:PORT]... [--plugin-config VM_ID=JSON]...
//  [--workers N] [--in-process] [--listen-port P] [--admin-port P] [--log-level LEVEL]`
// Starts the local proxy-wasm host, prints what runs where, and on Ctrl-C / SIGTERM drains the
// plugins (proxy_on_done, waiting for proxy_done) before exiting.

import { parseArgs } from 'node:util';
import { parseLogLevel } from './core/runtime.js';
import { parseClusterOverride } from './envoy-config.js';
import { startHost } from './host.js';

const USAGE = `usage: npm run host -- [options]
  --config FILE              envoy.yaml to run (default ./envoy.yaml)
  --cluster NAME=HOST:PORT   point a cluster at a local address (plain HTTP), repeatable
  --plugin-config VM_ID=JSON override a plugin's configuration, repeatable
  --workers N                worker count: one VM per worker per HTTP filter (default 2)
  --in-process               run src/<name>.ts in Node instead of <name>.wasm (debugging)
  --listen-port P            override the first listener's port
  --admin-port P             override the admin port (GET /stats)
  --log-level LEVEL          trace|debug|info|warn|error|critical (default info)`;

function fail(message: string): never {
  process.stderr.write(`host: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function port(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) fail(`${flag} '${value}' is not a port number`);
  return n;
}

async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs({
      options: {
        config: { type: 'string', default: 'envoy.yaml' },
        cluster: { type: 'string', multiple: true, default: [] },
        'plugin-config': { type: 'string', multiple: true, default: [] },
        workers: { type: 'string', default: '2' },
        'in-process': { type: 'boolean', default: false },
        'listen-port': { type: 'string' },
        'admin-port': { type: 'string' },
        'log-level': { type: 'string', default: 'info' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const clusters: Record<string, string> = {};
  for (const spec of args.cluster ?? []) {
    try {
      const c = parseClusterOverride(spec);
      clusters[c.name] = `${c.host}:${c.port}`;
    } catch (err) {
      fail(err instanceof Error ? err.message : String(err));
    }
  }
  const pluginConfig: Record<string, string> = {};
  for (const spec of args['plugin-config'] ?? []) {
    const eq = spec.indexOf('=');
    if (eq <= 0) fail(`--plugin-config '${spec}': expected VM_ID=JSON`);
    pluginConfig[spec.slice(0, eq)] = spec.slice(eq + 1);
  }
  const workers = Number(args.workers);
  if (!Number.isInteger(workers) || workers < 1) fail(`--workers '${args.workers}' must be a positive integer`);
  let logLevel;
  try {
    logLevel = parseLogLevel(args['log-level'] ?? 'info');
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
  }

  const listenPort = port(args['listen-port'], '--listen-port');
  const adminPort = port(args['admin-port'], '--admin-port');
  const host = await startHost({
    config: args.config ?? 'envoy.yaml', clusters, pluginConfig, workers, inProcess: args['in-process'] ?? false, logLevel,
    ...(listenPort !== undefined ? { listenPort } : {}), ...(adminPort !== undefined ? { adminPort } : {}),
  });

  const out = (line: string): boolean => process.stdout.write(`${line}\n`);
  out(`local proxy-wasm host (${args['in-process'] ? 'in-process TypeScript plugins' : 'Wasm modules'}, ${workers} workers)`);
  for (const [name, p] of Object.entries(host.ports)) out(`  listener ${name}: http://127.0.0.1:${p}`);
  out(`  admin: http://127.0.0.1:${host.adminPort}/stats`);
  for (const vm of host.vms) {
    out(`  vm ${vm.vmId || '(no vm_id)'} [${vm.spec.name}] ${vm.worker < 0 ? 'main thread' : `worker ${vm.worker}`}: ${vm.state}${vm.failure ? ` (${vm.failure})` : ''}`);
  }
  for (const [name, upstream] of host.runtime.clusters) out(`  cluster ${name} → ${upstream.tls ? 'https' : 'http'}://${upstream.host}:${upstream.port}`);
  if (host.warnings.length > 0) out(`  ${host.warnings.length} config warning(s) logged above`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      process.stderr.write('host: second signal, exiting now\n');
      process.exit(1);
    }
    stopping = true;
    out(`${signal}: draining plugins (proxy_on_done)...`);
    host.close().then(() => {
      out('stopped');
      process.exit(0);
    }, (err: unknown) => {
      process.stderr.write(`host: shutdown failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`host: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
