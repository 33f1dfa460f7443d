// Environment variables, read through the host at call time. Never process.env: inside Wasm the
// environment must be read at run time (WASI environ_*, never frozen into the snapshot), and in
// Node mode the local host decides which keys each VM sees.

import type { Host } from '../abi/index.js';

/** The value of `name` in the VM's environment, or undefined when unset. */
export function getEnv(host: Host, name: string): string | undefined {
  const prefix = `${name}=`;
  for (const entry of host.environ()) {
    if (entry.startsWith(prefix)) return entry.slice(prefix.length);
  }
  return undefined;
}

/** The whole environment as a plain object (first occurrence of a key wins, as getenv does). */
export function getEnvAll(host: Host): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of host.environ()) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue;
    const key = entry.slice(0, eq);
    if (!Object.prototype.hasOwnProperty.call(env, key)) env[key] = entry.slice(eq + 1);
  }
  return env;
}
