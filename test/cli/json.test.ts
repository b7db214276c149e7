/**
 * `--json` on every command that reports something (docs/json.md): the built CLI
 * prints exactly one JSON document on stdout with the documented keys, human lines
 * stay on stderr, and a failure prints `{"error":{"code","message","hint"}}` on
 * stdout with the exit code and stderr lines it has without --json. No secret value
 * in any JSON output (leak search over add, set, export, import and migrate).
 */
import { realpathSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanupTempHomes,
  cloneHome,
  errorLines,
  initHome,
  runJanee,
  scratchDir,
  withEnv,
  type JaneeEnv,
  type RunOptions,
  type RunResult,
} from '../helpers/cli.js';
import { leaksIn } from '../ci/mcp.js';
import { agentHome, alive, killAllAgents, noPass } from '../agent/helpers.js';

const STRIPE = 'sk_live_json_5e4d3c2b1a09';
const STRIPE2 = 'sk_live_json_rotated_77aa88bb';
const GH_PASSWORD = 'gh-json-basic-password-4242';
const INLINE = 'sk_live_inline_json_0f1e2d3c';
const AGE_PASS = 'age pass for json';
const SECRETS = [STRIPE, STRIPE2, GH_PASSWORD, INLINE, AGE_PASS];

let base: JaneeEnv;
beforeAll(async () => {
  base = await initHome();
});
afterAll(async () => {
  killAllAgents();
  await cleanupTempHomes();
});

/** Every JSON document printed in this file, for the leak search at the end. */
const printed: string[] = [];

/** stdout as one JSON document (pretty-printed or not); nothing else on stdout. */
function oneJson(r: RunResult): Record<string, unknown> {
  expect(r.code, r.stderr).toBe(0);
  printed.push(r.stdout);
  expect(r.stdout.endsWith('\n')).toBe(true);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

/**
 * The same failing command with and without --json: same exit code (1 or 2), same
 * stderr, empty stdout without --json, and with it exactly the error as JSON, its
 * message and hint those of the stderr lines.
 */
async function failsAlike(args: string[], opts: RunOptions, code: 1 | 2, errorCode: string): Promise<void> {
  const plain = await runJanee(args, opts);
  const json = await runJanee([...args, '--json'], opts);
  expect(plain.code, plain.stderr).toBe(code);
  expect(json.code, json.stderr).toBe(code);
  expect(plain.stdout).toBe('');
  expect(json.stderr).toBe(plain.stderr);
  const { error, hint } = errorLines(json.stderr);
  expect(error).toBeDefined();
  const doc = JSON.parse(json.stdout) as { error: { code: string; message: string; hint?: string } };
  printed.push(json.stdout);
  expect(json.stdout.trim().split('\n')).toHaveLength(1);
  expect(Object.keys(doc)).toEqual(['error']);
  expect(doc.error.code).toBe(errorCode);
  expect(`janee: error: ${doc.error.message}`).toBe(error);
  if (hint === undefined) expect(doc.error.hint).toBeUndefined();
  else expect(`janee: hint: ${doc.error.hint}`).toBe(hint);
}

const addStripe = (env: NodeJS.ProcessEnv, extra: string[] = []) =>
  runJanee(
    [
      'add',
      'stripe',
      '--base-url',
      'https://api.stripe.com',
      '--policy',
      'GET /v1/charges',
      '--deny',
      'DELETE /v1/charges',
      '--rate-limit',
      '60/min',
      '--key-stdin',
      ...extra,
    ],
    { env, input: STRIPE },
  );

describe('--json output', () => {
  it('init: the files it created and the work factor', async () => {
    const env = await cloneHome(base);
    const home = path.join(scratchDir(env), 'fresh');
    const doc = oneJson(await runJanee(['init', '--work-factor', '10', '--json'], { env: withEnv(env, { JANEE_HOME: home }) }));
    expect(doc).toEqual({
      vault: path.join(home, 'vault.janee'),
      config: path.join(home, 'config.yaml'),
      configCreated: true,
      workFactor: 10,
    });
    await failsAlike(['init', '--work-factor', '10'], { env: withEnv(env, { JANEE_HOME: home }) }, 1, 'VAULT_EXISTS');
  });

  it('add: the service as config.yaml now has it, where the secret is bound, and how it was written', async () => {
    const env = await cloneHome(base);
    const doc = oneJson(await addStripe(env, ['--json']));
    expect(doc).toEqual({
      service: 'stripe',
      baseUrl: 'https://api.stripe.com',
      auth: { type: 'bearer' },
      policies: [
        { path: '/v1/charges', methods: ['GET'], deny: false },
        { path: '/v1/charges', methods: ['DELETE'], deny: true },
      ],
      rateLimit: '60/min',
      testPath: null,
      origins: ['https://api.stripe.com'],
      template: null,
      via: 'file',
    });
    const basic = oneJson(
      await runJanee(
        ['add', 'gh', '--base-url', 'https://api.github.com', '--auth', 'basic', '--username', 'octo-json', '--key-stdin', '--json'],
        { env, input: GH_PASSWORD },
      ),
    );
    expect(basic.auth).toEqual({ type: 'basic' });
    expect(basic.policies).toBeNull(); // no rules: any request
    expect(JSON.stringify(basic)).not.toContain('octo-json'); // the user name lives in the vault with the password
    const tpl = oneJson(await runJanee(['add', 'github', '--key-stdin', '--json'], { env, input: STRIPE }));
    expect(tpl.template).toBe('github');
    expect(typeof tpl.testPath).toBe('string');
    expect((tpl.policies as unknown[]).length).toBeGreaterThan(0);
  });

  it('set, edit, bind, remove: what each changed', async () => {
    const env = await cloneHome(base);
    expect((await addStripe(env)).code).toBe(0);
    const set = oneJson(await runJanee(['set', 'stripe', '--key-stdin', '--json'], { env, input: STRIPE2 }));
    expect(set).toMatchObject({
      service: 'stripe',
      baseUrl: 'https://api.stripe.com',
      auth: { type: 'bearer' },
      origins: ['https://api.stripe.com'],
      replaced: true,
      via: 'file',
      rateLimit: '60/min',
      testPath: null,
    });

    const edit = await runJanee(
      ['edit', 'stripe', '--policy', 'GET /v1/customers', '--rate-limit', 'none', '--test-path', '/v1/balance', '--json'],
      { env },
    );
    expect(oneJson(edit)).toEqual({
      service: 'stripe',
      baseUrl: 'https://api.stripe.com',
      auth: { type: 'bearer' },
      policies: [
        { path: '/v1/charges', methods: ['DELETE'], deny: true },
        { path: '/v1/customers', methods: ['GET'], deny: false },
      ],
      rateLimit: null,
      testPath: '/v1/balance',
    });
    expect(edit.stderr).toContain('edited stripe in config.yaml');

    const bind = oneJson(await runJanee(['bind', 'stripe', 'https://eu.api.stripe.com/v1', '--json'], { env }));
    expect(bind).toEqual({
      service: 'stripe',
      origin: 'https://eu.api.stripe.com',
      removed: false,
      changed: true,
      origins: ['https://api.stripe.com', 'https://eu.api.stripe.com'],
    });
    const again = oneJson(await runJanee(['bind', 'stripe', 'https://eu.api.stripe.com', '--remove', '--json'], { env }));
    expect(again).toMatchObject({ removed: true, changed: true, origins: ['https://api.stripe.com'] });

    expect(oneJson(await runJanee(['remove', 'stripe', '--json'], { env }))).toEqual({ service: 'stripe', config: true, vault: true });
  });

  it('export and import: the file and the entry NAMES', async () => {
    const env = await cloneHome(base);
    expect((await addStripe(env)).code).toBe(0);
    expect(
      (
        await runJanee(['add', 'gh', '--base-url', 'https://api.github.com', '--auth', 'basic', '--username', 'octo', '--key-stdin'], {
          env,
          input: GH_PASSWORD,
        })
      ).code,
    ).toBe(0);
    const file = path.join(scratchDir(env), 'backup.age');
    const ageEnv = (e: NodeJS.ProcessEnv) => withEnv(e, { JANEE_AGE_PASSPHRASE: AGE_PASS });
    const exp = oneJson(await runJanee(['export', '--age', file, '--work-factor', '10', '--json'], { env: ageEnv(env) }));
    expect(exp).toEqual({ file, entries: ['gh', 'stripe'], services: ['gh', 'stripe'] });

    const other = await cloneHome(base);
    const imp = oneJson(await runJanee(['import', '--age', file, '--json'], { env: ageEnv(other) }));
    expect(imp).toMatchObject({ file, entries: ['gh', 'stripe'], replaced: [], unchanged: [] });
    expect([...(imp.added as string[])].sort()).toEqual(['gh', 'stripe']);
    expect(imp.services).toEqual({ added: ['stripe', 'gh'], kept: [], skipped: [] });
    const twice = oneJson(await runJanee(['import', '--age', file, '--no-config', '--json'], { env: ageEnv(other) }));
    expect(twice).toMatchObject({
      entries: ['gh', 'stripe'],
      added: [],
      replaced: [],
      services: { added: [], kept: [], skipped: ['stripe', 'gh'] },
    });
    expect([...(twice.unchanged as string[])].sort()).toEqual(['gh', 'stripe']);
  });

  it('migrate: the services moved, dry run or not', async () => {
    const env = await cloneHome(base);
    await fs.writeFile(
      path.join(env.JANEE_HOME, 'config.yaml'),
      `services:\n  pay:\n    baseUrl: https://api.pay.example\n    auth: { type: bearer, key: ${INLINE} }\n`,
    );
    const dry = oneJson(await runJanee(['migrate', '--dry-run', '--json'], { env }));
    expect(dry).toEqual({ kind: 'inline', migrated: ['pay'], skipped: [], dryRun: true, deletedOldKey: false });
    expect(oneJson(await runJanee(['migrate', '--json'], { env }))).toEqual({
      kind: 'inline',
      migrated: ['pay'],
      skipped: [],
      dryRun: false,
      deletedOldKey: false,
    });
    expect(oneJson(await runJanee(['migrate', '--json'], { env }))).toEqual({
      kind: 'inline',
      migrated: [],
      skipped: [],
      dryRun: false,
      deletedOldKey: false,
    });
  });

  it('git setup: the repository, the .gitattributes lines and the git config keys set', async () => {
    const env = await cloneHome(base);
    const repo = path.join(scratchDir(env), 'repo');
    await fs.mkdir(repo);
    expect(spawnSync('git', ['init', '-q', repo]).status).toBe(0);
    const genv = withEnv(env, { JANEE_VAULT: path.join(repo, 'vault.janee') });
    const doc = oneJson(await runJanee(['git', 'setup', '--json'], { env: genv, cwd: repo }));
    expect(doc).toMatchObject({
      repo: realpathSync(repo),
      vault: 'vault.janee',
      attributes: [{ line: '/vault.janee -text diff=janee merge=janee', added: true }],
      configured: ['diff.janee.textconv', 'diff.janee.cachetextconv', 'merge.janee.name', 'merge.janee.driver'],
    });
    expect(typeof doc.command).toBe('string');
    const again = oneJson(await runJanee(['git', 'setup', '--json'], { env: genv, cwd: repo }));
    expect(again.attributes).toEqual([{ line: '/vault.janee -text diff=janee merge=janee', added: false }]);
  });

  it('unlock and lock: the agent started, its timers, and whether lock stopped one', async () => {
    const env = await agentHome();
    const up = oneJson(await runJanee(['unlock', '--ttl', '10m', '--max-ttl', '1h', '--json'], { env }));
    expect(Object.keys(up).sort()).toEqual(['already', 'idleTtlMs', 'maxTtlMs', 'pid', 'socket', 'vault']);
    expect(up).toMatchObject({ idleTtlMs: 600_000, maxTtlMs: 3_600_000, already: false });
    expect(alive(up.pid as number)).toBe(true);
    expect(path.basename(up.vault as string)).toBe('vault.janee');
    const again = oneJson(await runJanee(['unlock', '--json'], { env }));
    expect(again).toMatchObject({ pid: up.pid, already: true });
    // Through the agent: add says so.
    const add = oneJson(
      await runJanee(['add', 'stripe', '--base-url', 'https://api.stripe.com', '--key-stdin', '--json'], {
        env: noPass(env),
        input: STRIPE,
      }),
    );
    expect(add.via).toBe('agent');
    expect(oneJson(await runJanee(['lock', '--json'], { env }))).toEqual({ locked: true, pid: up.pid });
    expect(oneJson(await runJanee(['lock', '--json'], { env }))).toEqual({ locked: false });
  });

  it('list, status, templates, test and doctor print one JSON document as before', async () => {
    const env = await cloneHome(base);
    expect((await addStripe(env)).code).toBe(0);
    expect(oneJson(await runJanee(['list', '--json'], { env }))).toHaveProperty('services');
    expect(oneJson(await runJanee(['status', '--json'], { env }))).toHaveProperty('state');
    expect(Array.isArray(oneJson(await runJanee(['templates', 'github', '--json'], { env })))).toBe(true);
    expect(oneJson(await runJanee(['test', '--json'], { env: await cloneHome(base) }))).toEqual({ ok: true, results: [] });
    const doctor = await runJanee(['doctor', '--json'], { env });
    printed.push(doctor.stdout);
    expect(JSON.parse(doctor.stdout)).toHaveProperty('checks');
  });
});

describe('--json errors: same exit code, same stderr, the error as JSON on stdout', () => {
  let env: JaneeEnv;
  beforeAll(async () => {
    env = await cloneHome(base);
    expect((await addStripe(env)).code).toBe(0);
  });

  it('add and set', async () => {
    await failsAlike(
      ['add', 'stripe', '--base-url', 'https://api.stripe.com', '--key-stdin'],
      { env, input: STRIPE },
      1,
      'CONFIG_DUPLICATE',
    );
    await failsAlike(['add', 'nosuchtemplate', '--key-stdin'], { env, input: STRIPE }, 2, 'USAGE');
    await failsAlike(['set', 'nosuch', '--key-stdin'], { env, input: STRIPE }, 1, 'NOT_FOUND');
    await failsAlike(['set', 'stripe', '--key-stdin'], { env: noPass(env), input: STRIPE2 }, 1, 'NO_PASSPHRASE');
  });

  it('edit, remove and bind', async () => {
    await failsAlike(['edit', 'stripe'], { env }, 2, 'USAGE');
    await failsAlike(['edit', 'nosuch', '--rate-limit', '1/min'], { env }, 1, 'NOT_FOUND');
    await failsAlike(['remove', 'nosuch'], { env }, 1, 'NOT_FOUND');
    await failsAlike(['bind', 'nosuch', 'https://x.example'], { env }, 1, 'NOT_FOUND');
  });

  it('unlock and lock', async () => {
    const aenv = await agentHome();
    // --json with no terminal and no passphrase source: the JSON error, no prompt.
    await failsAlike(['unlock'], { env: noPass(aenv) }, 1, 'NO_PASSPHRASE');
    await failsAlike(['unlock', '--ttl', 'soon'], { env: aenv }, 2, 'USAGE');
  });

  it('export, import and migrate', async () => {
    const existing = path.join(scratchDir(env), 'exists.age');
    await fs.writeFile(existing, 'x');
    await failsAlike(['export', '--age', existing], { env }, 1, 'EXPORT_EXISTS');
    await failsAlike(['import', '--age', path.join(scratchDir(env), 'missing.age')], { env }, 1, 'IMPORT_UNREADABLE');
    await failsAlike(['migrate'], { env: withEnv(env, { JANEE_HOME: path.join(scratchDir(env), 'nowhere') }) }, 1, 'CONFIG_MISSING');
  });

  it('git setup, explain, test and killswitch (doctor reports problems as checks, not errors)', async () => {
    const notRepo = path.join(scratchDir(env), 'plain-dir');
    await fs.mkdir(notRepo, { recursive: true });
    await failsAlike(
      ['git', 'setup'],
      { env: withEnv(env, { GIT_CEILING_DIRECTORIES: scratchDir(env) }), cwd: notRepo },
      1,
      'GIT_NOT_A_REPO',
    );
    await failsAlike(['test', 'nosuch'], { env }, 1, 'NOT_FOUND');
    await failsAlike(
      ['explain', 'stripe', 'GET', '/x'],
      { env: withEnv(env, { JANEE_HOME: path.join(scratchDir(env), 'nowhere') }) },
      2,
      'CONFIG_MISSING',
    );
    await failsAlike(['killswitch', 'bogus'], { env }, 2, 'USAGE');
  });

  it('a parse error: USAGE as JSON, exit 2', async () => {
    await failsAlike(['add', 'stripe', '--no-such-flag'], { env }, 2, 'USAGE');
    await failsAlike(['remove'], { env }, 2, 'USAGE');
  });
});

describe('no secret in any JSON output', () => {
  it('add, set, export, import, migrate and the errors printed above carry names only', () => {
    expect(printed.length).toBeGreaterThan(20);
    const all = printed.join('\n');
    for (const s of SECRETS) expect(leaksIn(all, s), s).toEqual([]);
  });
});
