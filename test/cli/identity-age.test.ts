/**
 * Interop of the team vault's keys and files with the real `age` and `age-keygen`
 * (Debian): identity files janee writes open with `age -d -i`, passphrase-protected ones
 * too (age asks for the passphrase, driven through a pty); an identity file encrypted by
 * the real `age -p` opens janee's vault after janee asks for its passphrase on the
 * terminal; `janee export --recipient` is read by `age -d -i`, and a file made by
 * `age -r` is read by `janee import --identity`.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cleanupTempHomes, FAST, runJanee, scratchDir, tempHome, withEnv, type JaneeEnv, type RunResult } from '../helpers/cli.js';
import { hasCommand, hasPty, runUnderPty } from '../helpers/pty.js';
import { leaksIn } from '../ci/mcp.js';

const haveAge = hasCommand('age') && hasCommand('age-keygen');
if (!haveAge) console.warn('age identity interop tests skipped: no `age` / `age-keygen` on PATH (apt-get install -y age)');

const SECRET = 'sk_live_interop_0a1b2c3d4e5f6a7b8c';
const ID_PASS = 'identity pässphrase 7';
const log: string[] = [];
let env: JaneeEnv;
let dir: string;

async function must(args: string[], e: NodeJS.ProcessEnv = env, input?: string): Promise<RunResult> {
  const r = await runJanee(args, { env: e, ...(input === undefined ? {} : { input }), timeoutMs: 60_000 });
  log.push(r.stdout, r.stderr);
  expect(r.code, `janee ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r;
}

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  expect(r.status, `${cmd} ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

/** The built janee under a pty, with the environment given on its command line (paths only, never a secret). */
function janeeArgv(e: NodeJS.ProcessEnv, args: string[]): string[] {
  const keep = ['PATH', 'HOME', 'JANEE_HOME', 'JANEE_PASSPHRASE', 'JANEE_IDENTITY_FILE'];
  const vars = keep.filter((k) => e[k] !== undefined).map((k) => `${k}=${e[k]}`);
  return ['env', '-i', ...vars, process.execPath, CLI, ...args];
}

function secretKeyIn(text: string): string {
  return /^AGE-SECRET-KEY-1\S+$/m.exec(text)?.[0] as string;
}

beforeAll(async () => {
  if (!haveAge) return;
  if (!hasPty()) throw new Error('util-linux `script` is needed to drive age under a pty');
  env = await tempHome();
  dir = scratchDir(env);
  await must(['init', ...FAST]);
  await must(['add', 'stripe', '--base-url', 'https://api.stripe.com', '--auth', 'bearer', '--key-stdin'], env, SECRET);
}, 120_000);

afterAll(async () => {
  await cleanupTempHomes();
});

describe.skipIf(!haveAge)('identities and age files with the real age', { timeout: 120_000 }, () => {
  it('identity new writes an age-keygen-format file (0600) that age -d -i uses', async () => {
    const file = path.join(dir, 'me.txt');
    const r = await must(['identity', 'new', '--out', file]);
    const pub = r.stdout.trim();
    expect(pub).toMatch(/^age1[02-9ac-hj-np-z]{58}$/);
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    const text = await fs.readFile(file, 'utf8');
    expect(text).toMatch(/^# created: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n# public key: age1\S+\nAGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}\n$/);
    expect(sh('age-keygen', ['-y', file]).trim()).toBe(pub);
    // age encrypts to the printed key, and decrypts with the file.
    await fs.writeFile(path.join(dir, 'hello.txt'), 'hello team\n');
    sh('age', ['-r', pub, '-o', path.join(dir, 'hello.age'), path.join(dir, 'hello.txt')]);
    sh('age', ['-d', '-i', file, '-o', path.join(dir, 'hello.out'), path.join(dir, 'hello.age')]);
    expect(await fs.readFile(path.join(dir, 'hello.out'), 'utf8')).toBe('hello team\n');
    // Never overwritten.
    const again = await runJanee(['identity', 'new', '--out', file], { env });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already exists');
    expect(await fs.readFile(file, 'utf8')).toBe(text);
    log.push(again.stderr);
  });

  it('identity new --passphrase is an age -p file: age -d -i asks for its passphrase and uses it', async () => {
    const file = path.join(dir, 'me-protected.age');
    const r = await must(['identity', 'new', '--out', file, '--passphrase'], withEnv(env, { JANEE_NEW_PASSPHRASE: ID_PASS }));
    const pub = r.stdout.trim();
    expect((await fs.readFile(file)).subarray(0, 22).toString()).toBe('age-encryption.org/v1\n');
    expect(await fs.readFile(file, 'utf8')).not.toContain('AGE-SECRET-KEY');
    sh('age', ['-r', pub, '-o', path.join(dir, 'p.age'), path.join(dir, 'hello.txt')]);
    const out = path.join(dir, 'p.out');
    const d = await runUnderPty(
      ['age', '-d', '-i', file, '-o', out, path.join(dir, 'p.age')],
      [{ waitFor: 'passphrase', send: `${ID_PASS}\n` }],
    );
    expect(d.code, d.output).toBe(0);
    expect(await fs.readFile(out, 'utf8')).toBe('hello team\n');
  });

  it('an identity encrypted by the real age -p opens the vault after janee asks for its passphrase', async () => {
    const plain = path.join(dir, 'kay.txt');
    const enc = path.join(dir, 'kay.age');
    sh('age-keygen', ['-o', plain]);
    const pub = sh('age-keygen', ['-y', plain]).trim();
    const p = await runUnderPty(
      ['age', '-p', '-o', enc, plain],
      [
        { waitFor: 'Enter passphrase', send: `${ID_PASS}\n` },
        { waitFor: 'Confirm passphrase', send: `${ID_PASS}\n` },
      ],
    );
    expect(p.code, p.output).toBe(0);
    await must(['recipients', 'add', pub, '--name', 'kay']);
    const secretKey = secretKeyIn(await fs.readFile(plain, 'utf8'));
    await fs.rm(plain);

    const member = withEnv(env, { JANEE_PASSPHRASE: undefined });
    // No terminal (CI, serve): a clear error, no hang.
    const ci = await runJanee(['list', '--json'], { env: withEnv(member, { JANEE_IDENTITY_FILE: enc }), timeoutMs: 20_000 });
    expect(ci.code).toBe(1);
    expect(ci.stderr).toContain('is passphrase-protected and there is no terminal to ask for its passphrase');
    // On a terminal: janee asks, then the member adds another key with their identity.
    const other = sh('age-keygen', []);
    const otherPub = /public key: (age1\S+)/.exec(other)?.[1] as string;
    const r = await runUnderPty(janeeArgv(member, ['recipients', 'add', otherPub, '--name', 'kay-laptop', '--identity', enc]), [
      { waitFor: 'passphrase for identity', send: `${ID_PASS}\n` },
    ]);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain('added recipient kay-laptop');
    for (const s of [SECRET, secretKey, ID_PASS]) expect(leaksIn(r.output, s)).toEqual([]);
    // A wrong passphrase for it fails cleanly.
    const bad = await runUnderPty(janeeArgv(member, ['recipients', 'add', otherPub, '--name', 'x', '--identity', enc]), [
      { waitFor: 'passphrase for identity', send: 'wrong\n' },
    ]);
    expect(bad.code).toBe(1);
    expect(bad.output).toContain('janee: error: wrong passphrase for age file');
  });

  it('export --recipient (repeatable) writes an age file that age -d -i opens', async () => {
    const a = path.join(dir, 'a.txt');
    const b = path.join(dir, 'b.txt');
    sh('age-keygen', ['-o', a]);
    sh('age-keygen', ['-o', b]);
    const out = path.join(dir, 'team.age');
    const r = await must([
      'export',
      '--age',
      out,
      '--recipient',
      sh('age-keygen', ['-y', a]).trim(),
      '--recipient',
      sh('age-keygen', ['-y', b]).trim(),
    ]);
    expect(r.stderr).toContain('(age v1, 2 recipients)');
    for (const id of [a, b]) {
      const json = path.join(dir, `team-${path.basename(id)}.json`);
      sh('age', ['-d', '-i', id, '-o', json, out]);
      const data = JSON.parse(await fs.readFile(json, 'utf8')) as { entries: Record<string, { fields: { token: string } }> };
      expect(data.entries.stripe?.fields.token).toBe(SECRET);
      await fs.rm(json);
    }
    const bad = await runJanee(['export', '--age', path.join(dir, 'x.age'), '--recipient', 'age1nope'], { env });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('is not an age1… public key');
  });

  it('import --identity reads a file made with age -r', async () => {
    const id = path.join(dir, 'importer.txt');
    sh('age-keygen', ['-o', id]);
    // What `janee export` writes, encrypted by the real age to the importer's key.
    const plain = path.join(dir, 'to-import.json');
    const exported = {
      format: 'janee-export/v1',
      exported: new Date().toISOString(),
      entries: {
        imported: {
          fields: { token: SECRET },
          origins: ['https://api.imported.example'],
          created: '2026-01-15T09:30:00.000Z',
          updated: '2026-01-15T09:30:00.000Z',
        },
      },
      services: {},
    };
    await fs.writeFile(plain, JSON.stringify(exported));
    const enc = path.join(dir, 'from-age.age');
    sh('age', ['-r', sh('age-keygen', ['-y', id]).trim(), '-o', enc, plain]);
    await fs.rm(plain);
    const wrong = path.join(dir, 'wrong.txt');
    sh('age-keygen', ['-o', wrong]);
    const no = await runJanee(['import', '--age', enc, '--identity', wrong], { env });
    expect(no.code).toBe(1);
    expect(no.stderr).toContain('janee: error: no identity given opens this age file');
    const r = await must(['import', '--age', enc, '--identity', id, '--no-config']);
    expect(r.stderr).toContain('imported secrets: imported');
    const list = JSON.parse((await must(['list', '--json'])).stdout) as { services: { name: string; secret: boolean }[] };
    expect(list.services.find((s) => s.name === 'imported')?.secret).toBe(true);
  });

  it('nothing secret in any output', () => {
    for (const s of [SECRET, ID_PASS]) expect(leaksIn(log.join('\n'), s)).toEqual([]);
    expect(log.join('\n')).not.toContain('AGE-SECRET-KEY-1');
  });
});
