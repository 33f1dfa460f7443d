// Guards the SDK contract "no module-level mutable state" (several VMs share one module instance
// in Node mode) for the SDK itself and the plugin entry files: a top-level `let`/`var`, or a
// top-level collection instance, would leak state between VMs.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '..', '..');
const FILES = [
  'src/sdk/plugin.ts', 'src/sdk/context.ts', 'src/sdk/dispatcher.ts', 'src/sdk/hostcalls.ts',
  'src/sdk/env.ts', 'src/sdk/errors.ts', 'src/sdk/index.ts', 'src/sender.ts', 'src/receiver.ts',
];
const MUTABLE_TOP_LEVEL = /^(?:export\s+)?(?:let|var)\s|^(?:export\s+)?const\s+\w+\s*(?::[^=]+)?=\s*(?:new\s+(?:Map|Set|WeakMap|Array)\b|\[\s*\]|\{\s*\})/;

describe('no module-level mutable state', () => {
  for (const file of FILES) {
    const path = join(root, file);
    it.skipIf(!existsSync(path))(file, () => {
      const offending = readFileSync(path, 'utf8').split('\n')
        .map((line, i) => [i + 1, line] as const)
        .filter(([, line]) => MUTABLE_TOP_LEVEL.test(line));
      expect(offending.map(([n, line]) => `${file}:${n}: ${line.trim()}`)).toEqual([]);
    });
  }

  it('the pattern catches what it should', () => {
    for (const bad of ['let cache = 1;', 'export let x;', 'var y = 2', 'const m = new Map<string, number>();', 'const list: string[] = [];', 'export const o = {};']) {
      expect(MUTABLE_TOP_LEVEL.test(bad), bad).toBe(true);
    }
    for (const ok of ['  let local = 1;', 'const LIMIT = 16;', "const NAMES = ['a'] as const;", 'export const QUEUE_NAME = \'q\';']) {
      expect(MUTABLE_TOP_LEVEL.test(ok), ok).toBe(false);
    }
  });
});
