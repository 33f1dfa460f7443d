import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Sized for CI's 2 cores under load: an e2e file starts real Envoy (3 threads) and moto per
    // test, a build takes tens of seconds. Tests poll with their own deadlines; these limits only
    // catch a hang.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Forks, two at a time: Wasm tests instantiate large modules and e2e files run Envoy + moto,
    // so more workers than cores only make every file slower. Slow work in tests is asynchronous
    // (test/support/run-process.ts), so a busy worker still answers vitest's RPCs.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
