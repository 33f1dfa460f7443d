// Dimension values CloudWatch accepts: 1-1024 printable ASCII characters, not only whitespace.
// The sender cleans values once, before aggregating, so keys and messages are already valid and
// bounded in size.

export const OVERFLOW_VALUE = '_overflow';
export const UNKNOWN_VALUE = '_unknown';
/** Longer values are cut: bounds memory per series (CloudWatch's own limit is 1024). */
export const MAX_DIMENSION_VALUE_LENGTH = 256;

const NOT_PRINTABLE_ASCII = /[^\x20-\x7e]/g;
const HAS_NON_SPACE = /[^ ]/;

export function cleanDimensionValue(value: string | undefined): string {
  if (value === undefined || value === '') return UNKNOWN_VALUE;
  let result = value.length > MAX_DIMENSION_VALUE_LENGTH ? value.slice(0, MAX_DIMENSION_VALUE_LENGTH) : value;
  NOT_PRINTABLE_ASCII.lastIndex = 0;
  if (NOT_PRINTABLE_ASCII.test(result)) {
    NOT_PRINTABLE_ASCII.lastIndex = 0;
    result = result.replace(NOT_PRINTABLE_ASCII, '?');
  }
  return HAS_NON_SPACE.test(result) ? result : UNKNOWN_VALUE;
}
