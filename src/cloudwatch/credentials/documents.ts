// Credential documents from EC2 IMDS and the ECS / EKS Pod Identity container endpoint, checked
// before use. Every reason names what is wrong and never quotes a value: the documents carry
// secrets, so not even a malformed one's text goes into a message.

import type { AwsCredentials } from '../../config/receiver.js';

export interface FetchedCredentials {
  readonly credentials: AwsCredentials & { readonly sessionToken: string };
  readonly expirationMs: number;
}

export type DocumentResult =
  | { readonly ok: true; readonly value: FetchedCredentials }
  | { readonly ok: false; readonly reason: string };

/** IAM role names (https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html). */
const ROLE_NAME = /^[\w+=,.@-]{1,128}$/;
/** An error code we may echo: short, no spaces, no secrets. */
const SAFE_CODE = /^[A-Za-z][A-Za-z0-9._-]{0,63}$/;

/** The role name from IMDS's /latest/meta-data/iam/security-credentials/ listing (first line). */
export function parseRoleList(text: string): { ok: true; role: string } | { ok: false; reason: string } {
  const first = text.split('\n').map((line) => line.trim()).find((line) => line !== '');
  if (first === undefined) return { ok: false, reason: 'the role list is empty (no instance profile attached to this instance?)' };
  if (!ROLE_NAME.test(first)) return { ok: false, reason: 'the role list is malformed (its first line is not an IAM role name)' };
  return { ok: true, role: first };
}

function field(doc: Record<string, unknown>, name: string): string | undefined {
  const value = doc[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** An error code from an error answer's body (container endpoints answer {"code", "message"}). */
export function errorCodeOf(body: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const doc = parsed as Record<string, unknown>;
    const code = field(doc, 'code') ?? field(doc, 'Code') ?? field(doc, 'error');
    return code !== undefined && SAFE_CODE.test(code) ? code : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A credentials document: IMDS's {Code, Type, AccessKeyId, SecretAccessKey, Token, Expiration,
 * LastUpdated} or the container endpoint's {AccessKeyId, SecretAccessKey, Token, Expiration,
 * RoleArn?}. Token and Expiration are required: role credentials are always temporary, and
 * without an expiry there is no refresh schedule.
 */
export function parseCredentialsDocument(text: string, nowMs: number): DocumentResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'the credentials document is not JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { ok: false, reason: 'the credentials document is not a JSON object' };
  }
  const doc = parsed as Record<string, unknown>;
  const code = doc['Code'];
  if (code !== undefined && code !== 'Success') {
    const shown = typeof code === 'string' && SAFE_CODE.test(code) ? ` "${code}"` : '';
    return { ok: false, reason: `the credentials document reports Code${shown} instead of "Success"` };
  }
  const missing = ['AccessKeyId', 'SecretAccessKey', 'Token', 'Expiration'].filter((name) => field(doc, name) === undefined);
  if (missing.length > 0) {
    const errorCode = field(doc, 'code');
    if (missing.length === 4 && errorCode !== undefined) {
      return { ok: false, reason: `the endpoint answered an error document${SAFE_CODE.test(errorCode) ? ` (code ${errorCode})` : ''}` };
    }
    return { ok: false, reason: `the credentials document is missing ${missing.join(', ')} (or they are not non-empty strings): unknown document` };
  }
  const expiration = field(doc, 'Expiration')!;
  const expirationMs = Date.parse(expiration);
  if (!Number.isFinite(expirationMs)) return { ok: false, reason: 'the credentials document\'s Expiration is not an ISO-8601 date' };
  if (expirationMs <= nowMs) {
    return { ok: false, reason: `the credentials have already expired (Expiration ${new Date(expirationMs).toISOString()})` };
  }
  return {
    ok: true,
    value: {
      credentials: { accessKeyId: field(doc, 'AccessKeyId')!, secretAccessKey: field(doc, 'SecretAccessKey')!, sessionToken: field(doc, 'Token')! },
      expirationMs,
    },
  };
}
