// The HTTP part of `npm run bench -- --http`: the same execute calls as the stdio
// bench, through `janee serve --http 127.0.0.1:0` in the same home, with an agent
// token, driven by the SDK's Streamable HTTP client and, for throughput, also by a lean
// undici client. Returns the figures; bench.mjs prints them beside the stdio ones.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Agent, request } from 'undici';

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function benchHttp({ env, cli, toolArgs, calls, concurrency, seconds }) {
  const token = execFileSync(process.execPath, [cli, 'agents', 'add', 'bench-http'], { env, stdio: ['ignore', 'pipe', 'ignore'] })
    .toString()
    .trim();
  const child = spawn(process.execPath, [cli, 'serve', '--http', '127.0.0.1:0'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const url = await new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      err += d;
      const m = /serving MCP on (\S+\/mcp)/.exec(err);
      if (m) resolve(m[1]);
    });
    child.once('exit', () => reject(new Error(`serve --http exited: ${err}`)));
  });
  // One client per in-flight slot, as separate agents would have; the sequential run uses the first.
  const clients = [];
  concurrency = Math.max(1, concurrency);
  for (let i = 0; i < concurrency; i++) {
    const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } });
    const client = new Client({ name: 'bench-http', version: '1' });
    await client.connect(transport);
    clients.push(client);
  }
  const call = async (client) => {
    const r = await client.callTool({ name: 'execute', arguments: toolArgs });
    if (r.isError) throw new Error(`tool error: ${r.content?.[0]?.text}`);
  };
  for (let i = 0; i < 50; i++) await call(clients[0]);
  const seq = [];
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    await call(clients[0]);
    seq.push(performance.now() - t);
  }
  const end = performance.now() + seconds * 1000;
  let n = 0;
  await Promise.all(
    clients.map(async (c) => {
      while (performance.now() < end) {
        await call(c);
        n++;
      }
    }),
  );
  // The same load from a lean client: JSON-RPC POSTs with undici, one session per slot.
  // The SDK's HTTP client spends about as much CPU per call as serve does (fetch, web
  // streams), and it runs in this process beside the upstream, so the row above
  // measures both; this one measures serve.
  const lean = await leanSessions(url, token, concurrency);
  const leanCall = async (s) => {
    const r = await request(url, {
      dispatcher: lean.dispatcher,
      method: 'POST',
      headers: s.headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: s.id++, method: 'tools/call', params: { name: 'execute', arguments: toolArgs } }),
    });
    const text = await r.body.text();
    if (r.statusCode !== 200 || text.includes('"isError":true')) throw new Error(`lean call: ${r.statusCode} ${text.slice(0, 200)}`);
  };
  for (let i = 0; i < 50; i++) await leanCall(lean.sessions[0]);
  const leanEnd = performance.now() + seconds * 1000;
  let leanN = 0;
  await Promise.all(
    lean.sessions.map(async (s) => {
      while (performance.now() < leanEnd) {
        await leanCall(s);
        leanN++;
      }
    }),
  );
  for (const s of lean.sessions)
    await (await request(url, { dispatcher: lean.dispatcher, method: 'DELETE', headers: s.headers })).body.text();
  await lean.dispatcher.close();

  // Memory: serve holding 50 open sessions after the load (the clients above plus more).
  const SESSIONS = 50;
  for (let i = clients.length; i < SESSIONS; i++) {
    const client = new Client({ name: 'bench-http', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }),
    );
    await call(client);
    clients.push(client);
  }
  const rss_mb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]) / 1024;
  await Promise.all(clients.map((c) => c.close()));
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return { median_ms: median(seq), per_s: n / seconds, lean_per_s: leanN / seconds, concurrency, seconds, sessions: SESSIONS, rss_mb };
}

/** `n` sessions opened with raw POSTs (initialize, then notifications/initialized), each with its headers and next id. */
async function leanSessions(url, token, n) {
  const dispatcher = new Agent({ keepAliveTimeout: 60_000 });
  const base = { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const post = async (headers, body) => {
    const r = await request(url, { dispatcher, method: 'POST', headers, body: JSON.stringify(body) });
    await r.body.text();
    return r;
  };
  const sessions = [];
  for (let i = 0; i < n; i++) {
    const init = await post(base, {
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench-lean', version: '1' } },
    });
    const headers = { ...base, 'mcp-session-id': init.headers['mcp-session-id'], 'mcp-protocol-version': '2025-06-18' };
    await post(headers, { jsonrpc: '2.0', method: 'notifications/initialized' });
    sessions.push({ headers, id: 1 });
  }
  return { dispatcher, sessions };
}
