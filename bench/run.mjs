// `npm run bench` entry: the benchmark is TypeScript (it shares src/abi/table.ts and host/), run
// through tsx's loader, a pinned devDependency.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
