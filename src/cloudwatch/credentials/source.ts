// What the receiver asks before each PutMetricData: sign with these credentials, send unsigned
// (Envoy signs), or wait (role credentials not fetched yet, or expired).

import type { AwsCredentials } from '../../config/receiver.js';
import type { CredentialsSourceConfig } from '../../config/credentials.js';
import { RoleCredentialsProvider, type CredentialsTransport, type ProviderEvents } from './provider.js';

export type SigningState =
  | { readonly kind: 'sign'; readonly credentials: AwsCredentials }
  | { readonly kind: 'unsigned' }
  | { readonly kind: 'wait' };

export interface CredentialsSource {
  /** "static", "envoy", "imds" or "container": for log lines. */
  readonly name: string;
  state(nowMs: number): SigningState;
  /** Starts a credentials fetch when one is due (role sources). */
  poll(nowMs: number): void;
}

export interface SourceDependencies {
  readonly transport: CredentialsTransport;
  readonly now: () => number;
  readonly random: () => number;
  readonly events: ProviderEvents;
}

export function createCredentialsSource(
  config: CredentialsSourceConfig,
  staticCredentials: AwsCredentials,
  deps: SourceDependencies,
): CredentialsSource {
  switch (config.kind) {
    case 'static': {
      const state: SigningState = { kind: 'sign', credentials: staticCredentials };
      return { name: 'static', state: () => state, poll: () => undefined };
    }
    case 'envoy': {
      const state: SigningState = { kind: 'unsigned' };
      return { name: 'envoy', state: () => state, poll: () => undefined };
    }
    case 'imds':
    case 'container': {
      const provider = new RoleCredentialsProvider({
        source: config.kind === 'imds'
          ? { kind: 'imds' }
          : { kind: 'container', path: config.path, ...(config.authorizationToken !== undefined ? { authorizationToken: config.authorizationToken } : {}) },
        refreshAheadMs: config.refreshAheadMs,
        ...deps,
      });
      return {
        name: config.kind,
        state: (nowMs) => {
          const credentials = provider.credentials(nowMs);
          return credentials ? { kind: 'sign', credentials } : { kind: 'wait' };
        },
        poll: (nowMs) => provider.poll(nowMs),
      };
    }
  }
}
