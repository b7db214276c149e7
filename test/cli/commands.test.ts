/**
 * The vault-and-CLI flows, driven through the built CLI: init, add (every auth
 * type), list, remove, passwd, rekey, key and passphrase sources, usage errors.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  FAST,
  PASSPHRASE,
  cleanupTempHomes,
  cloneHome,
  errorLines,
  initHome,
  leftovers,
  listFiles,
  runJanee,
  scratchDir,
  snapshot,
  tempHome,
  withEnv,
  type JaneeEnv,
  type RunResult,
} from '../helpers/cli.js';

afterAll(cleanupTempHomes);

/** The two files a failed command must leave byte-identical. */
const coreFiles = async (env: { JANEE_HOME: string }) => {
  const read = (f: string) => fs.readFile(path.join(env.JANEE_HOME, f)).catch(() => undefined);
  return { config: await read('config.yaml'), vault: await read('vault.janee') };
};

const mode = async (p: string) => (await fs.stat(p)).mode & 0o777;

interface ListRow {
  name: string;
  baseUrl: string | null;
  auth: string | null;
  policies: { path: string; methods: string[]; deny: boolean }[] | null;
  rateLimit: string | null;
  secret: boolean | null;
  origins: string[];
}

async function listJson(env: NodeJS.ProcessEnv): Promise<{ services: ListRow[]; vault: string }> {
  const r = await runJanee(['list', '--json'], { env });
  expect(r.stderr).not.toMatch(/janee: error/);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as { services: ListRow[]; vault: string };
}

function ok(r: RunResult): void {
  expect(r.timedOut, r.stderr).toBe(false);
  expect(r.stderr).not.toMatch(/janee: error/);
  expect(r.code, r.stderr).toBe(0);
}

/** exit 1, `janee: error:` and `janee: hint:` on stderr, nothing on stdout. */
function fails(r: RunResult, message: RegExp): void {
  expect(r.timedOut, 'the command hung').toBe(false);
  const { error, hint } = errorLines(r.stderr);
  expect(error, r.stderr).toMatch(message);
  expect(hint, r.stderr).toBeDefined();
  expect(r.stdout).toBe('');
  expect(r.code, r.stderr).toBe(1);
}

const add = (env: NodeJS.ProcessEnv, name: string, key: string, extra: string[] = []) =>
  runJanee(['add', name, '--base-url', `https://${name}.example.com`, '--key-stdin', ...extra], { env, input: key });

// One initialised home, copied for cases that need a vault but not their own scrypt run.
let base: Promise<JaneeEnv> | undefined;
const fresh = (): Promise<JaneeEnv> => {
  base ??= initHome();
  return base.then(cloneHome);
};

describe.concurrent('janee init', () => {
  it('creates JANEE_HOME 0700 with config.yaml and vault.janee 0600, talking on stderr only', async () => {
    const env = await tempHome();
    const r = await runJanee(['init', ...FAST], { env });
    ok(r);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/weak/); // work factor 2^10 warns
    const home = env.JANEE_HOME;
    expect(await mode(home)).toBe(0o700);
    expect(await mode(path.join(home, 'config.yaml'))).toBe(0o600);
    expect(await mode(path.join(home, 'vault.janee'))).toBe(0o600);
    expect(await listFiles(home)).toEqual(['config.yaml', 'vault.janee']);
    expect((await fs.readFile(path.join(home, 'vault.janee'), 'utf8')).split('\n')[0]).toBe('janee-vault/v1');
    expect(await listJson(env)).toEqual({ services: [], vault: 'read' });
  });

  it('refuses to run twice and leaves every file byte-identical', async () => {
    const env = await fresh();
    const before = await snapshot(env.JANEE_HOME);
    const r = await runJanee(['init', ...FAST], { env: withEnv(env, { JANEE_PASSPHRASE: 'a different passphrase' }) });
    fails(r, /already exists/);
    expect(await snapshot(env.JANEE_HOME)).toEqual(before);
  });

  it('reads the new passphrase from --passphrase-stdin', async () => {
    const env = withEnv(await tempHome(), { JANEE_PASSPHRASE: undefined });
    ok(await runJanee(['init', ...FAST, '--passphrase-stdin'], { env, input: 'stdin pass\n' }));
    ok(await runJanee(['rekey'], { env: withEnv(env, { JANEE_PASSPHRASE: 'stdin pass' }) }));
  });
});

describe.concurrent('janee add, list, remove', () => {
  it('adds bearer, basic, header and query services with policies and limits; list shows them', { timeout: 90_000 }, async () => {
    const env = await fresh();
    ok(
      await runJanee(
        [
          'add',
          'stripe',
          '--base-url',
          'https://api.stripe.com/',
          '--auth',
          'bearer',
          '--key-stdin',
          '--policy',
          'GET /v1/charges',
          '--policy',
          'GET,POST /v1/customers',
          '--deny',
          '* /v1/customers/*/delete',
          '--rate-limit',
          '60/min',
        ],
        { env, input: 'sk_test_bearer\n' },
      ),
    );
    const viaStdin = await runJanee(
      ['add', 'gh', '--base-url', 'https://api.github.com', '--auth', 'basic', '--username', 'bob', '--key-stdin'],
      { env, input: 'pw' },
    );
    ok(viaStdin);
    expect(viaStdin.stderr).not.toMatch(/warning: --key/);
    const viaArgv = await runJanee(
      ['add', 'oa', '--base-url', 'https://api.openai.com/v1', '--auth', 'header', '--header', 'X-Api-Key', '--key', 'k1'],
      { env },
    );
    ok(viaArgv);
    expect(viaArgv.stderr).toMatch(/janee: warning: --key is visible to other processes/);
    ok(
      await runJanee(['add', 'maps', '--base-url', 'http://localhost:8080/api', '--auth', 'query', '--param', 'api_key', '--key-stdin'], {
        env,
        input: 'k2',
      }),
    );

    const list = await listJson(env);
    expect(list.vault).toBe('read');
    expect(list.services.map((s) => [s.name, s.baseUrl, s.auth, s.secret, s.origins])).toEqual([
      ['stripe', 'https://api.stripe.com', 'bearer', true, ['https://api.stripe.com']],
      ['gh', 'https://api.github.com', 'basic', true, ['https://api.github.com']],
      ['oa', 'https://api.openai.com/v1', 'header', true, ['https://api.openai.com']],
      ['maps', 'http://localhost:8080/api', 'query', true, ['http://localhost:8080']],
    ]);
    const stripe = list.services[0];
    expect(stripe?.policies).toEqual([
      { path: '/v1/charges', methods: ['GET'], deny: false },
      { path: '/v1/customers', methods: ['GET', 'POST'], deny: false },
      { path: '/v1/customers/*/delete', methods: ['*'], deny: true },
    ]);
    expect(stripe?.rateLimit).toBe('60/min');

    const config = await fs.readFile(path.join(env.JANEE_HOME, 'config.yaml'), 'utf8');
    expect(config).toMatch(/^ {2}gh:\n {4}baseUrl: https:\/\/api\.github\.com\n {4}auth: \{ type: basic \}$/m);
    expect(config).toMatch(/auth: \{ type: header, name: X-Api-Key \}/);
    expect(config).toMatch(/auth: \{ type: query, param: api_key \}/);
    expect(config).toMatch(/rateLimit: 60\/min/);
    expect(config).not.toMatch(/sk_test_bearer|\bpw\b|k1|k2|bob/);

    const text = await runJanee(['list'], { env });
    ok(text);
    expect(text.stdout).toMatch(/^stripe +https:\/\/api\.stripe\.com +bearer +secret: yes +3 rules +60\/min$/m);
    expect(text.stdout).toMatch(/^gh +https:\/\/api\.github\.com +basic +secret: yes +any request$/m);

    // Without a passphrase list still works, from config.yaml alone, and never prompts.
    const locked = await runJanee(['list', '--json'], { env: withEnv(env, { JANEE_PASSPHRASE: undefined }) });
    ok(locked);
    const lj = JSON.parse(locked.stdout) as { services: ListRow[]; vault: string };
    expect(lj.vault).toBe('locked');
    expect(lj.services.map((s) => s.secret)).toEqual([null, null, null, null]);

    // remove: gone from both files; the others stay.
    const rm = await runJanee(['remove', 'oa'], { env });
    ok(rm);
    expect(rm.stdout).toBe('');
    const after = await listJson(env);
    expect(after.services.map((s) => s.name)).toEqual(['stripe', 'gh', 'maps']);
    expect(await fs.readFile(path.join(env.JANEE_HOME, 'config.yaml'), 'utf8')).not.toMatch(/\boa:/);
    fails(await runJanee(['remove', 'oa'], { env }), /no service or secret named "oa"/);
    expect(leftovers(await listFiles(env.JANEE_HOME))).toEqual([]);
  });

  it('list --json tells a secret missing from the vault, and a secret missing from config.yaml', async () => {
    const env = await fresh();
    ok(await add(env, 'both', 'k'));
    ok(await add(env, 'orphan', 'k'));
    const cfg = path.join(env.JANEE_HOME, 'config.yaml');
    const text = await fs.readFile(cfg, 'utf8');
    await fs.writeFile(
      cfg,
      `${text.replace(/ {2}orphan:\n(?: {4}.*\n)+/, '')}  nosecret:\n    baseUrl: https://nosecret.example.com\n    auth: { type: bearer }\n`,
    );
    const list = await listJson(env);
    expect(list.services.map((s) => [s.name, s.secret, s.baseUrl])).toEqual([
      ['both', true, 'https://both.example.com'],
      ['nosecret', false, 'https://nosecret.example.com'],
      ['orphan', true, null],
    ]);
  });

  it('with no key and no terminal: a clear error, exit 1, nothing changed', async () => {
    const env = await fresh();
    const before = await snapshot(env.JANEE_HOME);
    const r = await runJanee(['add', 'nokey', '--base-url', 'https://a.example.com'], { env, timeoutMs: 10_000 });
    fails(r, /no secret given and no terminal/);
    expect(errorLines(r.stderr).hint).toMatch(/--key-stdin/);
    expect(await snapshot(env.JANEE_HOME)).toEqual(before);
  });

  it('an empty secret, or one with a line break, is refused with nothing changed', async () => {
    const env = await fresh();
    const before = await snapshot(env.JANEE_HOME);
    const [empty, twoLines] = await Promise.all([add(env, 'empty', ''), add(env, 'twolines', 'abc\ndef\n')]);
    fails(empty, /secret is empty/);
    fails(twoLines, /line break/);
    expect(await snapshot(env.JANEE_HOME)).toEqual(before);
  });
});

describe.concurrent('janee passwd and rekey', () => {
  it('passwd: the old passphrase stops working, the new one works, entries are kept', async () => {
    const env = await fresh();
    ok(await add(env, 'svc', 'k'));
    const r = await runJanee(['passwd'], { env: withEnv(env, { JANEE_NEW_PASSPHRASE: 'new passphrase' }) });
    ok(r);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/passphrase changed/);

    const old = await runJanee(['rekey'], { env });
    fails(old, /wrong passphrase/);
    expect(old.stderr).not.toMatch(/damaged|tampered|truncated/);

    const nenv = withEnv(env, { JANEE_PASSPHRASE: 'new passphrase' });
    const list = await listJson(nenv);
    expect(list.services.map((s) => [s.name, s.secret])).toEqual([['svc', true]]);
    expect(await mode(path.join(env.JANEE_HOME, 'vault.janee'))).toBe(0o600);
  });

  it('passwd reads old and new passphrases from stdin, one line each', async () => {
    const env = withEnv(await fresh(), { JANEE_PASSPHRASE: undefined });
    ok(await runJanee(['passwd', '--passphrase-stdin', '--new-passphrase-stdin'], { env, input: `${PASSPHRASE}\nsecond\n` }));
    ok(await runJanee(['rekey'], { env: withEnv(env, { JANEE_PASSPHRASE: 'second' }) }));
  });

  it('passwd with a wrong current passphrase changes nothing', async () => {
    const env = await fresh();
    const before = await snapshot(env.JANEE_HOME);
    fails(await runJanee(['passwd'], { env: withEnv(env, { JANEE_PASSPHRASE: 'nope', JANEE_NEW_PASSPHRASE: 'x' }) }), /wrong passphrase/);
    expect(await snapshot(env.JANEE_HOME)).toEqual(before);
  });

  it('rekey: new file key (the key line changes), same passphrase, entries kept', async () => {
    const env = await fresh();
    ok(await add(env, 'b', 'kb', ['--auth', 'basic', '--username', 'u']));
    const vault = path.join(env.JANEE_HOME, 'vault.janee');
    const before = (await fs.readFile(vault, 'utf8')).split('\n');
    const r = await runJanee(['rekey'], { env });
    ok(r);
    expect(r.stderr).toMatch(/rekeyed/);
    const after = (await fs.readFile(vault, 'utf8')).split('\n');
    expect(after[0]).toBe('janee-vault/v1');
    expect(after[1]).not.toBe(before[1]); // new salt
    expect(after[2]).not.toBe(before[2]); // new wrapped key
    expect(await fs.readFile(`${vault}.bak`, 'utf8')).toBe(before.join('\n'));
    const list = await listJson(env);
    expect(list.services.map((s) => [s.name, s.auth, s.secret])).toEqual([['b', 'basic', true]]);
  });
});

describe.concurrent('passphrase sources', () => {
  it('JANEE_PASSPHRASE_FILE beats JANEE_PASSPHRASE (one trailing newline stripped)', async () => {
    const env = await fresh();
    const right = path.join(scratchDir(env), 'right');
    const wrong = path.join(scratchDir(env), 'wrong');
    await fs.writeFile(right, `${PASSPHRASE}\n`, { mode: 0o600 });
    await fs.writeFile(wrong, 'not it\n', { mode: 0o600 });
    ok(await add(withEnv(env, { JANEE_PASSPHRASE_FILE: right, JANEE_PASSPHRASE: 'not it' }), 'viafile', 'k'));
    fails(await add(withEnv(env, { JANEE_PASSPHRASE_FILE: wrong }), 'nope', 'k'), /wrong passphrase/);
    const missing = await add(withEnv(env, { JANEE_PASSPHRASE_FILE: path.join(scratchDir(env), 'absent') }), 'nope', 'k');
    fails(missing, /JANEE_PASSPHRASE_FILE/);
    expect((await listJson(env)).services.map((s) => s.name)).toEqual(['viafile']);
  });

  it('--passphrase-stdin is used when the environment has none, and the environment wins when set', async () => {
    const env = await fresh();
    const noEnv = withEnv(env, { JANEE_PASSPHRASE: undefined });
    ok(await runJanee(['rekey', '--passphrase-stdin'], { env: noEnv, input: `${PASSPHRASE}\n` }));
    fails(await runJanee(['rekey', '--passphrase-stdin'], { env: noEnv, input: 'wrong\n' }), /wrong passphrase/);
    // JANEE_PASSPHRASE comes before --passphrase-stdin: the (wrong) stdin line is not read.
    ok(await runJanee(['rekey', '--passphrase-stdin'], { env, input: 'wrong\n' }));
  });

  it('with no source and no terminal: a clear error naming JANEE_PASSPHRASE, exit 1, no hang', { timeout: 60_000 }, async () => {
    const env = withEnv(await fresh(), { JANEE_PASSPHRASE: undefined });
    const before = await coreFiles(env);
    const runs = [['rekey'], ['add', 'x', '--base-url', 'https://x.example.com', '--key', 'k']].map((args) =>
      runJanee(args, { env, timeoutMs: 10_000 }),
    );
    runs.push(tempHome().then((h) => runJanee(['init', ...FAST], { env: withEnv(h, { JANEE_PASSPHRASE: undefined }), timeoutMs: 10_000 })));
    for (const r of await Promise.all(runs)) fails(r, /JANEE_PASSPHRASE/);
    expect(await coreFiles(env)).toEqual(before);
  });

  it('an empty JANEE_PASSPHRASE_FILE is an error, not an empty passphrase', async () => {
    const env = await fresh();
    const empty = path.join(scratchDir(env), 'empty');
    await fs.writeFile(empty, '\n');
    fails(await runJanee(['rekey'], { env: withEnv(env, { JANEE_PASSPHRASE_FILE: empty }) }), /empty/);
  });
});

describe.concurrent('usage errors: exit 2, `janee: error:` on stderr, nothing on stdout, nothing changed', () => {
  const url = ['--base-url', 'https://u.example.com'];
  const cases: [string, string[], RegExp][] = [
    ['unknown command', ['frobnicate'], /unknown command "frobnicate"/],
    ['missing positional', ['add'], /missing service name/], // without a terminal; in one, `janee add` asks
    ['missing required --base-url', ['add', 'x'], /./],
    ['work factor too low', ['init', '--work-factor', '3'], /--work-factor/],
    ['unknown auth type', ['add', 'x', ...url, '--auth', 'oauth', '--key', 'k'], /unknown auth type "oauth"/],
    ['basic without --username', ['add', 'x', ...url, '--auth', 'basic', '--key', 'k'], /--username/],
    ['bad service name', ['add', 'no/slash', ...url, '--key', 'k'], /invalid service name/],
    ['bad policy rule', ['add', 'x', ...url, '--policy', 'charges', '--key', 'k'], /invalid rule/],
    ['bad rate limit', ['add', 'x', ...url, '--rate-limit', '5/fortnight', '--key', 'k'], /--rate-limit/],
    ['--key and --key-stdin', ['add', 'x', ...url, '--key', 'k', '--key-stdin'], /--key/],
    ['--key-stdin and --passphrase-stdin', ['add', 'x', ...url, '--key-stdin', '--passphrase-stdin'], /stdin/],
  ];
  let shared: Promise<JaneeEnv> | undefined;
  for (const [title, args, message] of cases) {
    it(title, async () => {
      shared ??= fresh();
      const env = await shared;
      const before = await snapshot(env.JANEE_HOME);
      const r = await runJanee(args, { env, input: 'k\n', timeoutMs: 10_000 });
      expect(r.timedOut).toBe(false);
      expect(r.stdout).toBe('');
      const { error } = errorLines(r.stderr);
      expect(error, r.stderr).toMatch(message);
      expect(r.stderr.startsWith('janee: error: '), r.stderr).toBe(true);
      expect(r.code, r.stderr).toBe(2);
      expect(await snapshot(env.JANEE_HOME)).toEqual(before);
    });
  }

  it('a known command with a missing required option is not called an unknown command', async () => {
    const r = await runJanee(['add', 'x'], { env: await tempHome() });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(errorLines(r.stderr).error).not.toMatch(/unknown command/);
  });

  it('--help and --version print to stdout and exit 0', async () => {
    const env = await tempHome();
    const help = await runJanee(['--help'], { env });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/janee add/);
    const version = await runJanee(['--version'], { env });
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    await expect(fs.access(env.JANEE_HOME)).rejects.toThrow(); // nothing created
  });
});
