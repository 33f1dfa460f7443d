// deploy/: every manifest against the schema of the API that would receive it
// (test/deploy/validate_manifests.py: PyPI kubernetes-validate for core resources, the vendored
// CRDs of Istio and Envoy Gateway for theirs), deliberately broken copies that must fail, the
// Envoy configuration inside them against Envoy's API (xds-protos) and real Envoy's
// `--mode validate`, their plugin blocks against envoy.yaml, the preStop drain recipe run
// against a real Envoy, and docker-compose.yaml against the compose-spec schema.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { PINNED_ENVOY_VERSION, drainWaitMs, envoyBinary, loadEnvoyYaml, startEnvoy, type Bootstrap } from '../../scripts/lib/envoy.js';
import { DEPLOY, MODULES_MOUNT, at, cluster, localSidecar, resource, sidecarBootstrap } from '../support/deploy.js';
import { REPO_ROOT, runPython, venvDir } from '../support/python.js';
import { runProcess } from '../support/run-process.js';

type Json = Record<string, unknown>;

const CRDS = join(DEPLOY, 'crds');
const KUBERNETES_VERSION = '1.35';
const VALIDATOR = join(REPO_ROOT, 'test', 'deploy', 'validate_manifests.py');
const ENVOY_VALIDATOR = join(REPO_ROOT, 'test', 'config', 'validate_envoy_config.py');

const scratch = mkdtempSync(join(tmpdir(), 'acpw-deploy-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function manifestFiles(): string[] {
  return ['kubernetes', 'istio', 'envoy-gateway'].flatMap((dir) =>
    readdirSync(join(DEPLOY, dir))
      .filter((name) => name.endsWith('.yaml'))
      .sort()
      .map((name) => join(DEPLOY, dir, name)),
  );
}

interface ManifestVerdict {
  readonly file: string;
  readonly kind: string;
  readonly name: string;
  readonly validator: string;
  readonly ok: boolean;
  readonly errors: readonly string[];
}

async function validateManifests(files: readonly string[]): Promise<{ code: number; verdicts: ManifestVerdict[] }> {
  const result = await runPython(VALIDATOR, ['--kubernetes', KUBERNETES_VERSION, '--crds', CRDS, ...files]);
  if (result.stdout.trim() === '') throw new Error(`validator printed nothing (exit ${result.code}):\n${result.stderr}`);
  return { code: result.code, verdicts: result.stdout.trim().split('\n').map((line) => JSON.parse(line) as ManifestVerdict) };
}

/** A copy of a manifest file with one edit; fails loudly if the edit no longer applies. */
function brokenCopy(file: string, name: string, from: string | RegExp, to: string): string {
  const original = readFileSync(join(DEPLOY, file), 'utf8');
  const edited = original.replace(from, to);
  if (edited === original) throw new Error(`edit "${name}" did not change ${file}: update the test`);
  const path = join(scratch, `${name}.yaml`);
  writeFileSync(path, edited);
  return path;
}

// The Envoy configuration each target carries.
const istioOverrideText = (): string =>
  at(resource(join(DEPLOY, 'istio', 'bootstrap-override.yaml'), 'ConfigMap'), 'data', 'custom_bootstrap.json') as string;
const gatewayOverrideText = (): string =>
  at(resource(join(DEPLOY, 'envoy-gateway', 'envoyproxy.yaml'), 'EnvoyProxy'), 'spec', 'bootstrap', 'value') as string;

function receiverService(bootstrap: Bootstrap): Json {
  const extensions = at(bootstrap, 'bootstrap_extensions') as Json[];
  const wasm = extensions.filter((extension) => extension.name === 'envoy.bootstrap.wasm');
  expect(wasm).toHaveLength(1);
  return at(wasm[0], 'typed_config') as Json;
}

const pluginJson = (config: Json): Json => JSON.parse(at(config, 'configuration', 'value') as string) as Json;

describe('deploy/ manifests against their schemas', () => {
  it('every resource is valid (Kubernetes 1.35 core schemas, Istio 1.32 and Envoy Gateway 1.9.1 CRDs)', async () => {
    const { code, verdicts } = await validateManifests(manifestFiles());
    const failures = verdicts.filter((verdict) => !verdict.ok);
    expect(failures).toEqual([]);
    expect(code).toBe(0);
    const seen = verdicts.map((verdict) => `${verdict.kind}/${verdict.name} ${verdict.validator.split(' ')[0]}`).sort();
    expect(seen).toEqual(
      [
        'ConfigMap/acpw-envoy-config kubernetes-validate',
        'ConfigMap/acpw-istio-bootstrap kubernetes-validate',
        'Deployment/acpw-demo kubernetes-validate',
        'Deployment/acpw-demo kubernetes-validate',
        'EnvoyExtensionPolicy/acpw-sender CRD',
        'EnvoyProxy/acpw-proxy CRD',
        'Gateway/acpw-gateway CRD',
        'HTTPRoute/acpw-demo CRD',
        'Service/acpw-demo kubernetes-validate',
        'Service/acpw-demo kubernetes-validate',
        'ServiceAccount/acpw-envoy kubernetes-validate',
        'ServiceAccount/acpw-envoy kubernetes-validate',
        'WasmPlugin/acpw-sender CRD',
      ].sort(),
    );
  });

  it('rejects deliberately broken copies, naming the field', async () => {
    const cases = [
      { file: brokenCopy('kubernetes/deployment.yaml', 'k8s-misspelt', 'terminationGracePeriodSeconds', 'terminationGracePeriodSecond'), culprit: 'terminationGracePeriodSecond' },
      { file: brokenCopy('kubernetes/deployment.yaml', 'k8s-type', 'containerPort: 18000', 'containerPort: "eighteen-thousand"'), culprit: 'eighteen-thousand' },
      { file: brokenCopy('kubernetes/deployment.yaml', 'k8s-image-volume', 'reference: registry', 'ref: registry'), culprit: 'ref' },
      { file: brokenCopy('istio/wasmplugin-sender.yaml', 'istio-enum', 'failStrategy: FAIL_OPEN', 'failStrategy: FAIL_OPN'), culprit: 'FAIL_OPN' },
      { file: brokenCopy('istio/wasmplugin-sender.yaml', 'istio-misspelt', 'pluginConfig:', 'pluginConfg:'), culprit: 'pluginConfg' },
      { file: brokenCopy('envoy-gateway/envoyextensionpolicy.yaml', 'eg-enum', 'type: Image', 'type: Img'), culprit: 'Img' },
      { file: brokenCopy('envoy-gateway/envoyextensionpolicy.yaml', 'eg-misspelt', 'failOpen: true', 'failopen: true'), culprit: 'failopen' },
      { file: brokenCopy('envoy-gateway/envoyproxy.yaml', 'eg-bootstrap', /^    type: Merge$/m, '    type: Merg'), culprit: 'Merg' },
      { file: brokenCopy('envoy-gateway/gateway.yaml', 'gw-kind', 'kind: HTTPRoute', 'kind: HTTPRoutes'), culprit: 'HTTPRoutes' },
    ];
    const { code, verdicts } = await validateManifests(cases.map((item) => item.file));
    expect(code).toBe(1);
    for (const item of cases) {
      const failed = verdicts.filter((verdict) => verdict.file === item.file && !verdict.ok);
      expect(failed, item.file).toHaveLength(1);
      expect(failed[0]!.errors.join('\n'), item.file).toContain(item.culprit);
    }
  });
});

describe('Istio sidecar annotations', () => {
  it('userVolume / userVolumeMount are a valid image volume and mount (as the injector adds them to the pod)', async () => {
    const deployment = resource(join(DEPLOY, 'istio', 'deployment.yaml'), 'Deployment');
    const annotations = at(deployment, 'spec', 'template', 'metadata', 'annotations') as Record<string, string>;
    expect(annotations['sidecar.istio.io/bootstrapOverride']).toBe(at(resource(join(DEPLOY, 'istio', 'bootstrap-override.yaml'), 'ConfigMap'), 'metadata', 'name'));
    const volumes = JSON.parse(annotations['sidecar.istio.io/userVolume']!) as Json[];
    const mounts = JSON.parse(annotations['sidecar.istio.io/userVolumeMount']!) as Json[];
    expect(mounts.map((mount) => mount.mountPath)).toEqual([MODULES_MOUNT.replace(/\/$/, '')]);
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'istio-proxy-as-injected' },
      spec: { containers: [{ name: 'istio-proxy', image: 'istio/proxyv2', volumeMounts: mounts }], volumes },
    };
    const path = join(scratch, 'istio-injected-pod.yaml');
    writeFileSync(path, stringify(pod));
    const { code, verdicts } = await validateManifests([path]);
    expect(verdicts[0]?.errors).toEqual([]);
    expect(code).toBe(0);
  });
});

describe('the Envoy configuration inside the manifests', () => {
  const files = (): Record<string, string> => {
    const write = (name: string, text: string): string => {
      const path = join(scratch, name);
      writeFileSync(path, text);
      return path;
    };
    return {
      sidecar: write('sidecar-envoy.yaml', stringify(sidecarBootstrap())),
      istio: write('istio-custom-bootstrap.json', istioOverrideText()),
      gateway: write('envoy-gateway-bootstrap.yaml', gatewayOverrideText()),
    };
  };

  it("parses into Envoy's Bootstrap with every typed_config resolved (xds-protos)", async () => {
    const paths = files();
    const result = await runPython(ENVOY_VALIDATOR, Object.values(paths));
    const verdicts = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as { file: string; ok: boolean; errors: string[]; types: string[] });
    expect(verdicts.flatMap((verdict) => verdict.errors)).toEqual([]);
    expect(result.code).toBe(0);
    for (const verdict of verdicts) {
      expect(verdict.types).toContain('type.googleapis.com/envoy.extensions.filters.http.aws_request_signing.v3.AwsRequestSigning');
      expect(verdict.types).toContain('type.googleapis.com/envoy.extensions.wasm.v3.WasmService');
    }
  });

  it('real Envoy accepts the sidecar bootstrap, and each override merged the way Istio and Envoy Gateway merge it', async () => {
    const binary = envoyBinary();
    const validate = (args: readonly string[]) =>
      runProcess(binary, ['--mode', 'validate', '--use-dynamic-base-id', '--log-level', 'warn', ...args], { timeoutMs: 120_000 });
    // Module paths point into the image volume in the pod; here at the built files.
    const sidecar = join(scratch, 'sidecar-validate.yaml');
    writeFileSync(sidecar, stringify(sidecarBootstrap()).replaceAll(MODULES_MOUNT, `${REPO_ROOT}/`));
    const own = await validate(['-c', sidecar]);
    expect(own.stderr + own.stdout).toContain('OK');
    expect(own.status).toBe(0);

    // The base stands for the bootstrap Istio / Envoy Gateway generate: a listener, no receiver,
    // no cloudwatch_api. Envoy merges --config-yaml into -c as pilot-agent makes it do.
    const base = sidecarBootstrap();
    delete base.bootstrap_extensions;
    const resourcesOfBase = at(base, 'static_resources') as Json;
    resourcesOfBase.clusters = (resourcesOfBase.clusters as Json[]).filter((item) => item.name !== 'cloudwatch_api');
    const hcm = at(resourcesOfBase, 'listeners', 0, 'filter_chains', 0, 'filters', 0, 'typed_config') as Json;
    hcm.http_filters = (hcm.http_filters as Json[]).filter((filter) => filter.name !== 'envoy.filters.http.wasm');
    const basePath = join(scratch, 'generated-base.yaml');
    writeFileSync(basePath, stringify(base));
    for (const override of [istioOverrideText(), gatewayOverrideText()]) {
      const merged = await validate(['-c', basePath, '--config-yaml', override.replaceAll(MODULES_MOUNT, `${REPO_ROOT}/`)]);
      expect(merged.stderr + merged.stdout).toContain('OK');
      expect(merged.status).toBe(0);
    }
  });

  it("carries envoy-iam.yaml's plugins and its CloudWatch cluster (Envoy signing) in all three targets", () => {
    const repo = loadEnvoyYaml(join(REPO_ROOT, 'envoy-iam.yaml'));
    const repoReceiver = receiverService(repo);
    const repoReceiverConfig = pluginJson(at(repoReceiver, 'config') as Json);
    const targets = { sidecar: sidecarBootstrap(), istio: parse(istioOverrideText()) as Bootstrap, gateway: parse(gatewayOverrideText()) as Bootstrap };
    const clusters = Object.values(targets).map((bootstrap) => cluster(bootstrap, 'cloudwatch_api'));
    for (const [target, bootstrap] of Object.entries(targets)) {
      const service = receiverService(bootstrap);
      expect(service.singleton, target).toBe(true);
      expect(at(service, 'config', 'vm_config', 'vm_id'), target).toBe(at(repoReceiver, 'config', 'vm_config', 'vm_id'));
      expect(at(service, 'config', 'vm_config', 'code', 'local', 'filename'), target).toBe('/etc/acpw/modules/receiver.wasm');
      const config = pluginJson(at(service, 'config') as Json);
      expect(config.cloud_watch_region, target).toBe(repoReceiverConfig.cloud_watch_region);
      expect(config.cloud_watch_cluster_name, target).toBe(repoReceiverConfig.cloud_watch_cluster_name);
      // No keys anywhere in the manifests: Envoy signs with the pod's role.
      expect(config.credentials_source, target).toBe('envoy');
      // The drain waits below assume this send spacing.
      expect(config.partial_publish_interval_millisecond, target).toBe(10_000);
      expect(Object.keys(config).filter((key) => key.startsWith('aws_')), target).toEqual([]);
    }
    // envoy-iam.yaml's CloudWatch cluster, unchanged, in all three: TLS checks and SigV4 for "monitoring".
    const repoCluster = cluster(repo, 'cloudwatch_api');
    for (const copy of clusters) expect(copy).toEqual(repoCluster);
    expect(repoReceiverConfig.credentials_source).toBe('envoy');
    const signing = at(clusters[0], 'typed_extension_protocol_options', 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions', 'http_filters', 0, 'typed_config') as Json;
    expect(signing.service_name).toBe('monitoring');
    expect(signing.region).toBe(repoReceiverConfig.cloud_watch_region);

    // The sender everywhere names the receiver's VM id.
    const receiverVmId = at(repoReceiver, 'config', 'vm_config', 'vm_id');
    const sidecarSender = (at(sidecarBootstrap(), 'static_resources', 'listeners', 0, 'filter_chains', 0, 'filters', 0, 'typed_config', 'http_filters') as Json[])
      .find((filter) => filter.name === 'envoy.filters.http.wasm');
    expect(pluginJson(at(sidecarSender, 'typed_config', 'config') as Json).receiver_vm_id).toBe(receiverVmId);
    expect(at(resource(join(DEPLOY, 'istio', 'wasmplugin-sender.yaml'), 'WasmPlugin'), 'spec', 'pluginConfig', 'receiver_vm_id')).toBe(receiverVmId);
    expect(at(resource(join(DEPLOY, 'envoy-gateway', 'envoyextensionpolicy.yaml'), 'EnvoyExtensionPolicy'), 'spec', 'wasm', 0, 'config', 'receiver_vm_id')).toBe(receiverVmId);
  });

  it('runs the tested Envoy release and mounts the modules image where the bootstrap reads them', () => {
    const deployment = resource(join(DEPLOY, 'kubernetes', 'deployment.yaml'), 'Deployment');
    const containers = at(deployment, 'spec', 'template', 'spec', 'containers') as Json[];
    const envoy = containers.find((container) => container.name === 'envoy')!;
    expect(envoy.image).toBe(`envoyproxy/envoy:v${PINNED_ENVOY_VERSION}`);
    const mounts = envoy.volumeMounts as Json[];
    const modules = mounts.find((mount) => mount.mountPath === '/etc/acpw/modules')!;
    const volume = (at(deployment, 'spec', 'template', 'spec', 'volumes') as Json[]).find((item) => item.name === modules.name)!;
    expect(at(volume, 'image', 'reference')).toMatch(/\/acpw-ts\/modules:/);
  });
});

describe('the preStop drain recipe', () => {
  const deployment = resource(join(DEPLOY, 'kubernetes', 'deployment.yaml'), 'Deployment');
  const podSpec = at(deployment, 'spec', 'template', 'spec') as Json;
  const envoy = (podSpec.containers as Json[]).find((container) => container.name === 'envoy')!;
  const script = (at(envoy, 'lifecycle', 'preStop', 'exec', 'command') as string[])[2]!;
  const wait = Number(/drain_wait_seconds=(\d+)/.exec(script)?.[1]);
  const drainTime = Number(/drain_time_seconds=(\d+)/.exec(script)?.[1]);

  it('drains on the admin port of the bootstrap, waits, and fits in the grace period', () => {
    const admin = at(sidecarBootstrap(), 'admin', 'address', 'socket_address') as Json;
    expect(admin.address).toBe('127.0.0.1');
    expect(script).toContain(`/dev/tcp/127.0.0.1/${String(admin.port_value)}`);
    expect(script).toContain('POST /drain_listeners?graceful HTTP/1.1');
    // The wait of the drain recipe for the bootstrap's plugin settings (scripts/lib/envoy.ts).
    expect(wait).toBeGreaterThanOrEqual(Math.ceil(drainWaitMs(sidecarBootstrap()) / 1000));
    expect(script).toContain('sleep "$((drain_time_seconds + drain_wait_seconds))"');
    const args = envoy.args as string[];
    expect(Number(args[args.indexOf('--drain-time-s') + 1])).toBe(drainTime);
    expect(podSpec.terminationGracePeriodSeconds as number).toBeGreaterThan(drainTime + wait);
    // The app keeps serving until the sidecar's listener has closed.
    const app = (podSpec.containers as Json[]).find((container) => container.name === 'app')!;
    expect(at(app, 'lifecycle', 'preStop', 'sleep', 'seconds') as number).toBeGreaterThanOrEqual(drainTime);
  });

  it('run by bash against real Envoy (sidecar bootstrap), it drains the listener', async () => {
    // The pod's bootstrap run here (support/deploy.ts: modules from the repo, OS-chosen ports,
    // cloudwatch_api on a closed loopback port), the receiver configured as in the manifest.
    const config = localSidecar({ cloudwatch: { host: '127.0.0.1', port: 9 } });
    const running = await startEnvoy({ config, concurrency: 1, args: ['--drain-time-s', '1'], waitForLog: ['receiver: configured'] });
    try {
      const before = await running.stats();
      expect(before.get('listener_manager.total_listeners_active')).toBe(1);
      const recipe = script.replace('/dev/tcp/127.0.0.1/9901', `/dev/tcp/127.0.0.1/${running.adminPort}`).replace(/drain_wait_seconds=\d+/, 'drain_wait_seconds=0').replace(/drain_time_seconds=\d+/, 'drain_time_seconds=1');
      const bash = await new Promise<number>((resolveRun, reject) => {
        const child = spawn('/bin/bash', ['-c', recipe], { stdio: 'ignore' });
        child.once('error', reject);
        child.once('exit', (code) => resolveRun(code ?? 1));
      });
      expect(bash).toBe(0);
      // Graceful drain for --drain-time-s, then the listener is stopped: poll with a deadline.
      const deadline = Date.now() + 20_000;
      let stopped = 0;
      while (Date.now() < deadline) {
        stopped = (await running.stats()).get('listener_manager.listener_stopped') ?? 0;
        if (stopped >= 1) break;
        await new Promise((resolveWait) => setTimeout(resolveWait, 200));
      }
      expect(stopped).toBe(1);
    } finally {
      await running.stop('SIGTERM');
    }
  });
});

describe('docker-compose.yaml', () => {
  const checkJsonschema = (file: string) =>
    runProcess(join(venvDir(), 'bin', 'check-jsonschema'), ['--builtin-schema', 'vendor.compose-spec', file], { timeoutMs: 60_000 });

  it('is valid against the compose-spec schema (check-jsonschema) and runs the tested Envoy release', async () => {
    const result = await checkJsonschema(join(REPO_ROOT, 'docker-compose.yaml'));
    expect(result.stdout + result.stderr).toContain('ok -- validation done');
    expect(result.status).toBe(0);
    const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yaml'), 'utf8')) as Json;
    expect(at(compose, 'services', 'envoy', 'image')).toBe(`envoyproxy/envoy:v${PINNED_ENVOY_VERSION}`);
  });

  it('a misspelt key fails the same check', async () => {
    const broken = join(scratch, 'docker-compose.yaml');
    writeFileSync(broken, readFileSync(join(REPO_ROOT, 'docker-compose.yaml'), 'utf8').replace('working_dir:', 'workdir:'));
    const result = await checkJsonschema(broken);
    expect(result.status).not.toBe(0);
    expect(result.stdout + result.stderr).toContain('workdir');
  });
});
