// proxy_get_property paths, answered as Envoy's attribute reference answers them: strings as
// bytes, integers as 8-byte little-endian, header maps in the pairs wire format; timestamps as
// int64 nanoseconds since the epoch and durations as int64 nanoseconds (Envoy's serializeValue:
// absl::ToUnixNanos / ToInt64Nanoseconds), little-endian.

import { randomUUID } from 'node:crypto';
import { EMPTY_BYTES, int64Bytes, serializePairs, u64WordsBytes, utf8, type Bytes } from './bytes.js';
import type { StreamState } from './stream-state.js';

/** Whole and fractional ms apart: `ms * 1e6` alone would lose ~256 ns at today's timestamps. */
const msToNs = (ms: number): bigint => {
  const whole = Math.floor(ms);
  return BigInt(whole) * 1_000_000n + BigInt(Math.round((ms - whole) * 1e6));
};

const TWO_32 = 0x1_0000_0000;

/**
 * int64Bytes(msToNs(ms)) without BigInt (request.time is read on every request): the ns value
 * is built exactly from 32-bit words, as whole ms (< 2^53) split in base 2^32 times 1e6 plus
 * the rounded fraction; each partial result stays below 2^53.
 */
export function msToNsBytes(ms: number): Bytes {
  if (!(ms >= 0 && ms < Number.MAX_SAFE_INTEGER)) return int64Bytes(msToNs(ms));
  const whole = Math.floor(ms);
  const fraction = Math.round((ms - whole) * 1e6);
  const high = Math.floor(whole / TWO_32);
  const low = whole % TWO_32;
  const lowNs = low * 1e6 + fraction; // < 2^52 + 2^20
  const carry = Math.floor(lowNs / TWO_32);
  const hi = high * 1e6 + carry;
  if (hi >= TWO_32) return int64Bytes(msToNs(ms)); // beyond 64 bits: as before
  return u64WordsBytes(hi, lowNs % TWO_32);
}

export interface PluginIdentity {
  readonly name: string;
  readonly rootId: string;
  readonly vmId: string;
}

/** Returns the value, or undefined when the path names nothing (NotFound). */
export function lookupProperty(path: readonly string[], plugin: PluginIdentity, stream: StreamState | undefined): Bytes | undefined {
  const head = path[0];
  const rest = path.slice(1);
  const key = rest.length === 1 ? rest[0]! : rest.join('.');
  switch (head) {
    case 'plugin_name': return rest.length === 0 ? utf8(plugin.name) : undefined;
    case 'plugin_root_id': return rest.length === 0 ? utf8(plugin.rootId) : undefined;
    case 'plugin_vm_id': return rest.length === 0 ? utf8(plugin.vmId) : undefined;
    case 'node': return nodeProperty(key);
  }
  if (!stream) return undefined;
  if (stream.omittedProperties !== undefined && stream.omittedProperties.has(path.join('.'))) return undefined;
  const filterValue = stream.filterState?.get(path.join('\u0000'));
  if (filterValue) return filterValue;
  switch (head) {
    case 'request': return requestProperty(rest, stream);
    case 'response': return responseProperty(rest, stream);
    case 'source': return addressProperty(key, stream.info.sourceAddress, stream.info.sourcePort);
    case 'destination': return addressProperty(key, stream.info.destinationAddress, stream.info.destinationPort);
    case 'connection_id': return rest.length === 0 ? int64Bytes(stream.info.connectionId) : undefined;
    case 'filter_state': return stream.filterState?.get(rest.join('\u0000'));
    default: return undefined;
  }
}

function nodeProperty(key: string): Bytes | undefined {
  if (key === 'id') return utf8('acpw-local-host');
  if (key === 'cluster') return utf8('acpw-local');
  return undefined;
}

function addressProperty(key: string, address: string, port: number): Bytes | undefined {
  if (key === 'address') return utf8(`${address}:${port}`);
  if (key === 'port') return int64Bytes(port);
  return undefined;
}

function headerBytes(headers: StreamState['requestHeaders'], name: string): Bytes | undefined {
  const v = headers?.get(name);
  return v === undefined ? undefined : utf8(v);
}

function requestProperty(rest: readonly string[], stream: StreamState): Bytes | undefined {
  const headers = stream.requestHeaders;
  // request.time is read on every request by the sender: answered before anything else is made
  if (rest[0] === 'time' && rest.length === 1) return msToNsBytes(stream.info.startTimeMs);
  const header = (name: string): Bytes | undefined => headerBytes(headers, name);
  switch (rest[0]) {
    case 'path': return header(':path');
    case 'url_path': {
      const p = headers?.get(':path');
      return p === undefined ? undefined : utf8(p.split('?')[0]!);
    }
    case 'host': return header(':authority');
    case 'scheme': return header(':scheme');
    case 'method': return header(':method');
    case 'referer': return header('referer');
    case 'useragent': return header('user-agent');
    case 'id': return utf8(stream.info.requestId ??= randomUUID());
    case 'protocol': return utf8(stream.info.protocol);
    case 'time': return msToNsBytes(stream.info.startTimeMs);
    // Envoy: time until the request was fully received (StreamInfo::requestComplete), not the stream's.
    case 'duration': return stream.info.requestDurationMs === undefined ? undefined : msToNsBytes(stream.info.requestDurationMs);
    case 'size': return int64Bytes(stream.requestBody?.byteLength ?? 0);
    case 'total_size': return int64Bytes((headers?.byteSize() ?? 0) + (stream.requestBody?.byteLength ?? 0));
    case 'headers':
      if (rest.length === 1) return headers ? serializePairs(headers.toFlat()) : EMPTY_BYTES;
      return rest.length === 2 ? header(rest[1]!) : undefined;
    default: return undefined;
  }
}

function responseProperty(rest: readonly string[], stream: StreamState): Bytes | undefined {
  const headers = stream.responseHeaders;
  switch (rest[0]) {
    case 'code': {
      const status = headers?.get(':status');
      return status === undefined ? undefined : int64Bytes(Number(status));
    }
    case 'code_details': return utf8(stream.info.responseCodeDetails);
    case 'flags': return int64Bytes(0);
    case 'size': return int64Bytes(stream.responseBody?.byteLength ?? 0);
    case 'total_size': return int64Bytes((headers?.byteSize() ?? 0) + (stream.responseBody?.byteLength ?? 0));
    case 'headers':
      if (rest.length === 1) return headers ? serializePairs(headers.toFlat()) : EMPTY_BYTES;
      if (rest.length === 2) {
        const v = headers?.get(rest[1]!);
        return v === undefined ? undefined : utf8(v);
      }
      return undefined;
    case 'trailers':
      return stream.responseTrailers ? serializePairs(stream.responseTrailers.toFlat()) : EMPTY_BYTES;
    default: return undefined;
  }
}
