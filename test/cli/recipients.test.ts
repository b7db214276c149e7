/**
 * The team vault end to end, with the built CLI and keys made by Debian's age-keygen:
 * three members each open the vault with their own identity (`list` with
 * JANEE_IDENTITY_FILE, `unlock --identity` into the agent, `serve` in-process through the
 * MCP SDK client, as CI runs it); one is removed, the vault is rekeyed and their identity
 * no longer opens it while the others' do; the passphrase is dropped and the vault keeps
 * working with identities only. Then the leak search: no identity secret key and no vault
 * secret in any file written (other than the identity files themselves), in any stdout
 * or stderr, or in any argv.
 */
import { spawnSync } from 'node:child_process';
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
import { hasCommand } from '../helpers/pty.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { callTool, leaksIn, startServe } from '../ci/mcp.js';

const haveAgeKeygen = hasCommand('age-keygen');
if (!haveAgeKeygen) console.warn('team vault tests skipped: no `age-keygen` on PATH (apt-get install -y age)');

const SECRET = 'sk_live_team_5c4b3a29180f7e6d5c4b';
const MEMBERS = ['alice', 'bob', 'carol'] as const;
type Member = (typeof MEMBERS)[number];

const log: string[] = [];
const argvs: string[][] = [];
let up: Upstream;
let env: JaneeEnv;
const idFile: Record<string, string> = {};
const pub: Record<string, string> = {};
const secretKey: Record<string, string> = {};

async function run(args: string[], e: NodeJS.ProcessEnv = env, input?: string): Promise<RunResult> {
  argvs.push(args);
  const r = await runJanee(args, { env: e, ...(input === undefined ? {} : { input }), timeoutMs: 30_000 });
  log.push(r.stdout, r.stderr);
  return r;
}

async function must(args: string[], e: NodeJS.ProcessEnv = env, input?: string): Promise<RunResult> {
  const r = await run(args, e, input);
  expect(r.code, `janee ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r;
}

/** The environment of a member who has only their identity: no passphrase anywhere. */
function as(m: Member): NodeJS.ProcessEnv {
  return withEnv(env, { JANEE_PASSPHRASE: undefined, JANEE_IDENTITY_FILE: idFile[m] });
}

async function readsVault(e: NodeJS.ProcessEnv): Promise<RunResult> {
  return run(['list', '--json'], e);
}

beforeAll(async () => {
  if (!haveAgeKeygen) return;
  up = await startUpstream();
  env = await tempHome();
  await must(['init', ...FAST]);
  await must(['add', 'stripe', '--base-url', up.url, '--auth', 'bearer', '--key-stdin'], env, `${SECRET}\n`);
  for (const m of MEMBERS) {
    const file = path.join(scratchDir(env), `${m}.key`);
    expect(spawnSync('age-keygen', ['-o', file]).status).toBe(0);
    idFile[m] = file;
    pub[m] = spawnSync('age-keygen', ['-y', file], { encoding: 'utf8' }).stdout.trim();
    secretKey[m] = /^AGE-SECRET-KEY-1\S+$/m.exec(await fs.readFile(file, 'utf8'))?.[0] as string;
  }
}, 120_000);

afterAll(async () => {
  await runJanee(['lock'], { env }).catch(() => undefined);
  await up?.close();
  await cleanupTempHomes();
});

describe.skipIf(!haveAgeKeygen)('team vault: X25519 recipients made by age-keygen', { timeout: 120_000 }, () => {
  it('a passphrase-only vault stays v1 and no identity opens it', async () => {
    const vault = path.join(env.JANEE_HOME, 'vault.janee');
    expect((await fs.readFile(vault, 'utf8')).split('\n')[0]).toBe('janee-vault/v1');
    const r = await run(['unlock', '--identity', idFile.alice as string], withEnv(env, { JANEE_PASSPHRASE: undefined }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('janee: error: this vault has no recipients: it opens only with its passphrase');
  });

  it('recipients add (with the passphrase) for three members; list shows them; the vault is v2', async () => {
    for (const m of MEMBERS) {
      const r = await must(['recipients', 'add', pub[m] as string, '--name', m, '--json']);
      expect(r.stderr).toContain(`added recipient ${m}`);
      expect(JSON.parse(r.stdout)).toMatchObject({ added: m, recipient: pub[m] });
    }
    const dup = await run(['recipients', 'add', pub.alice as string, '--name', 'alice2']);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain('that key is already the recipient "alice"');
    // One bech32 character changed (to another one: a key that already ends in x stayed valid).
    const alice = pub.alice as string;
    const bad = await run(['recipients', 'add', alice.slice(0, -1) + (alice.endsWith('x') ? 'q' : 'x'), '--name', 'x']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/RECIPIENT_INVALID|not an age X25519 recipient/);
    const list = JSON.parse((await must(['recipients', 'list', '--json'])).stdout) as { passphrase: boolean; recipients: unknown[] };
    expect(list).toMatchObject({ passphrase: true, recipients: MEMBERS.map((m) => ({ name: m, recipient: pub[m] })) });
    const vault = await fs.readFile(path.join(env.JANEE_HOME, 'vault.janee'), 'utf8');
    expect(vault.split('\n')[0]).toBe('janee-vault/v2');
    // The passphrase still opens it.
    expect(JSON.parse((await must(['list', '--json'])).stdout)).toMatchObject({ vault: 'read' });
  });

  it('each member opens the vault with their own identity (JANEE_IDENTITY_FILE), no passphrase', async () => {
    for (const m of MEMBERS) {
      const r = await readsVault(as(m));
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ vault: 'read' });
    }
    // A stranger's identity does not.
    const stranger = path.join(scratchDir(env), 'stranger.key');
    expect(spawnSync('age-keygen', ['-o', stranger]).status).toBe(0);
    const r = await readsVault(withEnv(env, { JANEE_PASSPHRASE: undefined, JANEE_IDENTITY_FILE: stranger }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('janee: error: the identity is not a recipient of this vault');
  });

  it('unlock --identity hands the file key to the agent, which serves calls', async () => {
    const bob = withEnv(as('bob'), { JANEE_IDENTITY_FILE: undefined });
    const r = await must(['unlock', '--identity', idFile.bob as string], bob);
    expect(r.stderr).toMatch(/vault unlocked in the agent \(pid \d+.*after the identity/);
    const s = await startServe(bob);
    try {
      const t = await callTool(s, 'execute', { service: 'stripe', method: 'GET', path: '/echo-secret' });
      expect(t.isError, t.text).toBe(false);
      expect(up.requests.at(-1)?.headers.authorization).toBe(`Bearer ${SECRET}`);
      log.push(t.text, s.stderr());
    } finally {
      await s.close();
    }
    await must(['lock'], bob);
  });

  it('serve with JANEE_IDENTITY_FILE unlocks in-process (CI) and injects the secret', async () => {
    const s = await startServe(as('carol'));
    try {
      const t = await callTool(s, 'execute', { service: 'stripe', method: 'GET', path: '/echo-secret', reason: 'ci' });
      expect(t.isError, t.text).toBe(false);
      expect(t.text).toContain('[REDACTED:stripe]');
      expect(up.requests.at(-1)?.headers.authorization).toBe(`Bearer ${SECRET}`);
      expect(s.stderr()).toContain('vault unlocked in-process');
      log.push(t.text, s.stderr());
    } finally {
      await s.close();
    }
  });

  it('rekey and passwd keep the recipients (same members, new file key / new passphrase)', async () => {
    await must(['rekey']);
    await must(['passwd'], withEnv(env, { JANEE_NEW_PASSPHRASE: 'second passphrase for the team 9' }));
    env = withEnv(env, { JANEE_PASSPHRASE: 'second passphrase for the team 9' });
    const list = JSON.parse((await must(['recipients', 'list', '--json'])).stdout) as { recipients: { name: string }[] };
    expect(list.recipients.map((r) => r.name)).toEqual([...MEMBERS]);
    for (const m of MEMBERS) expect(JSON.parse((await must(['list', '--json'], as(m))).stdout)).toMatchObject({ vault: 'read' });
  });

  it('recipients remove rekeys: the removed identity opens nothing written afterwards, the others still do', async () => {
    const vault = path.join(env.JANEE_HOME, 'vault.janee');
    const before = await fs.readFile(vault);
    const r = await must(['recipients', 'remove', 'carol', '--json']);
    expect(r.stderr).toContain('removed recipient carol and rekeyed the vault');
    expect(r.stderr).toContain('rotate these secrets at their services (carol could have copied them): stripe');
    expect(JSON.parse(r.stdout)).toEqual({ removed: 'carol', recipient: pub.carol, rotate: ['stripe'] });
    const after = await fs.readFile(vault);
    // A new file key: the header MAC and every stanza changed.
    expect(after.toString().split('\n').slice(1, 6)).not.toEqual(before.toString().split('\n').slice(1, 6));
    const carol = await readsVault(as('carol'));
    expect(carol.code).toBe(1);
    expect(carol.stderr).toContain('the identity is not a recipient of this vault');
    // Even with her stanza put back from the old file, the new vault does not open (MAC).
    const old = before.toString().split('\n');
    const carolStanza = old.findIndex((l) => l.endsWith(' carol'));
    const now = after.toString().split('\n');
    const check = now.findIndex((l) => l.startsWith('# check '));
    const spliced = [...now.slice(0, check), ...old.slice(carolStanza, carolStanza + 2), ...now.slice(check)];
    const forged = path.join(scratchDir(env), 'forged.janee');
    await fs.writeFile(forged, spliced.join('\n'));
    const f = await readsVault(withEnv(as('carol'), { JANEE_VAULT: forged }));
    expect(f.code).toBe(1);
    expect(f.stderr).toMatch(/janee: error: vault header is damaged|failed authentication/);
    for (const m of ['alice', 'bob'] as const) {
      const ok = await readsVault(as(m));
      expect(ok.code, ok.stderr).toBe(0);
      expect(JSON.parse(ok.stdout)).toMatchObject({ vault: 'read' });
    }
    expect(JSON.parse((await must(['list', '--json'])).stdout)).toMatchObject({ vault: 'read' });
  });

  it('passwd --remove drops the passphrase; identities keep working, a member rekeys without it', async () => {
    const none = await run(['passwd', '--remove']);
    expect(none.code, none.stderr).toBe(0);
    expect(JSON.parse((await must(['recipients', 'list', '--json'])).stdout)).toMatchObject({ passphrase: false });
    const withPass = await run(['list', '--json']);
    expect(withPass.code).toBe(1);
    expect(JSON.parse(withPass.stdout)).toMatchObject({ error: { code: 'VAULT_NO_PASSPHRASE' } });
    const pass = await run(['unlock'], env);
    expect(pass.code).toBe(1);
    expect(pass.stderr).toContain('janee: error: this vault has no passphrase: it opens only with a recipient identity');
    // The last way in is never removed.
    const alice = as('alice');
    const rm = await must(['recipients', 'remove', 'bob'], alice);
    expect(rm.stderr).toContain('removed recipient bob');
    expect((await readsVault(as('bob'))).code).toBe(1);
    const last = await run(['recipients', 'remove', 'alice'], alice);
    expect(last.code).toBe(1);
    expect(last.stderr).toContain('janee: error: this would leave the vault with no passphrase and no recipient');
    expect(JSON.parse((await must(['list', '--json'], alice)).stdout)).toMatchObject({ vault: 'read' });
    // A passphrase can be given back by a member.
    await must(['passwd', '--identity', idFile.alice as string], withEnv(alice, { JANEE_NEW_PASSPHRASE: 'a new team passphrase 42' }));
    expect(
      JSON.parse((await must(['list', '--json'], withEnv(env, { JANEE_PASSPHRASE: 'a new team passphrase 42' }))).stdout),
    ).toMatchObject({
      vault: 'read',
    });
    expect(JSON.parse((await must(['list', '--json'], alice)).stdout)).toMatchObject({ vault: 'read' });
  });

  it('leak search: no identity secret key and no vault secret anywhere but the identity files', async () => {
    const secrets = [SECRET, ...Object.values(secretKey)];
    const root = scratchDir(env);
    const identityFiles = new Set([...Object.values(idFile), path.join(root, 'stranger.key')]);
    for (const rel of await listFiles(root)) {
      const file = path.join(root, rel);
      if (identityFiles.has(file)) continue;
      const bytes = await fs.readFile(file);
      for (const s of secrets) expect(leaksIn(bytes, s), `${rel} holds a secret`).toEqual([]);
    }
    for (const s of secrets) {
      expect(leaksIn(log.join('\n'), s), 'stdout/stderr').toEqual([]);
      expect(leaksIn(JSON.stringify(argvs), s), 'argv').toEqual([]);
    }
  });
});
