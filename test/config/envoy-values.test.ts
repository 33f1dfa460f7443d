// The values users of the Go original rely on, kept in envoy.yaml and docker-compose.yaml:
// ports, VM ids, plugin configurations, credentials through host_env_keys, and the CloudWatch
// cluster, now with certificate validation.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from '../support/python.js';

type Tree = unknown;

/** Walks a parsed YAML tree by keys and indexes; throws with the path when something is missing. */
function at(tree: Tree, ...path: (string | number)[]): Tree {
  let node: Tree = tree;
  const walked: string[] = [];
  for (const key of path) {
    walked.push(String(key));
    if (node === null || typeof node !== 'object' || !(key in node)) {
      throw new Error(`envoy.yaml has no ${walked.join('.')}`);
    }
    node = (node as Record<string | number, Tree>)[key];
  }
  return node;
}

function pluginJson(pluginConfig: Tree): Tree {
  expect(at(pluginConfig, 'configuration', '@type')).toBe('type.googleapis.com/google.protobuf.StringValue');
  return JSON.parse(String(at(pluginConfig, 'configuration', 'value')));
}

const envoy: Tree = parse(readFileSync(join(REPO_ROOT, 'envoy.yaml'), 'utf8'));
const compose: Tree = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yaml'), 'utf8'));
const CREDENTIAL_ENV = ['ACPW_AWS_ACCESS_KEY_ID', 'ACPW_AWS_SECRET_ACCESS_KEY', 'ACPW_AWS_SESSION_TOKEN'];
const ENDPOINT = 'monitoring.ap-northeast-1.amazonaws.com';

describe('envoy.yaml keeps the original values', () => {
  const listener = at(envoy, 'static_resources', 'listeners', 0);
  const hcm = at(listener, 'filter_chains', 0, 'filters', 0, 'typed_config');

  it('listens on 0.0.0.0:18000 and answers 200 "OK" directly; admin on 8001', () => {
    expect(at(listener, 'address', 'socket_address')).toEqual({ address: '0.0.0.0', port_value: 18000 });
    const route = at(hcm, 'route_config', 'virtual_hosts', 0, 'routes', 0);
    expect(at(route, 'direct_response')).toEqual({ status: 200, body: { inline_string: 'OK' } });
    expect(at(envoy, 'admin', 'address', 'socket_address', 'port_value')).toBe(8001);
  });

  it('runs the sender as an HTTP filter before the router, vm_id "sender" on V8', () => {
    const filters = at(hcm, 'http_filters') as Tree[];
    expect(filters.map((f) => at(f, 'name'))).toEqual(['envoy.filters.http.wasm', 'envoy.filters.http.router']);
    const sender = at(filters[0], 'typed_config', 'config');
    expect(at(sender, 'vm_config')).toEqual({
      vm_id: 'sender',
      runtime: 'envoy.wasm.runtime.v8',
      code: { local: { filename: './sender.wasm' } },
    });
    expect(pluginJson(sender)).toEqual({ receiver_vm_id: 'receiver', match_hosts: ['example.com'] });
  });

  it('runs the receiver as a singleton WasmService, vm_id "receiver", credentials from the environment', () => {
    const extension = at(envoy, 'bootstrap_extensions', 0);
    expect(at(extension, 'name')).toBe('envoy.bootstrap.wasm');
    expect(at(extension, 'typed_config', 'singleton')).toBe(true);
    const receiver = at(extension, 'typed_config', 'config');
    expect(at(receiver, 'vm_config', 'vm_id')).toBe('receiver');
    expect(at(receiver, 'vm_config', 'runtime')).toBe('envoy.wasm.runtime.v8');
    expect(at(receiver, 'vm_config', 'code', 'local', 'filename')).toBe('./receiver.wasm');
    expect(at(receiver, 'vm_config', 'environment_variables', 'host_env_keys')).toEqual(CREDENTIAL_ENV);
    const config = pluginJson(receiver);
    expect(config).toEqual({
      cloud_watch_region: 'ap-northeast-1',
      cloud_watch_cluster_name: 'cloudwatch_api',
      metric_namespace: 'AWSCloudWatchProxyWasm-dev',
    });
    // Secrets never live in the file.
    expect(JSON.stringify(config)).not.toMatch(/aws_(access_key_id|secret_access_key|session_token)/);
  });

  it('reaches CloudWatch through cluster "cloudwatch_api" over TLS with SNI and a checked certificate', () => {
    const clusters = at(envoy, 'static_resources', 'clusters') as Tree[];
    const cluster = clusters.find((c) => at(c, 'name') === 'cloudwatch_api');
    expect(cluster).toBeDefined();
    expect(at(cluster, 'type')).toBe('LOGICAL_DNS');
    expect(at(cluster, 'load_assignment', 'endpoints', 0, 'lb_endpoints', 0, 'endpoint', 'address', 'socket_address'))
      .toEqual({ address: ENDPOINT, port_value: 443 });
    const tls = at(cluster, 'transport_socket', 'typed_config');
    expect(at(tls, 'sni')).toBe(ENDPOINT);
    const validation = at(tls, 'common_tls_context', 'validation_context');
    expect(at(validation, 'trusted_ca', 'filename')).toBe('/etc/ssl/certs/ca-certificates.crt');
    expect(at(validation, 'match_typed_subject_alt_names')).toEqual([{ san_type: 'DNS', matcher: { exact: ENDPOINT } }]);
  });
});

describe('docker-compose.yaml', () => {
  const envoyService = at(compose, 'services', 'envoy');

  it('pins an envoyproxy/envoy release tag', () => {
    expect(at(envoyService, 'image')).toMatch(/^envoyproxy\/envoy:v\d+\.\d+\.\d+$/);
  });

  it('mounts the repo at /envoy, publishes 18000 and 8001, passes the credentials through', () => {
    expect(at(envoyService, 'working_dir')).toBe('/envoy');
    expect(at(envoyService, 'volumes')).toEqual(['./:/envoy:ro']);
    expect(at(envoyService, 'ports')).toEqual(['18000:18000', '8001:8001']);
    expect(at(envoyService, 'environment')).toEqual(CREDENTIAL_ENV);
    expect(at(envoyService, 'command')).toEqual(['envoy', '-c', '/envoy/envoy.yaml', '--component-log-level', 'wasm:debug']);
  });
});
