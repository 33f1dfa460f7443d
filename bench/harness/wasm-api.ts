// A typed handle on V8's WebAssembly API. The repo's lib settings (ES2023 + @types/node) do not
// declare the WebAssembly global, so the bench types the few parts it uses here, module-scoped,
// instead of adding a global declaration other code could collide with.

/** An opaque compiled module (WebAssembly.Module). */
export interface CompiledModule {
  readonly __compiledModule: unique symbol;
}

export interface ImportDescriptor {
  readonly module: string;
  readonly name: string;
  readonly kind: 'function' | 'table' | 'memory' | 'global' | 'tag';
}

export interface ExportDescriptor {
  readonly name: string;
  readonly kind: 'function' | 'table' | 'memory' | 'global' | 'tag';
}

export interface LinearMemory {
  readonly buffer: ArrayBuffer;
}

/** Host functions take and return numbers (i32/f64) or bigints (i64). */
export type HostFunction = (...args: (number | bigint)[]) => number | bigint | void;
export type ImportObject = Record<string, Record<string, HostFunction>>;
export type ExportValue = ((...args: (number | bigint)[]) => number | bigint | undefined) | LinearMemory | object;

interface WebAssemblyApi {
  Module: {
    new (bytes: Uint8Array): CompiledModule;
    imports(module: CompiledModule): ImportDescriptor[];
    exports(module: CompiledModule): ExportDescriptor[];
  };
  Instance: new (module: CompiledModule, imports: ImportObject) => { readonly exports: Record<string, ExportValue> };
  validate(bytes: Uint8Array): boolean;
}

const api = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

export function compileModule(bytes: Uint8Array): CompiledModule {
  return new api.Module(bytes);
}

export function moduleImports(module: CompiledModule): ImportDescriptor[] {
  return api.Module.imports(module);
}

export function moduleExports(module: CompiledModule): ExportDescriptor[] {
  return api.Module.exports(module);
}

/** Synchronous instantiation, so instantiate-to-ready can be timed without the event loop. */
export function instantiate(module: CompiledModule, imports: ImportObject): Record<string, ExportValue> {
  return new api.Instance(module, imports).exports;
}

export type GuestFunction = (...args: number[]) => number;

/** An exported function, or undefined when the module does not export that name as a function. */
export function exportedFunction(exports: Record<string, ExportValue>, name: string): GuestFunction | undefined {
  const value = exports[name];
  return typeof value === 'function' ? (value as GuestFunction) : undefined;
}

export function exportedMemory(exports: Record<string, ExportValue>): LinearMemory {
  const value = exports['memory'];
  if (value === undefined || typeof value !== 'object' || !('buffer' in value)) {
    throw new Error('module does not export its linear memory as "memory"');
  }
  return value as LinearMemory;
}
