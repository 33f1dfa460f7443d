// Guards the layers the README draws, by RULE over every file (not a list that a renamed or new
// file silently drops out of):
//  - every .ts file under src/ (and examples/) is classified by its folder; an unclassified one
//    fails the test, so a new folder must say which layer it is;
//  - each layer imports only what it may: the ABI (src/abi/) nothing outside itself; the SDK
//    (src/sdk/) itself and the ABI's index; plugins (src/*.ts, examples/) the SDK's index and
//    the domain; the domain (src/config, src/metrics, src/cloudwatch) itself and its npm packages;
//  - the SDK contract "no module-level mutable state" (several VMs share one module instance in
//    Node mode) holds for every file of the SDK, the plugins and the domain.

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '..', '..');

type Layer = 'abi' | 'sdk' | 'plugin' | 'domain';

const DOMAIN_FOLDERS = ['src/config/', 'src/metrics/', 'src/cloudwatch/'];
/** npm packages the domain may use (the SigV4 signer); no other layer imports a package. */
const DOMAIN_PACKAGES = ['@smithy/signature-v4', '@smithy/protocol-http', '@aws-crypto/sha256-js'];

/** The layer of a repo-relative path, or undefined when no rule covers it. */
function layerOf(path: string): Layer | undefined {
  if (path.startsWith('src/abi/')) return 'abi';
  if (path.startsWith('src/sdk/')) return 'sdk';
  if (DOMAIN_FOLDERS.some((folder) => path.startsWith(folder))) return 'domain';
  if (/^src\/[^/]+\.ts$/.test(path) || path.startsWith('examples/')) return 'plugin';
  return undefined;
}

/** Whether a file of layer `from` may import `target` (a repo-relative path, or an npm package name). */
function mayImport(from: Layer, target: string, isPackage: boolean): boolean {
  if (isPackage) return from === 'domain' && DOMAIN_PACKAGES.includes(target);
  const to = layerOf(target);
  switch (from) {
    case 'abi': return to === 'abi';
    case 'sdk': return to === 'sdk' || target === 'src/abi/index.ts';
    case 'plugin': return target === 'src/sdk/index.ts' || to === 'domain';
    case 'domain': return to === 'domain';
  }
}

function tsFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return tsFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

const FILES = [...tsFiles('src'), ...tsFiles('examples')];

/** Module specifiers of import/export-from statements (type-only ones too: they are still coupling). */
function importsOf(text: string): string[] {
  return [...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+'([^']+)'/gms), ...text.matchAll(/^\s*import\s+'([^']+)'/gm)]
    .map((match) => match[1]!);
}

function resolveImport(file: string, specifier: string): { target: string; isPackage: boolean } {
  if (!specifier.startsWith('.')) {
    const parts = specifier.split('/');
    return { target: specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!, isPackage: true };
  }
  const absolute = resolve(root, dirname(file), specifier).replace(/\.js$/, '.ts');
  return { target: relative(root, absolute).split('\\').join('/'), isPackage: false };
}

/** A top-level let/var, or a collection not typed read-only (a `ReadonlySet<…>` constant is fine). */
const MUTABLE_TOP_LEVEL = /^(?:export\s+)?(?:let|var)\s|^(?:export\s+)?const\s+\w+\s*(?::(?!\s*[Rr]eadonly)[^=]+)?=\s*(?:new\s+(?:Map|Set|WeakMap|Array)\b|\[\s*\]|\{\s*\})/;

describe('the layers, enforced on the import graph', () => {
  it('covers every file: each .ts under src/ and examples/ belongs to a layer', () => {
    expect(FILES.length).toBeGreaterThan(30);
    expect(FILES.filter((file) => layerOf(file) === undefined)).toEqual([]);
    // each layer is populated: a rename of a folder cannot make a rule vacuous
    for (const layer of ['abi', 'sdk', 'plugin', 'domain'] as const) expect(FILES.some((file) => layerOf(file) === layer), layer).toBe(true);
  });

  it('each file imports only what its layer may', () => {
    const violations: string[] = [];
    for (const file of FILES) {
      const layer = layerOf(file)!;
      for (const specifier of importsOf(readFileSync(join(root, file), 'utf8'))) {
        const { target, isPackage } = resolveImport(file, specifier);
        if (!mayImport(layer, target, isPackage)) violations.push(`${file} (${layer}) imports ${specifier}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('the rules catch what they should', () => {
    expect(mayImport('plugin', 'src/sdk/crypto.ts', false)).toBe(false); // past the SDK's index
    expect(mayImport('plugin', 'src/abi/table.ts', false)).toBe(false); // the ABI directly
    expect(mayImport('plugin', 'src/metrics/wire.ts', false)).toBe(true);
    expect(mayImport('domain', 'src/sdk/index.ts', false)).toBe(false); // the domain has no host
    expect(mayImport('sdk', 'src/abi/table.ts', false)).toBe(false); // the ABI through its index only
    expect(mayImport('sdk', 'src/metrics/wire.ts', false)).toBe(false);
    expect(mayImport('abi', 'src/sdk/index.ts', false)).toBe(false);
    expect(mayImport('sdk', 'yaml', true)).toBe(false);
    expect(importsOf("import { a,\n  b } from './x.js';\nexport * from '../y.js';\nimport type { T } from './t.js';"))
      .toEqual(['./x.js', '../y.js', './t.js']);
  });
});

describe('no module-level mutable state', () => {
  for (const file of FILES.filter((path) => layerOf(path) !== 'abi')) {
    it(file, () => {
      const offending = readFileSync(join(root, file), 'utf8').split('\n')
        .map((line, i) => [i + 1, line] as const)
        .filter(([, line]) => MUTABLE_TOP_LEVEL.test(line));
      expect(offending.map(([n, line]) => `${file}:${n}: ${line.trim()}`)).toEqual([]);
    });
  }

  it('the pattern catches what it should', () => {
    for (const bad of ['let cache = 1;', 'export let x;', 'var y = 2', 'const m = new Map<string, number>();', 'const list: string[] = [];', 'export const o = {};']) {
      expect(MUTABLE_TOP_LEVEL.test(bad), bad).toBe(true);
    }
    for (const ok of ['  let local = 1;', 'const LIMIT = 16;', "const NAMES = ['a'] as const;", 'export const QUEUE_NAME = \'q\';',
      "const CODES: ReadonlySet<string> = new Set(['a']);", 'const LIST: readonly string[] = [];']) {
      expect(MUTABLE_TOP_LEVEL.test(ok), ok).toBe(false);
    }
  });
});
