/**
 * An older copy of the vault put back through the dotfiles repo (issue 8, part 3),
 * with real git: someone who can push cannot forge a vault, but can commit an old one
 * from history. After `janee remove`, that copy must not bring the secret back:
 * - `git pull` (fast-forward) puts it in the work tree: serve (in-process, with
 *   JANEE_PASSPHRASE), `janee unlock` (the agent) and CLI commands refuse it, naming
 *   both generations; `janee vault accept-older` with the passphrase takes it on purpose;
 * - merged into local work, the merge driver refuses it instead of laundering it into a
 *   new, higher generation;
 * - `git pull` of a newer vault, the merge driver on honest histories, and the textconv
 *   diff of old versions (which must neither refuse nor remember history) keep working.
 * Each machine has its own HOME, so its own state directory (~/.local/state/janee).
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorLines, FAST, withEnv } from '../helpers/cli.js';
import { closeAllServes, startServe, textOf } from '../helpers/mcp.js';
import { git, gitWorld, janee, must, ok, type Machine as Clone } from '../helpers/git.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

let root: string;
let up: Upstream;
const SECRET = 'sk_live_revoked_7f3e2d1c0b9a8877';
const KEEP = 'sk_live_kept_1a2b3c4d5e6f7788';

let machine: (name: string, extra?: Record<string, string>) => Clone;
const A = () => machine('a');
const B = () => machine('b');
/** The attacker: can push to the repository, has no passphrase and no janee state. */
const X = () => machine('x', { JANEE_PASSPHRASE: '' });
const vaultIn = (c: Clone) => path.join(c.dir, 'janee', 'vault.janee');
/** What the state directory of a machine remembers (one vault per machine here). */
async function remembered(c: Clone): Promise<number | undefined> {
  const dir = path.join(c.env.HOME as string, '.local', 'state', 'janee');
  const files = (await fs.readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.json'));
  if (files.length === 0) return undefined;
  expect(files).toHaveLength(1);
  return (JSON.parse(await fs.readFile(path.join(dir, files[0] as string), 'utf8')) as { generation: number }).generation;
}

beforeAll(async () => {
  up = await startUpstream();
  ({ root, machine } = await gitWorld('janee-rollback-test-', ['a', 'b', 'x']));
  const top: Clone = { dir: root, env: A().env };
  ok(top, ['clone', '-q', 'origin.git', 'a']);
  const a = A();
  await must(a, ['init', ...FAST]);
  await must(a, ['git', 'setup']);
  await fs.writeFile(path.join(a.dir, '.gitignore'), 'janee/*.bak\njanee/*.lock\njanee/audit/\njanee/killswitch\n');
  await must(a, ['add', 'revoked', '--base-url', up.url, '--auth', 'bearer', '--key-stdin'], SECRET); // generation 1
  await must(a, ['add', 'kept', '--base-url', up.url, '--auth', 'bearer', '--key-stdin'], KEEP); // generation 2
  ok(a, ['add', '-A']);
  ok(a, ['commit', '-qm', 'two secrets']);
  ok(a, ['push', '-q', 'origin', 'HEAD:main']);
  ok(top, ['clone', '-q', 'origin.git', 'b']);
  await must(B(), ['git', 'setup']);
  await must(B(), ['list']); // b has seen generation 2
}, 120_000);

afterAll(async () => {
  await closeAllServes();
  // On code without the check, `janee unlock` below would have started agents.
  for (const c of [A(), B()]) await janee(c, ['lock']).catch(() => undefined);
  await up?.close();
  if (root) await fs.rm(root, { recursive: true, force: true });
});

describe.sequential('an older vault copy pushed to the dotfiles repo', { timeout: 120_000 }, () => {
  it('janee remove, then git pull of the newer vault on the other machine: accepted, and remembered', async () => {
    const a = A();
    const b = B();
    await must(a, ['remove', 'revoked']); // generation 3: the revocation
    ok(a, ['commit', '-qam', 'revoke']);
    ok(a, ['push', '-q', 'origin', 'HEAD:main']);
    expect(await remembered(a)).toBe(3);

    expect(await remembered(b)).toBe(2);
    ok(b, ['pull', '-q', 'origin', 'main']);
    const list = await must(b, ['list']);
    expect(list.stdout).not.toMatch(/^revoked .*secret: yes/m);
    expect(await remembered(b)).toBe(3);
  });

  it('the attacker commits the copy from before the remove; a merge with local work is refused, not laundered', async () => {
    const x = X();
    ok({ dir: root, env: x.env }, ['clone', '-q', 'origin.git', 'x']);
    // The vault and config.yaml (plaintext, reviewable) as they were before the revocation.
    ok(x, ['checkout', 'HEAD~1', '--', 'janee/vault.janee', 'janee/config.yaml']);
    ok(x, ['commit', '-qm', 'tidy up']);
    ok(x, ['push', '-q', 'origin', 'HEAD:main']);

    // b has local work on top of generation 3 (generation 4), then pulls: a real merge.
    const b = B();
    await must(b, ['add', 'local', '--base-url', up.url, '--auth', 'bearer', '--key-stdin'], 'sk_local_0011223344556677');
    ok(b, ['commit', '-qam', 'local work']);
    const before = await fs.readFile(vaultIn(b));
    const pull = git(b, ['pull', 'origin', 'main']);
    expect(pull.code).not.toBe(0);
    const { error, hint } = errorLines(pull.err);
    expect(error).toBe(
      'janee: error: cannot merge the vault: the incoming version (generation 2) is older than the merge base (generation 3): an older copy was committed, and merging it would bring back what was removed since',
    );
    expect(hint).toMatch(
      /git log -p -- janee\/vault\.janee.*git merge --abort.*git checkout --theirs janee\/vault\.janee.*janee vault accept-older/,
    );
    expect(Buffer.compare(await fs.readFile(vaultIn(b)), before)).toBe(0); // ours untouched
    ok(b, ['merge', '--abort']);
    const list = await must(b, ['list']);
    expect(list.stdout).not.toMatch(/^revoked .*secret: yes/m);
  });

  it('a fast-forward git pull puts the older copy in the work tree: serve (in-process) refuses it, naming both generations', async () => {
    const a = A();
    ok(a, ['pull', '-q', 'origin', 'main']);
    const seen = up.requests.length;
    const serve = await startServe({ env: a.env });
    try {
      const r = await serve.execute({ service: 'revoked', method: 'GET', path: '/echo' });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toMatch(
        /vault\.janee is generation 2, but generation 3 was seen here on \d{4}-\d\d-\d\d \d\d:\d\d UTC: an older copy was put back/,
      );
      expect(textOf(r)).toContain('janee vault accept-older');
      const k = await serve.execute({ service: 'kept', method: 'GET', path: '/echo' });
      expect(k.isError).toBe(true); // the whole vault is refused, not just the revoked entry
      expect(serve.stderr()).toMatch(/janee: error: .*generation 2, but generation 3 was seen/);
    } finally {
      await serve.close();
    }
    expect(up.requests.length).toBe(seen); // nothing reached the upstream, so no key left
    expect(await remembered(a)).toBe(3);
  });

  it('janee unlock (the agent) and CLI commands with the passphrase refuse it too', async () => {
    const a = A();
    const unlock = await janee(a, ['unlock']);
    expect(unlock.code).toBe(1);
    expect(errorLines(unlock.stderr).error).toMatch(
      /^janee: error: .*vault\.janee is generation 2, but generation 3 was seen here on .*: an older copy was put back$/,
    );
    const st = await janee({ ...a, env: withEnv(a.env, { JANEE_PASSPHRASE: undefined }) }, ['status', '--json']);
    expect((JSON.parse(st.stdout) as { state: string }).state).toBe('locked');

    for (const args of [
      ['list'],
      ['export', '--age', path.join(root, 'export.age'), '--same-passphrase', '--work-factor', '10'],
      ['add', 'another', '--base-url', up.url, '--auth', 'bearer', '--key-stdin'],
    ]) {
      const r = await janee(a, args, 'sk_another_0011223344');
      expect(r.code, args.join(' ')).toBe(1);
      expect(errorLines(r.stderr).error, args.join(' ')).toMatch(/generation 2, but generation 3 was seen/);
    }
    expect(ok(a, ['status', '--porcelain', '--', 'janee/vault.janee'])).toBe(''); // nothing written
  });

  it('git log -p still shows every old version (textconv neither refuses nor remembers history)', async () => {
    const a = A();
    const log = ok(a, ['log', '-p', '--format=commit %s', '--', 'janee/vault.janee']);
    expect(log).toContain('commit tidy up');
    expect(log).toContain('-generation: 3');
    expect(log).toContain('+generation: 2');
    expect(log).toContain('+[revoked]');
    expect(log).not.toContain('contents locked');
    expect(await remembered(a)).toBe(3);
  });

  it('janee vault accept-older takes the older copy on purpose, with the passphrase only', async () => {
    const a = A();
    const bare = { ...a, env: withEnv(a.env, { JANEE_PASSPHRASE: undefined }) };
    const no = await janee(bare, ['vault', 'accept-older']);
    expect(no.code).toBe(1);
    const wrong = await janee({ ...a, env: withEnv(a.env, { JANEE_PASSPHRASE: 'not the passphrase' }) }, ['vault', 'accept-older']);
    expect(wrong.code).toBe(1);
    expect(errorLines(wrong.stderr).error).toMatch(/passphrase/);
    expect(await remembered(a)).toBe(3);

    const yes = await must(a, ['vault', 'accept-older']);
    expect(yes.stderr).toMatch(
      /janee: warning: accepted .*vault\.janee at generation 2, older than generation 3 seen here on .*: secrets removed or rebound since are back/,
    );
    expect(await remembered(a)).toBe(2);
    const list = await must(a, ['list']);
    expect(list.stdout).toMatch(/^revoked .*secret: yes/m);
    expect((await must(a, ['vault', 'accept-older'])).stderr).toMatch(/nothing to accept/);
  });

  it('an honest merge through the driver keeps working: max + 1, opened and remembered on both machines', async () => {
    const a = A();
    const b = B();
    await must(a, ['remove', 'revoked']); // a revokes again: generation 3 on a
    ok(a, ['commit', '-qam', 'revoke again']);
    ok(a, ['push', '-q', 'origin', 'HEAD:main']);

    // b: local work at generation 4, the incoming side at 3, base 3 (the first revocation)
    const pull = git(b, ['pull', 'origin', 'main']);
    expect(pull.code, pull.err).toBe(0);
    expect(pull.err).toContain('janee: vault merged in janee/vault.janee');
    const list = await must(b, ['list']);
    expect(list.stdout).toMatch(/^local .*secret: yes/m);
    expect(list.stdout).not.toMatch(/^revoked .*secret: yes/m);
    expect(await remembered(b)).toBe(5);
    ok(b, ['push', '-q', 'origin', 'HEAD:main']);

    ok(a, ['pull', '-q', 'origin', 'main']);
    expect((await must(a, ['list'])).stdout).toMatch(/^local .*secret: yes/m);
    expect(await remembered(a)).toBe(5);
  });
});
