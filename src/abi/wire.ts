// Wire encodings of the ABI that the SDK writes and hosts read: property paths (segments joined
// by NUL) and header queries (table.ts 'header_query'). The encoders live here, and splitAgeEntry
// (the SDK's log capture needs a query's shape too); the hosts' decoders are in
// host/core/header-query.ts, so each side is checked against the other.

import { HEADER_QUERY_AGE_MARK, MapType } from './table.js';

/** The ABI's property path wire form: segments joined by NUL. */
export function propertyPath(path: readonly string[]): string {
  return path.join('\0');
}

/** The last map type a query entry can name (one digit on the wire). */
export const MAX_QUERY_MAP_TYPE = MapType.HttpCallResponseTrailers;

/** One entry of a header query: which map, which header. */
export type HeaderQueryEntry = readonly [MapType, string];

/** One `string | undefined` per entry: what a header query answers, in the entries' order. */
export type HeaderValues<E extends readonly HeaderQueryEntry[]> = { -readonly [I in keyof E]: string | undefined };

/**
 * Headers of several maps to read in one crossing (headerQuery); build it once, reuse it.
 * `A` is the answer's type (a tuple with one element per entry).
 */
export type HeaderQuery<A extends readonly unknown[] = (string | undefined)[]> = string & { readonly __headerQuery: A };

/**
 * A header query ending with an age entry (headerAgeQuery): its answer `A` holds the headers,
 * then the ns elapsed since the age property (undefined when absent or unset).
 */
export type HeaderAgeQuery<A extends readonly unknown[] = (string | number | undefined)[]> = string & { readonly __headerAgeQuery: A };

/**
 * A header query (table.ts 'header_query'): entries [mapType, name], read in order by
 * getHeaderMapsValues. Throws a TypeError naming the bad entry.
 */
export function headerQuery<const E extends readonly HeaderQueryEntry[]>(entries: E): HeaderQuery<HeaderValues<E>> {
  return entries.map(([mapType, name], i) => {
    if (!Number.isInteger(mapType) || mapType < 0 || mapType > MAX_QUERY_MAP_TYPE) {
      throw new TypeError(`headerQuery: entry ${i} (${JSON.stringify(name)}) has map type ${String(mapType)}, not 0..${MAX_QUERY_MAP_TYPE}`);
    }
    if (typeof name !== 'string' || name === '' || name.includes('\0')) {
      throw new TypeError(`headerQuery: entry ${i} has an empty name or one containing NUL: ${JSON.stringify(name)}`);
    }
    return String.fromCharCode(48 + mapType) + name;
  }).join('\0') as HeaderQuery<HeaderValues<E>>;
}

/**
 * A header query plus, last, the age entry of a timestamp property (table.ts 'header_query'):
 * getHeaderMapsValues returns the headers, then the ns since that property by the host clock, all
 * in one crossing (e.g. a stream's headers and its latency, ['request', 'time'], at onLog).
 * The answer is typed: `[...one string | undefined per entry, age: number | undefined]`.
 * Throws a TypeError naming the bad entry or path.
 */
export function headerAgeQuery<const E extends readonly HeaderQueryEntry[]>(
  entries: E, agePath: readonly string[],
): HeaderAgeQuery<[...HeaderValues<E>, ageNs: number | undefined]> {
  if (agePath.length === 0 || agePath.some((segment) => typeof segment !== 'string' || segment === '' || segment.includes('\0'))) {
    throw new TypeError(`headerAgeQuery: the age property path needs non-empty segments without NUL: ${JSON.stringify(agePath)}`);
  }
  const headers: string = headerQuery(entries);
  return `${headers}${headers === '' ? '' : '\0'}${HEADER_QUERY_AGE_MARK}${propertyPath(agePath)}` as HeaderAgeQuery<[...HeaderValues<E>, number | undefined]>;
}

/**
 * A query's wire form split at its age entry: the header entries' part (for parseHeaderQuery)
 * and the age property's path, or undefined without one.
 */
export function splitAgeEntry(query: string): [headers: string, agePath: string | undefined] {
  if (query.startsWith(HEADER_QUERY_AGE_MARK)) return ['', query.slice(1)];
  // header names hold no NUL and entries start with a digit: the first NUL + mark starts the age entry
  const at = query.indexOf(`\0${HEADER_QUERY_AGE_MARK}`);
  return at < 0 ? [query, undefined] : [query.slice(0, at), query.slice(at + 2)];
}
