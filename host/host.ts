// Assembles a running local host from an envoy.yaml: the runtime (shared state, clusters), the
// bootstrap services (one VM when singleton, else one per worker), one VM per worker for each
// Wasm HTTP filter, the listeners and the admin server; and shuts it all down like Envoy drains.

import { existsSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import type { PluginDefinition } from '../src/sdk/plugin.js';
import { LogLevel } from '../src/abi/table.js';
import type { Upstream } from './core/http-client.js';
import { HostRuntime, type LogSink } from './core/runtime.js';
import type { Vm } from './core/vm.js';
import { loadEnvoyConfig, parseClusterOverride, type EnvoyConfig, type WasmPluginConfig } from './envoy-config.js';
import { loadPluginModule } from './guests/in-process.js';
import { loadWasmModule } from './guests/wasm.js';
import { startAdmin, startListener, type RunningServer } from './server.js';
import { createVm } from './vm-factory.js';

export interface HostOptions {
  /** Path of envoy.yaml, or an already parsed config. */
  readonly config: string | EnvoyConfig;
  /** Cluster overrides: name → 'HOST:PORT' or an Upstream (plain HTTP unless `tls`). */
  readonly clusters?: Readonly<Record<string, string | Upstream>>;
  /** Plugin configuration overrides by vm_id (JSON text). */
  readonly pluginConfig?: Readonly<Record<string, string>>;
  /** Worker count: one VM per worker for each HTTP filter (default 2). */
  readonly workers?: number;
  /** Run the TypeScript plugins in-process instead of the .wasm files (X.wasm → src/X.ts). */
  readonly inProcess?: boolean;
  /** Listener port override (first listener; 0 = ephemeral). */
  readonly listenPort?: number;
  /** Admin port (default: the config's admin port, else 8001; 0 = ephemeral). */
  readonly adminPort?: number;
  readonly logLevel?: LogLevel;
  readonly logSink?: LogSink;
  /** Where host_env_keys are read from (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export interface RunningHost {
  /** The first listener's port. */
  readonly port: number;
  readonly ports: Readonly<Record<string, number>>;
  readonly adminPort: number;
  readonly runtime: HostRuntime;
  /** Every VM (services first, then filter VMs by worker). */
  readonly vms: readonly Vm[];
  /** VMs with this vm_id. */
  vmsById(vmId: string): Vm[];
  /** Plugin metrics as Envoy's admin /stats prints them. */
  stats(): string;
  /** One plugin metric's value, or undefined. */
  metric(name: string): number | undefined;
  /** Plugins that failed to start (reason per VM). */
  readonly failures: readonly string[];
  readonly warnings: readonly string[];
  /**
   * Shuts down as Envoy 1.40 does: loop stopped, listeners closed, senders' proxy_on_done, calls
   * in flight reset (503 answers), services' proxy_on_done last; every root deleted.
   */
  close(): Promise<void>;
}

/**
 * Envoy 1.40's shutdown order (host/README.md "Shutdown"), synchronous past the listeners:
 * 1. the main loop exits: from here no tick, queue delivery or http_call answer, and no new call;
 * 2. the workers' plugin handles go: each filter VM's proxy_on_done (a sender's last flush lands
 *    in the receiver's queue, which the receiver reads in its own on_done; never delivered);
 *    then the cluster manager shuts down: every call in flight is reset and answered (503) now;
 * 3. the bootstrap services' proxy_on_done, last. A root that returned false is logged as one
 *    that would hang in Envoy, and deleted.
 */
export async function shutdownLikeEnvoy(filterVms: readonly Vm[], services: readonly Vm[], closeListeners: () => Promise<void> = () => Promise.resolve()): Promise<void> {
  for (const vm of [...services, ...filterVms]) vm.beginShutdown();
  await closeListeners();
  for (const vm of filterVms) vm.callOnDone();
  for (const vm of [...services, ...filterVms]) vm.resetHttpCalls();
  for (const vm of filterVms) vm.finishShutdown();
  for (const vm of services) {
    vm.callOnDone();
    vm.finishShutdown();
  }
}

/** The in-process rule: <dir>/<name>.wasm → <dir>/src/<name>.ts, else <dir>/<name>.ts. */
export function inProcessSourceFor(codeFile: string): string {
  const name = basename(codeFile, extname(codeFile));
  const candidates = [join(dirname(codeFile), 'src', `${name}.ts`), join(dirname(codeFile), `${name}.ts`)];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`--in-process: no TypeScript source for '${codeFile}' (looked for ${candidates.join(', ')})`);
  return found;
}

function environmentFor(plugin: WasmPluginConfig, env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of plugin.environment.hostEnvKeys) {
    const value = env[key];
    if (value !== undefined) out[key] = value;
  }
  return { ...out, ...plugin.environment.keyValues };
}

function toUpstream(name: string, value: string | Upstream): Upstream {
  if (typeof value !== 'string') return value;
  const parsed = parseClusterOverride(`${name}=${value}`);
  return { host: parsed.host, port: parsed.port };
}

export async function startHost(options: HostOptions): Promise<RunningHost> {
  const config = typeof options.config === 'string' ? loadEnvoyConfig(options.config) : options.config;
  const workers = options.workers ?? 2;
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`workers must be a positive integer (got ${workers})`);
  const env = options.env ?? process.env;

  const clusters = new Map<string, Upstream>();
  for (const c of config.clusters) clusters.set(c.name, { host: c.host, port: c.port, tls: c.tls, ...(c.sni ? { sni: c.sni } : {}) });
  for (const [name, value] of Object.entries(options.clusters ?? {})) clusters.set(name, toUpstream(name, value));

  const runtime = new HostRuntime({
    clusters, ...(options.logLevel !== undefined ? { logLevel: options.logLevel } : {}), ...(options.logSink ? { logSink: options.logSink } : {}),
  });
  for (const warning of config.warnings) runtime.hostLog(LogLevel.Warn, `envoy config: ${warning}`);

  const overrides = options.pluginConfig ?? {};
  for (const [vmId, json] of Object.entries(overrides)) {
    try {
      JSON.parse(json);
    } catch (err) {
      throw new Error(`plugin configuration for vm_id '${vmId}' is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const knownVmIds = new Set([...config.services, ...config.listeners.flatMap((l) => l.httpFilters)].map((p) => p.vmId));
  for (const vmId of Object.keys(overrides)) {
    if (!knownVmIds.has(vmId)) throw new Error(`--plugin-config '${vmId}': no plugin with that vm_id in the config (have: ${[...knownVmIds].join(', ')})`);
  }

  const plugins = new Map<string, PluginDefinition>();
  const load = async (p: WasmPluginConfig): Promise<{ wasm: ReturnType<typeof loadWasmModule> } | { plugin: PluginDefinition }> => {
    if (!options.inProcess) return { wasm: loadWasmModule(p.codeFile) };
    const source = inProcessSourceFor(p.codeFile);
    let plugin = plugins.get(source);
    if (!plugin) {
      plugin = await loadPluginModule(source);
      plugins.set(source, plugin);
    }
    return { plugin };
  };
  const failures: string[] = [];
  const make = async (p: WasmPluginConfig, worker: number): Promise<Vm> => {
    const vm = createVm({
      ...(await load(p)), runtime, worker, name: p.name, rootId: p.rootId, vmId: p.vmId,
      vmConfiguration: p.vmConfiguration, pluginConfiguration: overrides[p.vmId] ?? p.configuration,
      environment: environmentFor(p, env), failOpen: p.failOpen,
    });
    if (vm.state === 'failed') failures.push(`${p.name || p.vmId} (worker ${worker}): ${vm.failure}`);
    return vm;
  };

  // Bootstrap services start first (main thread), then the per-worker filter VMs.
  const services: Vm[] = [];
  for (const s of config.services) {
    if (s.singleton) services.push(await make(s, -1));
    else for (let w = 0; w < workers; w++) services.push(await make(s, w));
  }
  const servers: RunningServer[] = [];
  const ports: Record<string, number> = {};
  const filterVms: Vm[] = [];
  try {
    for (const [index, listener] of config.listeners.entries()) {
      const perWorker: Vm[][] = [];
      for (let w = 0; w < workers; w++) {
        const chain: Vm[] = [];
        for (const f of listener.httpFilters) chain.push(await make(f, w));
        perWorker.push(chain);
        filterVms.push(...chain);
      }
      const port = index === 0 && options.listenPort !== undefined ? options.listenPort : listener.port;
      const server = await startListener(listener, perWorker, runtime, port);
      servers.push(server);
      ports[listener.name] = server.port;
    }
    const admin = await startAdmin(runtime, options.adminPort ?? config.admin?.port ?? 8001);
    servers.push(admin);
    const vms = [...services, ...filterVms];
    let closing: Promise<void> | undefined;
    return {
      port: servers[0] && config.listeners.length > 0 ? servers[0].port : 0,
      ports,
      adminPort: admin.port,
      runtime,
      vms,
      vmsById: (vmId) => vms.filter((v) => v.vmId === vmId),
      stats: () => runtime.metrics.toText(),
      metric: (name) => runtime.metrics.get(name)?.value,
      failures,
      warnings: config.warnings,
      close: () => (closing ??= (async () => {
        await shutdownLikeEnvoy(filterVms, services, () => Promise.all(servers.slice(0, -1).map((s) => s.close())).then(() => undefined));
        await admin.close();
      })()),
    };
  } catch (err) {
    await Promise.all(servers.map((s) => s.close()));
    await Promise.all([...services, ...filterVms].map((vm) => vm.shutdown(0)));
    throw err;
  }
}
