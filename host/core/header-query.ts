// Decoding of the header query wire form (src/abi/wire.ts encodes it; table.ts 'header_query'
// defines it), for hosts serving the composite getHeaderMapsValues in-process. The Wasm bridge
// decodes the same form in WAT (shims/gen-bridge.mjs).

import { MAX_QUERY_MAP_TYPE, type MapType } from '../../src/abi/index.js';

// the SDK's log capture splits a query too: the split is the ABI's (wire.ts)
export { splitAgeEntry } from '../../src/abi/index.js';

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
