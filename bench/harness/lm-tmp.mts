import * as fs from 'node:fs';
import { open } from 'lmdb';
const dir = '/tmp/s3b/lmdb'; fs.rmSync(dir, { recursive: true, force: true }); fs.mkdirSync(dir);
const root = open({ path: dir, maxDbs: 4, noSync: true });
const rows = root.openDB<{ k: number; c: string; pad: string }, number>('sbtest1', { encoding: 'msgpack' });
const byK = root.openDB<number, number>('sbtest1_k', { dupSort: true, encoding: 'ordered-binary' });
const M = 200000;
const c = '12345678901-'.repeat(10).slice(0, 119), pad = c.slice(0, 59);
for (let f = 1; f <= M; f += 10000) await root.transaction(() => { for (let id = f; id < f + 10000; id++) { const k = (id * 7919) % M + 1; rows.putSync(id, { k, c, pad }); byK.putSync(k, id); } });
const update = (id: number) => { const row = rows.get(id)!; byK.removeSync(row.k, id); row.k++; rows.putSync(id, row); byK.putSync(row.k, id); return 1; };
const N = 3000; let x = 1;
const res: Record<string, number[]> = {};
for (let r = 0; r < 5; r++) {
  let t = performance.now(); let cpu = process.cpuUsage();
  for (let i = 0; i < N; i++) { x = (x * 48271) % 2147483647; await root.transaction(() => update(1 + (x % M))); }
  let u = process.cpuUsage(cpu); (res['async transaction, awaited'] ??= []).push(N / ((performance.now() - t) / 1000));
  t = performance.now(); cpu = process.cpuUsage();
  for (let i = 0; i < N; i++) { x = (x * 48271) % 2147483647; root.transactionSync(() => update(1 + (x % M))); }
  u = process.cpuUsage(cpu); (res['transactionSync'] ??= []).push(N / ((performance.now() - t) / 1000));
}
for (const [k, a] of Object.entries(res)) { a.sort((p, q) => p - q); console.log(k.padEnd(30), 'median txn/s (wall)', a[2]!.toFixed(0), a.map((v) => v.toFixed(0)).join(' ')); }
await root.close();
