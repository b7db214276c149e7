#!/usr/bin/env node
// `npm run bench`: how fast janee serve starts and how much it adds per call.
//
//   npm run bench                      # janee serve, in-process unlock
//   npm run bench -- --server "node other-proxy.js" --tool call --args '{"url":"{{URL}}"}'
//
// Drives the server with the official MCP SDK client over stdio against a loopback
// upstream on port 0 and, in the same run, times direct undici calls to the same
// upstream. {{URL}} / {{PATH}} in --args are replaced with the upstream URL / path.
// Options: --server CMD, --tool NAME, --args JSON, --calls N (500), --concurrency C (16),
// --seconds S (5), --startups N (10), --json.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { Agent, request } from 'undici';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const CALLS = Number(opt('calls', 500));
const CONC = Number(opt('concurrency', 16));
const SECONDS = Number(opt('seconds', 5));
const STARTUPS = Number(opt('startups', 10));
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// Upstream: a small JSON answer, keep-alive.
const upstream = http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end('{"object":"list","data":[{"id":"ch_1","amount":100}]}');
});
upstream.keepAliveTimeout = 60_000;
await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
const URL_ = `http://127.0.0.1:${upstream.address().port}`;

let home;
let serverCmd = opt('server');
let tool = opt('tool', 'execute');
let toolArgs = opt('args');
const env = { ...process.env };
if (!serverCmd) {
  home = mkdtempSync(path.join(tmpdir(), 'janee-bench-'));
  Object.assign(env, { JANEE_HOME: home, JANEE_PASSPHRASE: 'bench' });
  for (const k of ['JANEE_CONFIG', 'JANEE_VAULT', 'JANEE_PASSPHRASE_FILE', 'JANEE_AGENT_SOCK']) delete env[k];
  const janee = (a, input) =>
    execFileSync(process.execPath, [path.join(root, 'dist/cli/main.js'), ...a], { env, input, stdio: ['pipe', 'ignore', 'ignore'] });
  janee(['init', '--work-factor', String(opt('work-factor', 18))]);
  janee(
    ['add', 'bench', '--base-url', URL_, '--auth', 'bearer', '--key-stdin', '--policy', 'GET /v1/charges'],
    'sk_test_bench_0123456789\n',
  );
  serverCmd = `${process.execPath} ${path.join(root, 'dist/cli/main.js')} serve --agent bench`;
  toolArgs = JSON.stringify({ service: 'bench', method: 'GET', path: '/v1/charges' });
}
toolArgs = JSON.parse((toolArgs ?? '{}').replaceAll('{{URL}}', URL_).replaceAll('{{PATH}}', '/v1/charges'));
const [command, ...cmdArgs] = serverCmd.split(' ');

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const med = (xs) => pct(xs, 50);
const f = (n) => (n === undefined ? '-' : n.toFixed(3));

async function connect() {
  const t0 = performance.now();
  const transport = new StdioClientTransport({ command, args: cmdArgs, env, stderr: 'ignore' });
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(transport);
  return { client, transport, ms: performance.now() - t0 };
}

// 1. spawn → initialize
const startups = [];
for (let i = 0; i < STARTUPS; i++) {
  const c = await connect();
  startups.push(c.ms);
  await c.client.close();
}

// 2. sequential calls through the server, and direct undici
const { client, transport } = await connect();
const call = async () => {
  const r = await client.callTool({ name: tool, arguments: toolArgs });
  if (r.isError) throw new Error(`tool error: ${r.content?.[0]?.text}`);
};
await call(); // first call waits for the in-process unlock
for (let i = 0; i < 50; i++) await call(); // warm-up
const seq = [];
for (let i = 0; i < CALLS; i++) {
  const t = performance.now();
  await call();
  seq.push(performance.now() - t);
}
const dispatcher = new Agent({ keepAliveTimeout: 60_000 });
const direct = async () => {
  const r = await request(`${URL_}/v1/charges`, { dispatcher, headers: { authorization: 'Bearer x' } });
  await r.body.text();
};
for (let i = 0; i < 50; i++) await direct();
const dseq = [];
for (let i = 0; i < CALLS; i++) {
  const t = performance.now();
  await direct();
  dseq.push(performance.now() - t);
}

// 3. throughput with C in flight for S seconds
async function throughput(fn) {
  const end = performance.now() + SECONDS * 1000;
  let n = 0;
  await Promise.all(
    Array.from({ length: CONC }, async () => {
      while (performance.now() < end) {
        await fn();
        n++;
      }
    }),
  );
  return n / SECONDS;
}
const tpServe = await throughput(call);
const tpDirect = await throughput(direct);
// --http: the same calls over Streamable HTTP, in the same home (scripts/bench-http.mjs).
const httpRes =
  args.includes('--http') && home
    ? await (await import('./bench-http.mjs')).benchHttp({ env, root, toolArgs, calls: CALLS, concurrency: CONC, seconds: SECONDS })
    : undefined;

// 4. RSS of the server after the load
let rssMb;
try {
  const status = readFileSync(`/proc/${transport.pid}/status`, 'utf8');
  rssMb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024;
} catch {
  // no /proc (not Linux): RSS is not reported
}

await client.close();
await dispatcher.close();
upstream.close();
if (home) rmSync(home, { recursive: true, force: true });

const results = {
  server: serverCmd.replace(root, '.'),
  startup_ms: { median: med(startups), min: Math.min(...startups), runs: STARTUPS },
  sequential: {
    calls: CALLS,
    serve_median_ms: med(seq),
    serve_p99_ms: pct(seq, 99),
    direct_median_ms: med(dseq),
    direct_p99_ms: pct(dseq, 99),
    added_median_ms: med(seq) - med(dseq),
    first100_median_ms: med(seq.slice(0, 100)),
    last100_median_ms: med(seq.slice(-100)),
  },
  throughput: { concurrency: CONC, seconds: SECONDS, serve_per_s: tpServe, direct_per_s: tpDirect, ratio: tpServe / tpDirect },
  rss_after_load_mb: rssMb,
  http: httpRes,
  node: process.version,
};
if (args.includes('--json')) {
  console.log(JSON.stringify(results, null, 2));
} else {
  const s = results.sequential;
  console.log(`server:            ${results.server}`);
  console.log(
    `start-up:          median ${f(results.startup_ms.median)} ms, min ${f(results.startup_ms.min)} ms (spawn → initialize, ${STARTUPS} runs)`,
  );
  console.log(`per call (${CALLS} seq): median ${f(s.serve_median_ms)} ms, p99 ${f(s.serve_p99_ms)} ms`);
  console.log(`direct undici:     median ${f(s.direct_median_ms)} ms, p99 ${f(s.direct_p99_ms)} ms`);
  console.log(`added per call:    ${f(s.added_median_ms)} ms (median)`);
  console.log(`drift:             first 100 median ${f(s.first100_median_ms)} ms, last 100 median ${f(s.last100_median_ms)} ms`);
  console.log(
    `throughput (${CONC} in flight, ${SECONDS}s): serve ${tpServe.toFixed(0)}/s, direct ${tpDirect.toFixed(0)}/s, ratio ${(tpServe / tpDirect).toFixed(2)}`,
  );
  console.log(`RSS after load:    ${rssMb === undefined ? '-' : rssMb.toFixed(1)} MB`);
  if (httpRes)
    console.log(
      `HTTP (--http):     per call median ${f(httpRes.median_ms)} ms; ${httpRes.per_s.toFixed(0)} calls/s (${httpRes.concurrency} in flight) vs stdio ${f(s.serve_median_ms)} ms, ${tpServe.toFixed(0)}/s`,
    );
}
