// Retry timing and budget of the AWS SDKs' standard mode:
//  - delay = random[0,1) × min(20 s, base × 2^attempt), base 100 ms (500 ms after throttling);
//  - a retry quota of 500 tokens shared by all calls: a retry costs 5 (10 after a timeout or
//    no answer), a success refunds what its retries cost or adds 1; no tokens, no retry.

export const BASE_DELAY_MS = 100;
export const THROTTLING_BASE_DELAY_MS = 500;
export const MAX_DELAY_MS = 20_000;
export const INITIAL_RETRY_TOKENS = 500;
export const RETRY_COST = 5;
export const TIMEOUT_RETRY_COST = 10;
export const NO_RETRY_INCREMENT = 1;

export function backoffDelayMs(retryNumber: number, throttling: boolean, random: () => number): number {
  const base = throttling ? THROTTLING_BASE_DELAY_MS : BASE_DELAY_MS;
  const ceiling = Math.min(MAX_DELAY_MS, base * 2 ** Math.max(0, retryNumber - 1));
  return Math.floor(random() * ceiling);
}

export class RetryQuota {
  private tokens = INITIAL_RETRY_TOKENS;

  get available(): number {
    return this.tokens;
  }

  /** Takes the cost of one retry; returns the cost taken, or 0 when the quota is exhausted. */
  acquire(noResponse: boolean): number {
    const cost = noResponse ? TIMEOUT_RETRY_COST : RETRY_COST;
    if (this.tokens < cost) return 0;
    this.tokens -= cost;
    return cost;
  }

  /** After a success: refund what its retries took, or add the no-retry increment. */
  release(costTaken: number): void {
    this.tokens = Math.min(INITIAL_RETRY_TOKENS, this.tokens + (costTaken > 0 ? costTaken : NO_RETRY_INCREMENT));
  }
}
