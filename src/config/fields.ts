// Reading typed keys out of a parsed JSON configuration object, collecting every problem at once.
// Messages name the key and the expected type; values are echoed only for keys not marked
// secret, so a credential can never end up in a log line.

export type JsonObject = Readonly<Record<string, unknown>>;

/** Looks up an environment variable; undefined (or '') when unset. */
export type EnvLookup = (name: string) => string | undefined;

export type ConfigResult<T> =
  | { readonly ok: true; readonly config: T; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly errors: readonly string[]; readonly warnings: readonly string[] };

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number' && !Number.isInteger(value)) return 'a non-integer number';
  return `a ${typeof value}`;
}

function shown(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * Parses the raw plugin configuration text into a JSON object.
 * The engine's JSON error text is not reused: V8 quotes the input, which may hold secrets.
 */
export function parseJsonObject(text: string | undefined, what: string): JsonObject | string {
  const trimmed = (text ?? '').trim();
  if (trimmed === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch (error) {
    const position = /position (\d+)/.exec(error instanceof Error ? error.message : '');
    return `${what} is not valid JSON${position ? ` (error near position ${position[1]})` : ''}`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return `${what} must be a JSON object, got ${describeType(value)}`;
  }
  return value as JsonObject;
}

/** Collects errors and warnings while the typed readers pull keys out of one object. */
export class FieldReader {
  readonly errors: string[] = [];
  readonly warnings: string[] = [];
  private readonly seen = new Set<string>();

  constructor(private readonly source: JsonObject, private readonly secretKeys: ReadonlySet<string> = new Set()) {}

  private raw(key: string): unknown {
    this.seen.add(key);
    return Object.prototype.hasOwnProperty.call(this.source, key) ? this.source[key] : undefined;
  }

  private fail(key: string, problem: string, value?: unknown): void {
    const echo = value !== undefined && !this.secretKeys.has(key) ? ` (got ${shown(value)})` : '';
    this.errors.push(`configuration key "${key}" ${problem}${echo}`);
  }

  private wrongType(key: string, expected: string, value: unknown): void {
    this.errors.push(`configuration key "${key}" must be ${expected}, got ${describeType(value)}`);
  }

  /** A string; `fallback` (e.g. from the environment) applies when the key is absent or null. */
  string(key: string, options: { required?: boolean; fallback?: string; default?: string; pattern?: RegExp; patternHint?: string; maxLength?: number } = {}): string | undefined {
    const value = this.raw(key);
    if (value === undefined || value === null) {
      if (options.fallback !== undefined && options.fallback !== '') return options.fallback;
      if (options.default !== undefined) return options.default;
      if (options.required) this.fail(key, 'is required');
      return undefined;
    }
    if (typeof value !== 'string') {
      this.wrongType(key, 'a string', value);
      return undefined;
    }
    if (value === '') {
      if (options.fallback !== undefined && options.fallback !== '') return options.fallback;
      if (options.required) this.fail(key, 'must not be empty');
      else if (options.default !== undefined) return options.default;
      return undefined;
    }
    if (options.maxLength !== undefined && value.length > options.maxLength) {
      this.fail(key, `must be at most ${options.maxLength} characters`);
      return undefined;
    }
    if (options.pattern && !options.pattern.test(value)) {
      this.fail(key, `must be ${options.patternHint ?? `a string matching ${options.pattern}`}`, value);
      return undefined;
    }
    return value;
  }

  /** The raw value of a key with a shape of its own (checked by the caller); marks it as known. */
  value(key: string): unknown {
    return this.raw(key);
  }

  boolean(key: string, defaultValue: boolean): boolean {
    const value = this.raw(key);
    if (value === undefined || value === null) return defaultValue;
    if (typeof value !== 'boolean') {
      this.wrongType(key, 'a boolean (true or false)', value);
      return defaultValue;
    }
    return value;
  }

  integer(key: string, defaultValue: number, options: { min?: number; max?: number; allowed?: readonly number[] } = {}): number {
    const value = this.raw(key);
    if (value === undefined || value === null) return defaultValue;
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      this.wrongType(key, 'an integer', value);
      return defaultValue;
    }
    if (options.allowed && !options.allowed.includes(value)) {
      this.fail(key, `must be one of ${options.allowed.join(', ')}`, value);
      return defaultValue;
    }
    if (options.min !== undefined && value < options.min) {
      this.fail(key, `must be at least ${options.min}`, value);
      return defaultValue;
    }
    if (options.max !== undefined && value > options.max) {
      this.fail(key, `must be at most ${options.max}`, value);
      return defaultValue;
    }
    return value;
  }

  stringArray(key: string, defaultValue: readonly string[], options: { allowed?: readonly string[]; unique?: boolean; nonEmptyItems?: boolean } = {}): readonly string[] {
    const value = this.raw(key);
    if (value === undefined || value === null) return defaultValue;
    if (!Array.isArray(value)) {
      this.wrongType(key, 'an array of strings', value);
      return defaultValue;
    }
    const items: string[] = [];
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item !== 'string') {
        this.errors.push(`configuration key "${key}" item ${i} must be a string, got ${describeType(item)}`);
        return defaultValue;
      }
      if (options.nonEmptyItems && item.trim() === '') {
        this.fail(`${key}`, `item ${i} must not be empty`);
        return defaultValue;
      }
      if (options.allowed && !options.allowed.includes(item)) {
        this.fail(key, `item ${i} must be one of ${options.allowed.map((a) => `"${a}"`).join(', ')}`, item);
        return defaultValue;
      }
      if (options.unique && items.includes(item)) {
        this.fail(key, `lists "${item}" twice`);
        return defaultValue;
      }
      items.push(item);
    }
    return items;
  }

  /** Adds one warning per key present in the object that no reader asked for. */
  warnUnknownKeys(): void {
    for (const key of Object.keys(this.source)) {
      if (!this.seen.has(key)) this.warnings.push(`unknown configuration key "${key}" is ignored`);
    }
  }

  result<T>(config: T): ConfigResult<T> {
    this.warnUnknownKeys();
    if (this.errors.length > 0) return { ok: false, errors: this.errors, warnings: this.warnings };
    return { ok: true, config, warnings: this.warnings };
  }
}
