// The synthetic traffic every module sees: what curl through Envoy to a matched host looks like,
// cycling over ten paths (each with a query string to strip) so the sender keeps ten series.

/** A header list in wire order, pseudo-headers included (`:status` for a response). */
export type HeaderList = readonly (readonly [string, string])[];

export const MATCH_HOST = 'example.com';
export const PATH_COUNT = 10;

function request(path: string): HeaderList {
  return [
    [':authority', MATCH_HOST],
    [':path', path],
    [':method', 'GET'],
    [':scheme', 'http'],
    ['user-agent', 'curl/8.5.0'],
    ['accept', '*/*'],
    ['x-forwarded-proto', 'http'],
    ['x-request-id', '0b5bd5a4-3c47-4d53-9a6f-4f1b2b0c6b7e'],
  ];
}

export const REQUESTS: readonly HeaderList[] = Array.from({ length: PATH_COUNT },
  (_, i) => request(`/api/items/${i}?session=abc${i}&page=2`));

export const RESPONSE: HeaderList = [
  [':status', '200'],
  ['content-type', 'text/plain'],
  ['content-length', '2'],
  ['date', 'Fri, 27 Nov 2026 01:00:00 GMT'],
  ['server', 'envoy'],
];

/** Requests with `count` distinct paths: feeds a sender so its tick carries that many series. */
export function distinctRequests(count: number): HeaderList[] {
  return Array.from({ length: count }, (_, i) => request(`/series/${i}?q=1`));
}
