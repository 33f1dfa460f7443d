// Refreshes deploy/crds/: the CustomResourceDefinitions (with their OpenAPI schemas) that the
// manifests in deploy/ use, copied unchanged from the Go modules Istio and Envoy Gateway publish.
// Run by hand when moving to another release (needs the Go toolchain and the Go module proxy);
// the test suite reads the vendored copies only, so CI needs neither.
//
//   node scripts/vendor-crds.mjs
//
// Each output file starts with a comment naming the module, version, file and its sha256.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const ROOT = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
const OUT = join(ROOT, 'deploy', 'crds');

export const SOURCES = [
  {
    module: 'istio.io/api',
    version: 'v1.32.0',
    files: [{ path: 'kubernetes/customresourcedefinitions.gen.yaml', crds: ['wasmplugins.extensions.istio.io'] }],
  },
  {
    module: 'github.com/envoyproxy/gateway',
    version: 'v1.9.1',
    files: [
      {
        path: 'charts/gateway-helm/charts/crds/crds/generated/gateway.envoyproxy.io_envoyextensionpolicies.yaml',
        crds: ['envoyextensionpolicies.gateway.envoyproxy.io'],
      },
      {
        path: 'charts/gateway-helm/charts/crds/crds/generated/gateway.envoyproxy.io_envoyproxies.yaml',
        crds: ['envoyproxies.gateway.envoyproxy.io'],
      },
      {
        path: 'charts/gateway-helm/charts/crds/crds/gatewayapi-crds.yaml',
        crds: ['gatewayclasses.gateway.networking.k8s.io', 'gateways.gateway.networking.k8s.io', 'httproutes.gateway.networking.k8s.io'],
      },
    ],
  },
];

function moduleDir(module, version) {
  const info = JSON.parse(execFileSync('go', ['mod', 'download', '-json', `${module}@${version}`], { encoding: 'utf8' }));
  if (info.Error) throw new Error(`go mod download ${module}@${version}: ${info.Error}`);
  return info.Dir;
}

for (const source of SOURCES) {
  const dir = moduleDir(source.module, source.version);
  for (const file of source.files) {
    const text = readFileSync(join(dir, file.path), 'utf8');
    const sha = createHash('sha256').update(text).digest('hex');
    const docs = parseAllDocuments(text);
    for (const name of file.crds) {
      const doc = docs.find((d) => d.toJSON()?.metadata?.name === name);
      if (!doc) throw new Error(`${name} not found in ${source.module}@${source.version}/${file.path}`);
      const header = [
        `# Vendored unchanged from Go module ${source.module}@${source.version}`,
        `#   file ${file.path} (sha256 ${sha}), document metadata.name=${name}`,
        '# Refresh with: node scripts/vendor-crds.mjs (data only: read by test/deploy/validate_manifests.py)',
      ].join('\n');
      // The document's own text, byte for byte (doc.range: start and end offsets in the file).
      const body = text.slice(doc.range[0], doc.range[2]).replace(/\n*$/, '\n');
      writeFileSync(join(OUT, `${name}.yaml`), `${header}\n${body.startsWith("---") ? "" : "---\n"}${body}`);
      process.stdout.write(`deploy/crds/${name}.yaml  <- ${source.module}@${source.version}/${file.path}\n`);
    }
  }
}
