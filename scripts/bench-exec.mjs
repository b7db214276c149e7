#!/usr/bin/env node
// `node scripts/bench-exec.mjs` (after npm run build): the exec pipeline alone, without MCP.
// LocalGate.exec of /bin/true beside a plain spawn of it (200 sequential calls each, medians),
// then `cat` of ~1 MiB stdin (secret check on the request, redaction of the output).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { LocalGate } = await import(path.join(root, 'dist/gate/gate.js'));
const { VaultSecrets } = await import(path.join(root, 'dist/gate/secrets.js'));
const { createVaultFile, unlockVaultFile, updateVault } = await import(path.join(root, 'dist/vault/store.js'));
const home = await fs.mkdtemp(path.join(tmpdir(), 'i14-bench-'));
const pass = new TextEncoder().encode('bench passphrase');
await fs.writeFile(
  path.join(home, 'config.yaml'),
  JSON.stringify({
    commands: { t: { program: '/bin/true', env: { K: 'k' }, allow: [''] }, cat: { program: '/bin/cat', env: { K: 'k' }, allow: [''] } },
  }),
);
const vf = path.join(home, 'vault.janee');
await createVaultFile(vf, pass, 10);
const u = await unlockVaultFile(vf, pass);
const now = new Date().toISOString();
const { vault } = await updateVault(vf, u.fileKey, (d) => {
  d.entries.k = {
    fields: { token: 'sk_test_bench_0123456789abcdef' },
    origins: ['https://a.example', 'exec:t', 'exec:cat'],
    created: now,
    updated: now,
  };
});
const gate = new LocalGate({
  configFile: path.join(home, 'config.yaml'),
  auditDir: path.join(home, 'audit'),
  killswitchFile: path.join(home, 'ks'),
  secrets: new VaultSecrets(vf, u.fileKey, vault.data),
  warn: () => {},
});
const caller = { agent: 'b', agentSource: 'flag' };
const med = (a) => {
  a.sort((x, y) => x - y);
  return a[Math.floor(a.length / 2)];
};
const runDirect = () =>
  new Promise((r) => {
    const c = spawn('/bin/true', [], { stdio: 'ignore' });
    c.on('close', r);
  });
for (let i = 0; i < 10; i++) {
  await gate.exec({ command: 't', args: [] }, caller);
  await runDirect();
}
const g = [],
  d = [];
for (let i = 0; i < 200; i++) {
  let t = performance.now();
  await gate.exec({ command: 't', args: [] }, caller);
  g.push(performance.now() - t);
  t = performance.now();
  await runDirect();
  d.push(performance.now() - t);
}
console.log(`/bin/true: gate.exec median ${med(g).toFixed(2)} ms, plain spawn median ${med(d).toFixed(2)} ms (200 calls each)`);
const big = 'x'.repeat(1024 * 1023);
const b = [];
for (let i = 0; i < 10; i++) {
  const t = performance.now();
  const r = await gate.exec({ command: 'cat', args: [], stdin: big }, caller);
  b.push(performance.now() - t);
  if (r.stdout.length !== big.length) throw new Error('len');
}
console.log(`cat of 1023 KiB stdin → stdout (redacted): median ${med(b).toFixed(1)} ms (10 calls)`);
await gate.close();
await fs.rm(home, { recursive: true, force: true });
