/**
 * The built-in API templates, driven through the built CLI: `janee add NAME`
 * filling config.yaml and the vault from the catalogue, flags overriding it,
 * `janee templates` search, the testPath field's validation in config.yaml, the
 * no-policy warning, and the step-by-step `janee add` under a real pty.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { unlockVaultFile } from '../../src/vault/store.js';
import { TEMPLATES, templatesMarkdown } from '../../src/cli/templates.js';
import {
  CLI,
  PASSPHRASE,
  REPO_ROOT,
  cleanupTempHomes,
  cloneHome,
  errorLines,
  initHome,
  runJanee,
  snapshot,
  type JaneeEnv,
  type RunResult,
} from '../helpers/cli.js';
import { hasPty, runUnderPty } from '../helpers/pty.js';

afterAll(cleanupTempHomes);

let base: Promise<JaneeEnv> | undefined;
const fresh = (): Promise<JaneeEnv> => {
  base ??= initHome();
  return base.then(cloneHome);
};

function ok(r: RunResult): void {
  expect(r.timedOut, 'the command hung').toBe(false);
  expect(r.stderr).not.toMatch(/janee: error/);
  expect(r.code, r.stderr).toBe(0);
}

function usage(r: RunResult, message: RegExp, hint?: RegExp): void {
  expect(r.timedOut, 'the command hung').toBe(false);
  const lines = errorLines(r.stderr);
  expect(lines.error, r.stderr).toMatch(message);
  expect(lines.hint, r.stderr).toBeDefined();
  if (hint) expect(lines.hint, r.stderr).toMatch(hint);
  expect(r.code, r.stderr).toBe(2);
}

interface ServiceYaml {
  baseUrl: string;
  auth: Record<string, string>;
  policies?: { path: string; methods: string[]; deny?: boolean }[];
  testPath?: string;
}

async function services(env: JaneeEnv): Promise<Record<string, ServiceYaml>> {
  const doc = parse(await fs.readFile(path.join(env.JANEE_HOME, 'config.yaml'), 'utf8')) as {
    services: Record<string, ServiceYaml> | null;
  };
  return doc.services ?? {};
}

async function vaultFields(env: JaneeEnv, name: string): Promise<{ fields: Record<string, string>; origins: string[] } | undefined> {
  const v = await unlockVaultFile(path.join(env.JANEE_HOME, 'vault.janee'), new TextEncoder().encode(PASSPHRASE));
  v.fileKey.fill(0);
  return v.data.entries[name];
}

const NO_POLICY_WARNING = /janee: warning: .*no allow rules: the agent may now call any method on any path under /;

describe('the catalogue', () => {
  it('has at least 20 APIs with distinct names, https base URLs, GET-only starting rules and valid test paths', () => {
    expect(TEMPLATES.length).toBeGreaterThanOrEqual(20);
    expect(new Set(TEMPLATES.map((t) => t.name)).size).toBe(TEMPLATES.length);
    for (const t of TEMPLATES) {
      expect(t.baseUrl, t.name).toMatch(/^https:\/\/[^/?#]+(\/[^?#]*)?$/);
      expect(t.policies.length, t.name).toBeGreaterThan(0);
      expect(new Set(t.policies.map((p) => p.path)).size, `${t.name}: a rule twice`).toBe(t.policies.length);
      // Linear's GraphQL is the one documented exception (POST /graphql, said in its note).
      for (const p of t.policies) if (t.name !== 'linear') expect(p.methods, `${t.name} ${p.path}`).toEqual(['GET']);
      if (t.testPath !== undefined) expect(t.testPath, t.name).toMatch(/^\/[^?#]*$/);
      if (t.auth.type === 'basic') expect(t.username !== undefined || t.usernameLabel !== undefined, t.name).toBe(true);
    }
    const byName = Object.fromEntries(TEMPLATES.map((t) => [t.name, t]));
    expect(byName.anthropic?.auth).toEqual({ type: 'header', name: 'x-api-key' });
    expect(byName.gitlab?.auth).toEqual({ type: 'header', name: 'PRIVATE-TOKEN' });
    expect(byName.linear?.auth).toEqual({ type: 'header', name: 'Authorization' });
    expect(byName.mailgun?.username).toBe('api');
  });
});

describe('docs/templates.md', () => {
  it('is the catalogue as generated (regenerate with the command in its first comment)', async () => {
    expect(await fs.readFile(path.join(REPO_ROOT, 'docs', 'templates.md'), 'utf8')).toBe(templatesMarkdown());
  });
});

describe.concurrent('janee add from a template', () => {
  it('fills baseUrl, auth, read-only policies and testPath, and puts the key in the vault bound to the origin', async () => {
    const env = await fresh();
    const r = await runJanee(['add', 'github', '--key-stdin'], { env, input: 'ghp_templatekey\n' });
    ok(r);
    expect(r.stderr).toMatch(/rules from the github template; test path \/user/);
    expect(r.stderr).not.toMatch(NO_POLICY_WARNING);
    const gh = (await services(env)).github;
    expect(gh).toEqual({
      baseUrl: 'https://api.github.com',
      auth: { type: 'bearer' },
      policies: TEMPLATES.find((t) => t.name === 'github')?.policies.map((p) => ({ path: p.path, methods: p.methods })),
      testPath: '/user',
    });
    expect(gh?.policies?.every((p) => p.methods.join() === 'GET')).toBe(true);
    expect(await vaultFields(env, 'github')).toMatchObject({ fields: { token: 'ghp_templatekey' }, origins: ['https://api.github.com'] });
    // What was written loads again (the test path passes the config validator).
    ok(await runJanee(['list'], { env }));
  });

  it('uses the template auth shape: a header name, a fixed basic user, an asked-for basic user', async () => {
    const env = await fresh();
    ok(await runJanee(['add', 'anthropic', '--key-stdin'], { env, input: 'sk-ant-x' }));
    ok(await runJanee(['add', 'mailgun', '--key-stdin'], { env, input: 'mg-key' }));
    usage(await runJanee(['add', 'twilio', '--key-stdin'], { env, input: 'tw' }), /Twilio needs --username: the Account SID/);
    ok(await runJanee(['add', 'twilio', '--username', 'AC0123', '--key-stdin'], { env, input: 'tw-token' }));
    const s = await services(env);
    expect(s.anthropic?.auth).toEqual({ type: 'header', name: 'x-api-key' });
    expect(s.mailgun?.auth).toEqual({ type: 'basic' });
    expect(s.twilio?.testPath).toBe('/2010-04-01/Accounts.json');
    expect(JSON.stringify(s)).not.toContain('AC0123'); // the account id stays in the vault
    expect((await vaultFields(env, 'mailgun'))?.fields).toEqual({ username: 'api', password: 'mg-key' });
    expect((await vaultFields(env, 'twilio'))?.fields).toEqual({ username: 'AC0123', password: 'tw-token' });
  });

  it('--template with --base-url keeps the template auth, policies and test path on another host (GitHub Enterprise)', async () => {
    const env = await fresh();
    ok(
      await runJanee(['add', 'ghe', '--template', 'github', '--base-url', 'https://ghe.example.com/api/v3', '--key-stdin'], {
        env,
        input: 'k',
      }),
    );
    const ghe = (await services(env)).ghe;
    expect(ghe?.baseUrl).toBe('https://ghe.example.com/api/v3');
    expect(ghe?.auth).toEqual({ type: 'bearer' });
    expect(ghe?.testPath).toBe('/user');
    expect(ghe?.policies?.length).toBeGreaterThan(0);
    expect((await vaultFields(env, 'ghe'))?.origins).toEqual(['https://ghe.example.com']);
  });

  it('explicit flags override the template: --policy replaces its rules, --auth/--header its auth, --test-path its test path', async () => {
    const env = await fresh();
    const r = await runJanee(
      [
        'add',
        'openai',
        '--policy',
        'POST /v1/chat/completions',
        '--auth',
        'header',
        '--header',
        'X-Key',
        '--test-path',
        '/v1/me',
        '--key-stdin',
      ],
      { env, input: 'k' },
    );
    ok(r);
    expect((await services(env)).openai).toEqual({
      baseUrl: 'https://api.openai.com',
      auth: { type: 'header', name: 'X-Key' },
      policies: [{ path: '/v1/chat/completions', methods: ['POST'] }],
      testPath: '/v1/me',
    });
  });

  it('--deny adds to the template rules instead of replacing them', async () => {
    const env = await fresh();
    ok(await runJanee(['add', 'stripe', '--deny', 'GET /v1/customers', '--key-stdin'], { env, input: 'k' }));
    const rules = (await services(env)).stripe?.policies ?? [];
    const template = TEMPLATES.find((t) => t.name === 'stripe')?.policies ?? [];
    expect(rules).toEqual([
      ...template.map((p) => ({ path: p.path, methods: p.methods })),
      { path: '/v1/customers', methods: ['GET'], deny: true },
    ]);
  });

  it('needs --base-url for per-account APIs and an unknown name gets a did-you-mean; nothing is written', async () => {
    const env = await fresh();
    const before = await snapshot(env.JANEE_HOME);
    usage(
      await runJanee(['add', 'jira', '--username', 'me@example.com', '--key-stdin'], { env, input: 'k' }),
      /per account: give --base-url/,
      /atlassian\.net/,
    );
    usage(
      await runJanee(['add', 'gihtub', '--key-stdin'], { env, input: 'k' }),
      /"gihtub" is not a built-in template and no --base-url/,
      /did you mean github\?/,
    );
    usage(await runJanee(['add', 'x', '--template', 'strpe', '--key-stdin'], { env, input: 'k' }), /unknown template "strpe"/, /stripe/);
    expect(await snapshot(env.JANEE_HOME)).toEqual(before);
  });

  it('refuses a test path that could leave the base URL or carries a query', async () => {
    const env = await fresh();
    const before = await snapshot(env.JANEE_HOME);
    for (const bad of [
      '/v1/../admin',
      '/v1/%2e%2e/admin',
      'https://evil.example/x',
      '//evil.example/x',
      '/v1/models?limit=1',
      'v1/models',
    ]) {
      usage(await runJanee(['add', 'openai', '--test-path', bad, '--key-stdin'], { env, input: 'k' }), /invalid test path/);
    }
    expect(await snapshot(env.JANEE_HOME)).toEqual(before);
  });
});

describe.concurrent('the no-policy warning', () => {
  it('says plainly that the agent may call anything when no policy is given', async () => {
    const env = await fresh();
    const r = await runJanee(['add', 'open', '--base-url', 'https://api.example.com', '--key-stdin'], { env, input: 'k' });
    ok(r);
    expect(r.stderr).toMatch(NO_POLICY_WARNING);
    expect(r.stderr).toMatch(/https:\/\/api\.example\.com/);
    expect(r.stderr).toMatch(/--policy/);
    expect(r.stdout).toBe('');
  });

  it('is absent when a policy is given, and a name that is also a template says how to use it', async () => {
    const env = await fresh();
    const r = await runJanee(['add', 'stripe', '--base-url', 'https://api.stripe.com', '--policy', 'GET /v1/charges', '--key-stdin'], {
      env,
      input: 'k',
    });
    ok(r);
    expect(r.stderr).not.toMatch(NO_POLICY_WARNING);
    expect(r.stderr).toMatch(/--template stripe/);
    // --base-url without --template keeps the old meaning: only the given rules.
    expect((await services(env)).stripe?.policies).toEqual([{ path: '/v1/charges', methods: ['GET'] }]);
  });
});

describe.concurrent('testPath in config.yaml', () => {
  const withService = async (testPath: string): Promise<{ env: JaneeEnv; r: RunResult }> => {
    const env = await fresh();
    await fs.writeFile(
      path.join(env.JANEE_HOME, 'config.yaml'),
      `services:\n  svc:\n    baseUrl: https://api.example.com/base\n    auth: { type: bearer }\n    testPath: ${JSON.stringify(testPath)}\n`,
    );
    return { env, r: await runJanee(['list'], { env }) };
  };

  it('accepts a plain absolute path', async () => {
    ok((await withService('/v1/users/me')).r);
  });

  for (const [bad, why] of [
    ['/v1/../../admin', /"\."|"\.\."|segments/],
    ['/v1/%2E%2E/admin', /segments/],
    ['https://evil.example/steal', /absolute URL|start with/],
    ['//evil.example/steal', /start with|scheme-relative|\/\//],
    ['/v1/me?token=1', /query/],
    ['relative/path', /start with/],
  ] as const) {
    it(`refuses ${bad} with file:line`, async () => {
      const { env, r } = await withService(bad);
      const { error, hint } = errorLines(r.stderr);
      expect(error, r.stderr).toContain(`${path.join(env.JANEE_HOME, 'config.yaml')}:5: services.svc.testPath:`);
      expect(error).toMatch(why);
      expect(hint).toBeDefined();
      expect(r.code).toBe(1);
    });
  }
});

describe.concurrent('janee templates', () => {
  it('finds github by name and shows its policy, note and docs', async () => {
    const r = await runJanee(['templates', 'github']);
    ok(r);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^NAME\s+API\s+AUTH\s+BASE URL\s+TEST PATH$/);
    expect(lines[1]).toMatch(/^github\s+GitHub\s+bearer\s+https:\/\/api\.github\.com\s+\/user$/);
    expect(r.stdout).toMatch(/read-only starting policy: GET \/user/);
    expect(r.stdout).toMatch(/docs: https:\/\/docs\.github\.com/);
  });

  it('searches titles and tags, and tolerates a typo', async () => {
    const email = await runJanee(['templates', 'email']);
    ok(email);
    for (const n of ['mailgun', 'postmark', 'sendgrid']) expect(email.stdout).toMatch(new RegExp(`^${n}\\s`, 'm'));
    expect(email.stdout).not.toMatch(/^github\s/m);
    expect((await runJanee(['templates', 'gihtub'])).stdout).toMatch(/^github\s/m);
    const none = await runJanee(['templates', 'zzzzqqq']);
    expect(none.code).toBe(1);
    expect(none.stdout).toBe('');
  });

  it('--json lists every template with name, title, baseUrl, auth, policies, testPath and docs', async () => {
    const r = await runJanee(['templates', '--json']);
    ok(r);
    const all = JSON.parse(r.stdout) as {
      name: string;
      title: string;
      baseUrl: string;
      auth: { type: string };
      policies: unknown[];
      testPath: string | null;
      docs: string;
    }[];
    expect(all.length).toBe(TEMPLATES.length);
    const gl = all.find((t) => t.name === 'gitlab');
    expect(gl).toMatchObject({
      title: 'GitLab',
      baseUrl: 'https://gitlab.com/api/v4',
      auth: { type: 'header', name: 'PRIVATE-TOKEN' },
      testPath: '/user',
    });
    expect(gl?.docs).toMatch(/^https:\/\//);
    const one = JSON.parse((await runJanee(['templates', 'stripe', '--json'])).stdout) as { name: string }[];
    expect(one[0]?.name).toBe('stripe');
  });
});

describe.concurrent('janee add step by step', () => {
  it('without a terminal, no name is a usage error that mentions the templates', async () => {
    const env = await fresh();
    usage(await runJanee(['add'], { env }), /missing service name/, /janee templates/);
  });

  const pty = hasPty();
  const ptyEnv = (env: JaneeEnv) => ['env', `JANEE_HOME=${env.JANEE_HOME}`, `JANEE_PASSPHRASE=${PASSPHRASE}`, process.execPath, CLI, 'add'];

  it.skipIf(!pty)('asks for a template, takes its defaults, and reads the key without echo', async () => {
    const env = await fresh();
    const secret = 'ghp_typed_at_the_prompt_9f8e7d';
    const r = await runUnderPty(ptyEnv(env), [
      { waitFor: 'template (', send: 'gitlub\n' }, // a typo: told, asked again
      { waitFor: 'template (', send: 'github\n' },
      { waitFor: 'service name [github]: ', send: '\n' },
      { waitFor: 'base URL [https://api.github.com]: ', send: '\n' },
      { waitFor: 'keep these rules? [Y/n]: ', send: '\n' },
      { waitFor: 'secret for github', send: `${secret}\r` },
    ]);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/did you mean (github|gitlab)/);
    expect(r.output).not.toContain(secret);
    const gh = (await services(env)).github;
    expect(gh?.baseUrl).toBe('https://api.github.com');
    expect(gh?.testPath).toBe('/user');
    expect(gh?.policies?.length).toBeGreaterThan(0);
    expect((await vaultFields(env, 'github'))?.fields).toEqual({ token: secret });
  });

  it.skipIf(!pty)('asks everything for a custom API, re-asks a refused answer, and warns when no rule is given', async () => {
    const env = await fresh();
    const r = await runUnderPty(ptyEnv(env), [
      { waitFor: 'template (', send: '\n' },
      { waitFor: 'service name: ', send: 'custom\n' },
      { waitFor: 'base URL (e.g. https://api.example.com): ', send: 'http://api.example.com\n' }, // plain http: refused
      { waitFor: 'base URL (e.g. https://api.example.com): ', send: 'https://api.example.com/v2\n' },
      { waitFor: 'auth type (', send: 'header\n' },
      { waitFor: 'header name', send: 'X-Api-Key\n' },
      { waitFor: 'rule: ', send: 'GET /things\n' },
      { waitFor: 'rule: ', send: 'nonsense\n' }, // refused, asked again
      { waitFor: 'rule: ', send: '\n' },
      { waitFor: 'secret for custom', send: 'custom-key\r' },
    ]);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/refusing plain http/);
    expect(r.output).toMatch(/invalid rule "nonsense"/);
    expect(r.output).not.toMatch(NO_POLICY_WARNING);
    expect((await services(env)).custom).toEqual({
      baseUrl: 'https://api.example.com/v2',
      auth: { type: 'header', name: 'X-Api-Key' },
      policies: [{ path: '/things', methods: ['GET'] }],
    });

    const env2 = await fresh();
    const open = await runUnderPty(ptyEnv(env2), [
      { waitFor: 'template (', send: '\n' },
      { waitFor: 'service name: ', send: 'open\n' },
      { waitFor: 'base URL', send: 'https://api.example.com\n' },
      { waitFor: 'auth type (', send: '\n' },
      { waitFor: 'rule: ', send: '\n' },
      { waitFor: 'secret for open', send: 'k\r' },
    ]);
    expect(open.code, open.output).toBe(0);
    expect(open.output).toMatch(NO_POLICY_WARNING);
    expect((await services(env2)).open).toEqual({ baseUrl: 'https://api.example.com', auth: { type: 'bearer' } });
  });
});
