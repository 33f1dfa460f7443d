// Decoding of the header query wire form (src/abi/wire.ts encodes it; table.ts 'header_query'
// defines it), for hosts serving the composite getHeaderMapsValues in-process. The Wasm bridge
// decodes the same form in WAT (shims/gen-bridge.mjs).

import { HEADER_QUERY_AGE_MARK, MAX_QUERY_MAP_TYPE, type MapType } from '../../src/abi/index.js';

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

/** The entries of a query's wire form; undefined when malformed. */
export function parseHeaderQuery(query: string): [MapType, string][] | undefined {
  if (query === '') return [];
  const entries: [MapType, string][] = [];
  for (const entry of query.split('\0')) {
    const mapType = entry.charCodeAt(0) - 48;
    if (!(mapType >= 0 && mapType <= MAX_QUERY_MAP_TYPE)) return undefined;
    entries.push([mapType as MapType, entry.slice(1)]);
  }
  return entries;
}
