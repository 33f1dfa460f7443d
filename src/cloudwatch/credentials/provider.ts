// Role credentials fetched by the plugin: EC2 IMDSv2 and the ECS / EKS Pod Identity container
// endpoint. Pure state machine; the plugin supplies the transport (proxy_http_call to the
// configured cluster) and the clock.
//
// IMDSv2:    PUT /latest/api/token (x-aws-ec2-metadata-token-ttl-seconds) → session token;
//            GET /latest/meta-data/iam/security-credentials/ → role name;
//            GET /latest/meta-data/iam/security-credentials/<role> → credentials document.
//            Every GET carries x-aws-ec2-metadata-token; a 401 means the token went stale.
// Container: GET <path> with `Authorization: <token>` when a token is configured.
//
// Policy: one fetch at a time; refreshed `refreshAheadMs` (+ jitter) before expiry; a failed
// fetch is retried with capped exponential backoff while the old credentials stay in use until
// they expire. No reason ever carries a secret, the IMDS token or the authorization token.

import type { AwsCredentials } from '../../config/receiver.js';
import { errorCodeOf, parseCredentialsDocument, parseRoleList, type FetchedCredentials } from './documents.js';
import { refreshAtMs, retryDelayMs, usable } from './refresh.js';

export const IMDS_TOKEN_PATH = '/latest/api/token';
export const IMDS_ROLE_PATH = '/latest/meta-data/iam/security-credentials/';
export const IMDS_TOKEN_TTL_HEADER = 'x-aws-ec2-metadata-token-ttl-seconds';
export const IMDS_TOKEN_HEADER = 'x-aws-ec2-metadata-token';
/** IMDS session token lifetime asked for (the SDKs' 6 hours). */
export const IMDS_TOKEN_TTL_S = 21_600;

export interface CredentialsRequest {
  readonly method: 'GET' | 'PUT';
  readonly path: string;
  readonly headers: readonly (readonly [string, string])[];
}

/** `status` undefined: no answer (connection failure, reset or timeout). */
export interface CredentialsResponse {
  readonly status: number | undefined;
  readonly body: string;
}

/** Sends one request; calls `onResponse` exactly once, or throws when the call cannot start. */
export type CredentialsTransport = (request: CredentialsRequest, onResponse: (response: CredentialsResponse) => void) => void;

export type RoleSource =
  | { readonly kind: 'imds' }
  | { readonly kind: 'container'; readonly path: string; readonly authorizationToken?: string };

export interface RefreshedInfo {
  readonly expirationMs: number;
  readonly refreshAtMs: number;
  /** IMDS: the instance profile's role name (not a secret). */
  readonly role?: string;
}

export interface FailureInfo {
  readonly reason: string;
  /** Consecutive failures, this one included. */
  readonly attempt: number;
  readonly retryInMs: number;
  /** Whether earlier credentials are still usable meanwhile. */
  readonly stillValid: boolean;
}

export interface ProviderEvents {
  fetchStarted(): void;
  refreshed(info: RefreshedInfo): void;
  failed(info: FailureInfo): void;
}

export interface RoleProviderOptions {
  readonly source: RoleSource;
  readonly refreshAheadMs: number;
  readonly transport: CredentialsTransport;
  readonly now: () => number;
  readonly random: () => number;
  readonly events: ProviderEvents;
}

class FetchError extends Error {}

/**
 * Envoy's own answer when the endpoint did not answer (timeout, no healthy upstream, connect
 * failure): safe to quote, unlike a body from the endpoint, which may hold a secret.
 */
export function envoyLocalReply(body: string): string | undefined {
  const text = body.trim();
  return /^(upstream request timeout|no healthy upstream|upstream connect error or disconnect\/reset before headers\.[ -~]{0,160})$/.test(text) ? text : undefined;
}

export class RoleCredentialsProvider {
  private current: FetchedCredentials | undefined;
  private nextFetchMs = 0; // due at once
  private fetching = false;
  private failures = 0;
  private imdsToken: { readonly value: string; readonly expiresMs: number } | undefined;

  constructor(private readonly options: RoleProviderOptions) {}

  /** Credentials to sign with now, or undefined (none yet, or expired). */
  credentials(nowMs: number): AwsCredentials | undefined {
    return this.current && usable(nowMs, this.current.expirationMs) ? this.current.credentials : undefined;
  }

  get inFlight(): boolean {
    return this.fetching;
  }

  /** When the next fetch is due (a refresh or a retry). */
  get nextFetchAtMs(): number {
    return this.nextFetchMs;
  }

  /** Starts a fetch when one is due. */
  poll(nowMs: number): void {
    if (this.fetching || nowMs < this.nextFetchMs) return;
    this.fetching = true;
    this.options.events.fetchStarted();
    try {
      if (this.options.source.kind === 'imds') this.imdsStart(nowMs);
      else this.containerFetch(this.options.source);
    } catch (error) {
      this.fail(error instanceof Error ? error.message : String(error));
    }
  }

  // -- IMDSv2 ---------------------------------------------------------------------------------

  private imdsStart(nowMs: number): void {
    if (this.imdsToken && nowMs < this.imdsToken.expiresMs) return this.imdsRole(this.imdsToken.value);
    this.send({ method: 'PUT', path: IMDS_TOKEN_PATH, headers: [[IMDS_TOKEN_TTL_HEADER, String(IMDS_TOKEN_TTL_S)]] }, 'IMDS token (PUT /latest/api/token)', (body) => {
      const token = body.trim();
      if (token === '' || /[\r\n]/.test(token)) throw new FetchError('IMDS token (PUT /latest/api/token): the answer is not a token');
      // Renew a minute early so a token never expires between our requests.
      this.imdsToken = { value: token, expiresMs: this.options.now() + (IMDS_TOKEN_TTL_S - 60) * 1000 };
      this.imdsRole(token);
    });
  }

  private imdsRole(token: string): void {
    this.send({ method: 'GET', path: IMDS_ROLE_PATH, headers: [[IMDS_TOKEN_HEADER, token]] }, 'IMDS role list', (body) => {
      const list = parseRoleList(body);
      if (!list.ok) throw new FetchError(`IMDS role list: ${list.reason}`);
      this.send({ method: 'GET', path: `${IMDS_ROLE_PATH}${encodeURIComponent(list.role)}`, headers: [[IMDS_TOKEN_HEADER, token]] }, `IMDS credentials of role "${list.role}"`, (doc) =>
        this.accept(doc, `IMDS credentials of role "${list.role}"`, list.role));
    });
  }

  // -- container endpoint ---------------------------------------------------------------------

  private containerFetch(source: Extract<RoleSource, { kind: 'container' }>): void {
    const headers: [string, string][] = [['accept', 'application/json']];
    if (source.authorizationToken !== undefined) headers.push(['authorization', source.authorizationToken]);
    this.send({ method: 'GET', path: source.path, headers }, 'container credentials', (doc) => this.accept(doc, 'container credentials'));
  }

  // -- common ---------------------------------------------------------------------------------

  private accept(text: string, what: string, role?: string): void {
    const now = this.options.now();
    const parsed = parseCredentialsDocument(text, now);
    if (!parsed.ok) throw new FetchError(`${what}: ${parsed.reason}`);
    this.current = parsed.value;
    this.failures = 0;
    this.fetching = false;
    this.nextFetchMs = refreshAtMs(now, parsed.value.expirationMs, this.options.refreshAheadMs, this.options.random);
    this.options.events.refreshed({ expirationMs: parsed.value.expirationMs, refreshAtMs: this.nextFetchMs, ...(role !== undefined ? { role } : {}) });
  }

  /** One request; `onOk` gets a 2xx body and may throw FetchError to fail the fetch. */
  private send(request: CredentialsRequest, what: string, onOk: (body: string) => void): void {
    this.options.transport(request, (response) => {
      try {
        if (response.status === undefined) throw new FetchError(`${what}: no answer (connection failure, reset or timeout)`);
        if (response.status === 401 && this.options.source.kind === 'imds') this.imdsToken = undefined; // stale token
        if (response.status < 200 || response.status >= 300) {
          const code = errorCodeOf(response.body);
          const local = envoyLocalReply(response.body);
          throw new FetchError(`${what}: HTTP ${response.status}${code !== undefined ? ` (${code})` : ''}${local !== undefined ? ` (Envoy: ${local})` : ''}`);
        }
        onOk(response.body);
      } catch (error) {
        // FetchError reasons are ours; anything else is a bug, reported by its message only.
        this.fail(error instanceof Error ? error.message : String(error));
      }
    });
  }

  private fail(reason: string): void {
    this.fetching = false;
    this.failures++;
    const now = this.options.now();
    const retryInMs = retryDelayMs(this.failures, this.options.random);
    this.nextFetchMs = now + retryInMs;
    this.options.events.failed({ reason, attempt: this.failures, retryInMs, stillValid: this.credentials(now) !== undefined });
  }
}
