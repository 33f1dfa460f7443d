// temporary (P2 helper): mini-host breakdown only, given sender builds vs AssemblyScript, interleaved rounds
import { readFileSync } from 'node:fs';
import { buildAll, isBuilt } from './modules.js';
import { measureBreakdown } from './measure/breakdown.js';
import { compileModule } from './harness/wasm-api.js';
const outcomes = await buildAll(false);
const mods: { id: string; module: ReturnType<typeof compileModule> }[] = outcomes.filter(isBuilt).filter((m) => m.id === 'assemblyscript');
const rounds = Number(process.argv[2] ?? 5);
for (const f of process.argv.slice(3)) mods.push({ id: f, module: compileModule(readFileSync(f)) });
const res: Record<string, number[][]> = {};
for (let r = 0; r < rounds; r++) for (const m of mods) {
  const b = measureBreakdown(m.module, 20000);
  (res[m.id] ??= []).push(b.phaseUs as number[]);
  if (r === 0) console.log(m.id, JSON.stringify(b.importsPerRequest));
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
for (const [id, rows] of Object.entries(res)) {
  const total = med(rows.map((p) => p.reduce((a, b) => a + b, 0)));
  console.log(id.padEnd(40), 'log', med(rows.map((p) => p[3]!)).toFixed(2), 'all', total.toFixed(2));
}
