// Child process for the multi-process test:
//   node child-append.mjs <writer.js> <auditDir> <count> <name> [<file key hex>]
// Appends <count> entries (half one at a time, half in bursts of 10), prints the seqs as JSON.
// With a file key: signs checkpoints every 25 of its entries and at close, like a gate with the vault open.
import { pathToFileURL } from 'node:url';

const [writerPath, dir, countArg, name, keyHex] = process.argv.slice(2);
const { AuditWriter } = await import(pathToFileURL(writerPath).href);
const w = new AuditWriter(dir, { fsyncIntervalMs: 50 });
if (keyHex) {
  const { signerFromFileKey } = await import(new URL('signing.js', pathToFileURL(writerPath)).href);
  w.setSigner(signerFromFileKey(Buffer.from(keyHex, 'hex')));
  w.setPolicy({ checkpointEvery: 25 });
}
const count = Number(countArg);
const seqs = [];
const mk = (i) => ({
  agent: name,
  agentSource: 'flag',
  service: 'svc',
  method: 'GET',
  path: `/p/${i}`,
  outcome: 'allowed',
  status: 200,
  ms: i,
});
let i = 0;
while (i < count / 2) seqs.push((await w.append(mk(i++))).seq);
while (i < count) {
  const burst = [];
  for (let k = 0; k < 10 && i < count; k++) burst.push(w.append(mk(i++)));
  for (const e of await Promise.all(burst)) seqs.push(e.seq);
}
await w.close();
process.stdout.write(JSON.stringify(seqs));
