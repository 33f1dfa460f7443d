// The per-request state every filter of one chain sees (the same maps, as in Envoy), plus the
// hooks through which hostcalls act on the stream (continue, close, local reply).

import type { FlatPairs } from '../../src/abi/host.js';
import type { StreamType } from '../../src/abi/table.js';
import type { Bytes } from './bytes.js';
import type { HeaderMap } from './header-map.js';

export interface LocalReply {
  readonly statusCode: number;
  readonly details: string;
  readonly body: Bytes;
  readonly headers: FlatPairs;
  readonly grpcStatus: number;
}

export interface StreamInfo {
  /** Request start, ms since the epoch (fractional). */
  readonly startTimeMs: number;
  /** x-request-id; generated on first use (Envoy generates one per request). */
  requestId?: string;
  readonly protocol: string;
  readonly sourceAddress: string;
  readonly sourcePort: number;
  readonly destinationAddress: string;
  readonly destinationPort: number;
  readonly connectionId: number;
  responseCodeDetails: string;
  /** Set when the stream ends (access log phase), ms. */
  durationMs?: number;
  /**
   * Set when the request was fully received (its last part reached the filters), ms since
   * startTimeMs: Envoy's `request.duration` (not the whole stream's duration).
   */
  requestDurationMs?: number;
}

export interface StreamHooks {
  continueStream(type: StreamType): void;
  closeStream(type: StreamType): void;
  sendLocalReply(reply: LocalReply): void;
}

export interface StreamState {
  requestHeaders?: HeaderMap;
  requestBody?: Bytes;
  requestTrailers?: HeaderMap;
  responseHeaders?: HeaderMap;
  responseBody?: Bytes;
  responseTrailers?: HeaderMap;
  /** proxy_on_log runs in the access-log phase: maps become read-only snapshots. */
  accessLogPhase: boolean;
  readonly info: StreamInfo;
  /** Property paths (dotted) answered NotFound (StreamInput.omitProperties); absent as a rule. */
  omittedProperties?: ReadonlySet<string>;
  /** Values written with proxy_set_property (Envoy's filter state, "wasm." keys); made on first write. */
  filterState?: Map<string, Bytes>;
  hooks?: StreamHooks;
}

/**
 * Which stream maps/buffers a context may touch right now. Envoy gives a filter its request
 * headers only inside proxy_on_request_headers (and while it holds the stream paused there), and
 * so on for each map and body; the access-log phase then exposes request/response headers and
 * response trailers read-only.
 */
export const Exposed = {
  RequestHeaders: 1,
  RequestBody: 2,
  RequestTrailers: 4,
  ResponseHeaders: 8,
  ResponseBody: 16,
  ResponseTrailers: 32,
  All: 63,
} as const;
