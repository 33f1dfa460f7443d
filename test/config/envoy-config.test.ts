// envoy.yaml against Envoy's own API (PyPI xds-protos): it must parse into
// envoy.config.bootstrap.v3.Bootstrap with every typed_config resolved, and a misspelt field, a
// wrong value type, an unknown @type or a deprecated field must each make the check fail.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runPython } from '../support/python.js';

const VALIDATOR = join(REPO_ROOT, 'test', 'config', 'validate_envoy_config.py');
const ENVOY_YAML = join(REPO_ROOT, 'envoy.yaml');

interface Verdict {
  readonly file: string;
  readonly ok: boolean;
  readonly errors: readonly string[];
  readonly types: readonly string[];
}

async function validate(files: readonly string[]): Promise<{ code: number; verdicts: Verdict[] }> {
  const result = await runPython(VALIDATOR, files);
  if (result.stdout.trim() === '') throw new Error(`validator printed nothing (exit ${result.code}):\n${result.stderr}`);
  const verdicts = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Verdict);
  return { code: result.code, verdicts };
}

const scratch = mkdtempSync(join(tmpdir(), 'acpw-envoy-config-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A copy of envoy.yaml with one edit; fails loudly if the edit no longer applies. */
function brokenCopy(name: string, from: string | RegExp, to: string): string {
  const original = readFileSync(ENVOY_YAML, 'utf8');
  const edited = original.replace(from, to);
  if (edited === original) throw new Error(`edit "${name}" did not change envoy.yaml: update the test`);
  const path = join(scratch, `${name}.yaml`);
  writeFileSync(path, edited);
  return path;
}

describe('envoy.yaml against Envoy API definitions (xds-protos)', () => {
  it('parses into Bootstrap with every typed_config resolved', async () => {
    const { code, verdicts } = await validate([ENVOY_YAML]);
    expect(verdicts[0]?.errors).toEqual([]);
    expect(code).toBe(0);
    expect(verdicts[0]?.types).toEqual([
      'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
      'type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm',
      'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
      'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
      'type.googleapis.com/envoy.extensions.wasm.v3.WasmService',
      'type.googleapis.com/google.protobuf.StringValue',
    ]);
  });

  it('rejects deliberately broken copies, naming the culprit', async () => {
    const cases = [
      // A misspelt field deep inside a typed_config (inside an Any).
      { file: brokenCopy('misspelt-field', 'vm_id: sender', 'vm_idd: sender'), culprit: 'vm_idd' },
      // A wrong value type.
      { file: brokenCopy('wrong-type', 'port_value: 18000', 'port_value: eighteen-thousand'), culprit: 'port_value' },
      // A misspelt enum value.
      { file: brokenCopy('bad-enum', 'san_type: DNS', 'san_type: DNS_NAME'), culprit: 'DNS_NAME' },
      // A typed_config whose @type Envoy does not know.
      {
        file: brokenCopy('unknown-type', 'envoy.extensions.wasm.v3.WasmService', 'envoy.extensions.wasm.v3.WasmServce'),
        culprit: 'WasmServce',
      },
      // A deprecated field (Envoy would only warn; we keep the config free of them).
      { file: brokenCopy('deprecated-field', 'failure_policy: FAIL_OPEN', 'fail_open: true'), culprit: 'fail_open' },
    ];
    const { code, verdicts } = await validate(cases.map((c) => c.file));
    expect(code).toBe(1);
    expect(verdicts).toHaveLength(cases.length);
    cases.forEach((testCase, index) => {
      const verdict = verdicts[index];
      expect(verdict?.ok, testCase.file).toBe(false);
      expect(verdict?.errors.join('\n'), testCase.file).toContain(testCase.culprit);
    });
  });

  it('rejects a file that is not YAML', async () => {
    const path = join(scratch, 'not-yaml.yaml');
    writeFileSync(path, 'static_resources: [unclosed\n');
    const { code, verdicts } = await validate([path]);
    expect(code).toBe(1);
    expect(verdicts[0]?.errors.join('\n')).toContain('cannot read YAML');
  });
});
