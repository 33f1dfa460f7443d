import { it } from 'vitest';
import { startE2eHost, sleep } from '/work/main/test/support/e2e.js';
import { startMoto } from '/work/main/test/support/moto.js';
import { listMetrics } from '/work/main/test/support/aws.js';
import { startFaultProxy } from '/work/main/test/support/fault-proxy.js';
import { createServer, request } from 'node:http';
it('dbg', async () => {
  const moto = await startMoto();
  // logging proxy
  const srv = createServer((req, res) => { const c: Buffer[] = []; req.on('data', (d) => c.push(d)); req.on('end', () => {
    const body = Buffer.concat(c); console.log('REQ', req.method, req.url, JSON.stringify(req.headers).slice(0, 400), body.length, body.toString().slice(0, 600));
    const up = request({ host: '127.0.0.1', port: moto.port, method: req.method, path: req.url, headers: req.headers }, (a) => { const cc: Buffer[] = []; a.on('data', (d) => cc.push(d)); a.on('end', () => { console.log('RESP', a.statusCode, Buffer.concat(cc).toString().slice(0, 500)); res.writeHead(a.statusCode!, a.headers); res.end(Buffer.concat(cc)); }); });
    up.end(body); }); });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as any).port;
  const e2e = await startE2eHost({ cloudwatch: `127.0.0.1:${port}`, receiver: { metric_namespace: 'dbg', max_series: 150 }, sender: { match_hosts: [], max_series: 100 } });
  const senders = e2e.host.vmsById('sender');
  for (let i = 0; i < Number(process.env.N ?? 50000); i++) senders[i % 2]!.runStream({ authority: `h${i}.spray.test`, path: '/' });
  await sleep(3000);
  const l = await listMetrics({ endpoint: moto.endpoint, namespace: 'dbg' });
  console.log('list', l.length, e2e.host.stats());
  console.log(e2e.logs.map(l => l.message).join('\n'));
  await e2e.close(); await moto.stop(); srv.close();
}, 120000);
