// Child process for the multi-process test:
//   node child-append.mjs <writer.js> <auditDir> <count> <name>
// Appends <count> entries (half one at a time, half in bursts of 10), prints the seqs as JSON.
import { pathToFileURL } from 'node:url';

const [writerPath, dir, countArg, name] = process.argv.slice(2);
const { AuditWriter } = await import(pathToFileURL(writerPath).href);
const w = new AuditWriter(dir, { fsyncIntervalMs: 50 });
const count = Number(countArg);
const seqs = [];
const mk = (i) => ({ agent: name, agentSource: 'flag', service: 'svc', method: 'GET', path: `/p/${i}`, outcome: 'allowed', status: 200, ms: i });
let i = 0;
while (i < count / 2) seqs.push((await w.append(mk(i++))).seq);
while (i < count) {
  const burst = [];
  for (let k = 0; k < 10 && i < count; k++) burst.push(w.append(mk(i++)));
  for (const e of await Promise.all(burst)) seqs.push(e.seq);
}
await w.close();
process.stdout.write(JSON.stringify(seqs));
