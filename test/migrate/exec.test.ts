/**
 * janee migrate: Janee 0.x exec capabilities (`mode: exec`, `allowCommands`, `env`
 * from --env-map, `workDir`, `timeout`) become `commands:`.
 *
 * The input is the real 0.16 home of fixtures/legacy with its `stripe` capability
 * turned into an exec one exactly as 0.16's `janee add stripe --exec
 * --allow-commands stripe git --env-map STRIPE_API_KEY={{credential}} … --work-dir DIR
 * --timeout 60000` writes it (add.ts builds { service, ttl, autoApprove, mode,
 * allowCommands, env, workDir, timeout } in that order; js-yaml dumps it in block
 * style, `{{…}}` single-quoted). That release cannot be run here (its npm
 * dependencies are not installed), so those lines are inserted into its file.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { cleanupTempHomes, REPO_ROOT, runJanee, scratchDir, tempHome } from '../helpers/cli.js';
import { closeAllServes, findForms, secretForms, startServe, textOf } from '../helpers/mcp.js';

const STRIPE_KEY = 'sk_test_fake16_stripe_4eC39HqLyjWDarjt';

afterAll(async () => {
  await closeAllServes();
  await cleanupTempHomes();
});

async function homeWithExec(to: string, workDir: string): Promise<string> {
  await fs.cp(path.join(REPO_ROOT, 'fixtures', 'legacy', 'home-0.16.0'), to, { recursive: true });
  const file = path.join(to, 'config.yaml');
  const text = await fs.readFile(file, 'utf8');
  const before = '  stripe:\n    service: stripe\n    ttl: 1h\n    autoApprove: true\n';
  expect(text).toContain(before);
  const exec = [
    '    mode: exec',
    '    allowCommands:',
    '      - stripe',
    '      - git',
    '    env:',
    "      STRIPE_API_KEY: '{{credential}}'",
    "      GH_TOKEN: '{{credential}}'",
    "      AUTH_HEADER: 'Bearer {{credential}}'",
    '      HOME: /root',
    `    workDir: ${workDir}`,
    '    timeout: 60000',
    '',
  ].join('\n');
  await fs.writeFile(file, text.replace(before, before + exec));
  return to;
}

describe('janee migrate: exec capabilities', { timeout: 120_000 }, () => {
  it('become commands: with the same programs, variables, directory and timeout; what cannot be said exactly is noted', async () => {
    const env = await tempHome();
    const work = path.join(scratchDir(env), 'work');
    await fs.mkdir(work);
    const old = await homeWithExec(path.join(scratchDir(env), 'janee-0x'), work);
    const r = await runJanee(['migrate', '--from', old, '--work-factor', '10'], { env });
    expect(r.code, r.stderr).toBe(0);
    // The command named like the service gets the capability's name in front.
    expect(r.stderr).toMatch(/stripe: note: capability stripe \(exec\): stripe became commands\.stripe-stripe with allow: \["\*\*"\]/);
    expect(r.stderr).toMatch(/git became commands\.git with allow: \["\*\*"\]/);
    expect(r.stderr).toMatch(/env AUTH_HEADER was a template; janee maps only a whole vault secret/);
    expect(r.stderr).toMatch(/env HOME is a variable janee sets itself/);
    const configText = await fs.readFile(path.join(env.JANEE_HOME, 'config.yaml'), 'utf8');
    expect(findForms(r.stdout + r.stderr + configText, secretForms(STRIPE_KEY))).toEqual([]);

    // 0.x let these commands have the key: the vault binds it to them now.
    const list = await runJanee(['list', '--json'], { env });
    const stripe = (JSON.parse(list.stdout) as { services: { name: string; origins: string[] }[] }).services.find(
      (x) => x.name === 'stripe',
    )!;
    // Pinned to the definitions the migrated config.yaml gives them (src/exec/binding.ts).
    expect(stripe.origins).toEqual([
      'https://api.stripe.com',
      expect.stringMatching(/^exec:stripe-stripe@[0-9a-f]{32}$/),
      expect.stringMatching(/^exec:git@[0-9a-f]{32}$/),
    ]);
    const config = await loadConfig(path.join(env.JANEE_HOME, 'config.yaml'));
    const git = config.commands!.get('git')!;
    expect(git).toMatchObject({
      program: 'git',
      env: [
        { name: 'STRIPE_API_KEY', entry: 'stripe', field: undefined },
        { name: 'GH_TOKEN', entry: 'stripe', field: undefined },
      ],
      allow: ['**'],
      cwd: [work],
      timeoutMs: 60000,
      gitCredential: 'stripe',
    });
    expect(config.commands!.get('stripe-stripe')).toMatchObject({ program: 'stripe', allow: ['**'], gitCredential: undefined });
    // An exec capability gave no HTTP access in 0.x, and gives none now: stripe's policies are stripe_ro's only.
    expect(config.services.get('stripe')!.policies!.every((p) => p.methods.join() === 'GET' || p.deny)).toBe(true);

    // The migrated command runs, with the key in its environment and not in what comes back.
    const s = await startServe({ env });
    const res = await s.call('exec', { command: 'git', args: ['--version'], cwd: work });
    expect(res.isError, textOf(res)).toBeFalsy();
    expect((res.structuredContent as { stdout: string }).stdout).toMatch(/^git version /);
    expect(s.stderr()).toMatch(/janee: warning: commands\.git: "\*\*" lets the agent pass any arguments to git/);
    expect(findForms(s.transport.stdoutBytes, secretForms(STRIPE_KEY))).toEqual([]);
    await s.close();
  });
});
