// The Envoy configuration the deploy/ manifests carry, read from the manifests themselves, and
// the pod's sidecar bootstrap adapted to run here (real Envoy, loopback only).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { devOverlay, type Bootstrap, type EnvoyOverlay } from '../../scripts/lib/envoy.js';
import { REPO_ROOT } from './python.js';

type Json = Record<string, unknown>;

export const DEPLOY = join(REPO_ROOT, 'deploy');
/** Where the manifests mount the `modules` image (an image volume). */
export const MODULES_MOUNT = '/etc/acpw/modules/';

export function resources(path: string): Json[] {
  return parseAllDocuments(readFileSync(path, 'utf8')).map((doc) => doc.toJSON() as Json).filter(Boolean);
}

export function resource(path: string, kind: string): Json {
  const found = resources(path).find((item) => item.kind === kind);
  if (!found) throw new Error(`${path}: no ${kind}`);
  return found;
}

/** Follows a path of keys / indexes; throws naming the path if it does not exist. */
export function at(value: unknown, ...path: (string | number)[]): unknown {
  let node = value;
  for (const key of path) {
    if (node === null || typeof node !== 'object' || !(key in (node as object))) {
      throw new Error(`missing ${path.join('.')} (at ${String(key)})`);
    }
    node = (node as Record<string | number, unknown>)[key];
  }
  return node;
}

/** The bootstrap in deploy/kubernetes/envoy-configmap.yaml, as the pod's Envoy reads it. */
export function sidecarBootstrap(): Bootstrap {
  const configMap = resource(join(DEPLOY, 'kubernetes', 'envoy-configmap.yaml'), 'ConfigMap');
  return parse(at(configMap, 'data', 'envoy.yaml') as string) as Bootstrap;
}

export function cluster(bootstrap: Bootstrap, name: string): Json {
  const found = (at(bootstrap, 'static_resources', 'clusters') as Json[]).find((item) => item.name === name);
  if (!found) throw new Error(`no cluster ${name}`);
  return found;
}

/**
 * The sidecar bootstrap for a real Envoy here: modules from the repo instead of the image volume,
 * loopback addresses with OS-chosen ports, and the dev overlay's other options (a plain-HTTP
 * cloudwatch_api that keeps the manifest's upstream signing filter, receiver settings,
 * direct-response routes). `signing: false` takes the signing filter off cloudwatch_api.
 */
export function localSidecar(overlay: EnvoyOverlay & { readonly signing?: boolean }): Bootstrap {
  const relative = parse(JSON.stringify(sidecarBootstrap()).replaceAll(MODULES_MOUNT, './')) as Bootstrap;
  return devOverlay(relative, {
    ...overlay,
    edit: (bootstrap) => {
      if (overlay.signing === false) delete cluster(bootstrap, 'cloudwatch_api').typed_extension_protocol_options;
      overlay.edit?.(bootstrap);
    },
  });
}
