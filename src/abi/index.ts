// The ABI: proxy-wasm 0.2.1 as data (table.ts), the Host type derived from it (host.ts) and the
// wire encodings the SDK writes (wire.ts). The SDK (src/sdk/) and the hosts (host/, shims/)
// import this index; plugins and domain code never do (they import src/sdk/index.ts).

export * from './table.js';
export type * from './host.js';
export * from './wire.js';
