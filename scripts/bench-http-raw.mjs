// Paired HTTP probe for `janee serve --http` (what docs/bench.md's HTTP section cites):
// one or more builds of janee run side by side in one home against one upstream, and
// each round measures them in turn, so a loaded machine slows all of them alike.
//
//   node scripts/bench-http-raw.mjs [--janee A.js --janee B.js] [--agent] [--rounds 5]
//        [--calls 200] [--seconds 1] [--concurrency 16] [--sessions 50] [--json]
//
// Per build and round: sequential raw keep-alive POSTs of `tools/call execute`
// (undici, one connection: what serve adds, without a client library), calls/s with
// C raw POSTs in flight (C connections), calls/s with C SDK Streamable HTTP clients
// (what the bench's --http row measures), and the floor, direct undici to the
// upstream at C in flight. At the end: RSS of each serve after it holds `--sessions`
// open sessions (opened with raw initialize requests) after the load. --agent: serve
// runs without a passphrase, through `janee unlock`'s agent (its RSS is printed too).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Agent, request } from 'undici';
import { startBenchUpstream } from './bench-upstream.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const all = (name) => args.flatMap((a, i) => (a === `--${name}` ? [args[i + 1]] : []));
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const builds = all('janee').map((p) => path.resolve(p));
if (builds.length === 0) builds.push(path.join(root, 'dist/cli/main.js'));
const ROUNDS = Number(opt('rounds', 5));
const CALLS = Number(opt('calls', 200));
const SECONDS = Number(opt('seconds', 1));
const CONC = Number(opt('concurrency', 16));
const SESSIONS = Number(opt('sessions', 50));
const SETTLE = Number(opt('settle', 0));
const viaAgent = args.includes('--agent');
/** --node-arg X (repeatable): passed to each serve's node, e.g. --cpu-prof. */
const nodeArgs = all('node-arg');
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** CPU time (user + system) a process has used so far, in ms (USER_HZ = 100). */
const cpuMs = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
};
const rssMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;

const upstream = await startBenchUpstream();
const UP = upstream.url;

const scratch = mkdtempSync(path.join(tmpdir(), 'janee-httpraw-'));
const env = { ...process.env, JANEE_HOME: path.join(scratch, 'home'), JANEE_PASSPHRASE: 'bench' };
env.JANEE_AGENT_SOCK = path.join(scratch, 'agent.sock');
for (const k of ['JANEE_CONFIG', 'JANEE_VAULT', 'JANEE_PASSPHRASE_FILE']) delete env[k];
const cli = builds[builds.length - 1];
const janee = (a, input, e = env) => execFileSync(process.execPath, [cli, ...a], { env: e, input, stdio: ['pipe', 'pipe', 'ignore'] });
janee(['init', '--work-factor', String(opt('work-factor', 10))]);
janee(['add', 'bench', '--base-url', UP, '--auth', 'bearer', '--key-stdin', '--policy', 'GET /v1/charges'], 'sk_test_bench_0123456789\n');
const token = janee(['agents', 'add', 'bench-http']).toString().trim();
// The held sessions belong to an agent of their own (serve caps sessions per agent at 64).
const memToken = janee(['agents', 'add', 'bench-mem']).toString().trim();
const serveEnv = { ...env };
let agentPid;
if (viaAgent) {
  // --unlock-with PATH: the agent from another build (to compare agents under the same serve).
  execFileSync(process.execPath, [path.resolve(opt('unlock-with', cli)), 'unlock'], { env, stdio: 'ignore' });
  delete serveEnv.JANEE_PASSPHRASE;
  agentPid = JSON.parse(janee(['status', '--json'], undefined, serveEnv).toString()).pid;
}
const toolArgs = { service: 'bench', method: 'GET', path: '/v1/charges' };

async function startServe(build) {
  const child = spawn(process.execPath, [...nodeArgs, build, 'serve', '--http', '127.0.0.1:0'], {
    env: serveEnv,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  const url = await new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      err += d;
      const m = /serving MCP on (\S+\/mcp)/.exec(err);
      if (m) resolve(m[1]);
    });
    child.once('exit', () => reject(new Error(`serve --http exited: ${err}`)));
  });
  return { build, child, url };
}

const headers = (sid, tok = token) => ({
  authorization: `Bearer ${tok}`,
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  ...(sid ? { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' } : {}),
});

/** A raw session: initialize + initialized over `dispatcher`; returns a call function. */
async function rawSession(url, dispatcher, tok = token) {
  const init = {
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  };
  const r = await request(url, { method: 'POST', headers: headers(undefined, tok), body: JSON.stringify(init), dispatcher });
  const sid = r.headers['mcp-session-id'];
  await r.body.text();
  if (r.statusCode !== 200 || !sid) throw new Error(`initialize: ${r.statusCode}`);
  const n = await request(url, {
    method: 'POST',
    headers: headers(sid, tok),
    body: '{"jsonrpc":"2.0","method":"notifications/initialized"}',
    dispatcher,
  });
  await n.body.text();
  let id = 1;
  return async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: id++, method: 'tools/call', params: { name: 'execute', arguments: toolArgs } });
    const res = await request(url, { method: 'POST', headers: headers(sid, tok), body, dispatcher });
    const text = await res.body.text();
    if (res.statusCode !== 200 || text.includes('"isError":true')) throw new Error(`call: ${res.statusCode} ${text.slice(0, 200)}`);
  };
}

async function throughput(fns) {
  const end = performance.now() + SECONDS * 1000;
  let n = 0;
  await Promise.all(
    fns.map(async (f) => {
      while (performance.now() < end) {
        await f();
        n++;
      }
    }),
  );
  return n / SECONDS;
}

const serves = [];
for (const b of builds) {
  const s = await startServe(b);
  s.seqAgent = new Agent({ connections: 1, keepAliveTimeout: 60_000 });
  s.seqCall = await rawSession(s.url, s.seqAgent);
  s.parAgent = new Agent({ connections: CONC, keepAliveTimeout: 60_000 });
  s.parCalls = await Promise.all(Array.from({ length: CONC }, () => rawSession(s.url, s.parAgent)));
  s.sdk = [];
  for (let i = 0; i < CONC; i++) {
    const client = new Client({ name: 'bench-http', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(s.url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }),
    );
    s.sdk.push(async () => {
      const r = await client.callTool({ name: 'execute', arguments: toolArgs });
      if (r.isError) throw new Error(`tool error: ${r.content?.[0]?.text}`);
    });
  }
  s.fig = { seq_ms: [], raw_per_s: [], raw_cpu_ms: [], sdk_per_s: [] };
  for (let i = 0; i < 30; i++) await s.seqCall();
  serves.push(s);
}
const directAgent = new Agent({ connections: CONC, keepAliveTimeout: 60_000 });
const direct = async () => {
  const r = await request(`${UP}/v1/charges`, { dispatcher: directAgent, headers: { authorization: 'Bearer sk' } });
  await r.body.text();
};
const directPerS = [];

for (let round = 0; round < ROUNDS; round++) {
  for (const s of serves) {
    const seq = [];
    for (let i = 0; i < CALLS; i++) {
      const t = performance.now();
      await s.seqCall();
      seq.push(performance.now() - t);
    }
    s.fig.seq_ms.push(med(seq));
  }
  for (const s of serves) {
    const cpu0 = cpuMs(s.child.pid);
    const agent0 = agentPid ? cpuMs(agentPid) : 0;
    const perS = await throughput(s.parCalls);
    s.fig.raw_per_s.push(perS);
    s.fig.raw_cpu_ms.push((cpuMs(s.child.pid) - cpu0) / (perS * SECONDS));
    if (agentPid) (s.fig.agent_cpu_ms ??= []).push((cpuMs(agentPid) - agent0) / (perS * SECONDS));
  }
  if (!args.includes('--no-sdk')) for (const s of serves) s.fig.sdk_per_s.push(await throughput(s.sdk));
  directPerS.push(await throughput(Array.from({ length: CONC }, () => direct)));
}

// Memory: each serve holding SESSIONS open sessions (one call each), after the load.
for (const s of serves) {
  s.fig.rss_loaded_mb = rssMb(s.child.pid);
  const ag = new Agent({ connections: 4, keepAliveTimeout: 60_000 });
  for (let i = 0; i < SESSIONS; i++) await (await rawSession(s.url, ag, memToken))();
  await new Promise((r) => setTimeout(r, 500));
  s.fig.rss_sessions_mb = rssMb(s.child.pid);
  // And once V8's memory reducer has had an idle serve to work on (it starts after ~8 s idle).
  if (SETTLE > 0) {
    await new Promise((r) => setTimeout(r, SETTLE * 1000));
    s.fig.rss_settled_mb = rssMb(s.child.pid);
  }
  if (process.env.BENCH_MEM_SIGNAL) s.child.kill('SIGUSR2'); // a --node-arg --import hook may dump its heap figures
  await ag.close();
}
const agentRss = agentPid ? rssMb(agentPid) : undefined;

const out = {
  direct_per_s: med(directPerS),
  agent_rss_mb: agentRss,
  builds: serves.map((s) => ({
    build: path.relative(process.cwd(), s.build),
    seq_ms: med(s.fig.seq_ms),
    raw_per_s: med(s.fig.raw_per_s),
    raw_cpu_ms: med(s.fig.raw_cpu_ms),
    agent_cpu_ms: s.fig.agent_cpu_ms ? med(s.fig.agent_cpu_ms) : undefined,
    rss_loaded_mb: s.fig.rss_loaded_mb,
    sdk_per_s: med(s.fig.sdk_per_s) ?? NaN,
    rss_sessions_mb: s.fig.rss_sessions_mb,
    rss_settled_mb: s.fig.rss_settled_mb,
    rounds: s.fig,
  })),
};
for (const s of serves) {
  await Promise.all([...s.sdk].map(() => undefined));
  s.child.kill('SIGTERM');
}
if (viaAgent) {
  try {
    janee(['lock'], undefined, serveEnv);
  } catch {
    /* already gone */
  }
}
if (args.includes('--json')) console.log(JSON.stringify(out));
else {
  console.log(
    `direct undici, ${CONC} in flight: ${out.direct_per_s.toFixed(0)}/s${agentRss ? `; agent RSS ${agentRss.toFixed(1)} MB` : ''}`,
  );
  for (const b of out.builds)
    console.log(
      `${b.build}: seq ${b.seq_ms.toFixed(3)} ms; raw ${CONC} in flight ${b.raw_per_s.toFixed(0)}/s (${(b.raw_per_s / out.direct_per_s).toFixed(2)} of direct); ` +
        `serve CPU ${b.raw_cpu_ms.toFixed(3)} ms/call${b.agent_cpu_ms === undefined ? '' : ` + agent ${b.agent_cpu_ms.toFixed(3)}`}; SDK ${CONC} clients ${b.sdk_per_s.toFixed(0)}/s (${(b.sdk_per_s / out.direct_per_s).toFixed(2)}); ` +
        `RSS after load ${b.rss_loaded_mb.toFixed(1)} MB, + ${SESSIONS} sessions ${b.rss_sessions_mb.toFixed(1)} MB`,
    );
}
await Promise.all(serves.map((s) => new Promise((r) => (s.child.exitCode !== null ? r() : s.child.once('exit', r)))));
upstream.close();
rmSync(scratch, { recursive: true, force: true });
process.exit(0);
