// `match_hosts`: which `:authority` values the sender records. Exact names compare
// case-insensitively; `*.example.com` matches any subdomain of example.com (not example.com
// itself); `*` matches everything. A port in the authority is ignored, so "example.com"
// also matches "example.com:18000" (and the full "host:port" form can be listed as well).

export type HostMatcher = (authority: string) => boolean;

const CACHE_LIMIT = 1024;

/** Host part of an authority: "[::1]:80" → "[::1]", "example.com:80" → "example.com". */
export function hostWithoutPort(authority: string): string {
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    return close < 0 ? authority : authority.slice(0, close + 1);
  }
  const colon = authority.lastIndexOf(':');
  return colon < 0 || authority.indexOf(':') !== colon ? authority : authority.slice(0, colon);
}

export function createHostMatcher(patterns: readonly string[]): HostMatcher {
  if (patterns.length === 0 || patterns.includes('*')) return () => true;
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const pattern of patterns) {
    const lower = pattern.trim().toLowerCase();
    if (lower.startsWith('*.')) suffixes.push(lower.slice(1)); // keeps the dot: ".example.com"
    else exact.add(lower);
  }
  const matchesName = (name: string): boolean => {
    if (exact.has(name)) return true;
    for (const suffix of suffixes) {
      if (name.length > suffix.length && name.endsWith(suffix)) return true;
    }
    return false;
  };
  // Real traffic has few distinct authorities: remember answers, bounded so a spray of random
  // Host headers cannot grow it.
  const cache = new Map<string, boolean>();
  return (authority: string): boolean => {
    const cached = cache.get(authority);
    if (cached !== undefined) return cached;
    const lower = authority.toLowerCase();
    const matched = matchesName(lower) || matchesName(hostWithoutPort(lower));
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(authority, matched);
    return matched;
  };
}
