// OCI image layouts of the Wasm modules, written without Docker or any registry tool, in the two
// forms Istio's and Envoy Gateway's Wasm fetchers accept (pkg/wasm/imagefetcher.go in istio/istio,
// internal/wasm/imagefetcher.go in envoyproxy/gateway):
//
// - the Wasm OCI artifact: an OCI manifest with exactly two layers, the Wasm config JSON
//   (application/vnd.module.wasm.config.v1+json) then the raw module
//   (application/vnd.module.wasm.content.layer.v1+wasm). Both fetchers refuse any other count.
// - the "compat" image: an ordinary image (FROM scratch semantics) whose single layer is a
//   tar+gzip holding `plugin.wasm` at the top level (Envoy Gateway matches the exact entry name).
//   The same form, holding both modules under their own names, is what a Kubernetes image volume
//   mounts (deploy/kubernetes).
//
// Reproducible: the same .wasm gives the same digests on any machine and any Node version. Tar
// entries have fixed mtime/uid/gid/mode and order; the gzip member has mtime 0 and uses deflate's
// stored blocks, so its bytes do not depend on the zlib build (the module is the only input). No
// `created` timestamp anywhere.

import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const MEDIA_TYPE = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  imageConfig: 'application/vnd.oci.image.config.v1+json',
  tarGzipLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  wasmConfig: 'application/vnd.module.wasm.config.v1+json',
  wasmContent: 'application/vnd.module.wasm.content.layer.v1+wasm',
} as const;

/** Annotation keys this project sets (OCI's predefined keys plus the module digests). */
export const ANNOTATION = {
  refName: 'org.opencontainers.image.ref.name',
  title: 'org.opencontainers.image.title',
  version: 'org.opencontainers.image.version',
  description: 'org.opencontainers.image.description',
  licenses: 'org.opencontainers.image.licenses',
  /** sha256 (hex) of the module file itself: what Istio's WasmPlugin `sha256` and Envoy's `code.remote.sha256` take. */
  moduleSha256: 'io.acpw-ts.module.sha256',
} as const;

/** Platforms the compat images list: the module runs anywhere, but container runtimes match a platform. */
export const COMPAT_PLATFORMS = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64' },
] as const;

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly platform?: { readonly os: string; readonly architecture: string };
}

export interface ModuleFile {
  /** File name inside an image (`plugin.wasm` for the single-module forms). */
  readonly name: string;
  readonly bytes: Uint8Array;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

// ---------------------------------------------------------------------------------------------
// tar (ustar) and gzip, deterministic by construction.

const BLOCK = 512;

function octal(value: number, width: number): string {
  // width - 1 octal digits then NUL, as GNU tar and Go's archive/tar write them.
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function tarHeader(name: string, size: number): Buffer {
  if (Buffer.byteLength(name) > 100) throw new Error(`tar entry name longer than 100 bytes: ${name}`);
  const header = Buffer.alloc(BLOCK, 0);
  header.write(name, 0, 100, 'utf8');
  header.write(octal(0o644, 8), 100, 'ascii'); // mode
  header.write(octal(0, 8), 108, 'ascii'); // uid
  header.write(octal(0, 8), 116, 'ascii'); // gid
  header.write(octal(size, 12), 124, 'ascii');
  header.write(octal(0, 12), 136, 'ascii'); // mtime: the epoch, so the digest depends on content only
  header.fill(' ', 148, 156); // checksum field counts as spaces while summing
  header.write('0', 156, 'ascii'); // regular file
  header.write('ustar\0', 257, 'ascii');
  header.write('00', 263, 'ascii');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return header;
}

/** A tar archive of regular files at the top level, in the order given. */
export function tarFiles(files: readonly ModuleFile[]): Buffer {
  const parts: Buffer[] = [];
  for (const file of files) {
    parts.push(tarHeader(file.name, file.bytes.length), Buffer.from(file.bytes));
    const pad = (BLOCK - (file.bytes.length % BLOCK)) % BLOCK;
    if (pad > 0) parts.push(Buffer.alloc(pad, 0));
  }
  parts.push(Buffer.alloc(2 * BLOCK, 0)); // end-of-archive marker
  return Buffer.concat(parts);
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n += 1) {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * A gzip member (RFC 1952) whose deflate stream (RFC 1951) is made of stored blocks only: the
 * output is a function of the input alone, unlike zlib's compressed output, which may change
 * between zlib versions and so would change the image digest for the same module.
 */
export function gzipStored(data: Uint8Array): Buffer {
  const header = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]); // deflate, no flags, mtime 0, Unix
  const blocks: Buffer[] = [];
  const MAX = 0xffff;
  let offset = 0;
  do {
    const length = Math.min(MAX, data.length - offset);
    const last = offset + length >= data.length;
    const block = Buffer.alloc(5);
    block[0] = last ? 1 : 0; // BFINAL, BTYPE=00 (stored)
    block.writeUInt16LE(length, 1);
    block.writeUInt16LE(~length & 0xffff, 3);
    blocks.push(block, Buffer.from(data.subarray(offset, offset + length)));
    offset += length;
  } while (offset < data.length);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(data), 0);
  trailer.writeUInt32LE(data.length >>> 0, 4);
  return Buffer.concat([header, ...blocks, trailer]);
}

// ---------------------------------------------------------------------------------------------
// The layout: blobs by digest, index.json naming each image by its ref.

/** Canonical JSON (sorted keys, no spaces), so a manifest's digest does not depend on key order in code. */
export function canonicalJson(value: unknown): Buffer {
  const sort = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(sort);
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(
        Object.keys(node as Record<string, unknown>)
          .sort()
          .map((key) => [key, sort((node as Record<string, unknown>)[key])]),
      );
    }
    return node;
  };
  return Buffer.from(JSON.stringify(sort(value)), 'utf8');
}

export class OciLayout {
  private readonly blobs = new Map<string, Buffer>();
  private readonly refs: Descriptor[] = [];

  /** Stores a blob and returns its descriptor. */
  blob(mediaType: string, bytes: Uint8Array, annotations?: Record<string, string>): Descriptor {
    const buffer = Buffer.from(bytes);
    const digest = `sha256:${sha256Hex(buffer)}`;
    this.blobs.set(digest, buffer);
    return { mediaType, digest, size: buffer.length, ...(annotations ? { annotations } : {}) };
  }

  /** Names a manifest or index in index.json; `skopeo copy oci:DIR:REF` finds it by this name. */
  tag(ref: string, descriptor: Descriptor): void {
    if (this.refs.some((existing) => existing.annotations?.[ANNOTATION.refName] === ref)) {
      throw new Error(`OCI layout: ref ${ref} is used twice`);
    }
    this.refs.push({ ...descriptor, annotations: { ...descriptor.annotations, [ANNOTATION.refName]: ref } });
  }

  /** The named images, in the order they were tagged. */
  tags(): ReadonlyArray<{ readonly ref: string; readonly descriptor: Descriptor }> {
    return this.refs.map((descriptor) => ({ ref: descriptor.annotations![ANNOTATION.refName]!, descriptor }));
  }

  /** Writes oci-layout, index.json and blobs/sha256/* into dir (replacing what was there). */
  write(dir: string): void {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
    writeFileSync(join(dir, 'oci-layout'), canonicalJson({ imageLayoutVersion: '1.0.0' }));
    for (const [digest, bytes] of [...this.blobs].sort(([a], [b]) => a.localeCompare(b))) {
      writeFileSync(join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length)), bytes);
    }
    writeFileSync(
      join(dir, 'index.json'),
      canonicalJson({ schemaVersion: 2, mediaType: MEDIA_TYPE.index, manifests: this.refs }),
    );
  }
}

export interface ImageMeta {
  readonly version: string;
  readonly description: string;
  readonly licenses: string;
}

function manifestAnnotations(meta: ImageMeta, extra: Record<string, string>): Record<string, string> {
  return {
    [ANNOTATION.description]: meta.description,
    [ANNOTATION.licenses]: meta.licenses,
    [ANNOTATION.version]: meta.version,
    ...extra,
  };
}

/** The Wasm OCI artifact of one module: config JSON layer, then the module as it is. */
export function addWasmArtifact(layout: OciLayout, module: ModuleFile, meta: ImageMeta): Descriptor {
  const digest = sha256Hex(module.bytes);
  // The config of the Wasm image specification; its fields are optional, `{}` is what most tools push.
  const config = layout.blob(MEDIA_TYPE.wasmConfig, Buffer.from('{}'));
  const content = layout.blob(MEDIA_TYPE.wasmContent, module.bytes, {
    [ANNOTATION.title]: module.name,
    [ANNOTATION.moduleSha256]: digest,
  });
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.manifest,
    config,
    layers: [config, content],
    annotations: manifestAnnotations(meta, { [ANNOTATION.moduleSha256]: digest }),
  };
  return layout.blob(MEDIA_TYPE.manifest, canonicalJson(manifest));
}

/**
 * The compat image: one tar+gzip layer with the files at the top level, listed for each platform
 * in COMPAT_PLATFORMS (one layer blob, a config and manifest per platform, an index on top).
 * `moduleDigests` become the manifest annotations (file name → sha256).
 */
export function addCompatImage(
  layout: OciLayout,
  files: readonly ModuleFile[],
  meta: ImageMeta,
  moduleDigests: Record<string, string>,
): Descriptor {
  const tar = tarFiles(files);
  const layer = layout.blob(MEDIA_TYPE.tarGzipLayer, gzipStored(tar));
  const annotations = manifestAnnotations(meta, moduleDigests);
  const manifests = COMPAT_PLATFORMS.map((platform) => {
    const config = layout.blob(
      MEDIA_TYPE.imageConfig,
      canonicalJson({
        architecture: platform.architecture,
        os: platform.os,
        config: { Labels: annotations },
        rootfs: { type: 'layers', diff_ids: [`sha256:${sha256Hex(tar)}`] },
      }),
    );
    const manifest = layout.blob(
      MEDIA_TYPE.manifest,
      canonicalJson({ schemaVersion: 2, mediaType: MEDIA_TYPE.manifest, config, layers: [layer], annotations }),
    );
    return { ...manifest, platform };
  });
  return layout.blob(
    MEDIA_TYPE.index,
    canonicalJson({ schemaVersion: 2, mediaType: MEDIA_TYPE.index, manifests, annotations }),
  );
}

export interface PackagedModules {
  readonly sender: Uint8Array;
  readonly receiver: Uint8Array;
}

/** Ref names inside the layout, as `skopeo copy oci:DIR:REF` takes them. */
export const REFS = {
  senderWasm: 'sender',
  senderCompat: 'sender-compat',
  receiverWasm: 'receiver',
  receiverCompat: 'receiver-compat',
  modules: 'modules',
} as const;

/** All five images of the two modules in one layout (blobs are shared). */
export function buildLayout(modules: PackagedModules, meta: ImageMeta): OciLayout {
  const layout = new OciLayout();
  const senderSha = sha256Hex(modules.sender);
  const receiverSha = sha256Hex(modules.receiver);
  const plugin = (bytes: Uint8Array): ModuleFile => ({ name: 'plugin.wasm', bytes });
  layout.tag(REFS.senderWasm, addWasmArtifact(layout, { name: 'sender.wasm', bytes: modules.sender }, meta));
  layout.tag(REFS.receiverWasm, addWasmArtifact(layout, { name: 'receiver.wasm', bytes: modules.receiver }, meta));
  layout.tag(REFS.senderCompat, addCompatImage(layout, [plugin(modules.sender)], meta, { [ANNOTATION.moduleSha256]: senderSha }));
  layout.tag(
    REFS.receiverCompat,
    addCompatImage(layout, [plugin(modules.receiver)], meta, { [ANNOTATION.moduleSha256]: receiverSha }),
  );
  layout.tag(
    REFS.modules,
    addCompatImage(
      layout,
      [
        { name: 'receiver.wasm', bytes: modules.receiver },
        { name: 'sender.wasm', bytes: modules.sender },
      ],
      meta,
      { [`${ANNOTATION.moduleSha256}.receiver`]: receiverSha, [`${ANNOTATION.moduleSha256}.sender`]: senderSha },
    ),
  );
  return layout;
}
