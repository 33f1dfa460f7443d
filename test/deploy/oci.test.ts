// The OCI images of `npm run package`, checked by tools this project did not write: skopeo
// pushes each image from the layout to a real registry (Debian's docker-registry) on loopback,
// inspects it there and pulls it back into a fresh layout, and the module bytes that come back
// (the Wasm layer as is; plugin.wasm extracted from the compat layer by the system `tar`) must be
// the built .wasm files. The layout must also be reproducible: same modules, same digests.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANNOTATION, MEDIA_TYPE, REFS, buildLayout, sha256Hex, type ImageMeta } from '../../scripts/lib/oci.js';
import { REPO_ROOT } from '../support/python.js';
import { skopeo, startRegistry, type LoopbackRegistry } from '../support/registry.js';
import { runProcess } from '../support/run-process.js';

const META: ImageMeta = { version: '0.0.0-test', licenses: 'Apache-2.0', description: 'test' };
const sender = readFileSync(join(REPO_ROOT, 'sender.wasm'));
const receiver = readFileSync(join(REPO_ROOT, 'receiver.wasm'));

interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations?: Record<string, string>;
  readonly platform?: { os: string; architecture: string };
}
interface Manifest {
  readonly mediaType: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly manifests?: readonly Descriptor[];
  readonly annotations?: Record<string, string>;
}

const scratch = mkdtempSync(join(tmpdir(), 'acpw-oci-'));
const layoutDir = join(scratch, 'layout');
let registry: LoopbackRegistry | undefined;

function blob(dir: string, digest: string): Buffer {
  return readFileSync(join(dir, 'blobs', 'sha256', digest.replace(/^sha256:/, '')));
}

function json<T>(bytes: Buffer): T {
  return JSON.parse(bytes.toString('utf8')) as T;
}

/** The descriptor index.json gives a ref. */
function refDescriptor(dir: string, ref: string): Descriptor {
  const index = json<{ manifests: Descriptor[] }>(readFileSync(join(dir, 'index.json')));
  const found = index.manifests.find((entry) => entry.annotations?.[ANNOTATION.refName] === ref);
  if (!found) throw new Error(`ref ${ref} not in ${dir}/index.json`);
  return found;
}

/** Pulls REPO:TAG from the loopback registry into a new layout and returns that layout's directory. */
async function pullBack(repo: string, ref: string): Promise<string> {
  const dir = join(scratch, `pulled-${ref}`);
  await skopeo(['copy', '--all', '--src-tls-verify=false', `docker://${registry!.address}/${repo}:${ref}`, `oci:${dir}:${ref}`]);
  return dir;
}

/** The entries of a tar+gzip layer, as the system tar lists them (name only). */
async function layerEntries(archive: string): Promise<string[]> {
  const listing = await runProcess('tar', ['-tzf', archive]);
  if (listing.status !== 0) throw new Error(`tar could not list ${archive}: ${listing.stderr}`);
  return listing.stdout.trim().split('\n');
}

/** NAME out of a tar+gzip layer, extracted by the system tar. */
async function extractFromLayer(archive: string, name: string): Promise<Buffer> {
  const dir = mkdtempSync(join(scratch, 'extract-'));
  const result = await runProcess('tar', ['-xzf', archive, '-C', dir, name]);
  if (result.status !== 0) throw new Error(`tar could not extract ${name}: ${result.stderr}`);
  return readFileSync(join(dir, name));
}

beforeAll(async () => {
  // The CLI as a user runs it (`npm run package` with an output directory).
  const cli = await runProcess(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts', 'package.ts'), layoutDir]);
  if (cli.status !== 0) throw new Error(`scripts/package.ts failed:\n${cli.stderr}`);
  registry = await startRegistry();
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe('OCI layout (npm run package)', () => {
  it('is reproducible: the same modules give byte-identical manifests and blobs', () => {
    const a = buildLayout({ sender, receiver }, META);
    const b = buildLayout({ sender: Buffer.from(sender), receiver: Buffer.from(receiver) }, META);
    expect(a.tags()).toEqual(b.tags());
    // A different module changes only the images that hold it.
    const changed = Buffer.from(sender);
    changed[changed.length - 1] ^= 1;
    const c = buildLayout({ sender: changed, receiver }, META);
    const digests = (layout: typeof a): Record<string, string> =>
      Object.fromEntries(layout.tags().map(({ ref, descriptor }) => [ref, descriptor.digest]));
    expect(digests(c)[REFS.receiverWasm]).toBe(digests(a)[REFS.receiverWasm]);
    expect(digests(c)[REFS.senderWasm]).not.toBe(digests(a)[REFS.senderWasm]);
    expect(digests(c)[REFS.modules]).not.toBe(digests(a)[REFS.modules]);
  });

  it('Wasm artifact: config layer then the module, as Istio and Envoy Gateway require', () => {
    const manifest = json<Manifest>(blob(layoutDir, refDescriptor(layoutDir, REFS.senderWasm).digest));
    expect(manifest.config.mediaType).toBe(MEDIA_TYPE.wasmConfig);
    expect(manifest.layers.map((layer) => layer.mediaType)).toEqual([MEDIA_TYPE.wasmConfig, MEDIA_TYPE.wasmContent]);
    expect(manifest.annotations?.[ANNOTATION.moduleSha256]).toBe(sha256Hex(sender));
    expect(blob(layoutDir, manifest.layers[1]!.digest).equals(sender)).toBe(true);
  });
});

describe('OCI images through a loopback registry (skopeo + docker-registry)', () => {
  const repo = (ref: string): string => `acpw-ts/${ref}`;

  /** Pushes REF from the layout (every platform), reads the raw manifest back from the registry
   * and checks its digest is the layout's: the registry stored exactly what was built. */
  async function pushAndReadBack(ref: string): Promise<Manifest> {
    const pushed = refDescriptor(layoutDir, ref);
    await skopeo(['copy', '--all', '--dest-tls-verify=false', `oci:${layoutDir}:${ref}`, `docker://${registry!.address}/${repo(ref)}:${ref}`]);
    const raw = await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${registry!.address}/${repo(ref)}:${ref}`]);
    expect(`sha256:${sha256Hex(Buffer.from(raw))}`).toBe(pushed.digest);
    return JSON.parse(raw) as Manifest;
  }

  it.each([
    [REFS.senderWasm, sender],
    [REFS.receiverWasm, receiver],
  ])('%s (Wasm OCI artifact): push, inspect, pull back the same bytes', async (ref, module) => {
    // skopeo refuses config-level inspection of non-image artifacts; the raw manifest is the check.
    const manifest = await pushAndReadBack(ref);
    expect(manifest.layers.map((layer) => layer.mediaType)).toEqual([MEDIA_TYPE.wasmConfig, MEDIA_TYPE.wasmContent]);
    expect(manifest.annotations?.[ANNOTATION.moduleSha256]).toBe(sha256Hex(module));

    const pulled = await pullBack(repo(ref), ref);
    const back = json<Manifest>(blob(pulled, refDescriptor(pulled, ref).digest));
    expect(blob(pulled, back.layers[1]!.digest).equals(module)).toBe(true);
  });

  it.each([
    [REFS.senderCompat, [['plugin.wasm', sender]] as const],
    [REFS.receiverCompat, [['plugin.wasm', receiver]] as const],
    [REFS.modules, [['sender.wasm', sender], ['receiver.wasm', receiver]] as const],
  ])('%s (compat image): push every platform, inspect, pull back the same file bytes', async (ref, files) => {
    const index = await pushAndReadBack(ref);
    expect(index.manifests?.map((entry) => entry.platform?.architecture)).toEqual(['amd64', 'arm64']);

    // The image view (config parsed by skopeo): labels carry the module digests.
    const inspected = JSON.parse(
      await skopeo(['inspect', '--tls-verify=false', '--override-arch', 'arm64', `docker://${registry!.address}/${repo(ref)}:${ref}`]),
    ) as { Architecture: string; Os: string; Layers: string[]; Labels: Record<string, string> };
    expect(inspected.Architecture).toBe('arm64');
    expect(inspected.Os).toBe('linux');
    expect(inspected.Layers).toHaveLength(1);
    const labelled = Object.entries(inspected.Labels).filter(([key]) => key.startsWith(ANNOTATION.moduleSha256));
    expect(labelled.map(([, value]) => value).sort()).toEqual(files.map(([, bytes]) => sha256Hex(bytes)).sort());

    const pulled = await pullBack(repo(ref), ref);
    const pulledIndex = json<Manifest>(blob(pulled, refDescriptor(pulled, ref).digest));
    for (const entry of pulledIndex.manifests ?? []) {
      const manifest = json<Manifest>(blob(pulled, entry.digest));
      expect(manifest.layers.map((layer) => layer.mediaType)).toEqual([MEDIA_TYPE.tarGzipLayer]);
      const layer = join(pulled, 'blobs', 'sha256', manifest.layers[0]!.digest.replace(/^sha256:/, ''));
      // Top-level entries with these exact names: Envoy Gateway's fetcher matches "plugin.wasm" exactly.
      expect((await layerEntries(layer)).sort()).toEqual(files.map(([name]) => name).sort());
      for (const [name, bytes] of files) {
        expect((await extractFromLayer(layer, name)).equals(bytes)).toBe(true);
      }
    }
  });
});
