// boto3, through test/support/cloudwatch_tool.py, as the independent AWS implementation the
// tests check our receiver against: read back what reached moto, write reference data, and set
// up the IAM identity for the SigV4 tests.

import { join } from 'node:path';
import { setMotoAuthentication } from '../../scripts/lib/moto-server.js';
import { REPO_ROOT, runPython } from './python.js';

const TOOL = join(REPO_ROOT, 'test', 'support', 'cloudwatch_tool.py');
const AWS_ERROR_EXIT = 3;

export const DEFAULT_REGION = 'ap-northeast-1';

/** The README's minimal IAM policy for the receiver, as AWS names the action. */
export const MINIMAL_PUBLISH_POLICY = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 'cloudwatch:PutMetricData', Resource: '*' }],
} as const;

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface Dimension {
  readonly Name: string;
  readonly Value: string;
}

export interface ListedMetric {
  readonly Namespace: string;
  readonly MetricName: string;
  readonly Dimensions: readonly Dimension[];
}

/** One get_metric_statistics datapoint; Timestamp is ISO-8601, statistics present as asked. */
export interface Datapoint {
  readonly Timestamp: string;
  readonly Unit?: string;
  readonly Sum?: number;
  readonly SampleCount?: number;
  readonly Average?: number;
  readonly Minimum?: number;
  readonly Maximum?: number;
  readonly ExtendedStatistics?: Readonly<Record<string, number>>;
}

/** An error answer from AWS (moto), with its code, e.g. SignatureDoesNotMatch. */
export class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus: number | undefined,
  ) {
    super(`${code}: ${message}`);
    this.name = 'AwsError';
  }
}

interface Target {
  /** moto's URL, e.g. http://127.0.0.1:5000 */
  readonly endpoint: string;
  readonly region?: string;
  readonly credentials?: AwsCredentials;
}

async function callTool<T>(command: string, request: object): Promise<T> {
  const result = await runPython(TOOL, [command], JSON.stringify(request));
  if (result.code === AWS_ERROR_EXIT) {
    const { error } = JSON.parse(result.stdout) as { error: { code: string; message: string; httpStatus?: number } };
    throw new AwsError(error.code, error.message, error.httpStatus);
  }
  if (result.code !== 0) {
    throw new Error(`cloudwatch_tool.py ${command} exited ${result.code}:\n${result.stderr.trim()}`);
  }
  return JSON.parse(result.stdout) as T;
}

export async function listMetrics(
  target: Target & { readonly namespace: string; readonly metricName?: string },
): Promise<ListedMetric[]> {
  const { metrics } = await callTool<{ metrics: ListedMetric[] }>('list-metrics', target);
  return metrics;
}

export interface StatisticsQuery extends Target {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: readonly Dimension[];
  /** ISO-8601 string or epoch seconds. */
  readonly start: string | number;
  readonly end: string | number;
  /** Seconds, default 60. */
  readonly period?: number;
  readonly statistics?: readonly ('Sum' | 'SampleCount' | 'Average' | 'Minimum' | 'Maximum')[];
  /** Percentiles such as "p99". */
  readonly extendedStatistics?: readonly string[];
}

export async function getMetricStatistics(query: StatisticsQuery): Promise<Datapoint[]> {
  const { datapoints } = await callTool<{ datapoints: Datapoint[] }>('get-statistics', query);
  return datapoints;
}

/** Sum of one statistic over the datapoints (they are per period; a test usually wants the total). */
export function total(datapoints: readonly Datapoint[], statistic: 'Sum' | 'SampleCount'): number {
  return datapoints.reduce((sum, point) => sum + (point[statistic] ?? 0), 0);
}

/** A PutMetricData through boto3, e.g. reference data or a check that credentials work. */
export async function putMetricData(
  target: Target & { readonly namespace: string; readonly metricData: readonly object[] },
): Promise<void> {
  await callTool('put-metric-data', target);
}

export interface CreatedIdentity extends AwsCredentials {
  readonly userName: string;
  readonly policyArns: readonly string[];
}

/**
 * An IAM user with `policyDocument` attached and an access key, created in moto. moto checks
 * actions under the SigV4 scope's service name ("monitoring:PutMetricData") where AWS says
 * "cloudwatch:PutMetricData", so by default a mirror policy under moto's name is attached too;
 * pass motoServiceAlias: false to see moto deny the AWS-named policy alone.
 */
export async function createIamUser(
  target: Target & {
    readonly userName: string;
    readonly policyDocument?: object;
    readonly motoServiceAlias?: boolean;
  },
): Promise<CreatedIdentity> {
  return callTool<CreatedIdentity>('create-iam-user', {
    ...target,
    policyDocument: target.policyDocument ?? MINIMAL_PUBLISH_POLICY,
    motoServiceAlias: target.motoServiceAlias ?? true,
  });
}

export interface RoleSessions {
  readonly roleArn: string;
  /** Temporary credentials (ASIA… key, secret, session token) of the role, one per AssumeRole. */
  readonly sessions: readonly (AwsCredentials & { readonly sessionToken: string })[];
}

/**
 * An IAM role holding `policyDocument` (default: the minimal policy, plus moto's alias), assumed
 * `sessions` times through moto's STS. moto checks such a session's token on every request
 * (X-Amz-Security-Token must match), so these stand in for instance-profile or task-role
 * credentials. Call before enforceSigV4 (AssumeRole needs no signature then).
 */
export async function createRoleSessions(
  target: Target & { readonly roleName: string; readonly sessions: number; readonly policyDocument?: object },
): Promise<RoleSessions> {
  return callTool<RoleSessions>('create-role-sessions', { ...target, policyDocument: target.policyDocument ?? MINIMAL_PUBLISH_POLICY });
}

export interface EnforcedAuth {
  /** Has only the README's minimal policy (plus moto's alias of it): give these to the receiver. */
  readonly publisher: CreatedIdentity;
  /** Allowed everything: use these to read back while authentication is enforced. */
  readonly reader: CreatedIdentity;
}

/**
 * Creates the receiver's IAM identity and a reader, then makes moto verify every following
 * request: a SigV4 signature recomputed with botocore from the stored secret, a known access
 * key, and a policy allowing the action. Undo with setMotoAuthentication(endpoint, Infinity).
 */
export async function enforceSigV4(endpoint: string, prefix = 'acpw'): Promise<EnforcedAuth> {
  const publisher = await createIamUser({ endpoint, userName: `${prefix}-receiver` });
  const reader = await createIamUser({
    endpoint,
    userName: `${prefix}-reader`,
    policyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
    motoServiceAlias: false,
  });
  await setMotoAuthentication(endpoint, 0);
  return { publisher, reader };
}
