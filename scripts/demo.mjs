#!/usr/bin/env node
// `npm run demo`: the whole story in one throwaway home, nothing outside it touched.
// A mock API on loopback plays the upstream; the official MCP SDK client plays the agent.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const janee = path.join(root, 'dist', 'cli', 'main.js');
const home = mkdtempSync(path.join(tmpdir(), 'janee-demo-'));
const DEMO_KEY = 'sk_test_demo_0123456789abcdef'; // a throwaway key for the mock API
const env = { ...process.env, JANEE_HOME: home, JANEE_PASSPHRASE: 'demo passphrase' };
for (const k of ['JANEE_CONFIG', 'JANEE_VAULT', 'JANEE_PASSPHRASE_FILE', 'JANEE_AGENT_SOCK']) delete env[k];

const keep = process.argv.includes('--keep');
const step = (s) => process.stdout.write(`\n\x1b[1m▸ ${s}\x1b[0m\n`);
// Commands are printed so they can be pasted into a shell (with the exports shown first).
const quote = (a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
const run = (args, input) => {
  // The key itself is never printed: a pasted --key-stdin command waits for it to be typed.
  process.stdout.write(`$ janee ${args.map(quote).join(' ')}${input === undefined ? '' : '   # the key comes on stdin'}\n`);
  const out = execFileSync(process.execPath, [janee, ...args], { env, input, stdio: ['pipe', 'pipe', 'inherit'] });
  if (out.length) process.stdout.write(out);
};

// The mock API: answers /v1/charges, and shows whether the key arrived.
const api = http.createServer((req, res) => {
  const authorized = req.headers.authorization === `Bearer ${DEMO_KEY}`;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ object: 'list', url: req.url, authorized, echo_of_auth_header: req.headers.authorization ?? null }));
});
await new Promise((r) => api.listen(0, '127.0.0.1', r));
const baseUrl = `http://127.0.0.1:${api.address().port}`;

try {
  step('A throwaway home (paste these to follow along in another shell; `npm run demo -- --keep` keeps it)');
  process.stdout.write(`$ export JANEE_HOME=${quote(home)} JANEE_PASSPHRASE=${quote(env.JANEE_PASSPHRASE)}\n`);
  run(['init', '--work-factor', '14']);
  step('Add a service: the key goes into the encrypted vault, bound to the API origin');
  run(
    ['add', 'stripe', '--base-url', baseUrl, '--auth', 'bearer', '--key-stdin', '--policy', 'GET /v1/charges', '--rate-limit', '60/min'],
    `${DEMO_KEY}\n`,
  );
  run(['list']);

  step('An MCP client (the official SDK) starts `janee serve` and calls its tools');
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [janee, 'serve', '--agent', 'demo-agent'],
    env,
    stderr: 'ignore',
  });
  const client = new Client({ name: 'demo-client', version: '1.0.0' });
  await client.connect(transport);
  const show = (label, r) => {
    const text = r.content?.[0]?.text ?? '';
    process.stdout.write(`${label}\n  ${r.isError ? 'isError: ' : ''}${text.length > 400 ? `${text.slice(0, 400)}…` : text}\n`);
  };
  show('list_services →', await client.callTool({ name: 'list_services', arguments: {} }));
  show(
    'execute GET /v1/charges (allowed; the API echoes the auth header, janee redacts it) →',
    await client.callTool({
      name: 'execute',
      arguments: { service: 'stripe', method: 'GET', path: '/v1/charges?limit=3', reason: 'demo' },
    }),
  );
  show(
    'execute POST /v1/charges (not in the policy) →',
    await client.callTool({
      name: 'execute',
      arguments: { service: 'stripe', method: 'POST', path: '/v1/charges', body: { amount: 100 } },
    }),
  );
  show(
    'execute GET /v1/charges/../../admin (traversal) →',
    await client.callTool({ name: 'execute', arguments: { service: 'stripe', method: 'GET', path: '/v1/charges/../../admin' } }),
  );
  await client.close();

  step('Every call is in the audit log, hash-chained');
  run(['logs']);
  run(['logs', 'verify']);
  step('Done. The agent never saw the key. Next: README.md → Quick start for your own setup.');
} finally {
  api.close();
  if (keep)
    process.stdout.write(`\nThe home is kept: export JANEE_HOME=${quote(home)} (the mock API is gone, so calls will fail to connect).\n`);
  else rmSync(home, { recursive: true, force: true });
}
