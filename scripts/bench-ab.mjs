#!/usr/bin/env node
// Two janee builds (or one build twice, with different environments) side by side:
// a call alone and 16 calls in flight through `janee serve` over stdio, A and B in
// alternating blocks in one process, so a load change on a shared machine hits both
// alike. For changes too small for `npm run bench` to see through its noise.
//
//   node scripts/bench-ab.mjs ../base/dist/cli/main.js dist/cli/main.js
//   node scripts/bench-ab.mjs dist/cli/main.js dist/cli/main.js --b-env NAME=VALUE
//
// Options: --calls N (2000 sequential calls each), --rounds R (10 blocks each),
// --a-env / --b-env NAME=VALUE (added to that serve's environment).
// Prints, per build: the median of a call alone (ms) and serve's CPU per call
// (user + system, /proc), and with 16 in flight the rate and CPU per call.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { startBenchUpstream } from './bench-upstream.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const builds = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
if (builds.length !== 2) {
  console.error(
    'usage: node scripts/bench-ab.mjs A/dist/cli/main.js B/dist/cli/main.js [--calls N] [--rounds R] [--a-env K=V] [--b-env K=V]',
  );
  process.exit(2);
}
const CALLS = Number(opt('calls', 2000));
const ROUNDS = Number(opt('rounds', 10));
const envOpt = (name) => {
  const kv = opt(name);
  if (kv === undefined) return {};
  const i = kv.indexOf('=');
  return i > 0 ? { [kv.slice(0, i)]: kv.slice(i + 1) } : {};
};

const upstream = await startBenchUpstream();
const URL_ = upstream.url;
const scratch = mkdtempSync(path.join(tmpdir(), 'janee-bench-ab-'));

async function start(name, cli, extraEnv) {
  const env = { ...process.env, ...extraEnv, JANEE_HOME: path.join(scratch, name), JANEE_PASSPHRASE: 'bench' };
  for (const k of ['JANEE_CONFIG', 'JANEE_VAULT', 'JANEE_PASSPHRASE_FILE', 'JANEE_AGENT_SOCK']) delete env[k];
  const janee = (a, input) => execFileSync(process.execPath, [cli, ...a], { env, input, stdio: ['pipe', 'ignore', 'ignore'] });
  janee(['init', '--work-factor', '14']);
  janee(
    ['add', 'bench', '--base-url', URL_, '--auth', 'bearer', '--key-stdin', '--policy', 'GET /v1/charges'],
    'sk_test_bench_0123456789\n',
  );
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [cli, 'serve', '--agent', 'bench'],
    env,
    stderr: 'ignore',
  });
  const client = new Client({ name: 'bench-ab', version: '1' });
  await client.connect(transport);
  const toolArgs = { service: 'bench', method: 'GET', path: '/v1/charges' };
  const call = async () => {
    const r = await client.callTool({ name: 'execute', arguments: toolArgs });
    if (r.isError) throw new Error(`${name}: ${r.content?.[0]?.text}`);
  };
  return { client, pid: transport.pid, call };
}

/** CPU time (user + system) a process has used so far, in ms (Linux /proc; USER_HZ = 100). */
function cpuMs(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

const servers = {
  A: await start('a', path.resolve(builds[0]), envOpt('a-env')),
  B: await start('b', path.resolve(builds[1]), envOpt('b-env')),
};
const out = {};
for (const [k, s] of Object.entries(servers)) {
  for (let i = 0; i < 300; i++) await s.call(); // warm-up
  out[k] = { lat: [], seqCpu: 0, seqCalls: 0, conCpu: 0, conCalls: 0, conMs: 0 };
}
for (let r = 0; r < ROUNDS; r++) {
  for (const k of r % 2 ? ['B', 'A'] : ['A', 'B']) {
    const s = servers[k];
    const o = out[k];
    let c0 = cpuMs(s.pid);
    for (let i = 0; i < CALLS / ROUNDS; i++) {
      const t0 = performance.now();
      await s.call();
      o.lat.push(performance.now() - t0);
    }
    o.seqCpu += cpuMs(s.pid) - c0;
    o.seqCalls += CALLS / ROUNDS;
    c0 = cpuMs(s.pid);
    const t0 = performance.now();
    const end = t0 + 500;
    let n = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (performance.now() < end) {
          await s.call();
          n++;
        }
      }),
    );
    o.conCpu += cpuMs(s.pid) - c0;
    o.conCalls += n;
    o.conMs += performance.now() - t0;
  }
}
const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
for (const [k, o] of Object.entries(out)) {
  console.log(
    `${k} ${builds[k === 'A' ? 0 : 1]}: alone ${med(o.lat).toFixed(3)} ms, CPU ${((o.seqCpu / o.seqCalls) * 1000).toFixed(0)} µs a call` +
      ` | 16 in flight ${((o.conCalls / o.conMs) * 1000).toFixed(0)}/s, CPU ${((o.conCpu / o.conCalls) * 1000).toFixed(0)} µs a call`,
  );
}
for (const s of Object.values(servers)) await s.client.close();
upstream.close();
rmSync(scratch, { recursive: true, force: true });
