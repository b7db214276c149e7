#!/usr/bin/env node
// `npm run bench`: janee serve's start-up, per-call cost, throughput and memory, and
// the short CLI commands, each beside its floor measured in the same run:
//
//   floor                        what it is                                  serve figure set against it
//   node -e 0                    a bare node process, spawn → exit           short commands (janee --version, status, …)
//   SDK echo server              scripts/floor-echo-server.mjs, bundled      spawn → initialize; per-call cost; RSS
//                                like janee: same SDK, one trivial tool
//   direct undici                the same upstream called from this process  per call (serve − direct = added); throughput
//   SDK + undici proxy           scripts/floor-proxy-server.mjs, bundled     per call, throughput, CPU, RSS: what any proxy
//                                like janee: same SDK, same HTTP client and  built on the SDK and undici costs here, so
//                                heap settings, forwards with no gate        serve − proxy is the gate's own cost
//
//   npm run bench                      # janee serve (this tree's dist/), in-process unlock
//   npm run bench -- --janee ../base/dist/cli/main.js   # another janee build (before/after)
//   npm run bench -- --server "node other-proxy.js" --tool call --args '{"url":"{{URL}}"}'
//
// Everything is paired: the things compared run alternately (A, B, C, A, B, C, …)
// in one process, so a load change on a shared machine hits all of them alike; the
// figures are medians. Drives the servers with the official MCP SDK client over stdio
// against a loopback upstream on port 0. {{URL}} / {{PATH}} in --args are replaced
// with the upstream URL / path.
// Options: --janee PATH, --server CMD, --tool NAME, --args JSON, --calls N (500),
// --concurrency C (16), --seconds S (5), --startups N (15), --cli-runs N (15; 0 skips
// the CLI rows), --work-factor N (18), --http (also over Streamable HTTP), --json,
// --seq-block N (1: the sequential calls interleave call by call, serve, direct, echo,
// proxy, …; N: N calls back to back to each in turn, as an agent calling one server).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { build } from 'esbuild';
import { Agent, request } from 'undici';
import { bundleOptions } from './bundle-stubs.mjs';
import { startBenchUpstream } from './bench-upstream.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const CALLS = Number(opt('calls', 500));
const CONC = Number(opt('concurrency', 16));
const SECONDS = Number(opt('seconds', 5));
const STARTUPS = Number(opt('startups', 15));
const CLI_RUNS = Number(opt('cli-runs', 15));
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.resolve(opt('janee', path.join(root, 'dist/cli/main.js')));
const scratch = mkdtempSync(path.join(tmpdir(), 'janee-bench-'));

// ---- setup: upstream, janee home, the floor echo server ------------------------

const upstream = await startBenchUpstream();
const URL_ = upstream.url;

let serverCmd = opt('server');
let tool = opt('tool', 'execute');
let toolArgs = opt('args');
const env = { ...process.env };
const ownJanee = !serverCmd;
if (ownJanee) {
  Object.assign(env, { JANEE_HOME: path.join(scratch, 'home'), JANEE_PASSPHRASE: 'bench' });
  for (const k of ['JANEE_CONFIG', 'JANEE_VAULT', 'JANEE_PASSPHRASE_FILE', 'JANEE_AGENT_SOCK']) delete env[k];
  const janee = (a, input) => execFileSync(process.execPath, [CLI, ...a], { env, input, stdio: ['pipe', 'ignore', 'ignore'] });
  janee(['init', '--work-factor', String(opt('work-factor', 18))]);
  janee(
    ['add', 'bench', '--base-url', URL_, '--auth', 'bearer', '--key-stdin', '--policy', 'GET /v1/charges'],
    'sk_test_bench_0123456789\n',
  );
  serverCmd = `${process.execPath} ${CLI} serve --agent bench`;
  toolArgs = JSON.stringify({ service: 'bench', method: 'GET', path: '/v1/charges' });
}
toolArgs = JSON.parse((toolArgs ?? '{}').replaceAll('{{URL}}', URL_).replaceAll('{{PATH}}', '/v1/charges'));
const [command, ...cmdArgs] = serverCmd.split(' ');

const echoFile = path.join(scratch, 'floor-echo-server.mjs');
await build({ ...bundleOptions, entryPoints: [path.join(root, 'scripts/floor-echo-server.mjs')], outfile: echoFile });
const echoCmd = [process.execPath, echoFile];
const echoArgs = { service: 'bench', method: 'GET', path: '/v1/charges' };
const proxyFile = path.join(scratch, 'floor-proxy-server.mjs');
await build({ ...bundleOptions, entryPoints: [path.join(root, 'scripts/floor-proxy-server.mjs')], outfile: proxyFile });
const proxyCmd = [process.execPath, proxyFile];

// ---- helpers -------------------------------------------------------------------

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const med = (xs) => pct(xs, 50);

async function connect([cmd, ...rest], serverEnv = env) {
  const t0 = performance.now();
  const transport = new StdioClientTransport({ command: cmd, args: rest, env: serverEnv, stderr: 'ignore' });
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(transport);
  return { client, transport, ms: performance.now() - t0 };
}

/** Wall time of one process, spawn → exit (stdout and stderr discarded). */
function runOnce(argv, runEnv = env) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(argv[0], argv.slice(1), { env: runEnv, stdio: 'ignore' });
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`${argv.join(' ')}: exit ${code}`))));
  });
}

/** Runs each named thunk once per round, in turn, `rounds` times; returns the timings per name. */
async function paired(rounds, thunks) {
  const out = Object.fromEntries(Object.keys(thunks).map((k) => [k, []]));
  for (let i = 0; i < rounds; i++) for (const [k, fn] of Object.entries(thunks)) out[k].push(await fn());
  return out;
}

/** CPU time (user + system) a process has used so far, in ms; undefined without /proc. */
function cpuMs(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ = 100 on Linux)
  } catch {
    return undefined;
  }
}

function rssMb(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
  } catch {
    return undefined; // no /proc (not Linux): RSS is not reported
  }
}

// ---- 1. spawn → initialize, beside node -e 0 and the echo server ----------------

const startup = await paired(STARTUPS, {
  node: () => runOnce([process.execPath, '-e', '0']),
  echo: async () => {
    const c = await connect(echoCmd);
    await c.client.close();
    return c.ms;
  },
  serve: async () => {
    const c = await connect([command, ...cmdArgs]);
    await c.client.close();
    return c.ms;
  },
});

// ---- 2. sequential calls: serve, direct undici, echo, proxy, interleaved -------

const serve = await connect([command, ...cmdArgs]);
const echo = await connect(echoCmd);
const proxy = await connect(proxyCmd, { ...env, FLOOR_UPSTREAM: URL_ });
const call = async () => {
  const r = await serve.client.callTool({ name: tool, arguments: toolArgs });
  if (r.isError) throw new Error(`tool error: ${r.content?.[0]?.text}`);
};
const echoCall = () => echo.client.callTool({ name: 'echo', arguments: echoArgs });
const proxyCall = async () => {
  const r = await proxy.client.callTool({ name: 'proxy', arguments: echoArgs });
  if (r.isError) throw new Error(`floor proxy: ${r.content?.[0]?.text}`);
};
const dispatcher = new Agent({ keepAliveTimeout: 60_000 });
const direct = async () => {
  const r = await request(`${URL_}/v1/charges`, { dispatcher, headers: { authorization: 'Bearer x' } });
  await r.body.text();
};
const timed = (fn) => async () => {
  const t = performance.now();
  await fn();
  return performance.now() - t;
};
await call(); // the first call waits for the in-process unlock
await paired(50, { serve: call, direct, echo: echoCall, proxy: proxyCall }); // warm-up
const SEQ_BLOCK = Number(opt('seq-block', 1));
const block = (fn) => async () => {
  const ts = [];
  for (let i = 0; i < SEQ_BLOCK; i++) ts.push(await fn());
  return ts;
};
const seqBlocks = await paired(Math.ceil(CALLS / SEQ_BLOCK), {
  serve: block(timed(call)),
  direct: block(timed(direct)),
  echo: block(timed(echoCall)),
  proxy: block(timed(proxyCall)),
});
const seq = Object.fromEntries(Object.entries(seqBlocks).map(([k, v]) => [k, v.flat()]));

// ---- 3. throughput with C in flight, in alternating 1 s slices ------------------

// CPU time each server spent on its slices, per call: unlike wall-clock rates it
// barely moves when other jobs share the machine.
const cpu = { serve: { ms: 0, calls: 0 }, echo: { ms: 0, calls: 0 }, proxy: { ms: 0, calls: 0 } };
const servers = { serve, echo, proxy };
async function slice(fn, ms, who) {
  const pid = who && servers[who].transport.pid;
  const c0 = pid && cpuMs(pid);
  const end = performance.now() + ms;
  let n = 0;
  await Promise.all(
    Array.from({ length: CONC }, async () => {
      while (performance.now() < end) {
        await fn();
        n++;
      }
    }),
  );
  if (pid && c0 !== undefined) {
    cpu[who].ms += cpuMs(pid) - c0;
    cpu[who].calls += n;
  }
  return n;
}
const tp = await paired(Math.max(1, Math.round(SECONDS)), {
  serve: () => slice(call, 1000, 'serve'),
  direct: () => slice(direct, 1000),
  echo: () => slice(echoCall, 1000, 'echo'),
  proxy: () => slice(proxyCall, 1000, 'proxy'),
});
const perS = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

// Memory right after the load, before anything else runs: a serve left idle for a few
// seconds (as during the --http section) may have had its heap shrunk by V8's memory
// reducer by then (74–82 MB read that way, against 118–128 MB right after the load).
const rss = { serve: rssMb(serve.transport.pid), echo: rssMb(echo.transport.pid), proxy: rssMb(proxy.transport.pid) };

// --http: the same calls over Streamable HTTP, in the same home and against the same
// upstream, so it runs while both are up (scripts/bench-http.mjs); reported below.
const httpRes =
  args.includes('--http') && ownJanee
    ? await (await import('./bench-http.mjs')).benchHttp({ env, cli: CLI, toolArgs, calls: CALLS, concurrency: CONC, seconds: SECONDS })
    : undefined;

// ---- 4. close (memory was read right after the load, above) ----------------------

await serve.client.close();
await echo.client.close();
await proxy.client.close();
await dispatcher.close();
upstream.close();

// ---- 5. short CLI commands beside node -e 0 -------------------------------------

let cli;
if (ownJanee && CLI_RUNS > 0) {
  // As a user types them: no passphrase in the environment (and no agent), so
  // nothing here runs scrypt; `logs` reads the entries the load above wrote.
  const cliEnv = { ...env };
  delete cliEnv.JANEE_PASSPHRASE;
  const j =
    (...a) =>
    () =>
      runOnce([process.execPath, CLI, ...a], cliEnv);
  cli = await paired(CLI_RUNS, {
    'node -e 0': () => runOnce([process.execPath, '-e', '0'], cliEnv),
    'janee --version': j('--version'),
    'janee status': j('status'),
    'janee list': j('list'),
    'janee logs -n 5': j('logs', '-n', '5'),
  });
}

// ---- optional sections ------------------------------------------------------------
// A section behind a flag (e.g. `--http` → scripts/bench-http.mjs) goes here: it
// measures in its own paired way and pushes rows shaped like the ones below onto
// `extraRows` (and its figures onto `extra` for --json).
const extraRows = [];
const extra = {};
if (httpRes) {
  extra.http = httpRes;
  const stdioTp = perS(tp.serve);
  extraRows.push(
    [
      'per call over HTTP (ms)',
      httpRes.median_ms.toFixed(3),
      med(seq.serve).toFixed(3),
      'serve over stdio',
      (httpRes.median_ms / med(seq.serve)).toFixed(2),
      '',
      '',
    ],
    ...[
      ['SDK client', httpRes.per_s, false],
      ['lean client', httpRes.lean_per_s, true],
    ].map(([client, rate, judged]) => [
      `throughput over HTTP, ${httpRes.concurrency} in flight, ${client} (/s)`,
      rate.toFixed(0),
      perS(tp.direct).toFixed(0),
      'direct undici',
      (rate / perS(tp.direct)).toFixed(2),
      judged ? '≥0.5×' : '',
      judged ? (rate >= 0.5 * perS(tp.direct) ? 'pass' : 'FAIL') : '',
    ]),
    ['  stdio throughput, same run (/s)', stdioTp.toFixed(0), '', '', '', '', ''],
    [
      `RSS of serve --http holding ${httpRes.sessions} sessions after the load (MB)`,
      httpRes.rss_mb.toFixed(1),
      '',
      '',
      '',
      '<120',
      httpRes.rss_mb < 120 ? 'pass' : 'FAIL',
    ],
  );
}

rmSync(scratch, { recursive: true, force: true });

// ---- report -----------------------------------------------------------------------

const m = (xs) => med(xs);
const added = m(seq.serve) - m(seq.direct);
const results = {
  server: serverCmd.replace(root, '.'),
  node: process.version,
  startup_ms: { runs: STARTUPS, node_e0: m(startup.node), echo: m(startup.echo), serve: m(startup.serve) },
  per_call_ms: {
    calls: CALLS,
    serve: m(seq.serve),
    serve_p99: pct(seq.serve, 99),
    direct: m(seq.direct),
    direct_p99: pct(seq.direct, 99),
    echo: m(seq.echo),
    proxy: m(seq.proxy),
    added,
    serve_first100: m(seq.serve.slice(0, 100)),
    serve_last100: m(seq.serve.slice(-100)),
  },
  throughput_per_s: {
    concurrency: CONC,
    seconds: tp.serve.length,
    serve: perS(tp.serve),
    direct: perS(tp.direct),
    echo: perS(tp.echo),
    proxy: perS(tp.proxy),
  },
  cpu_per_call_us: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, (v.ms / v.calls) * 1000])),
  rss_after_load_mb: rss,
  cli_ms: cli && { runs: CLI_RUNS, ...Object.fromEntries(Object.entries(cli).map(([k, v]) => [k, m(v)])) },
  ...extra,
};

const f = (n, d = 1) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(d));
const goal = (ok) => (ok === undefined ? '' : ok ? 'pass' : 'FAIL');
const s = results.startup_ms;
const c = results.per_call_ms;
const t = results.throughput_per_s;
// [measure, serve, floor, floor is, ratio, goal, pass]
const rows = [
  [
    'spawn → initialize (ms)',
    f(s.serve),
    f(s.echo),
    'SDK echo server',
    f(s.serve / s.echo, 2),
    '<150 and ≤1.5×',
    goal(s.serve < 150 && s.serve <= 1.5 * s.echo),
  ],
  ['  node -e 0 (ms)', '', f(s.node_e0), 'spawn → exit', f(s.serve / s.node_e0, 2), '', ''],
  ['per call (ms)', f(c.serve, 3), f(c.direct, 3), 'direct undici', f(c.serve / c.direct, 2), '', ''],
  [
    'added per call (ms)',
    f(added, 3),
    f(c.echo, 3),
    'echo per call',
    f(added / c.echo, 2),
    '<1.0 and ≤ echo+0.3',
    goal(added < 1 && added <= c.echo + 0.3),
  ],
  ['  proxy floor per call (ms)', '', f(c.proxy, 3), 'SDK + undici proxy', f(c.serve / c.proxy, 2), '', ''],
  ['  p99 per call (ms)', f(c.serve_p99, 3), f(c.direct_p99, 3), 'direct p99', '', '', ''],
  ['  drift: first/last 100 (ms)', `${f(c.serve_first100, 3)}/${f(c.serve_last100, 3)}`, '', '', '', '', ''],
  [
    `throughput, ${t.concurrency} in flight (/s)`,
    f(t.serve, 0),
    f(t.direct, 0),
    'direct undici',
    f(t.serve / t.direct, 2),
    '≥0.5×',
    goal(t.serve / t.direct >= 0.5),
  ],
  ['  echo server (/s)', '', f(t.echo, 0), 'SDK echo server', f(t.serve / t.echo, 2), '', ''],
  ['  proxy floor (/s)', '', f(t.proxy, 0), 'SDK + undici proxy', f(t.serve / t.proxy, 2), '', ''],
  ['  proxy floor / direct', '', f(t.proxy / t.direct, 2), 'the floor of the ratio', '', '', ''],
  [
    `  CPU per call, ${t.concurrency} in flight (µs)`,
    f(results.cpu_per_call_us.serve, 0),
    f(results.cpu_per_call_us.echo, 0),
    'SDK echo server',
    f(results.cpu_per_call_us.serve / results.cpu_per_call_us.echo, 2),
    '',
    '',
  ],
  [
    '',
    '',
    f(results.cpu_per_call_us.proxy, 0),
    'SDK + undici proxy',
    f(results.cpu_per_call_us.serve / results.cpu_per_call_us.proxy, 2),
    '',
    '',
  ],
  [
    'RSS after load (MB)',
    f(rss.serve),
    f(rss.echo),
    'SDK echo server',
    f(rss.serve / rss.echo, 2),
    '<80',
    goal(rss.serve === undefined ? undefined : rss.serve < 80),
  ],
  ['', '', f(rss.proxy), 'SDK + undici proxy', f(rss.serve / rss.proxy, 2), '', ''],
];
if (cli) {
  const base = results.cli_ms['node -e 0'];
  for (const [k, v] of Object.entries(results.cli_ms)) {
    if (k === 'runs' || k === 'node -e 0') continue;
    rows.push([`${k} (ms)`, f(v), f(base), 'node -e 0', f(v / base, 2), '≤2×', goal(v <= 2 * base)]);
  }
}
rows.push(...extraRows);

if (args.includes('--json')) {
  console.log(JSON.stringify(results, null, 2));
} else {
  const head = ['measure', 'serve', 'floor', 'floor is', 'ratio', 'goal', ''];
  const all = [head, ...rows];
  const w = head.map((_, i) => Math.max(...all.map((r) => String(r[i]).length)));
  const line = (r) => r.map((x, i) => (i === 0 || i === 3 || i === 5 ? String(x).padEnd(w[i]) : String(x).padStart(w[i]))).join('  ');
  console.log(`server: ${results.server} (node ${results.node})`);
  console.log(
    `medians: ${STARTUPS} start-ups, ${CALLS} sequential calls, ${t.seconds} × 1 s of ${t.concurrency} in flight${cli ? `, ${CLI_RUNS} runs per command` : ''}; all paired`,
  );
  console.log(line(head));
  for (const r of rows) console.log(line(r));
}
