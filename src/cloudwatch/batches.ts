// Splitting datums into PutMetricData calls: at most 1,000 datums and 1 MB of body each.

export const MAX_DATUMS_PER_CALL = 1000;
/** The API limit is 1 MB (1,048,576 bytes) per request; stay a little under it. */
export const MAX_BODY_BYTES = 1_000_000;

export interface PutBatch {
  /** The JSON request body. */
  readonly body: string;
  readonly datums: number;
  /** Byte length of `body` in UTF-8. */
  readonly bytes: number;
  /** The datums' JSON texts, so held batches can be merged into fewer calls (mergeBatches). */
  readonly parts?: readonly string[];
}

/** A batch that keeps its datums and builds its body when sent (held data is not stored twice). */
class DatumBatch implements PutBatch {
  constructor(private readonly head: string, readonly parts: readonly string[], readonly bytes: number) {}
  get datums(): number {
    return this.parts.length;
  }
  get body(): string {
    return `${this.head}${this.parts.join(',')}]}`;
  }
}

const NON_ASCII = /[^\x00-\x7f]/;

export function utf8Length(text: string): number {
  if (!NON_ASCII.test(text)) return text.length;
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

export function splitIntoBatches(
  namespace: string,
  datums: readonly string[],
  maxDatums: number = MAX_DATUMS_PER_CALL,
  maxBytes: number = MAX_BODY_BYTES,
): PutBatch[] {
  const head = `{"Namespace":${JSON.stringify(namespace)},"MetricData":[`;
  const tail = ']}';
  const overhead = utf8Length(head) + tail.length;
  const batches: PutBatch[] = [];
  let parts: string[] = [];
  let bytes = overhead;
  const close = (): void => {
    if (parts.length === 0) return;
    batches.push(new DatumBatch(head, parts, bytes));
    parts = [];
    bytes = overhead;
  };
  // A single datum is a few KB at most (≤ 149 values, bounded names), far under maxBytes.
  for (const datum of datums) {
    const size = utf8Length(datum);
    if (parts.length > 0 && (parts.length >= maxDatums || bytes + 1 + size > maxBytes)) close();
    bytes += size + (parts.length > 0 ? 1 : 0);
    parts.push(datum);
  }
  close();
  return batches;
}

/**
 * Held batches (e.g. parked during an outage, one or more per window) re-split into as few calls
 * as the limits allow, oldest datums first. Batches without parts are kept as they are.
 */
export function mergeBatches(namespace: string, batches: readonly PutBatch[]): PutBatch[] {
  const kept: PutBatch[] = [];
  const parts: string[] = [];
  for (const batch of batches) {
    if (batch.parts === undefined) kept.push(batch);
    else for (const part of batch.parts) parts.push(part);
  }
  return [...kept, ...splitIntoBatches(namespace, parts)];
}
