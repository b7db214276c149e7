#!/usr/bin/env node
// `npm run bench:gate`: the gate alone, without MCP — where serve's per-call time goes.
// Times LocalGate.execute (policy, injection, undici, redaction, audit) against a
// loopback upstream, beside a direct undici call to the same upstream, 3 rounds of
// 1000 sequential calls after a warm-up, on a small JSON body; then the same for a
// 1 MiB JSON body (3 rounds of 50 calls), where redaction dominates. Then the audit
// writer alone, on the paths the gate's sequential calls do not reach: appends one
// at a time, 16 in flight (group commit), and from 2 processes sharing one log (the
// lock contended, the tail read from another writer's bytes). Imports the built
// modules (npm run build).
//
// docs/bench.md: what each bench script measures, and the lock / audit-writer
// micro-optimisations this bench justifies (kept) or did not (removed), with figures.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { LocalGate } = await import(path.join(root, 'dist/gate/gate.js'));
const { VaultSecrets } = await import(path.join(root, 'dist/gate/secrets.js'));
const { unlockVaultFile } = await import(path.join(root, 'dist/vault/store.js'));
const writerModule = path.join(root, 'dist/audit/writer.js');
const { AuditWriter } = await import(writerModule);

const SMALL = '{"object":"list","data":[{"id":"ch_1","amount":100}]}';
// ~1 MiB of ordinary JSON: ids, amounts, descriptions, a URL, some escapes.
const BIG = (() => {
  const items = [];
  let size = 0;
  for (let i = 0; size < (1 << 20) - 1024; i++) {
    const item = JSON.stringify({
      id: `ch_${i.toString(36).padStart(8, '0')}`,
      amount: i * 7,
      currency: 'usd',
      description: `Order #${i} for "customer" café`,
      url: `https://example.test/v1/charges/ch_${i}?expand=customer&page=${i % 13}`,
    });
    items.push(item);
    size += Buffer.byteLength(item) + 1;
  }
  return `{"object":"list","data":[${items.join(',')}]}`;
})();
const upstream = http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(req.url.startsWith('/v1/big') ? BIG : SMALL);
});
upstream.keepAliveTimeout = 60_000;
await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${upstream.address().port}`;

const home = mkdtempSync(path.join(tmpdir(), 'janee-bench-gate-'));
const env = { ...process.env, JANEE_HOME: home, JANEE_PASSPHRASE: 'bench' };
for (const k of ['JANEE_CONFIG', 'JANEE_VAULT', 'JANEE_PASSPHRASE_FILE', 'JANEE_AGENT_SOCK']) delete env[k];
const janee = (args, input) =>
  execFileSync(process.execPath, [path.join(root, 'dist/cli/main.js'), ...args], { env, input, stdio: ['pipe', 'ignore', 'ignore'] });
janee(['init', '--work-factor', '10']);
janee(
  ['add', 'bench', '--base-url', url, '--auth', 'bearer', '--key-stdin', '--policy', 'GET /v1/charges', '--policy', 'GET /v1/big'],
  'sk_test_bench_0123456789\n',
);

const vault = await unlockVaultFile(path.join(home, 'vault.janee'), new TextEncoder().encode('bench'));
const gate = new LocalGate({
  configFile: path.join(home, 'config.yaml'),
  auditDir: path.join(home, 'audit'),
  killswitchFile: path.join(home, 'killswitch'),
  secrets: new VaultSecrets(vault.path, vault.fileKey, vault.data),
});
const caller = { agent: 'bench', agentSource: 'flag' };
const dispatcher = new Agent({ keepAliveTimeout: 60_000 });
const direct = async (p) => {
  const r = await request(`${url}${p}`, { dispatcher, headers: { authorization: 'Bearer x' } });
  await r.body.arrayBuffer();
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  for (const [label, p, warm, n] of [
    ['small JSON', '/v1/charges', 200, 1000],
    ['1 MiB JSON', '/v1/big', 10, 50],
  ]) {
    const call = { service: 'bench', method: 'GET', path: p };
    const probe = await gate.execute(call, caller);
    if (probe.status !== 200 || probe.truncated) throw new Error(`bench call failed: ${probe.status}`);
    for (let i = 0; i < warm; i++) {
      await gate.execute(call, caller);
      await direct(p);
    }
    for (let round = 1; round <= 3; round++) {
      const g = [];
      const d = [];
      for (let i = 0; i < n; i++) {
        let t = performance.now();
        await gate.execute(call, caller);
        g.push(performance.now() - t);
        t = performance.now();
        await direct(p);
        d.push(performance.now() - t);
      }
      console.log(
        `${label} round ${round}: gate median ${median(g).toFixed(3)} ms, direct undici ${median(d).toFixed(3)} ms, the gate adds ${(median(g) - median(d)).toFixed(3)} ms`,
      );
    }
  }
  await benchAudit();
} finally {
  await gate.close();
  await dispatcher.close();
  upstream.close();
  rmSync(home, { recursive: true, force: true });
}

/** µs per append: sequential, 16 in flight, and 2 processes appending to one log. */
async function benchAudit() {
  const input = {
    agent: 'bench',
    agentSource: 'flag',
    service: 'bench',
    method: 'GET',
    path: '/v1/charges',
    outcome: 'allowed',
    status: 200,
    ms: 1,
  };
  const N = 2000;
  const us = (ms, n) => ((ms * 1000) / n).toFixed(1);
  for (let round = 1; round <= 3; round++) {
    const dir = path.join(home, `audit-bench-${round}`);
    const w = new AuditWriter(dir);
    for (let i = 0; i < 100; i++) await w.append(input);
    let t = performance.now();
    for (let i = 0; i < N; i++) await w.append(input);
    const seq = performance.now() - t;
    t = performance.now();
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let i = 0; i < N / 16; i++) await w.append(input);
      }),
    );
    const par = performance.now() - t;
    await w.close();
    // Each child warms up, then times N appends; the figure is the mean of the two.
    const child = `const { AuditWriter } = await import(${JSON.stringify(writerModule)});
      const w = new AuditWriter(${JSON.stringify(dir)}); const input = ${JSON.stringify(input)};
      for (let i = 0; i < 100; i++) await w.append(input);
      const t = performance.now(); for (let i = 0; i < ${N}; i++) await w.append(input);
      process.stdout.write(String(performance.now() - t)); await w.close();`;
    const run = () =>
      new Promise((res, rej) =>
        execFile(process.execPath, ['--input-type=module', '-e', child], (e, out) => (e ? rej(e) : res(Number(out)))),
      );
    const two = await Promise.all([run(), run()]);
    console.log(
      `audit round ${round}: sequential ${us(seq, N)} µs/append, 16 in flight ${us(par, N)} µs/append, 2 processes ${us((two[0] + two[1]) / 2, N)} µs/append each`,
    );
  }
}
