/**
 * `janee set` (rotate a secret, policies untouched, origins never widened) and
 * `janee edit` (rules in config.yaml only), through the file and through an
 * unlocked agent, driving the built CLI; calls go through the built `janee serve`
 * to a loopback upstream that records the credential it receives. Also
 * --key-from-env, the prompt order under a pty, and a leak search.
 */
import { PROTOCOL_VERSION as PV } from '../../src/agent/protocol.js';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unlockVaultFile } from '../../src/vault/store.js';
import {
  CLI,
  PASSPHRASE,
  cleanupTempHomes,
  cloneHome,
  errorLines,
  initHome,
  listFiles,
  runJanee,
  withEnv,
  type JaneeEnv,
  type RunResult,
} from '../helpers/cli.js';
import { auditLines, closeAllServes, findForms, secretForms, startServe } from '../helpers/mcp.js';
import { hasPty, runUnderPty } from '../helpers/pty.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { addService, agentHome, killAllAgents, noPass, rawClient, socketOf, unlock } from '../agent/helpers.js';

let up: Upstream;
let base: Promise<JaneeEnv> | undefined;
beforeAll(async () => {
  up = await startUpstream();
});
afterAll(async () => {
  await closeAllServes();
  killAllAgents();
  await up?.close();
  await cleanupTempHomes();
});

/** A fresh initialised home (one scrypt for the file). */
async function fresh(): Promise<JaneeEnv> {
  base ??= initHome();
  return cloneHome(await base);
}

const configOf = (env: JaneeEnv) => path.join(env.JANEE_HOME, 'config.yaml');
const vaultOf = (env: JaneeEnv) => path.join(env.JANEE_HOME, 'vault.janee');

async function entry(env: JaneeEnv, name: string) {
  const v = await unlockVaultFile(vaultOf(env), new TextEncoder().encode(PASSPHRASE));
  v.fileKey.fill(0);
  return v.data.entries[name];
}

function ok(r: RunResult, what = ''): RunResult {
  expect(r.code, `${what} ${r.stderr}`).toBe(0);
  return r;
}

/** One call through the built `janee serve`; returns the Authorization header the upstream saw. */
async function callThroughServe(env: NodeJS.ProcessEnv, service: string): Promise<string | undefined> {
  const s = await startServe({ env });
  try {
    const mark = `/echo?m=${Math.random().toString(36).slice(2)}`;
    const r = await s.execute({ service, method: 'GET', path: mark });
    expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
    const seen = up.requests.find((q) => q.url === mark);
    return seen?.headers.authorization;
  } finally {
    await s.close();
  }
}

const KEY1 = 'sk_test_first_0123456789abcdef';
const KEY2 = 'sk_test_second_fedcba9876543210';

describe.concurrent('janee set', { timeout: 120_000 }, () => {
  it('through the file: replaces the secret, keeps created and origins, leaves config.yaml byte-identical; serve uses the new key', async () => {
    const env = await fresh();
    ok(
      await runJanee(
        ['add', 'svc', '--base-url', up.url, '--key-stdin', '--policy', 'GET /echo', '--deny', 'DELETE /echo', '--rate-limit', '100/min'],
        { env, input: KEY1 },
      ),
    );
    expect(await callThroughServe(env, 'svc')).toBe(`Bearer ${KEY1}`);
    const before = await entry(env, 'svc');
    const config = await fs.readFile(configOf(env));
    await new Promise((r) => setTimeout(r, 5)); // a later `updated`

    const r = ok(await runJanee(['set', 'svc', '--key-stdin'], { env, input: `${KEY2}\n` }));
    expect(r.stderr).toContain(`janee: replaced the secret of svc (bound to ${up.url}); its rules in config.yaml are unchanged`);
    expect(await fs.readFile(configOf(env))).toEqual(config);
    const after = await entry(env, 'svc');
    expect(after?.fields).toEqual({ token: KEY2 });
    expect(after?.origins).toEqual(before?.origins);
    expect(after?.created).toBe(before?.created);
    expect(after?.updated).not.toBe(before?.updated);
    expect(await callThroughServe(env, 'svc')).toBe(`Bearer ${KEY2}`);
  });

  it('refuses a service that is not in config.yaml, pointing at `janee add`; nothing changes', async () => {
    const env = await fresh();
    const vault = await fs.readFile(vaultOf(env));
    const r = await runJanee(['set', 'nope', '--key-stdin'], { env, input: KEY1 });
    expect(r.code).toBe(1);
    expect(errorLines(r.stderr)).toEqual({
      error: 'janee: error: no service named "nope" in config.yaml',
      hint: 'janee: hint: add it with `janee add nope …` (see `janee list`)',
    });
    expect(await fs.readFile(vaultOf(env))).toEqual(vault);
  });

  it('never widens origins: config.yaml pointed elsewhere does not move the secret', async () => {
    const env = await fresh();
    ok(await addService(env, 'svc', up.url, KEY1));
    const text = await fs.readFile(configOf(env), 'utf8');
    await fs.writeFile(configOf(env), text.replace(up.url, 'https://attacker.example.com'));
    const r = ok(await runJanee(['set', 'svc', '--key-stdin'], { env, input: KEY2 }));
    expect(r.stderr).toMatch(/janee: warning: the secret is not bound to https:\/\/attacker\.example\.com/);
    expect((await entry(env, 'svc'))?.origins).toEqual([up.url]);
    expect((await entry(env, 'svc'))?.fields).toEqual({ token: KEY2 });
  });

  it('a service with no secret yet: bound to its baseUrl origin, with the passphrase', async () => {
    const env = await fresh();
    await fs.appendFile(
      configOf(env),
      `  later:\n    baseUrl: ${up.url}\n    auth: { type: header, name: X-Key }\n    policies:\n      - path: /echo\n        methods: [GET]\n`,
    );
    const r = ok(await runJanee(['set', 'later', '--key-stdin'], { env, input: KEY1 }));
    expect(r.stderr).toContain(`added a secret for later (bound to ${up.url})`);
    expect((await entry(env, 'later'))?.origins).toEqual([up.url]);
  });

  it('basic auth needs --username; --username is refused for other auth types', async () => {
    const env = await fresh();
    ok(await runJanee(['add', 'b', '--base-url', up.url, '--auth', 'basic', '--username', 'u1', '--key-stdin'], { env, input: KEY1 }));
    ok(await addService(env, 't', up.url, KEY1));
    expect((await runJanee(['set', 'b', '--key-stdin'], { env, input: KEY2 })).code).toBe(2);
    expect((await runJanee(['set', 't', '--username', 'x', '--key-stdin'], { env, input: KEY2 })).code).toBe(2);
    ok(await runJanee(['set', 'b', '--username', 'u2', '--key-stdin'], { env, input: KEY2 }));
    expect((await entry(env, 'b'))?.fields).toEqual({ username: 'u2', password: KEY2 });
  });

  it('--key-from-env on add and set; unset or empty is an error; the value is in no output', async () => {
    const env = await fresh();
    const withKey = (v: string | undefined) => withEnv(env, { MY_KEY: v });
    const a = ok(await runJanee(['add', 'svc', '--base-url', up.url, '--key-from-env', 'MY_KEY'], { env: withKey(KEY1) }));
    expect((await entry(env, 'svc'))?.fields).toEqual({ token: KEY1 });
    const s = ok(await runJanee(['set', 'svc', '--key-from-env', 'MY_KEY'], { env: withKey(KEY2) }));
    expect((await entry(env, 'svc'))?.fields).toEqual({ token: KEY2 });
    for (const r of [a, s]) expect(findForms(r.stdout + r.stderr, [...secretForms(KEY1), ...secretForms(KEY2)])).toEqual([]);
    const unset = await runJanee(['set', 'svc', '--key-from-env', 'MY_KEY'], { env: withKey(undefined) });
    expect(unset.code).toBe(1);
    expect(errorLines(unset.stderr).error).toBe('janee: error: environment variable MY_KEY is not set');
    const empty = await runJanee(['set', 'svc', '--key-from-env', 'MY_KEY'], { env: withKey('') });
    expect(errorLines(empty.stderr).error).toBe('janee: error: environment variable MY_KEY is empty');
    const both = await runJanee(['set', 'svc', '--key-from-env', 'MY_KEY', '--key-stdin'], { env: withKey(KEY1), input: KEY1 });
    expect(both.code).toBe(2);
    expect((await entry(env, 'svc'))?.fields).toEqual({ token: KEY2 });
  });
});

describe.concurrent('janee set through an unlocked agent', { timeout: 120_000 }, () => {
  it('replaces the secret with no passphrase; serve through the agent uses the new key; policies untouched', async () => {
    const env = await agentHome();
    ok(await addService(env, 'svc', up.url, KEY1, ['--policy', 'GET /echo']));
    ok(await unlock(env));
    const bare = noPass(env);
    const config = await fs.readFile(configOf(env));
    expect(await callThroughServe(bare, 'svc')).toBe(`Bearer ${KEY1}`);
    const r = ok(await runJanee(['set', 'svc', '--key-stdin'], { env: bare, input: KEY2 }));
    expect(r.stderr).toMatch(/replaced the secret of svc \(bound to .*\) through the agent \(pid \d+\)/);
    expect(await fs.readFile(configOf(env))).toEqual(config);
    expect(await callThroughServe(bare, 'svc')).toBe(`Bearer ${KEY2}`);
    expect((await entry(env, 'svc'))?.origins).toEqual([up.url]);
    await runJanee(['lock'], { env });
  });

  it('a service with no secret yet is not bound through the agent: the passphrase is asked for', async () => {
    const env = await agentHome();
    ok(await unlock(env));
    await fs.appendFile(configOf(env), `  later:\n    baseUrl: ${up.url}\n    auth: { type: bearer }\n`);
    const vault = await fs.readFile(vaultOf(env));
    const r = await runJanee(['set', 'later', '--key-stdin'], { env: noPass(env), input: KEY1 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`the vault has no secret for later yet: binding one to ${up.url} needs the vault passphrase`);
    expect(errorLines(r.stderr).error).toMatch(/^janee: error: no passphrase/);
    expect(await fs.readFile(vaultOf(env))).toEqual(vault);
    const withPass = ok(await runJanee(['set', 'later', '--key-stdin'], { env, input: KEY1 }));
    expect(withPass.stderr).toContain(`added a secret for later (bound to ${up.url});`);
    expect(withPass.stderr).not.toContain('through the agent');
    expect((await entry(env, 'later'))?.fields).toEqual({ token: KEY1 });
    await runJanee(['lock'], { env });
  });

  it('vault_put: replace keeps created and refuses a wider origin; without replace an existing name is refused', async () => {
    const env = await agentHome();
    ok(await addService(env, 'svc', up.url, KEY1));
    ok(await unlock(env));
    const created = (await entry(env, 'svc'))?.created;
    const c = await rawClient(socketOf(env));
    try {
      const put = async (id: number, extra: Record<string, unknown>, origins = [up.url]) => {
        c.send({ v: PV, id, op: 'vault_put', name: 'svc', entry: { fields: { token: KEY2 }, origins }, ...extra });
        return (await c.next(10_000)) as { ok: boolean; result?: { replaced: boolean }; error?: { code: string; message: string } };
      };
      expect(await put(1, {})).toMatchObject({ ok: false, error: { code: 'VAULT_DUPLICATE' } });
      expect(await put(2, { replace: true }, [up.url, 'https://attacker.example.com'])).toMatchObject({
        ok: false,
        error: { code: 'BIND_NEEDS_PASSPHRASE' },
      });
      expect(await put(3, { replace: 'yes' })).toMatchObject({ ok: false, error: { code: 'AGENT_BAD_REQUEST' } });
      expect((await entry(env, 'svc'))?.fields).toEqual({ token: KEY1 });
      expect(await put(4, { replace: true })).toMatchObject({ ok: true, result: { replaced: true } });
    } finally {
      c.socket.destroy();
    }
    const after = await entry(env, 'svc');
    expect(after).toMatchObject({ fields: { token: KEY2 }, origins: [up.url], created });
    await runJanee(['lock'], { env });
  });
});

const COMMENTED = `# my services
services:
  # payments: read only
  stripe:
    baseUrl: https://api.stripe.com   # live
    auth: { type: bearer }
    policies:
      - path: /v1/charges   # list charges
        methods: [GET]
      - path: /v1/customers
        methods: [DELETE]
        deny: true
    rateLimit: 60/min

  # code hosting
  github:
    baseUrl:   https://api.github.com
    auth: {type: bearer}
    policies: [ { path: /user, methods: [ GET ] } ]
`;

describe.concurrent('janee edit', { timeout: 60_000 }, () => {
  async function commented(): Promise<JaneeEnv> {
    const env = await fresh();
    await fs.writeFile(configOf(env), COMMENTED);
    return env;
  }

  it('replaces the allow rules, keeps the deny rules, comments and the other service byte-identical; the vault is untouched', async () => {
    const env = await commented();
    const vault = await fs.readFile(vaultOf(env));
    const r = ok(await runJanee(['edit', 'stripe', '--policy', 'GET,POST /v1/refunds', '--rate-limit', '30/min'], { env: noPass(env) }));
    expect(r.stdout).toBe(
      'stripe  https://api.stripe.com\n  deny  DELETE /v1/customers\n  allow GET,POST /v1/refunds\n  rate limit: 30/min\n',
    );
    expect(r.stderr).toContain('janee: edited stripe in config.yaml; its secret is unchanged');
    const text = await fs.readFile(configOf(env), 'utf8');
    expect(text.startsWith('# my services\nservices:\n  # payments: read only\n  stripe:\n')).toBe(true);
    expect(text.endsWith(COMMENTED.slice(COMMENTED.indexOf('\n  # code hosting')))).toBe(true);
    expect(text).not.toContain('/v1/charges');
    expect(await fs.readFile(vaultOf(env))).toEqual(vault);
    const list = JSON.parse(ok(await runJanee(['list', '--json'], { env })).stdout) as {
      services: { name: string; policies: unknown; rateLimit: string }[];
    };
    expect(list.services.find((s) => s.name === 'stripe')).toMatchObject({
      rateLimit: '30/min',
      policies: [
        { path: '/v1/customers', methods: ['DELETE'], deny: true },
        { path: '/v1/refunds', methods: ['GET', 'POST'], deny: false },
      ],
    });
  });

  it('--deny replaces only the deny rules; --clear-policies and --rate-limit none remove them (with a warning)', async () => {
    const env = await commented();
    const d = ok(await runJanee(['edit', 'stripe', '--deny', 'POST /v1/charges'], { env }));
    expect(d.stdout).toContain('  allow GET /v1/charges\n  deny  POST /v1/charges\n');
    expect(d.stdout).not.toContain('/v1/customers');
    const c = ok(await runJanee(['edit', 'stripe', '--clear-policies', '--rate-limit', 'none'], { env }));
    expect(c.stdout).toBe('stripe  https://api.stripe.com\n  any request (no rules)\n  rate limit: none\n');
    expect(c.stderr).toMatch(/janee: warning: stripe has no rules/);
    const text = await fs.readFile(configOf(env), 'utf8');
    const stripe = text.slice(text.indexOf('  stripe:'), text.indexOf('  # code hosting'));
    expect(stripe).not.toMatch(/policies|rateLimit/);
    expect(text).toContain('# code hosting\n  github:\n    baseUrl:   https://api.github.com\n');
  });

  it('validates like add and refuses unknown services; nothing is written', async () => {
    const env = await commented();
    const bad = [
      [['edit', 'stripe', '--policy', 'nonsense'], 2, /invalid rule "nonsense"/],
      [['edit', 'stripe', '--rate-limit', 'lots'], 2, /invalid --rate-limit "lots"/],
      [['edit', 'stripe', '--test-path', '/v1/me?x=1'], 2, /invalid --test-path/],
      [['edit', 'stripe'], 2, /nothing to change/],
      [['edit', 'nope', '--rate-limit', '1/sec'], 1, /no service named "nope" in config.yaml/],
    ] as const;
    for (const [args, code, msg] of bad) {
      const r = await runJanee(args, { env });
      expect(r.code, args.join(' ')).toBe(code);
      expect(errorLines(r.stderr).error).toMatch(msg);
    }
    expect(await fs.readFile(configOf(env), 'utf8')).toBe(COMMENTED);
    expect(await listFiles(env.JANEE_HOME)).not.toContain('config.yaml.bak');
  });
});

describe('prompts (pty)', { timeout: 60_000 }, () => {
  const pty = hasPty();
  const ptyArgs = (env: JaneeEnv, args: string[]) => [
    'env',
    '-u',
    'JANEE_PASSPHRASE',
    `JANEE_HOME=${env.JANEE_HOME}`,
    process.execPath,
    CLI,
    ...args,
  ];

  it.skipIf(!pty)('add: the passphrase before the secret; a wrong passphrase is asked again, the secret once', async () => {
    const env = await fresh();
    const secret = 'sk_test_typed_once_55aa';
    const r = await runUnderPty(ptyArgs(env, ['add', 'svc', '--base-url', up.url]), [
      { waitFor: 'vault passphrase: ', send: 'not the passphrase\r' },
      { waitFor: 'vault passphrase: ', send: `${PASSPHRASE}\r` },
      { waitFor: 'secret for svc', send: `${secret}\r` },
    ]);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/wrong passphrase; try again/);
    expect(r.output.indexOf('vault passphrase: ')).toBeLessThan(r.output.indexOf('secret for svc'));
    expect(r.output.match(/secret for svc/g)).toHaveLength(1);
    expect(r.output).not.toContain(secret);
    expect((await entry(env, 'svc'))?.fields).toEqual({ token: secret });
  });

  it.skipIf(!pty)('set: three wrong passphrases give up before asking for the secret; nothing changes', async () => {
    const env = await fresh();
    ok(await addService(env, 'svc', up.url, KEY1));
    const r = await runUnderPty(ptyArgs(env, ['set', 'svc']), [
      { waitFor: 'vault passphrase: ', send: 'wrong 1\r' },
      { waitFor: 'vault passphrase: ', send: 'wrong 2\r' },
      { waitFor: 'vault passphrase: ', send: 'wrong 3\r' },
    ]);
    expect(r.code).toBe(1);
    expect(r.output).toMatch(/janee: error: wrong passphrase/);
    expect(r.output).not.toContain('secret for svc');
    expect((await entry(env, 'svc'))?.fields).toEqual({ token: KEY1 });
  });

  it.skipIf(!pty)('a mismatched confirmation asks again instead of aborting (passwd)', async () => {
    const env = await fresh();
    const r = await runUnderPty(
      [
        'env',
        '-u',
        'JANEE_PASSPHRASE',
        `JANEE_HOME=${env.JANEE_HOME}`,
        `JANEE_PASSPHRASE=${PASSPHRASE}`,
        process.execPath,
        CLI,
        'passwd',
        '--work-factor',
        '10',
      ],
      [
        { waitFor: 'new passphrase: ', send: 'first new one\r' },
        { waitFor: 'again: ', send: 'a typo\r' },
        { waitFor: 'new passphrase: ', send: 'second new one\r' },
        { waitFor: 'again: ', send: 'second new one\r' },
      ],
    );
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/the two passphrases differ; type it again/);
    const v = await unlockVaultFile(vaultOf(env), new TextEncoder().encode('second new one'));
    v.fileKey.fill(0);
  });
});

describe('no secret in any output, file or audit line', () => {
  it('through add, set, edit, serve calls and errors', { timeout: 120_000 }, async () => {
    const env = await fresh();
    const K1 = `sk_test_leak_${Math.random().toString(36).slice(2)}_1`;
    const K2 = `sk_test_leak_${Math.random().toString(36).slice(2)}_2`;
    const K3 = `sk_test_leak_${Math.random().toString(36).slice(2)}_3`;
    const outs: RunResult[] = [];
    const run = async (args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}) => {
      const r = await runJanee(args, { env: opts.env ?? env, ...(opts.input !== undefined ? { input: opts.input } : {}) });
      outs.push(r);
      return r;
    };
    ok(await run(['add', 'svc', '--base-url', up.url, '--key-stdin', '--policy', 'GET /echo'], { input: K1 }));
    ok(await run(['set', 'svc', '--key-stdin'], { input: K2 }));
    ok(await run(['set', 'svc', '--key-from-env', 'ROT'], { env: withEnv(env, { ROT: K3 }) }));
    ok(await run(['edit', 'svc', '--deny', 'POST /echo']));
    expect((await run(['set', 'svc', '--key-stdin'], { input: `${K1}\n${K2}` })).code).toBe(1); // a line break: refused
    expect((await run(['set', 'svc', '--key-stdin'], { input: K1, env: withEnv(env, { JANEE_PASSPHRASE: 'wrong' }) })).code).toBe(1);
    expect((await run(['set', 'nope', '--key-stdin'], { input: K1 })).code).toBe(1);
    expect(await callThroughServe(env, 'svc')).toBe(`Bearer ${K3}`);
    const forms = [K1, K2, K3].flatMap(secretForms);
    const hits: string[] = [];
    for (const r of outs) hits.push(...findForms(r.stdout, forms), ...findForms(r.stderr, forms));
    for (const f of await listFiles(env.JANEE_HOME))
      for (const h of findForms(await fs.readFile(path.join(env.JANEE_HOME, f)), forms)) hits.push(`${f}: ${h}`);
    for (const l of await auditLines(env.JANEE_HOME)) hits.push(...findForms(l, forms));
    expect(hits).toEqual([]);
  });
});
