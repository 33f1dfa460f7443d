// Latency buckets shared by sender and receiver: one fixed, global set of 149 bucket indices, so
// merging any number of senders' histograms still yields at most 149 distinct values per datum
// (CloudWatch accepts 150 in Values/Counts).
//
// Bucket 0 holds latencies below MIN_MS (reported as 0). Buckets 1..148 are logarithmic from
// MIN_MS to MAX_MS (ratio ~1.106, so a reported value is within ~5% of the true one); latencies
// of MAX_MS and more land in the last bucket. Each bucket reports its geometric middle, rounded
// to 3 significant digits to keep the JSON short.

export const LATENCY_BUCKET_COUNT = 149;
export const LATENCY_MIN_MS = 0.1;
export const LATENCY_MAX_MS = 300_000;

const LOG_BUCKETS = LATENCY_BUCKET_COUNT - 1;
const LOG_MIN = Math.log(LATENCY_MIN_MS);
const LOG_RATIO = (Math.log(LATENCY_MAX_MS) - LOG_MIN) / LOG_BUCKETS;
/**
 * latencyBucket's formula, for a hot path that inlines it (a call costs ~0.2 µs in QuickJS):
 * for ms >= LATENCY_MIN_MS, x = (Math.log(ms) - LATENCY_LOG_MIN) / LATENCY_LOG_RATIO, then
 * bucket = x >= LATENCY_BUCKET_COUNT - 1 ? LATENCY_BUCKET_COUNT - 1 : (x | 0) + 1.
 */
export const LATENCY_LOG_MIN = LOG_MIN;
export const LATENCY_LOG_RATIO = LOG_RATIO;

function roundSignificant(value: number, digits: number): number {
  return Number(value.toPrecision(digits));
}

/** Lower bound (inclusive) of bucket i, for i in 1..148. */
export function bucketLowerBoundMs(index: number): number {
  return index === 0 ? 0 : Math.exp(LOG_MIN + (index - 1) * LOG_RATIO);
}

const REPRESENTATIVE: readonly number[] = (() => {
  const values: number[] = [0];
  for (let i = 1; i <= LOG_BUCKETS; i++) {
    values.push(roundSignificant(Math.exp(LOG_MIN + (i - 0.5) * LOG_RATIO), 3));
  }
  return values;
})();

/** The bucket index (0..148) for a latency in milliseconds; NaN and negatives count as 0. */
export function latencyBucket(ms: number): number {
  if (!(ms >= LATENCY_MIN_MS)) return 0;
  const x = (Math.log(ms) - LOG_MIN) / LOG_RATIO;
  // x >= 0 here; `| 0` is Math.floor without a call (x < LOG_BUCKETS < 2^31)
  return x >= LOG_BUCKETS ? LOG_BUCKETS : (x | 0) + 1;
}

/** The value (milliseconds) a bucket reports to CloudWatch. */
export function bucketValueMs(index: number): number {
  return REPRESENTATIVE[index] ?? 0;
}

/**
 * A sparse histogram over bucket indices: parallel arrays kept in ascending bucket order, because
 * a series usually sees a few dozen buckets (a dense array of counts per series would cost ~1 KB
 * each at 10,000 series) and publishing then needs no sort. A 149-byte slot table (bucket → its
 * slot + 1) makes the per-request `add` a typed-array read instead of a search (QuickJS: an
 * indexOf costs ~0.25 µs); new buckets, which shift slots, are rare next to increments.
 */
export class LatencyHistogram {
  private readonly indices: number[] = [];
  /**
   * Counts, parallel to the bucket indices. With `slots`, read by the sender aggregator's hot path
   * to count a bucket already in use without a call (QuickJS: ~0.2 µs per call); only `add` and
   * `clear` change which buckets are in use.
   */
  readonly counts: number[] = [];
  /** slots[bucket] = 1 + its position in indices/counts; 0 = not in use. Made on first add. */
  slots: Uint8Array | undefined;

  /** Adds `count` to a bucket; returns true when the bucket was not in use before. */
  add(bucket: number, count: number): boolean {
    const slots = this.slots ??= new Uint8Array(LATENCY_BUCKET_COUNT);
    const slot = slots[bucket];
    if (slot === undefined) throw new RangeError(`latency bucket ${bucket} is outside 0..${LATENCY_BUCKET_COUNT - 1}`);
    if (slot !== 0) {
      this.counts[slot - 1]! += count;
      return false;
    }
    const indices = this.indices;
    let at = indices.length;
    while (at > 0 && indices[at - 1]! > bucket) at--;
    if (at === indices.length) {
      indices.push(bucket);
      this.counts.push(count);
    } else {
      indices.splice(at, 0, bucket);
      this.counts.splice(at, 0, count);
    }
    for (let i = at; i < indices.length; i++) slots[indices[i]!] = i + 1;
    return true;
  }

  /** Number of distinct buckets in use. */
  get size(): number {
    return this.indices.length;
  }

  /** Total count over all buckets. */
  total(): number {
    let sum = 0;
    for (const c of this.counts) sum += c;
    return sum;
  }

  /** Flat [bucket, count, bucket, count, ...] in ascending bucket order. */
  toFlat(): number[] {
    const flat: number[] = new Array(this.indices.length * 2);
    for (let i = 0; i < this.indices.length; i++) {
      flat[2 * i] = this.indices[i]!;
      flat[2 * i + 1] = this.counts[i]!;
    }
    return flat;
  }

  /** CloudWatch Values/Counts as JSON array texts (milliseconds), ascending. */
  toValuesAndCountsJson(): { values: string; counts: string } {
    let values = '[';
    for (let i = 0; i < this.indices.length; i++) values += (i > 0 ? ',' : '') + bucketValueMs(this.indices[i]!);
    return { values: values + ']', counts: `[${this.counts.join(',')}]` };
  }

  /** CloudWatch Values/Counts (milliseconds), ascending. */
  toValuesAndCounts(): { values: number[]; counts: number[] } {
    return { values: this.indices.map(bucketValueMs), counts: this.counts.slice() };
  }

  clear(): void {
    const slots = this.slots;
    if (slots !== undefined) for (const bucket of this.indices) slots[bucket] = 0;
    this.indices.length = 0;
    this.counts.length = 0;
  }
}
