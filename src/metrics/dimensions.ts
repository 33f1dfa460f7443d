// Dimension values CloudWatch accepts: 1-1024 printable ASCII characters, not only whitespace.
// The sender cleans values once, before aggregating, so keys and messages are already valid and
// bounded in size.

export const OVERFLOW_VALUE = '_overflow';
export const UNKNOWN_VALUE = '_unknown';
/** Longer values are cut: bounds memory per series (CloudWatch's own limit is 1024). */
export const MAX_DIMENSION_VALUE_LENGTH = 256;

// The common case in one test: printable ASCII, not starting with a space.
const ALREADY_CLEAN = /^[\x21-\x7e][\x20-\x7e]*$/;
const NOT_PRINTABLE_ASCII = /[^\x20-\x7e]/;
const HAS_NON_SPACE = /[^ ]/;

/**
 * The hot-path part of cleaning: a value for a key, bounded in length (memory per series);
 * cleanDimensionValue finishes the job once per series.
 */
export function boundDimensionValue(value: string | undefined): string {
  if (value === undefined || value === '') return UNKNOWN_VALUE;
  return value.length > MAX_DIMENSION_VALUE_LENGTH ? value.slice(0, MAX_DIMENSION_VALUE_LENGTH) : value;
}

export function cleanDimensionValue(value: string | undefined): string {
  if (value === undefined || value === '') return UNKNOWN_VALUE;
  if (value.length <= MAX_DIMENSION_VALUE_LENGTH && ALREADY_CLEAN.test(value)) return value;
  let result = value.length > MAX_DIMENSION_VALUE_LENGTH ? value.slice(0, MAX_DIMENSION_VALUE_LENGTH) : value;
  if (NOT_PRINTABLE_ASCII.test(result)) result = result.replace(/[^\x20-\x7e]/g, '?');
  return HAS_NON_SPACE.test(result) ? result : UNKNOWN_VALUE;
}

const STATUS_CODE = /^[1-9]\d\d$/;

/** The `status_class` dimension: "200" → "2xx"; placeholders and non-codes stay as they are. */
export function statusClass(status: string): string {
  return STATUS_CODE.test(status) ? `${status[0]}xx` : status;
}
