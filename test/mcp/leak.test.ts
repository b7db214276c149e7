/**
 * The leak test: one secret (`sk_test_` + 32 random hex), added with --key-stdin,
 * used through a whole serve session — allowed, blocked, echoing-upstream,
 * truncated, killed, upstream-refused calls — then EVERY byte janee wrote is
 * searched for it in every encoding: each file under the temp dir (JANEE_HOME
 * with its audit log, .bak files, head, …), serve's stdout and stderr, every CLI
 * command's stdout and stderr, and every tool result (base64 bodies decoded).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanupTempHomes,
  FAST,
  listFiles,
  runJanee,
  scratchDir,
  tempHome,
  withEnv,
  type JaneeEnv,
  type RunResult,
} from '../helpers/cli.js';
import { closeAllServes, findForms, secretForms, startServe, textOf, type ServeSession, type ToolResult } from '../helpers/mcp.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const HEX = randomBytes(16).toString('hex');
const SECRET = `sk_test_${HEX}`;

/** Every form of the secret, plus its random part (whole, halves) in every form. */
const FORMS = [
  ...new Set([
    ...secretForms(SECRET),
    ...secretForms(HEX),
    ...secretForms(HEX.slice(0, 16)),
    ...secretForms(HEX.slice(16)),
    `Bearer ${SECRET}`,
  ]),
];

let up: Upstream;
let env: JaneeEnv;
const cli: { args: string[]; r: RunResult }[] = [];
const sessions: ServeSession[] = [];

async function janee(args: string[], input?: string, e: NodeJS.ProcessEnv = env): Promise<RunResult> {
  const r = await runJanee(args, input === undefined ? { env: e } : { env: e, input });
  cli.push({ args, r });
  return r;
}

beforeAll(async () => {
  up = await startUpstream();
  // Reflects the credential in the forms DESIGN.md promises to redact, in the body and in allowlisted headers.
  up.route('/reflect', (req, res) => {
    const auth = req.headers.authorization ?? '';
    const token = auth.replace(/^Bearer /, '');
    const forms = (v: string) => ({
      raw: v,
      base64: Buffer.from(v).toString('base64'),
      base64url: Buffer.from(v).toString('base64url'),
      uri: encodeURIComponent(v),
      inBase64: Buffer.from(`{"echo":"${v}"}`).toString('base64'),
    });
    res.writeHead(200, {
      'content-type': 'application/json',
      'x-request-id': token,
      'x-ratelimit-token': Buffer.from(token).toString('base64'),
      link: `<https://example.test/?t=${encodeURIComponent(token)}>; rel="next"`,
      'www-authenticate': `Bearer error="${auth}"`,
      'set-cookie': `k=${token}`,
    });
    res.end(JSON.stringify({ auth: forms(auth), token: forms(token), url: req.url }));
  });
  up.route('/reflect-bin', (req, res) => {
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.end(
      Buffer.concat([
        Buffer.from([0, 1, 2, 255]),
        Buffer.from(token),
        Buffer.from([0, 0xfe]),
        Buffer.from(Buffer.from(token).toString('base64')),
      ]),
    );
  });

  env = await tempHome();
  expect((await janee(['init', ...FAST])).code).toBe(0);
  const add = await janee(
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
      'GET /echo-secret',
      '--policy',
      'GET /reflect',
      '--policy',
      'GET /reflect-bin',
      '--policy',
      'GET /gzip',
      '--policy',
      'GET /pad',
      '--policy',
      'GET /redirect',
      '--policy',
      'GET /bytes',
    ],
    `${SECRET}\n`,
  );
  expect(add.code, add.stderr).toBe(0);
}, 60_000);

afterAll(async () => {
  await closeAllServes();
  await up?.close();
  await cleanupTempHomes();
});

describe('leak test', () => {
  it('a whole session: allowed, blocked, echoing, truncated, killed, refused; then CLI reads', async () => {
    const [s, ...reads] = await Promise.all([
      startServe({ env, args: ['--agent', 'leak-test'] }),
      janee(['list']),
      janee(['list', '--json']),
      janee(['status']),
    ]);
    for (const r of reads) expect(r.code, r.stderr).toBe(0);
    sessions.push(s);
    const ok = async (args: Record<string, unknown>): Promise<ToolResult> => {
      const r = await s.execute(args);
      expect(r.isError, textOf(r)).toBeFalsy();
      return r;
    };
    const refused = async (args: Record<string, unknown>, re: RegExp): Promise<ToolResult> => {
      const r = await s.execute(args);
      expect(r.isError).toBe(true);
      expect(textOf(r)).toMatch(re);
      return r;
    };

    expect((await s.call('list_services')).isError).toBeFalsy();
    await ok({ service: 'stripe', method: 'GET', path: '/v1/charges?limit=3', reason: 'leak test' });
    await refused(
      { service: 'stripe', method: 'POST', path: '/v1/charges', body: { amount: 1 } },
      /^blocked: POST \/v1\/charges is not allowed for stripe/,
    );
    await refused({ service: 'stripe', method: 'GET', path: '/v1/charges/%2e%2e/admin' }, /"\." or "\.\." segments/);
    await refused({ service: 'stripe', method: 'GET', path: `//127.0.0.1:${up.port}/v1/charges` }, /scheme-relative/);
    await refused({ service: 'stripe', method: 'GET', path: '/v1/charges', headers: { 'X-Evil': 'a\r\nHost: x' } }, /header smuggling/);
    await refused({ service: 'nope', method: 'GET', path: '/v1/charges' }, /unknown service/);

    // Echoing upstreams: the secret comes back in every promised form, and goes out in none.
    const echo = await ok({ service: 'stripe', method: 'GET', path: '/echo-secret' });
    expect(textOf(echo)).toContain('[REDACTED:stripe]');
    const reflect = await ok({ service: 'stripe', method: 'GET', path: '/reflect' });
    expect((reflect.structuredContent as { headers: Record<string, string> }).headers['x-request-id']).toBe('[REDACTED:stripe]');
    expect((reflect.structuredContent as { headers: Record<string, string> }).headers['set-cookie']).toBeUndefined();
    const bin = await ok({ service: 'stripe', method: 'GET', path: '/reflect-bin' });
    expect((bin.structuredContent as { bodyEncoding: string }).bodyEncoding).toBe('base64');
    await ok({ service: 'stripe', method: 'GET', path: '/gzip' });
    await ok({ service: 'stripe', method: 'GET', path: '/v1/charges', headers: { Authorization: 'Bearer agent', Cookie: 'c=1' } });
    const cut = await ok({ service: 'stripe', method: 'GET', path: '/pad', query: { n: String(1024 * 1024 - 20) } });
    expect((cut.structuredContent as { truncated: boolean }).truncated).toBe(true);
    await ok({ service: 'stripe', method: 'GET', path: '/redirect', query: { to: 'http://127.0.0.1:1/steal' } });

    // Kill switch from the CLI, then lifted (a running serve notices within ~250 ms).
    expect((await janee(['killswitch', 'on', 'stripe'])).code).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    await refused({ service: 'stripe', method: 'GET', path: '/v1/charges' }, /kill switch is on/);
    expect((await janee(['killswitch', 'off', 'stripe'])).code).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    await ok({ service: 'stripe', method: 'GET', path: '/v1/charges' });

    // The upstream goes away mid-session: same bound origin, connection refused now.
    const sentAuth = up.requests.map((q) => q.headers.authorization);
    await up.close();
    await refused(
      { service: 'stripe', method: 'GET', path: '/v1/charges' },
      /upstream http:\/\/127\.0\.0\.1:\d+: (connection refused|connection reset|connection closed)/,
    );
    await refused({ service: 'stripe', method: 'GET', path: '/v1/charges' }, /upstream http:\/\/127\.0\.0\.1:\d+: connection refused/);

    // The test is not vacuous: the secret really went upstream, and really came back.
    expect(sentAuth.length).toBeGreaterThan(8);
    expect(sentAuth.every((a) => a === `Bearer ${SECRET}`)).toBe(true);
    await s.close();

    // A locked and a wrong-passphrase serve, for their output too.
    await Promise.all(
      [withEnv(env, { JANEE_PASSPHRASE: undefined }), withEnv(env, { JANEE_PASSPHRASE: 'wrong passphrase here' })].map(async (e) => {
        const x = await startServe({ env: e });
        sessions.push(x);
        expect((await x.execute({ service: 'stripe', method: 'GET', path: '/v1/charges' })).isError).toBe(true);
        expect((await x.call('list_services')).isError).toBe(true);
        await x.close();
      }),
    );

    await Promise.all(
      [['logs'], ['logs', '--json'], ['logs', 'verify'], ['list'], ['status'], ['killswitch', 'status']].map(async (args) => {
        const r = await janee(args);
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      }),
    );
    const logs = cli.find((c) => c.args.join(' ') === 'logs')!.r.stdout;
    expect(logs).toMatch(/agent:leak-test \| stripe \| GET \/v1\/charges \| 200/);
    expect(logs).toMatch(/BLOCKED/);
    expect(logs).toMatch(/KILLED/);
    expect(logs).toMatch(/ERROR/);
  });

  it('the secret, in no encoding, is in any file, any stream or any tool result', async () => {
    const found: string[] = [];
    const check = (what: string, bytes: string | Uint8Array): void => {
      const hits = findForms(bytes, FORMS);
      if (hits.length > 0) found.push(`${what}: ${hits.length} form(s), e.g. ${JSON.stringify(hits[0]).slice(0, 20)}…`);
    };
    // Every file janee wrote (the temp dir holds only JANEE_HOME).
    const root = scratchDir(env);
    const files = await listFiles(root);
    expect(files).toEqual(
      expect.arrayContaining(['home/config.yaml', 'home/config.yaml.bak', 'home/vault.janee', 'home/vault.janee.bak', 'home/audit/head']),
    );
    expect(files.some((f) => /^home\/audit\/\d{4}-\d{2}-\d{2}\.jsonl$/.test(f))).toBe(true);
    for (const f of files) check(f, await fs.readFile(path.join(root, f)));
    // Every CLI run.
    for (const { args, r } of cli) {
      check(`janee ${args.join(' ')} stdout`, r.stdout);
      check(`janee ${args.join(' ')} stderr`, r.stderr);
    }
    // Every serve: raw stdout and stderr, and each tool result (base64 bodies decoded).
    expect(sessions.length).toBe(3);
    let results = 0;
    for (const [i, s] of sessions.entries()) {
      check(`serve #${i} stdout`, s.transport.stdoutBytes);
      check(`serve #${i} stderr`, s.transport.stderrBytes);
      for (const r of s.results) {
        results++;
        check(`serve #${i} tool result`, JSON.stringify(r));
        const sc = r.structuredContent as { body?: string; bodyEncoding?: string } | undefined;
        if (sc?.bodyEncoding === 'base64' && typeof sc.body === 'string') check(`serve #${i} decoded body`, Buffer.from(sc.body, 'base64'));
      }
    }
    expect(results).toBeGreaterThan(20);
    expect(found).toEqual([]);
    // And the search itself works: the secret's forms are found where they are.
    expect(findForms(`x${Buffer.from(`a${SECRET}`).toString('base64')}x`, FORMS).length).toBeGreaterThan(0);
    expect(findForms(Buffer.from(SECRET).toString('hex'), FORMS).length).toBeGreaterThan(0);
  });
});
