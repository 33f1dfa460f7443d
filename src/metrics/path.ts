// Turning a request's `:path` into a bounded, privacy-safe `path` dimension value.

export interface PathOptions {
  /** Drop everything from the first '?' (and any '#'): query strings carry ids and tokens. */
  readonly stripQueryString: boolean;
  /** Replace numeric, UUID and long hex segments with `{id}`. */
  readonly normalizeIds: boolean;
}

export const ID_PLACEHOLDER = '{id}';

const NUMERIC = /^\d+$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
// At least 8 hex characters with at least one digit: object ids and hashes, not words like "facade".
const HEX_ID = /^(?=[a-fA-F]*\d)[0-9a-fA-F]{8,}$/;

export function isIdSegment(segment: string): boolean {
  return NUMERIC.test(segment) || UUID.test(segment) || HEX_ID.test(segment);
}

function stripQuery(path: string): string {
  let end = path.indexOf('?');
  const hash = path.indexOf('#');
  if (hash >= 0 && (end < 0 || hash < end)) end = hash;
  return end < 0 ? path : path.slice(0, end);
}

function replaceIdSegments(path: string): string {
  // Only the part before any query string is split into segments.
  const queryStart = path.indexOf('?');
  const base = queryStart < 0 ? path : path.slice(0, queryStart);
  const segments = base.split('/');
  let changed = false;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    if (segment !== '' && isIdSegment(segment)) {
      segments[i] = ID_PLACEHOLDER;
      changed = true;
    }
  }
  if (!changed) return path;
  const joined = segments.join('/');
  return queryStart < 0 ? joined : joined + path.slice(queryStart);
}

export function normalizePath(path: string, options: PathOptions): string {
  let result = options.stripQueryString ? stripQuery(path) : path;
  if (options.normalizeIds) result = replaceIdSegments(result);
  return result;
}

/** normalizePath with the options fixed: the per-request form (no option checks). */
export function pathNormalizer(options: PathOptions): (path: string) => string {
  if (options.normalizeIds) return (path) => normalizePath(path, options);
  if (options.stripQueryString) return stripQuery;
  return (path) => path;
}
