// Reads the subset of Envoy's bootstrap YAML the project uses, so one envoy.yaml drives Envoy and
// the local host: listeners → http_connection_manager (direct_response routes, wasm http
// filters), bootstrap_extensions → envoy.bootstrap.wasm services, clusters, admin. Every field
// the local host does not understand produces one warning naming its path.

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';

export interface EnvironmentConfig {
  /** Names read from the host process environment (vm_config.environment_variables.host_env_keys). */
  readonly hostEnvKeys: readonly string[];
  readonly keyValues: Readonly<Record<string, string>>;
}

export interface WasmPluginConfig {
  readonly name: string;
  readonly rootId: string;
  readonly vmId: string;
  readonly runtime: string;
  /** Absolute path of vm_config.code.local.filename (resolved against the config file's directory). */
  readonly codeFile: string;
  readonly configuration: string;
  readonly vmConfiguration: string;
  readonly environment: EnvironmentConfig;
  readonly failOpen: boolean;
}

export interface WasmServiceConfig extends WasmPluginConfig {
  readonly singleton: boolean;
}

export interface RouteConfig {
  readonly domains: readonly string[];
  readonly prefix?: string;
  readonly path?: string;
  readonly directResponse?: { readonly status: number; readonly body: string };
}

export interface ListenerConfig {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly statPrefix: string;
  readonly httpFilters: readonly WasmPluginConfig[];
  readonly routes: readonly RouteConfig[];
}

export interface ClusterConfig {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly sni?: string;
}

export interface EnvoyConfig {
  readonly listeners: readonly ListenerConfig[];
  readonly services: readonly WasmServiceConfig[];
  readonly clusters: readonly ClusterConfig[];
  readonly admin?: { readonly address: string; readonly port: number };
  /** One line per unsupported or ignored field. */
  readonly warnings: readonly string[];
}

type Obj = Record<string, unknown>;

const WASM_HTTP_FILTER = 'envoy.filters.http.wasm';
const ROUTER_FILTERS = new Set(['envoy.filters.http.router', 'envoy.router']);
const HCM_NAMES = new Set(['envoy.filters.network.http_connection_manager', 'envoy.http_connection_manager']);
const STRING_VALUE = 'type.googleapis.com/google.protobuf.StringValue';

/** Fields that mean nothing on the local host but are normal in an Envoy config: no warning. */
const QUIET = new Set(['@type', 'stat_prefix', 'codec_type', 'connect_timeout', 'dns_lookup_family', 'type', 'lb_policy']);

class Reader {
  readonly warnings: string[] = [];
  constructor(private readonly baseDir: string) {}

  obj(value: unknown, path: string): Obj {
    if (value === undefined || value === null) return {};
    if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`envoy config: ${path} must be a mapping`);
    return value as Obj;
  }

  list(value: unknown, path: string): unknown[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) throw new Error(`envoy config: ${path} must be a list`);
    return value;
  }

  str(value: unknown, path: string, fallback?: string): string {
    if (value === undefined || value === null) {
      if (fallback !== undefined) return fallback;
      throw new Error(`envoy config: ${path} is required`);
    }
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new Error(`envoy config: ${path} must be a string`);
    }
    return String(value);
  }

  num(value: unknown, path: string, fallback?: number): number {
    if (value === undefined && fallback !== undefined) return fallback;
    const n = typeof value === 'number' ? value : Number(value);
    if (!Number.isInteger(n)) throw new Error(`envoy config: ${path} must be an integer`);
    return n;
  }

  /** Warns once for each key of `o` that is neither handled nor quietly ignored. */
  only(o: Obj, path: string, handled: readonly string[]): void {
    for (const key of Object.keys(o)) {
      if (!handled.includes(key) && !QUIET.has(key)) this.warn(`${path}.${key}`, 'unsupported field, ignored by the local host');
    }
  }

  warn(path: string, why: string): void {
    this.warnings.push(`${path}: ${why}`);
  }

  resolvePath(file: string): string {
    return resolve(this.baseDir, file);
  }
}

export function loadEnvoyConfig(file: string): EnvoyConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read envoy config '${file}': ${err instanceof Error ? err.message : String(err)}`);
  }
  return parseEnvoyConfig(text, dirname(resolve(file)));
}

export function parseEnvoyConfig(text: string, baseDir = process.cwd()): EnvoyConfig {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new Error(`envoy config is not valid YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  const r = new Reader(baseDir);
  const root = r.obj(doc, '(root)');
  r.only(root, '', ['static_resources', 'bootstrap_extensions', 'admin', 'node', 'layered_runtime']);
  const statics = r.obj(root.static_resources, 'static_resources');
  r.only(statics, 'static_resources', ['listeners', 'clusters']);

  const services = r.list(root.bootstrap_extensions, 'bootstrap_extensions').flatMap((ext, i) => {
    const path = `bootstrap_extensions[${i}]`;
    const e = r.obj(ext, path);
    r.only(e, path, ['name', 'typed_config']);
    if (e.name !== 'envoy.bootstrap.wasm') {
      r.warn(path, `extension '${String(e.name)}' is not supported, ignored`);
      return [];
    }
    const tc = r.obj(e.typed_config, `${path}.typed_config`);
    r.only(tc, `${path}.typed_config`, ['singleton', 'config']);
    const plugin = readPluginConfig(r, tc.config, `${path}.typed_config.config`);
    return [{ ...plugin, singleton: tc.singleton === true }];
  });

  const listeners = r.list(statics.listeners, 'static_resources.listeners').map((l, i) => readListener(r, l, `static_resources.listeners[${i}]`));
  const clusters = r.list(statics.clusters, 'static_resources.clusters').map((c, i) => readCluster(r, c, `static_resources.clusters[${i}]`));

  let admin: EnvoyConfig['admin'];
  if (root.admin !== undefined) {
    const a = r.obj(root.admin, 'admin');
    r.only(a, 'admin', ['address', 'access_log', 'access_log_path']);
    const sa = readSocketAddress(r, a.address, 'admin.address');
    admin = { address: sa.address, port: sa.port };
  }
  return { listeners, services, clusters, ...(admin ? { admin } : {}), warnings: r.warnings };
}

function readSocketAddress(r: Reader, value: unknown, path: string): { address: string; port: number } {
  const a = r.obj(value, path);
  r.only(a, path, ['socket_address']);
  const sa = r.obj(a.socket_address, `${path}.socket_address`);
  r.only(sa, `${path}.socket_address`, ['address', 'port_value', 'protocol']);
  return { address: r.str(sa.address, `${path}.socket_address.address`, '0.0.0.0'), port: r.num(sa.port_value, `${path}.socket_address.port_value`) };
}

function readListener(r: Reader, value: unknown, path: string): ListenerConfig {
  const l = r.obj(value, path);
  r.only(l, path, ['name', 'address', 'filter_chains']);
  const { address, port } = readSocketAddress(r, l.address, `${path}.address`);
  const chains = r.list(l.filter_chains, `${path}.filter_chains`);
  if (chains.length > 1) r.warn(`${path}.filter_chains`, 'only the first filter chain is used');
  const chainPath = `${path}.filter_chains[0]`;
  const chain = r.obj(chains[0], chainPath);
  r.only(chain, chainPath, ['filters']);
  let httpFilters: WasmPluginConfig[] = [];
  let routes: RouteConfig[] = [];
  let statPrefix = 'http';
  r.list(chain.filters, `${chainPath}.filters`).forEach((f, i) => {
    const fp = `${chainPath}.filters[${i}]`;
    const filter = r.obj(f, fp);
    r.only(filter, fp, ['name', 'typed_config']);
    if (!HCM_NAMES.has(String(filter.name))) {
      r.warn(fp, `network filter '${String(filter.name)}' is not supported, ignored`);
      return;
    }
    const hcm = r.obj(filter.typed_config, `${fp}.typed_config`);
    r.only(hcm, `${fp}.typed_config`, ['route_config', 'http_filters']);
    statPrefix = r.str(hcm.stat_prefix, `${fp}.typed_config.stat_prefix`, 'http');
    routes = readRoutes(r, hcm.route_config, `${fp}.typed_config.route_config`);
    httpFilters = r.list(hcm.http_filters, `${fp}.typed_config.http_filters`).flatMap((h, j) => {
      const hp = `${fp}.typed_config.http_filters[${j}]`;
      const hf = r.obj(h, hp);
      r.only(hf, hp, ['name', 'typed_config']);
      const name = String(hf.name);
      if (ROUTER_FILTERS.has(name)) return [];
      if (name !== WASM_HTTP_FILTER) {
        r.warn(hp, `http filter '${name}' is not supported, skipped`);
        return [];
      }
      const tc = r.obj(hf.typed_config, `${hp}.typed_config`);
      r.only(tc, `${hp}.typed_config`, ['config']);
      return [readPluginConfig(r, tc.config, `${hp}.typed_config.config`)];
    });
  });
  return { name: r.str(l.name, `${path}.name`, `listener_${port}`), address, port, statPrefix, httpFilters, routes };
}

function readRoutes(r: Reader, value: unknown, path: string): RouteConfig[] {
  const rc = r.obj(value, path);
  r.only(rc, path, ['name', 'virtual_hosts']);
  return r.list(rc.virtual_hosts, `${path}.virtual_hosts`).flatMap((v, i) => {
    const vp = `${path}.virtual_hosts[${i}]`;
    const vh = r.obj(v, vp);
    r.only(vh, vp, ['name', 'domains', 'routes']);
    const domains = r.list(vh.domains, `${vp}.domains`).map((d, j) => r.str(d, `${vp}.domains[${j}]`));
    return r.list(vh.routes, `${vp}.routes`).flatMap((x, j) => {
      const rp = `${vp}.routes[${j}]`;
      const route = r.obj(x, rp);
      r.only(route, rp, ['match', 'direct_response', 'name']);
      const match = r.obj(route.match, `${rp}.match`);
      r.only(match, `${rp}.match`, ['prefix', 'path']);
      if (route.direct_response === undefined) {
        r.warn(rp, 'only direct_response routes are supported; this route is skipped');
        return [];
      }
      const dr = r.obj(route.direct_response, `${rp}.direct_response`);
      r.only(dr, `${rp}.direct_response`, ['status', 'body']);
      const body = r.obj(dr.body, `${rp}.direct_response.body`);
      r.only(body, `${rp}.direct_response.body`, ['inline_string']);
      return [{
        domains,
        ...(match.prefix !== undefined ? { prefix: r.str(match.prefix, `${rp}.match.prefix`) } : {}),
        ...(match.path !== undefined ? { path: r.str(match.path, `${rp}.match.path`) } : {}),
        directResponse: { status: r.num(dr.status, `${rp}.direct_response.status`), body: r.str(body.inline_string, `${rp}.direct_response.body.inline_string`, '') },
      }];
    });
  });
}

function readAnyString(r: Reader, value: unknown, path: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  const any = r.obj(value, path);
  if (any['@type'] !== STRING_VALUE) {
    r.warn(path, `only ${STRING_VALUE} configurations are supported; treated as empty`);
    return '';
  }
  r.only(any, path, ['value']);
  return r.str(any.value, `${path}.value`, '');
}

function readPluginConfig(r: Reader, value: unknown, path: string): WasmPluginConfig {
  const c = r.obj(value, path);
  r.only(c, path, ['name', 'root_id', 'vm_config', 'configuration', 'fail_open', 'failure_policy']);
  const vm = r.obj(c.vm_config, `${path}.vm_config`);
  r.only(vm, `${path}.vm_config`, ['vm_id', 'runtime', 'code', 'configuration', 'environment_variables', 'allow_precompiled', 'nack_on_code_cache_miss']);
  const code = r.obj(vm.code, `${path}.vm_config.code`);
  r.only(code, `${path}.vm_config.code`, ['local']);
  const local = r.obj(code.local, `${path}.vm_config.code.local`);
  r.only(local, `${path}.vm_config.code.local`, ['filename']);
  const env = r.obj(vm.environment_variables, `${path}.vm_config.environment_variables`);
  r.only(env, `${path}.vm_config.environment_variables`, ['host_env_keys', 'key_values']);
  const keyValues = r.obj(env.key_values, `${path}.vm_config.environment_variables.key_values`);
  const runtime = r.str(vm.runtime, `${path}.vm_config.runtime`, 'envoy.wasm.runtime.v8');
  if (runtime !== 'envoy.wasm.runtime.v8') r.warn(`${path}.vm_config.runtime`, `'${runtime}' requested; the local host always runs Node's V8`);
  const failurePolicy = c.failure_policy === undefined ? undefined : r.str(c.failure_policy, `${path}.failure_policy`);
  return {
    name: r.str(c.name, `${path}.name`, ''),
    rootId: r.str(c.root_id, `${path}.root_id`, ''),
    vmId: r.str(vm.vm_id, `${path}.vm_config.vm_id`, ''),
    runtime,
    codeFile: r.resolvePath(r.str(local.filename, `${path}.vm_config.code.local.filename`)),
    configuration: readAnyString(r, c.configuration, `${path}.configuration`),
    vmConfiguration: readAnyString(r, vm.configuration, `${path}.vm_config.configuration`),
    environment: {
      hostEnvKeys: r.list(env.host_env_keys, `${path}.vm_config.environment_variables.host_env_keys`).map((k, i) => r.str(k, `${path}.vm_config.environment_variables.host_env_keys[${i}]`)),
      keyValues: Object.fromEntries(Object.entries(keyValues).map(([k, v]) => [k, r.str(v, `${path}.vm_config.environment_variables.key_values.${k}`)])),
    },
    failOpen: c.fail_open === true || failurePolicy === 'FAIL_OPEN',
  };
}

function readCluster(r: Reader, value: unknown, path: string): ClusterConfig {
  const c = r.obj(value, path);
  r.only(c, path, ['name', 'load_assignment', 'transport_socket']);
  const name = r.str(c.name, `${path}.name`);
  const la = r.obj(c.load_assignment, `${path}.load_assignment`);
  r.only(la, `${path}.load_assignment`, ['cluster_name', 'endpoints']);
  const endpoints = r.list(la.endpoints, `${path}.load_assignment.endpoints`);
  const lbEndpoints = r.list(r.obj(endpoints[0], `${path}.load_assignment.endpoints[0]`).lb_endpoints, `${path}.load_assignment.endpoints[0].lb_endpoints`);
  if (endpoints.length > 1 || lbEndpoints.length > 1) r.warn(`${path}.load_assignment`, 'only the first endpoint is used');
  const endpoint = r.obj(r.obj(lbEndpoints[0], `${path}...lb_endpoints[0]`).endpoint, `${path}...endpoint`);
  const { address, port } = readSocketAddress(r, endpoint.address, `${path}.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address`);
  let tls = false;
  let sni: string | undefined;
  if (c.transport_socket !== undefined) {
    const ts = r.obj(c.transport_socket, `${path}.transport_socket`);
    tls = String(ts.name ?? '').includes('tls');
    const tc = r.obj(ts.typed_config, `${path}.transport_socket.typed_config`);
    if (tc.sni !== undefined) sni = r.str(tc.sni, `${path}.transport_socket.typed_config.sni`);
    if (tc.common_tls_context !== undefined) {
      r.warn(`${path}.transport_socket.typed_config.common_tls_context`, 'certificate validation settings are not applied by the local host');
    }
  }
  return { name, host: address, port, tls, ...(sni !== undefined ? { sni } : {}) };
}

/** Parses `NAME=HOST:PORT` (the --cluster flag). */
export function parseClusterOverride(text: string): ClusterConfig {
  const match = /^([^=]+)=(.+):(\d+)$/.exec(text);
  if (!match) throw new Error(`--cluster '${text}': expected NAME=HOST:PORT`);
  return { name: match[1]!, host: match[2]!, port: Number(match[3]), tls: false };
}
