// The receiver's credential keys, in one block: where the SigV4 credentials come from.
//
//   "static"    access keys from the config or ACPW_AWS_* (the original's behaviour, the default);
//   "envoy"     the receiver sends PutMetricData unsigned and Envoy's aws_request_signing
//               filter on the CloudWatch cluster signs it with Envoy's credential chain
//               (envoy-iam.yaml);
//   "imds"      the plugin fetches the EC2 instance profile's role credentials (IMDSv2);
//   "container" the plugin fetches ECS task-role / EKS Pod Identity credentials from
//               AWS_CONTAINER_CREDENTIALS_FULL_URI or _RELATIVE_URI.
// The plugin reaches IMDS and the container endpoint through an Envoy cluster (proxy_http_call
// can only name clusters), so the URI gives the :authority and path, the cluster the address.

import type { EnvLookup, FieldReader } from './fields.js';

export const CREDENTIALS_SOURCES = ['static', 'envoy', 'imds', 'container'] as const;
export type CredentialsSourceKind = (typeof CREDENTIALS_SOURCES)[number];

/** The addresses the AWS SDKs use. */
export const IMDS_AUTHORITY = '169.254.169.254';
export const ECS_CONTAINER_AUTHORITY = '169.254.170.2';

export const ENV_CONTAINER_FULL_URI = 'AWS_CONTAINER_CREDENTIALS_FULL_URI';
export const ENV_CONTAINER_RELATIVE_URI = 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI';
export const ENV_CONTAINER_AUTHORIZATION_TOKEN = 'AWS_CONTAINER_AUTHORIZATION_TOKEN';

export const CREDENTIALS_DEFAULTS = {
  /** Refresh this long before the credentials expire (the AWS SDKs use 5 minutes). */
  credentials_refresh_ahead_millisecond: 300_000,
  /** Per request to IMDS or the container endpoint (the SDKs use 1 s). */
  credentials_timeout_millisecond: 1000,
} as const;

/** Keys whose values are never echoed in a message. */
export const CREDENTIALS_SECRET_KEYS: readonly string[] = ['container_authorization_token'];

interface FetchedSettings {
  /** The Envoy cluster that reaches the endpoint. */
  readonly cluster: string;
  /** `:authority` of the requests. */
  readonly authority: string;
  readonly refreshAheadMs: number;
  readonly timeoutMs: number;
}

export type CredentialsSourceConfig =
  | { readonly kind: 'static' }
  | { readonly kind: 'envoy' }
  | ({ readonly kind: 'imds' } & FetchedSettings)
  | ({ readonly kind: 'container'; readonly path: string; readonly authorizationToken?: string } & FetchedSettings);

const AUTHORITY = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;
const URI = /^(https?):\/\/([^/?#]+)(\/[^#]*)?$/;

/** "http://host:port/path?q" → authority and path; undefined when it is not such a URI. */
export function splitUri(uri: string): { authority: string; path: string } | undefined {
  const match = URI.exec(uri);
  if (!match || !AUTHORITY.test(match[2]!)) return undefined;
  return { authority: match[2]!, path: match[3] ?? '/' };
}

export function readCredentialsSource(read: FieldReader, env: EnvLookup): CredentialsSourceConfig {
  const kind = (read.string('credentials_source', { default: 'static' }) ?? 'static') as CredentialsSourceKind;
  if (!CREDENTIALS_SOURCES.includes(kind)) {
    read.errors.push(`configuration key "credentials_source" must be one of ${CREDENTIALS_SOURCES.map((s) => `"${s}"`).join(', ')} (got ${JSON.stringify(kind)})`);
  }
  const fetched = kind === 'imds' || kind === 'container';
  const cluster = read.string('credentials_cluster_name', { required: fetched, maxLength: 1024 });
  const refreshAheadMs = read.integer('credentials_refresh_ahead_millisecond', CREDENTIALS_DEFAULTS.credentials_refresh_ahead_millisecond, { min: 1000, max: 3_600_000 });
  const timeoutMs = read.integer('credentials_timeout_millisecond', CREDENTIALS_DEFAULTS.credentials_timeout_millisecond, { min: 1, max: 60_000 });
  const imdsAuthority = read.string('imds_endpoint', { default: IMDS_AUTHORITY, pattern: AUTHORITY, patternHint: 'a host with an optional port (e.g. "169.254.169.254")' });
  const fullUri = read.string('container_credentials_full_uri', { fallback: env(ENV_CONTAINER_FULL_URI) });
  const relativeUri = read.string('container_credentials_relative_uri', { fallback: env(ENV_CONTAINER_RELATIVE_URI) });
  const authorizationToken = read.string('container_authorization_token', { fallback: env(ENV_CONTAINER_AUTHORIZATION_TOKEN) });

  if (!fetched) {
    if (kind === 'static' || kind === 'envoy') return { kind };
    return { kind: 'static' }; // an invalid kind: the error above fails the configuration
  }
  const common = { cluster: cluster ?? '', refreshAheadMs, timeoutMs };
  if (kind === 'imds') return { kind, ...common, authority: imdsAuthority ?? IMDS_AUTHORITY };

  // Container credentials: the full URI wins over the relative one, as in the AWS SDKs.
  let target: { authority: string; path: string } | undefined;
  if (fullUri !== undefined) {
    target = splitUri(fullUri);
    if (!target) read.errors.push(`configuration key "container_credentials_full_uri" (or ${ENV_CONTAINER_FULL_URI}) must be an http:// or https:// URI with a host (got ${JSON.stringify(fullUri.slice(0, 80))})`);
  } else if (relativeUri !== undefined) {
    if (!relativeUri.startsWith('/')) read.errors.push(`configuration key "container_credentials_relative_uri" (or ${ENV_CONTAINER_RELATIVE_URI}) must start with "/" (got ${JSON.stringify(relativeUri.slice(0, 80))})`);
    else target = { authority: ECS_CONTAINER_AUTHORITY, path: relativeUri };
  } else {
    read.errors.push(`credentials_source "container" needs "container_credentials_full_uri" or "container_credentials_relative_uri" (or the ${ENV_CONTAINER_FULL_URI} / ${ENV_CONTAINER_RELATIVE_URI} environment variables in host_env_keys)`);
  }
  if (authorizationToken !== undefined && /[\r\n]/.test(authorizationToken)) {
    read.errors.push('configuration key "container_authorization_token" (or AWS_CONTAINER_AUTHORIZATION_TOKEN) must not contain a line break');
  }
  return {
    kind,
    ...common,
    authority: target?.authority ?? '',
    path: target?.path ?? '/',
    ...(authorizationToken !== undefined ? { authorizationToken } : {}),
  };
}
