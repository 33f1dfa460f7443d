// moto's server for tests: started on a free loopback port, stopped by the caller.
//
//   const moto = await startMoto();            // in beforeAll
//   ... point the CloudWatch cluster at moto.endpoint ...
//   await moto.stop();                         // in afterAll

import { createServer } from 'node:net';
import {
  resetMoto,
  setMotoAuthentication,
  startMotoServer,
  type MotoServer,
} from '../../scripts/lib/moto-server.js';
import { venvDir } from './python.js';

export type { MotoServer };
export { resetMoto, setMotoAuthentication };

/** A port the OS just handed out on 127.0.0.1 (released again before returning). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolvePort(port) : reject(new Error('no port assigned'))));
    });
  });
}

export interface StartMotoOptions {
  /** Extra environment for moto, e.g. { INITIAL_NO_AUTH_ACTION_COUNT: '0' }. */
  readonly env?: Readonly<Record<string, string>>;
}

export async function startMoto(options: StartMotoOptions = {}): Promise<MotoServer> {
  // Another process may grab the port between our probe and moto's bind: try a few.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      return await startMotoServer({ venv: venvDir(), port: await freeLoopbackPort(), env: options.env });
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}
