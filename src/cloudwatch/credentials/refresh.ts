// When to refresh role credentials, and how long to wait after a failed fetch. Pure.

/** Credentials are not used this close to their expiry: a request signed now must still arrive in time. */
export const EXPIRY_MARGIN_MS = 5_000;
/** Share of the refresh lead added as random jitter, so a fleet does not refresh in step. */
const JITTER_SHARE = 0.2;
const MIN_REFRESH_DELAY_MS = 1_000;
export const RETRY_BASE_MS = 250;
export const RETRY_CAP_MS = 30_000;

/**
 * When to fetch fresh credentials: `aheadMs` (plus up to 20 % jitter) before they stop being
 * usable (EXPIRY_MARGIN_MS before their expiry). When
 * they live shorter than that lead (e.g. a 15-minute session with a 5-minute lead is fine, a
 * 2-minute one is not), refresh in the middle of their remaining life instead.
 */
export function refreshAtMs(nowMs: number, expirationMs: number, aheadMs: number, random: () => number): number {
  const lifetime = expirationMs - EXPIRY_MARGIN_MS - nowMs; // how long they can still sign
  const lead = aheadMs * (1 + JITTER_SHARE * random());
  const delay = lifetime > 2 * lead ? lifetime - lead : (lifetime / 2) * (1 - JITTER_SHARE * random());
  return nowMs + Math.max(MIN_REFRESH_DELAY_MS, Math.floor(delay));
}

/** Whether credentials expiring at `expirationMs` may still sign a request at `nowMs`. */
export function usable(nowMs: number, expirationMs: number): boolean {
  return nowMs < expirationMs - EXPIRY_MARGIN_MS;
}

/** Delay before retry `attempt` (1-based): exponential with "equal jitter", capped. */
export function retryDelayMs(attempt: number, random: () => number): number {
  const ceiling = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** Math.min(attempt - 1, 20));
  return Math.floor(ceiling / 2 + (ceiling / 2) * random());
}
