#!/usr/bin/env node
// Agent bench: janee serve through the agent vs janee serve unlocked in-process,
// and the time from `janee unlock` to ready.
//
//   npm run build && node scripts/bench-agent.mjs [--calls 500] [--concurrency 16]
//       [--seconds 5] [--unlocks 5] [--work-factor 18] [--json]
//
// Both serves run side by side, driven by the official MCP SDK client over stdio
// against the same loopback upstream (port 0), calling `execute` (GET /v1/charges),
// measured in alternating rounds so that load changes hit both alike. Reported:
//   per call   median and p99 of sequential calls, and the difference (added latency)
//   throughput calls/s with C calls in flight for S seconds in total (one serve at a time)
//   unlock     wall time of `janee unlock` (process start → exit), time from the
//              passphrase to a ready agent, the scrypt part of it, and the rest
//              (agent start-up not hidden behind scrypt + key hand-off)
// Timings vary with machine load: run it on an idle machine.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { startBenchUpstream } from './bench-upstream.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const CALLS = opt('calls', 500);
const CONC = opt('concurrency', 16);
const SECONDS = opt('seconds', 5);
const UNLOCKS = opt('unlocks', 5);
const WORK = opt('work-factor', 18);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(root, 'dist/cli/main.js');

const upstream = await startBenchUpstream();
const URL_ = upstream.url;

const scratch = mkdtempSync(path.join(tmpdir(), 'janee-bench-agent-'));
const run = path.join(scratch, 'run');
mkdirSync(run, { mode: 0o700 });
const env = { ...process.env, JANEE_HOME: path.join(scratch, 'home'), XDG_RUNTIME_DIR: run, JANEE_PASSPHRASE: 'bench passphrase' };
for (const k of ['JANEE_CONFIG', 'JANEE_VAULT', 'JANEE_PASSPHRASE_FILE', 'JANEE_AGENT_SOCK']) delete env[k];
const noPass = { ...env };
delete noPass.JANEE_PASSPHRASE;
const janee = (a, e = env, input) =>
  execFileSync(process.execPath, [CLI, ...a], { env: e, input, stdio: ['pipe', 'pipe', 'pipe'] }).toString();

janee(['init', '--work-factor', String(WORK)]);
janee(
  ['add', 'bench', '--base-url', URL_, '--auth', 'bearer', '--key-stdin', '--policy', 'GET /v1/charges'],
  env,
  'sk_test_bench_0123456789\n',
);

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const med = (xs) => pct(xs, 50);
const f = (n, d = 3) => (n === undefined ? '-' : n.toFixed(d));

// 1. janee unlock → ready
const unlockWall = [];
const ready = [];
const scrypt = [];
const statusWall = [];
for (let i = 0; i < UNLOCKS; i++) {
  const t = performance.now();
  const r = spawnSync(process.execPath, [CLI, 'unlock'], { env, encoding: 'utf8' });
  unlockWall.push(performance.now() - t);
  if (r.status !== 0) throw new Error(`unlock failed: ${r.stderr}`);
  const m = /ready ([\d.]+)s after the passphrase, scrypt ([\d.]+)s/.exec(r.stderr);
  if (m) {
    ready.push(Number(m[1]) * 1000);
    scrypt.push(Number(m[2]) * 1000);
  }
  const t2 = performance.now();
  spawnSync(process.execPath, [CLI, 'status'], { env: noPass, encoding: 'utf8' });
  statusWall.push(performance.now() - t2);
  if (i < UNLOCKS - 1) janee(['lock'], noPass);
}
// the agent from the last unlock stays for step 2

async function connect(e) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, 'serve', '--agent', 'bench'],
    env: e,
    stderr: 'ignore',
  });
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(transport);
  return client;
}

async function client(label, e) {
  const c = await connect(e);
  const call = async () => {
    const r = await c.callTool({ name: 'execute', arguments: { service: 'bench', method: 'GET', path: '/v1/charges' } });
    if (r.isError) throw new Error(`${label}: tool error: ${r.content?.[0]?.text}`);
  };
  await call();
  for (let i = 0; i < 100; i++) await call(); // warm-up
  return { c, call, seq: [], done: 0, secs: 0 };
}

async function throughput(x, seconds) {
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: CONC }, async () => {
      while (performance.now() < end) {
        await x.call();
        x.done++;
      }
    }),
  );
  x.secs += seconds;
}

// 2. Two serves side by side, measured in alternation so load changes hit both:
//    one through the agent (no passphrase in its env), one unlocked in-process
//    (a passphrase, and JANEE_AGENT_SOCK pointing where no agent is).
const viaAgentC = await client('agent', noPass);
const inProcC = await client('in-process', { ...env, JANEE_AGENT_SOCK: path.join(scratch, 'none', 'agent.sock') });
const ROUND = 50;
for (let done = 0; done < CALLS; done += ROUND) {
  for (const x of [viaAgentC, inProcC]) {
    for (let i = 0; i < ROUND; i++) {
      const t = performance.now();
      await x.call();
      x.seq.push(performance.now() - t);
    }
  }
}
for (let i = 0; i < 4; i++) for (const x of i % 2 ? [inProcC, viaAgentC] : [viaAgentC, inProcC]) await throughput(x, SECONDS / 4);
const summary = (x) => ({ median_ms: med(x.seq), p99_ms: pct(x.seq, 99), per_s: x.done / x.secs });
const viaAgent = summary(viaAgentC);
const inProcess = summary(inProcC);
await viaAgentC.c.close();
await inProcC.c.close();
janee(['lock'], noPass);

const audit = JSON.parse(janee(['logs', 'verify', '--json'], noPass));
upstream.close();
rmSync(scratch, { recursive: true, force: true });

const results = {
  unlock: {
    runs: UNLOCKS,
    work_factor: WORK,
    wall_median_ms: med(unlockWall),
    ready_after_passphrase_median_ms: med(ready),
    scrypt_median_ms: med(scrypt),
    overhead_median_ms: med(ready.map((r, i) => r - scrypt[i])),
    cli_status_wall_median_ms: med(statusWall),
  },
  per_call: {
    calls: CALLS,
    agent_median_ms: viaAgent.median_ms,
    agent_p99_ms: viaAgent.p99_ms,
    in_process_median_ms: inProcess.median_ms,
    in_process_p99_ms: inProcess.p99_ms,
    added_median_ms: viaAgent.median_ms - inProcess.median_ms,
    added_p99_ms: viaAgent.p99_ms - inProcess.p99_ms,
  },
  throughput: {
    concurrency: CONC,
    seconds: SECONDS,
    agent_per_s: viaAgent.per_s,
    in_process_per_s: inProcess.per_s,
    ratio: viaAgent.per_s / inProcess.per_s,
  },
  audit_ok: audit.ok,
  audit_entries: audit.entries,
  node: process.version,
};
if (args.includes('--json')) {
  console.log(JSON.stringify(results, null, 2));
} else {
  const u = results.unlock;
  const p = results.per_call;
  const t = results.throughput;
  console.log(`janee unlock (scrypt 2^${WORK}, ${UNLOCKS} runs, medians):`);
  console.log(
    `  wall (process start → exit)   ${f(u.wall_median_ms, 1)} ms   (janee status wall: ${f(u.cli_status_wall_median_ms, 1)} ms)`,
  );
  console.log(
    `  passphrase → agent ready      ${f(u.ready_after_passphrase_median_ms, 1)} ms = scrypt ${f(u.scrypt_median_ms, 1)} ms + ${f(u.overhead_median_ms, 1)} ms`,
  );
  console.log(`per call (${CALLS} sequential):  through agent median ${f(p.agent_median_ms)} ms p99 ${f(p.agent_p99_ms)} ms`);
  console.log(`                               in-process    median ${f(p.in_process_median_ms)} ms p99 ${f(p.in_process_p99_ms)} ms`);
  console.log(`  added by the agent           median ${f(p.added_median_ms)} ms, p99 ${f(p.added_p99_ms)} ms`);
  console.log(
    `throughput (${CONC} in flight, ${SECONDS}s): agent ${t.agent_per_s.toFixed(0)}/s, in-process ${t.in_process_per_s.toFixed(0)}/s, ratio ${t.ratio.toFixed(2)}`,
  );
  console.log(`audit: ${audit.entries} entries, chain ${audit.ok ? 'intact' : 'BROKEN'}`);
}
