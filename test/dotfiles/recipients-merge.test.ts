/**
 * The team vault in a dotfiles repo, with real git and the merge driver: one clone adds a
 * member while the other adds a secret; the merge keeps both (the new member's stanza
 * wraps the same file key), and the new member opens the merged vault with their identity
 * — also as the merge driver's key (JANEE_IDENTITY_FILE, no passphrase). Then one clone
 * removes the member (a rekey: a new file key) while the other adds a secret: the merge is
 * refused, saying what to do, and nothing is written.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST } from '../helpers/cli.js';
import { git, gitWorld, janee, must, ok, type Machine } from '../helpers/git.js';
import { hasCommand } from '../helpers/pty.js';

const haveAgeKeygen = hasCommand('age-keygen');
let root = '';
let machine: (name: string, extra?: Record<string, string>) => Machine;
let memberKey = '';
let memberPub = '';
const A = () => machine('a');
const B = () => machine('b');
/** Machine c belongs to the new member: no passphrase, only their identity. */
const C = () => machine('c', { JANEE_PASSPHRASE: '', JANEE_IDENTITY_FILE: memberKey });

const names = async (m: Machine): Promise<Record<string, boolean>> => {
  const r = await must(m, ['list', '--json']);
  const j = JSON.parse(r.stdout) as { vault: string; services: { name: string; secret: boolean }[] };
  expect(j.vault).toBe('read');
  return Object.fromEntries(j.services.map((s) => [s.name, s.secret]));
};

beforeAll(async () => {
  if (!haveAgeKeygen) return;
  ({ root, machine } = await gitWorld('janee-recipients-merge-', ['a', 'b', 'c']));
  memberKey = path.join(root, 'member.key');
  expect(spawnSync('age-keygen', ['-o', memberKey]).status).toBe(0);
  memberPub = spawnSync('age-keygen', ['-y', memberKey], { encoding: 'utf8' }).stdout.trim();
  const top: Machine = { dir: root, env: A().env };
  ok(top, ['clone', '-q', 'origin.git', 'a']);
  const a = A();
  await must(a, ['init', ...FAST]);
  await must(a, ['git', 'setup']);
  await fs.writeFile(path.join(a.dir, '.gitignore'), 'janee/*.bak\njanee/*.lock\njanee/audit/\njanee/killswitch\n');
  await must(a, ['add', 's1', '--base-url', 'https://api.one.example', '--key-stdin'], 'sk_first_0123456789');
  ok(a, ['add', '-A']);
  ok(a, ['commit', '-qm', 'vault']);
  ok(a, ['push', '-q', 'origin', 'HEAD:main']);
  ok(top, ['clone', '-q', 'origin.git', 'b']);
  await must(B(), ['git', 'setup']);
}, 120_000);

afterAll(async () => {
  if (root) await fs.rm(root, { recursive: true, force: true });
});

describe.skipIf(!haveAgeKeygen)('git merge of a team vault', { timeout: 120_000 }, () => {
  it('one side adds a member, the other a secret: the merge keeps both', async () => {
    const a = A();
    const b = B();
    await must(a, ['recipients', 'add', memberPub, '--name', 'dana']);
    ok(a, ['commit', '-qam', 'add dana']);
    ok(a, ['push', '-q', 'origin', 'HEAD:main']);

    await must(b, ['add', 's2', '--base-url', 'https://api.two.example', '--key-stdin'], 'sk_second_9876543210');
    ok(b, ['commit', '-qam', 'add s2']);
    const pull = git(b, ['pull', '--no-edit', 'origin', 'main']);
    expect(pull.code, pull.err).toBe(0);
    expect(pull.err + pull.out).toContain('the incoming side added the recipient dana: kept');
    const list = JSON.parse((await must(b, ['recipients', 'list', '--json'])).stdout) as { recipients: { name: string }[] };
    expect(list.recipients.map((r) => r.name)).toEqual(['dana']);
    expect(await names(b)).toMatchObject({ s1: true, s2: true });
    ok(b, ['push', '-q', 'origin', 'HEAD:main']);

    // The member clones and opens it with their identity only.
    ok({ dir: root, env: C().env }, ['clone', '-q', 'origin.git', 'c']);
    const c = C();
    await must(c, ['git', 'setup']);
    expect(await names(c)).toMatchObject({ s1: true, s2: true });
  });

  it('the merge driver runs on the member identity (JANEE_IDENTITY_FILE, no passphrase)', async () => {
    const a = A();
    const c = C();
    ok(a, ['pull', '-q', '--no-edit', 'origin', 'main']);
    await must(a, ['add', 's3', '--base-url', 'https://api.three.example', '--key-stdin'], 'sk_third_5555555555');
    ok(a, ['commit', '-qam', 'add s3']);
    ok(a, ['push', '-q', 'origin', 'HEAD:main']);
    await must(c, ['add', 's4', '--base-url', 'https://api.four.example', '--key-stdin'], 'sk_fourth_4444444444');
    ok(c, ['add', '-A']);
    ok(c, ['commit', '-qm', 'add s4']);
    const pull = git(c, ['pull', '--no-edit', 'origin', 'main']);
    expect(pull.code, pull.err).toBe(0);
    expect(await names(c)).toMatchObject({ s1: true, s2: true, s3: true, s4: true });
    ok(c, ['push', '-q', 'origin', 'HEAD:main']);
    // The diff driver shows the recipients from the header.
    const show = git(c, ['log', '-p', '-1', '--format=', '--', 'janee/vault.janee']);
    expect(show.out).not.toContain('sk_fourth');
  });

  it('one side removes the member (rekey), the other adds a secret: refused, with what to do', async () => {
    const a = A();
    const b = B();
    ok(a, ['pull', '-q', '--no-edit', 'origin', 'main']);
    ok(b, ['pull', '-q', '--no-edit', 'origin', 'main']);
    const rm = await must(a, ['recipients', 'remove', 'dana']);
    expect(rm.stderr).toContain('rotate these secrets at their services (dana could have copied them): s1, s2, s3, s4');
    ok(a, ['commit', '-qam', 'remove dana']);
    ok(a, ['push', '-q', 'origin', 'HEAD:main']);

    await must(b, ['add', 's5', '--base-url', 'https://api.five.example', '--key-stdin'], 'sk_fifth_5050505050');
    ok(b, ['commit', '-qam', 'add s5']);
    const ours = await fs.readFile(path.join(b.dir, 'janee', 'vault.janee'));
    const pull = git(b, ['pull', '--no-edit', 'origin', 'main']);
    expect(pull.code).not.toBe(0);
    expect(pull.err + pull.out).toContain(
      'cannot merge the vault: the two sides are encrypted under different file keys (`janee rekey` or `janee recipients remove` ran on one side)',
    );
    expect(pull.err + pull.out).toContain(
      'keep one side (`git checkout --ours janee/vault.janee` or `--theirs`), `git add` it, then redo the other side',
    );
    // The driver left ours as it was (git marks the conflict; no half-merged vault).
    expect(await fs.readFile(path.join(b.dir, 'janee', 'vault.janee'))).toEqual(ours);
    ok(b, ['merge', '--abort']);
    // The removed member's identity opens nothing a's side wrote.
    const c = C();
    ok(c, ['pull', '-q', '--no-edit', 'origin', 'main']);
    // The vault has no recipient left (v1 again): JANEE_IDENTITY_FILE does not apply, so it stays locked.
    expect(JSON.parse((await must(c, ['list', '--json'])).stdout)).toMatchObject({ vault: 'locked' });
    const r = await janee(c, ['unlock', '--identity', memberKey]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('this vault has no recipients: it opens only with its passphrase');
  });
});
