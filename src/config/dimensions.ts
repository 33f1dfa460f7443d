// The receiver's dimension options beyond the per-request ones: static dimensions (the same
// name/value on every datum, e.g. {"cluster": "prod"}) and rollups (extra dimension sets
// published from the same aggregate, e.g. per host only). Checked against CloudWatch's limits
// (PutMetricData's Dimension shape: Name 1-255, Value 1-1024 characters; at most 30 dimensions
// per metric), so a bad setting stops the plugin at start rather than failing every call.

/** Dimension names a request supplies, as the wire carries them (the original's four). */
export const WIRE_DIMENSION_NAMES = ['host', 'method', 'path', 'status'] as const;
/** Every name `dimensions` and `rollups` may list: the four plus `status_class` (2xx, 4xx, ...). */
export const DIMENSION_CHOICES = [...WIRE_DIMENSION_NAMES, 'status_class'] as const;
export type DimensionName = (typeof DIMENSION_CHOICES)[number];

export const MAX_DIMENSIONS_PER_METRIC = 30;
export const MAX_DIMENSION_NAME_LENGTH = 255;
export const MAX_STATIC_DIMENSION_VALUE_LENGTH = 1024;
/** Each rollup multiplies datums and metrics: a handful is what dashboards need. */
export const MAX_ROLLUPS = 10;

export interface StaticDimension {
  readonly name: string;
  readonly value: string;
}

export interface DimensionOptions {
  readonly staticDimensions: readonly StaticDimension[];
  readonly rollups: readonly (readonly DimensionName[])[];
}

// CloudWatch: ASCII, at least one non-whitespace character; names must not start with ':'.
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const HAS_NON_SPACE = /[^ ]/;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function quoted(text: string): string {
  const json = JSON.stringify(text);
  return json.length > 60 ? `${json.slice(0, 57)}..."` : json;
}

function checkText(text: string, max: number, what: string): string | undefined {
  if (text.length === 0) return `${what} must not be empty`;
  if (text.length > max) return `${what} must be at most ${max} characters (got ${text.length})`;
  if (!PRINTABLE_ASCII.test(text)) return `${what} must be printable ASCII`;
  if (!HAS_NON_SPACE.test(text)) return `${what} must not be only spaces`;
  return undefined;
}

/**
 * `static_dimensions`: a JSON object of name → value. `dimensions` is the configured per-request
 * set (for the 30-dimension limit). Errors name the key and the entry.
 */
export function parseStaticDimensions(raw: unknown, dimensions: readonly DimensionName[], errors: string[]): StaticDimension[] {
  const key = 'configuration key "static_dimensions"';
  if (raw === undefined || raw === null) return [];
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    errors.push(`${key} must be an object of dimension name to value, got ${describe(raw)}`);
    return [];
  }
  const out: StaticDimension[] = [];
  const before = errors.length;
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    const entry = `${key} entry ${quoted(name)}`;
    const nameProblem = checkText(name, MAX_DIMENSION_NAME_LENGTH, 'its name');
    if (nameProblem !== undefined) {
      errors.push(`${entry}: ${nameProblem}`);
      continue;
    }
    if (name.startsWith(':')) {
      errors.push(`${entry}: its name must not start with ":" (CloudWatch rejects it)`);
      continue;
    }
    const builtIn = DIMENSION_CHOICES.find((b) => b === name.toLowerCase());
    if (builtIn !== undefined) {
      errors.push(`${entry}: collides with the built-in dimension "${builtIn}" (choose another name)`);
      continue;
    }
    if (typeof value !== 'string') {
      errors.push(`${entry}: its value must be a string, got ${describe(value)}`);
      continue;
    }
    const valueProblem = checkText(value, MAX_STATIC_DIMENSION_VALUE_LENGTH, 'its value');
    if (valueProblem !== undefined) {
      errors.push(`${entry}: ${valueProblem}`);
      continue;
    }
    out.push({ name, value });
  }
  if (errors.length === before && out.length + dimensions.length > MAX_DIMENSIONS_PER_METRIC) {
    errors.push(
      `${key} has ${out.length} dimension(s); with the ${dimensions.length} of "dimensions" that is `
      + `${out.length + dimensions.length}, over CloudWatch's ${MAX_DIMENSIONS_PER_METRIC} per metric`,
    );
  }
  return out;
}

/** `rollups`: an array of dimension sets, each a subset of `dimensions`, distinct from it and from each other. */
export function parseRollups(raw: unknown, dimensions: readonly DimensionName[], errors: string[]): DimensionName[][] {
  const key = 'configuration key "rollups"';
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    errors.push(`${key} must be an array of dimension-name arrays (e.g. [["host"]]), got ${describe(raw)}`);
    return [];
  }
  if (raw.length > MAX_ROLLUPS) {
    errors.push(`${key} must have at most ${MAX_ROLLUPS} items (got ${raw.length})`);
    return [];
  }
  const setKey = (names: readonly string[]): string => [...names].sort().join(',');
  const seen = new Map<string, number>([[setKey(dimensions), -1]]);
  const out: DimensionName[][] = [];
  for (let i = 0; i < raw.length; i++) {
    const item: unknown = raw[i];
    const where = `${key} item ${i}`;
    if (!Array.isArray(item)) {
      errors.push(`${where} must be an array of dimension names, got ${describe(item)}`);
      continue;
    }
    const names: DimensionName[] = [];
    let bad = false;
    for (const name of item as unknown[]) {
      if (typeof name !== 'string' || !(dimensions as readonly string[]).includes(name)) {
        errors.push(
          `${where} lists ${typeof name === 'string' ? quoted(name) : describe(name)}, which is not in "dimensions" `
          + `([${dimensions.map((d) => `"${d}"`).join(', ')}]): a rollup publishes a subset of them`,
        );
        bad = true;
        break;
      }
      if ((names as string[]).includes(name)) {
        errors.push(`${where} lists "${name}" twice`);
        bad = true;
        break;
      }
      names.push(name as DimensionName);
    }
    if (bad) continue;
    const previous = seen.get(setKey(names));
    if (previous !== undefined) {
      errors.push(previous < 0
        ? `${where} is the same set as "dimensions" (already published)`
        : `${where} is the same set as item ${previous}`);
      continue;
    }
    seen.set(setKey(names), i);
    out.push(names);
  }
  return out;
}

/** The options part of the `configured` log line (names and values are not secrets). */
export function describeDimensionOptions(options: DimensionOptions): string {
  let text = '';
  if (options.staticDimensions.length > 0) text += ` + static {${options.staticDimensions.map((d) => `${d.name}=${d.value}`).join(', ')}}`;
  if (options.rollups.length > 0) text += `, rollups ${options.rollups.map((r) => `[${r.join(', ')}]`).join(' ')}`;
  return text;
}
