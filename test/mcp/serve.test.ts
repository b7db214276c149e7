/**
 * The built CLI's `janee serve`, driven by the official MCP SDK client over stdio,
 * in a temp JANEE_HOME set up with the CLI itself (`init --work-factor 10`,
 * `add … --key-stdin`), against a real loopback upstream.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAudit } from '../../src/audit/index.js';
import { cleanupTempHomes, initHome, runJanee, withEnv, type JaneeEnv, type RunResult } from '../helpers/cli.js';
import {
  auditEntries,
  closeAllServes,
  findForms,
  secretForms,
  startRawServe,
  startServe,
  textOf,
  type ServeSession,
  type ToolResult,
} from '../helpers/mcp.js';
import { sleep, startUpstream, type Upstream } from '../helpers/upstream.js';

const KEY = `sk_test_${randomBytes(16).toString('hex')}`;
const OPEN_KEY = `sk_test_${randomBytes(16).toString('hex')}`;
const BIG_KEY = `sk_test_${randomBytes(16).toString('hex')}`;
const TEN_MIB = 10 * 1024 * 1024;

let up: Upstream;
let env: JaneeEnv;
let serve: ServeSession;
const cliRuns: RunResult[] = [];

async function janee(args: string[], input?: string, e: NodeJS.ProcessEnv = env): Promise<RunResult> {
  const r = await runJanee(args, input === undefined ? { env: e } : { env: e, input });
  cliRuns.push(r);
  return r;
}

function mustOk(r: RunResult): RunResult {
  if (r.code !== 0) throw new Error(`janee failed (${r.code}): ${r.stderr}`);
  return r;
}

/** Lines of the session's stdout so far (each one JSON-RPC message). */
function stdoutLines(s: ServeSession): string[] {
  return s
    .stdout()
    .split('\n')
    .filter((l) => l !== '');
}

beforeAll(async () => {
  up = await startUpstream();
  // 8 MiB of a 3-byte UTF-8 character: small in UTF-16 code units, large on the wire.
  up.route('/euro', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(Buffer.from('€'.repeat((8 * 1024 * 1024) / 3)));
  });
  env = await initHome();
  mustOk(
    await janee(
      [
        'add',
        'stripe',
        '--base-url',
        up.url,
        '--auth',
        'bearer',
        '--key-stdin',
        '--policy',
        'GET /v1/charges',
        '--policy',
        'GET,POST /v1/customers',
        '--deny',
        '* /v1/customers/*/delete',
      ],
      `${KEY}\n`,
    ),
  );
  mustOk(await janee(['add', 'open', '--base-url', up.url, '--auth', 'bearer', '--key-stdin'], `${OPEN_KEY}\n`));
  mustOk(await janee(['add', 'big', '--base-url', up.url, '--auth', 'bearer', '--key-stdin'], `${BIG_KEY}\n`));
  // A service with a large body cap (the CLI has no flag for it): edit config.yaml.
  const configFile = path.join(env.JANEE_HOME, 'config.yaml');
  const text = await fs.readFile(configFile, 'utf8');
  expect(text).toContain('\n  big:\n');
  await fs.writeFile(configFile, text.replace('\n  big:\n', '\n  big:\n    maxResponseBytes: 8388608\n'));
  serve = await startServe({ env, clientName: 'serve-test-client' });
}, 60_000);

afterAll(async () => {
  await closeAllServes();
  await up?.close();
  await cleanupTempHomes();
});

describe('tools', () => {
  it('tools/list shows list_services, execute, list_commands and exec, each with input and output schemas', async () => {
    const { tools } = await serve.client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['exec', 'execute', 'list_commands', 'list_services']);
    const execute = tools.find((t) => t.name === 'execute')!;
    const list = tools.find((t) => t.name === 'list_services')!;
    const exec = tools.find((t) => t.name === 'exec')!;
    expect(Object.keys(exec.inputSchema.properties ?? {}).sort()).toEqual(['args', 'command', 'cwd', 'reason', 'stdin']);
    expect(Object.keys(exec.outputSchema?.properties ?? {}).sort()).toEqual([
      'durationMs',
      'exitCode',
      'stderr',
      'stdout',
      'timedOut',
      'truncated',
    ]);
    for (const t of [execute, list, exec, tools.find((x) => x.name === 'list_commands')!]) {
      expect(t.description?.length).toBeGreaterThan(20);
      expect(t.inputSchema.type).toBe('object');
      expect(t.outputSchema?.type).toBe('object');
    }
    expect(Object.keys(execute.inputSchema.properties ?? {}).sort()).toEqual([
      'body',
      'headers',
      'method',
      'path',
      'query',
      'reason',
      'service',
    ]);
    expect([...(execute.inputSchema.required ?? [])].sort()).toEqual(['method', 'path', 'service']);
    expect(Object.keys(execute.outputSchema?.properties ?? {}).sort()).toEqual(['body', 'bodyEncoding', 'headers', 'status', 'truncated']);
    expect([...(execute.outputSchema?.required ?? [])].sort()).toEqual(['body', 'bodyEncoding', 'headers', 'status', 'truncated']);
    expect(Object.keys(list.outputSchema?.properties ?? {})).toEqual(['services']);
  });

  it('list_services: names, base URLs, auth types, policies, limits, blocked, secret present — never a value', async () => {
    const r = await serve.call('list_services');
    expect(r.isError).toBeFalsy();
    const services = (r.structuredContent as { services: Record<string, unknown>[] }).services;
    expect(JSON.parse(textOf(r))).toEqual(r.structuredContent);
    const stripe = services.find((s) => s.name === 'stripe');
    expect(stripe).toEqual({
      name: 'stripe',
      baseUrl: up.url,
      authType: 'bearer',
      policies: [
        { path: '/v1/charges', methods: ['GET'] },
        { path: '/v1/customers', methods: ['GET', 'POST'] },
        { path: '/v1/customers/*/delete', methods: ['*'], deny: true },
      ],
      rateLimit: null,
      blocked: false,
      secretPresent: true,
    });
    expect(services.find((s) => s.name === 'open')?.policies).toBeNull();
    for (const k of [KEY, OPEN_KEY, BIG_KEY]) expect(findForms(JSON.stringify(r), secretForms(k))).toEqual([]);
  });

  it('execute, allowed: structuredContent matches the outputSchema, the text mirror is the same JSON, the key was sent and redacted', async () => {
    const before = up.requests.length;
    const r = await serve.execute({
      service: 'stripe',
      method: 'GET',
      path: '/v1/charges?limit=3',
      query: { starting_after: 'ch_1' },
      reason: 'list charges',
    });
    expect(r.isError).toBeFalsy();
    const sc = r.structuredContent as Record<string, unknown>;
    expect(Object.keys(sc).sort()).toEqual(['body', 'bodyEncoding', 'headers', 'status', 'truncated']);
    expect(sc).toMatchObject({ status: 200, bodyEncoding: 'utf8', truncated: false });
    expect(typeof sc.body).toBe('string');
    for (const v of Object.values(sc.headers as Record<string, unknown>)) expect(typeof v).toBe('string');
    expect(r.content).toHaveLength(1);
    expect(r.content[0]!.type).toBe('text');
    expect(JSON.parse(textOf(r))).toEqual(sc);
    // What the upstream got, and what came back.
    expect(up.requests.length).toBe(before + 1);
    expect(up.requests[before]!.url).toBe('/v1/charges?limit=3&starting_after=ch_1');
    expect(up.requests[before]!.headers.authorization).toBe(`Bearer ${KEY}`);
    const echoed = JSON.parse(sc.body as string) as { headers: Record<string, string> };
    expect(echoed.headers.authorization).toBe('[REDACTED:stripe]');
    expect(findForms(JSON.stringify(r), secretForms(KEY))).toEqual([]);
  });

  it('execute, blocked: isError with the DESIGN.md message form', async () => {
    const before = up.requests.length;
    const r = await serve.execute({ service: 'stripe', method: 'POST', path: '/v1/charges', body: { amount: 100 } });
    expect(r.isError).toBe(true);
    expect(r.structuredContent).toBeUndefined();
    expect(r._meta?.['dev.janee/error']).toEqual({ code: 'GATE_BLOCKED' }); // for programs; the model reads the text
    expect(textOf(r)).toMatch(
      /^blocked: POST \/v1\/charges is not allowed for stripe \(allowed: GET \/v1\/charges, GET\|POST \/v1\/customers\)\nhint: /,
    );
    const deny = await serve.execute({ service: 'stripe', method: 'DELETE', path: '/v1/customers/cus_1/delete' });
    expect(deny.isError).toBe(true);
    expect(textOf(deny)).toMatch(/^blocked: DELETE \/v1\/customers\/cus_1\/delete is not allowed for stripe/);
    const traversal = await serve.execute({ service: 'stripe', method: 'GET', path: '/v1/charges/../../admin' });
    expect(traversal.isError).toBe(true);
    expect(textOf(traversal)).toContain('".."');
    expect(up.requests.length).toBe(before);
  });

  it('execute, blocked: a deny rule also covers suffixed, dotted, spaced and ;matrix spellings of its segments', async () => {
    const before = up.requests.length;
    const n = (await auditEntries(env.JANEE_HOME)).length;
    const spellings = ['delete.json', 'DELETE.', 'delete%20', 'delete%3Bx=1', 'delete%2E%2E', 'delete.json/'];
    for (const seg of spellings) {
      const r = await serve.execute({ service: 'stripe', method: 'POST', path: `/v1/customers/cus_1/${seg}` });
      expect(r.isError, seg).toBe(true);
      expect(textOf(r), seg).toMatch(/^blocked: POST \/v1\/customers\/cus_1\/\S+ is not allowed for stripe/);
    }
    expect(up.requests.length).toBe(before);
    const entries = (await auditEntries(env.JANEE_HOME)).slice(n);
    expect(entries.map((e) => [e.outcome, e.rule])).toEqual(spellings.map(() => ['blocked', 'deny * /v1/customers/*/delete']));
  });

  it('MCP-level validation refuses malformed arguments with isError, and nothing is sent', async () => {
    const before = up.requests.length;
    for (const args of [
      { service: 'stripe', method: 'GET' },
      { service: 'stripe', method: 'GET', path: '' },
      { service: 'stripe', method: 'GET', path: '/v1/charges', headers: { a: 1 } },
      { service: 'stripe', method: 'GET', path: '/v1/charges', body: 5 },
      { service: 'stripe', method: 'GET'.repeat(10), path: '/v1/charges' },
    ]) {
      const r = await serve.execute(args);
      expect(r.isError, JSON.stringify(args)).toBe(true);
    }
    expect(up.requests.length).toBe(before);
  });

  it('binary body → bodyEncoding base64, bytes intact', async () => {
    const r = await serve.execute({ service: 'open', method: 'GET', path: '/binary', query: { n: '1000' } });
    expect(r.isError).toBeFalsy();
    const sc = r.structuredContent as { body: string; bodyEncoding: string; truncated: boolean };
    expect(sc.bodyEncoding).toBe('base64');
    expect(sc.truncated).toBe(false);
    const bytes = Buffer.from(sc.body, 'base64');
    expect(bytes.length).toBe(1000);
    expect([...bytes.subarray(0, 300)]).toEqual(Array.from({ length: 300 }, (_, i) => i % 256));
  });

  it('a 5 MB upstream body → truncated, and the whole JSON-RPC message well under 10 MiB', async () => {
    const lines = stdoutLines(serve).length;
    const r = await serve.execute({ service: 'open', method: 'GET', path: '/bytes', query: { n: String(5 * 1024 * 1024) } });
    expect(r.isError).toBeFalsy();
    const sc = r.structuredContent as { body: string; truncated: boolean };
    expect(sc.truncated).toBe(true);
    expect(sc.body.length).toBeLessThanOrEqual(1024 * 1024 + 64);
    const newLines = stdoutLines(serve).slice(lines);
    expect(newLines).toHaveLength(1);
    expect(Buffer.byteLength(newLines[0]!)).toBeLessThan(TEN_MIB / 2);
  });

  it('maxResponseBytes 8 MiB of multi-byte text still fits one message well under 10 MiB', async () => {
    const lines = stdoutLines(serve).length;
    const r = await serve.execute({ service: 'big', method: 'GET', path: '/euro' });
    expect(r.isError).toBeFalsy();
    const sc = r.structuredContent as { body: string; truncated: boolean; bodyEncoding: string };
    expect(sc.bodyEncoding).toBe('utf8');
    expect(sc.truncated).toBe(true);
    expect(sc.body).toMatch(/^€+$/u);
    const newLines = stdoutLines(serve).slice(lines);
    expect(newLines).toHaveLength(1);
    expect(Buffer.byteLength(newLines[0]!)).toBeLessThan(TEN_MIB * 0.8);
    // The session survived.
    expect((await serve.call('list_services')).isError).toBeFalsy();
  });
});

describe('vault states', () => {
  it('no passphrase in env → serve still starts; both tools answer isError "vault is locked" + "janee unlock"; calls are audited', async () => {
    const lockedEnv = withEnv(env, { JANEE_PASSPHRASE: undefined });
    const s = await startServe({ env: lockedEnv, clientName: 'locked-client' });
    try {
      const before = up.requests.length;
      const auditBefore = (await auditEntries(env.JANEE_HOME)).length;
      for (const r of [await s.call('list_services'), await s.execute({ service: 'stripe', method: 'GET', path: '/v1/charges' })]) {
        expect(r.isError).toBe(true);
        expect(textOf(r)).toContain('vault is locked');
        expect(textOf(r)).toContain('janee unlock');
        expect(r._meta?.['dev.janee/error']).toEqual({ code: 'GATE_LOCKED' });
      }
      expect(up.requests.length).toBe(before);
      const entries = (await auditEntries(env.JANEE_HOME)).slice(auditBefore);
      expect(entries.map((e) => [e.outcome, e.agent, e.agentSource])).toEqual([['locked', 'locked-client', 'clientInfo']]);
      expect(s.stderr()).toContain('vault is locked');
    } finally {
      await s.close();
    }
  });

  it('wrong passphrase → isError that says so, told apart from "locked"; no secret, no passphrase in any output', async () => {
    const s = await startServe({ env: withEnv(env, { JANEE_PASSPHRASE: 'not the passphrase' }), clientName: 'wrong-client' });
    try {
      for (const r of [await s.call('list_services'), await s.execute({ service: 'stripe', method: 'GET', path: '/v1/charges' })]) {
        expect(r.isError).toBe(true);
        expect(textOf(r)).toMatch(/wrong passphrase/);
        expect(textOf(r)).not.toContain('vault is locked');
      }
      expect(s.stderr()).toContain('wrong passphrase');
      for (const out of [s.stdout(), s.stderr()]) {
        expect(out).not.toContain('not the passphrase');
        expect(out).not.toContain(env.JANEE_PASSPHRASE);
      }
    } finally {
      await s.close();
    }
  });
});

describe('a vault that cannot be opened', () => {
  // Every call is logged, failed or not: with a wrong passphrase serve still runs
  // each call through a gate (locked, saying why), which audits it.
  it('calls to a serve with a wrong passphrase are audited', async () => {
    const s = await startServe({ env: withEnv(env, { JANEE_PASSPHRASE: 'still not the passphrase' }), clientName: 'wrong-audit-client' });
    try {
      const n = (await auditEntries(env.JANEE_HOME)).length;
      const r = await s.execute({ service: 'stripe', method: 'GET', path: '/v1/charges' });
      expect(r.isError).toBe(true);
      const entries = (await auditEntries(env.JANEE_HOME)).slice(n);
      expect(entries.map((e) => [e.agent, e.outcome])).toEqual([['wrong-audit-client', 'locked']]);
    } finally {
      await s.close();
    }
  });
});

describe('agent identity in the audit log', () => {
  it('--agent NAME wins over clientInfo (agentSource flag); without it the clientInfo name (agentSource clientInfo)', async () => {
    const [flagged, plain] = await Promise.all([
      startServe({ env, args: ['--agent', 'claude-desktop'], clientName: 'sdk-name-ignored' }),
      startServe({ env, clientName: 'cursor-like-client' }),
    ]);
    try {
      const n = (await auditEntries(env.JANEE_HOME)).length;
      expect((await flagged.execute({ service: 'stripe', method: 'GET', path: '/v1/charges', reason: 'who am i' })).isError).toBeFalsy();
      expect((await plain.execute({ service: 'stripe', method: 'POST', path: '/v1/charges' })).isError).toBe(true);
      const entries = (await auditEntries(env.JANEE_HOME)).slice(n);
      expect(entries.map((e) => ({ agent: e.agent, agentSource: e.agentSource, outcome: e.outcome }))).toEqual([
        { agent: 'claude-desktop', agentSource: 'flag', outcome: 'allowed' },
        { agent: 'cursor-like-client', agentSource: 'clientInfo', outcome: 'blocked' },
      ]);
      expect(entries[0]).toMatchObject({ service: 'stripe', method: 'GET', path: '/v1/charges', status: 200, reason: 'who am i' });
    } finally {
      await flagged.close();
      await plain.close();
    }
  });
});

describe('stdout carries only JSON-RPC', () => {
  /** serve spawned by hand: raw lines in, every stdout byte kept. */
  async function rawSession(
    e: NodeJS.ProcessEnv,
  ): Promise<{ stdout: string; stderr: string; code: number | null; responses: Map<number | string, Record<string, unknown>> }> {
    const s = startRawServe(e);
    let code: number | null;
    try {
      s.send({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw-client', version: '1' } },
      });
      await s.until([1]);
      s.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      s.send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
      s.send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'list_services', arguments: {} } });
      s.send({
        jsonrpc: '2.0',
        id: 4,
        method: 'tools/call',
        params: { name: 'execute', arguments: { service: 'stripe', method: 'GET', path: '/v1/charges' } },
      });
      s.send({
        jsonrpc: '2.0',
        id: 5,
        method: 'tools/call',
        params: { name: 'execute', arguments: { service: 'stripe', method: 'POST', path: '/v1/charges' } },
      });
      s.send({ jsonrpc: '2.0', id: 6, method: 'tools/call', params: { name: 'no_such_tool', arguments: {} } });
      s.send({ jsonrpc: '2.0', id: 7, method: 'no/such/method' });
      await s.until([2, 3, 4, 5, 6, 7]);
    } finally {
      code = await s.close();
    }
    return { stdout: s.stdout(), stderr: s.stderr(), code, responses: s.responses };
  }

  function expectOnlyJsonRpc(stdout: string): void {
    expect(stdout.endsWith('\n')).toBe(true);
    const lines = stdout.split('\n').slice(0, -1);
    expect(lines.length).toBeGreaterThanOrEqual(7);
    for (const line of lines) {
      let m: Record<string, unknown>;
      expect(() => (m = JSON.parse(line) as Record<string, unknown>), line.slice(0, 200)).not.toThrow();
      expect(m!.jsonrpc, line.slice(0, 200)).toBe('2.0');
      expect('result' in m! || 'error' in m! || 'method' in m!, line.slice(0, 200)).toBe(true);
    }
  }

  it('unlocked: every stdout line is a JSON-RPC message; diagnostics on stderr; exits 0 when stdin closes', async () => {
    const r = await rawSession(env);
    expectOnlyJsonRpc(r.stdout);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('janee: vault unlocked in-process');
    expect((r.responses.get(4)!.result as ToolResult).isError).toBeFalsy();
    expect((r.responses.get(5)!.result as ToolResult).isError).toBe(true);
    expect(r.stdout).not.toContain('janee:');
    expect(findForms(r.stdout + r.stderr, secretForms(KEY))).toEqual([]);
  });

  it('locked and wrong-passphrase serves keep stdout clean too', async () => {
    const runs = await Promise.all(
      [withEnv(env, { JANEE_PASSPHRASE: undefined }), withEnv(env, { JANEE_PASSPHRASE: 'wrong wrong wrong' })].map((e) => rawSession(e)),
    );
    for (const r of runs) {
      expectOnlyJsonRpc(r.stdout);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/janee: (vault is locked|error: wrong passphrase)/);
      expect((r.responses.get(4)!.result as ToolResult).isError).toBe(true);
    }
  });
});

describe('kill switch via the CLI', () => {
  async function pollUntil(pred: (r: ToolResult) => boolean): Promise<number> {
    const t0 = performance.now();
    for (;;) {
      const r = await serve.execute({ service: 'stripe', method: 'GET', path: '/v1/charges' });
      const ms = performance.now() - t0;
      if (pred(r)) return ms;
      if (ms > 3000) throw new Error(`not seen after ${Math.round(ms)} ms: ${textOf(r).slice(0, 200)}`);
      await sleep(25);
    }
  }

  it('`janee killswitch on stripe` is noticed within 1 s by a running serve, `off` too, without a restart', async () => {
    expect((await serve.execute({ service: 'stripe', method: 'GET', path: '/v1/charges' })).isError).toBeFalsy();
    mustOk(await janee(['killswitch', 'on', 'stripe']));
    const onMs = await pollUntil((r) => r.isError === true && /kill switch is on/.test(textOf(r)));
    expect(onMs).toBeLessThan(1000);
    const blocked = await serve.execute({ service: 'stripe', method: 'GET', path: '/v1/charges' });
    expect(textOf(blocked)).toContain('janee killswitch off stripe');
    // Another service is not affected; list_services shows the block.
    expect((await serve.execute({ service: 'open', method: 'GET', path: '/echo' })).isError).toBeFalsy();
    const list = (await serve.call('list_services')).structuredContent as { services: { name: string; blocked: boolean }[] };
    expect(list.services.find((s) => s.name === 'stripe')?.blocked).toBe(true);
    mustOk(await janee(['killswitch', 'off', 'stripe']));
    const offMs = await pollUntil((r) => r.isError !== true);
    expect(offMs).toBeLessThan(1000);
  });
});

describe('at the end', () => {
  it('the audit log verifies (several serves appended to one chain), and `janee logs verify` agrees', async () => {
    const v = await verifyAudit(path.join(env.JANEE_HOME, 'audit'));
    expect(v.problems).toEqual([]);
    expect(v.entries).toBeGreaterThan(10);
    const r = await janee(['logs', 'verify']);
    expect(r.code).toBe(0);
    const outcomes = new Set((await auditEntries(env.JANEE_HOME)).map((e) => e.outcome));
    for (const o of ['allowed', 'blocked', 'killed', 'locked']) expect(outcomes).toContain(o);
  });

  it('no CLI output and no tool result carries a secret', async () => {
    const forms = [...secretForms(KEY), ...secretForms(OPEN_KEY), ...secretForms(BIG_KEY)];
    for (const r of cliRuns) expect(findForms(r.stdout + r.stderr, forms)).toEqual([]);
    expect(findForms(JSON.stringify(serve.results), forms)).toEqual([]);
    expect(findForms(serve.transport.stdoutBytes, forms)).toEqual([]);
    expect(findForms(serve.transport.stderrBytes, forms)).toEqual([]);
  });
});
