// `npm run package`: writes build/oci, an OCI image layout (no Docker needed) holding both
// modules as Wasm OCI artifacts and as compat images, plus one compat image with both files.
// Push with skopeo (README "Deploying"), e.g.
//   skopeo copy oci:build/oci:sender docker://REGISTRY/acpw-ts/sender:0.1.0
// Run `npm run build` first; the digests depend on the .wasm bytes only.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildLayout, sha256Hex, type ImageMeta } from './lib/oci.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');

function readModule(name: string): Buffer {
  const path = join(ROOT, name);
  if (!existsSync(path)) throw new Error(`${name} is missing: run \`npm run build\` first`);
  return readFileSync(path);
}

function main(): void {
  const out = resolve(ROOT, process.argv[2] ?? join('build', 'oci'));
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; license: string };
  const meta: ImageMeta = {
    version: pkg.version,
    licenses: pkg.license,
    description: 'ACPW-TS proxy-wasm modules: per-request metrics from Envoy to Amazon CloudWatch',
  };
  const sender = readModule('sender.wasm');
  const receiver = readModule('receiver.wasm');
  const layout = buildLayout({ sender, receiver }, meta);
  layout.write(out);
  const lines = layout.tags().map(({ ref, descriptor }) => `${ref.padEnd(16)} ${descriptor.digest}  ${descriptor.mediaType}`);
  const summary = [
    `OCI layout: ${relative(ROOT, out) || '.'} (version ${meta.version})`,
    ...lines,
    `sender.wasm   sha256 ${sha256Hex(sender)}`,
    `receiver.wasm sha256 ${sha256Hex(receiver)}`,
  ].join('\n');
  writeFileSync(join(out, 'SUMMARY.txt'), `${summary}\n`);
  process.stdout.write(`${summary}\n`);
}

try {
  main();
} catch (error) {
  process.stderr.write(`package: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
