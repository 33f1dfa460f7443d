// Lists what the demo published to the CloudWatch emulator, as the original's README does with
// `aws cloudwatch list-metrics --namespace AWSCloudWatchProxyWasm-dev` (same namespace, region).
// Run while `npm start` is up. Extra arguments go to the aws CLI, e.g.
//   node scripts/list-metrics.mjs --dimensions Name=host,Value=example.com

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, VENV, run } from './lib/bootstrap.mjs';

const aws = join(VENV, 'bin', 'aws');
if (!existsSync(aws)) {
  process.stderr.write(`[acpw] ${aws} not found: run \`npm start\` first (it installs the aws CLI into .venv)\n`);
  process.exit(1);
}
const endpoint = process.env.ACPW_CLOUDWATCH_ENDPOINT ?? 'http://127.0.0.1:5000';
const code = await run(
  aws,
  [
    'cloudwatch', 'list-metrics',
    '--namespace', 'AWSCloudWatchProxyWasm-dev',
    '--region', 'ap-northeast-1',
    '--endpoint-url', endpoint,
    '--output', 'json',
    ...process.argv.slice(2),
  ],
  // moto accepts any credentials; these never reach AWS.
  { cwd: ROOT, env: { ...process.env, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' } },
);
process.exit(code);
