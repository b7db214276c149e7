/**
 * `janee export --age` / `janee import --age`: a real age v1 file, read by Debian's
 * `age -d` (under a pty from util-linux `script`: age reads passphrases only from a
 * terminal), and read back by janee, also when `age -p` wrote it.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptAge } from '../../src/vault/age.js';
import { cleanupTempHomes, errorLines, initHome, PASSPHRASE, runJanee, scratchDir, withEnv, type JaneeEnv } from '../helpers/cli.js';
import { hasCommand, hasPty, runUnderPty } from '../helpers/pty.js';
import { leaksIn } from '../ci/mcp.js';

const haveAge = hasCommand('age') && hasPty();
if (!haveAge) console.warn('age interop tests skipped: no `age` binary (apt-get install -y age) or no util-linux `script`');

const AGE_PASS = 'export pass ✓ with spaces';
const STRIPE = 'sk_live_export_1a2b3c4d5e6f';
const GH_PASSWORD = 'gh-basic-password-778899';
let env: JaneeEnv;
let exportFile: string;

beforeAll(async () => {
  env = await initHome();
  let r = await runJanee(
    ['add', 'stripe', '--base-url', 'https://api.stripe.com', '--policy', 'GET /v1/charges', '--rate-limit', '60/min', '--key-stdin'],
    { env, input: STRIPE },
  );
  expect(r.code, r.stderr).toBe(0);
  r = await runJanee(['add', 'gh', '--base-url', 'https://api.github.com', '--auth', 'basic', '--username', 'octo', '--key-stdin'], {
    env,
    input: GH_PASSWORD,
  });
  expect(r.code, r.stderr).toBe(0);
  exportFile = path.join(scratchDir(env), 'backup.age');
});

afterAll(cleanupTempHomes);

const ageEnv = (e: NodeJS.ProcessEnv, pass = AGE_PASS) => withEnv(e, { JANEE_AGE_PASSPHRASE: pass });

describe('janee export --age', () => {
  it('writes an age v1 passphrase file, 0600, with no secret visible', async () => {
    const r = await runJanee(['export', '--age', exportFile, '--work-factor', '10'], { env: ageEnv(env) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`exported 2 secrets and 2 services to ${exportFile} (age v1, passphrase)`);
    const bytes = readFileSync(exportFile);
    expect(bytes.subarray(0, 32).toString('latin1')).toMatch(/^age-encryption\.org\/v1\n-> scrypt /);
    expect(bytes.toString('latin1').split('\n')[1]).toMatch(/^-> scrypt [A-Za-z0-9+/]{22} 10$/);
    expect(statSync(exportFile).mode & 0o777).toBe(0o600);
    for (const s of [STRIPE, GH_PASSWORD]) {
      expect(leaksIn(bytes, s)).toEqual([]);
      expect(leaksIn(r.stdout + r.stderr, s)).toEqual([]);
    }
    const plain = JSON.parse(Buffer.from(await decryptAge(bytes, new TextEncoder().encode(AGE_PASS))).toString('utf8'));
    expect(plain.format).toBe('janee-export/v1');
    expect(plain.entries.stripe.fields).toEqual({ token: STRIPE });
    expect(plain.entries.gh.fields).toEqual({ username: 'octo', password: GH_PASSWORD });
    expect(plain.services.stripe).toEqual({
      baseUrl: 'https://api.stripe.com',
      auth: { type: 'bearer' },
      policies: [{ path: '/v1/charges', methods: ['GET'] }],
      rateLimit: '60/min',
    });
  });

  it('refuses to overwrite without --force; needs a passphrase source', async () => {
    const r = await runJanee(['export', '--age', exportFile, '--work-factor', '10'], { env: ageEnv(env) });
    expect(r.code).toBe(1);
    expect(errorLines(r.stderr).error).toBe(`janee: error: ${exportFile} already exists`);
    const none = await runJanee(['export', '--age', path.join(scratchDir(env), 'n.age'), '--work-factor', '10'], { env });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no passphrase for the age file/);
    expect(existsSync(path.join(scratchDir(env), 'n.age'))).toBe(false);
    const forced = await runJanee(['export', '--age', exportFile, '--work-factor', '10', '--force'], { env: ageEnv(env) });
    expect(forced.code, forced.stderr).toBe(0);
  });

  it.skipIf(!haveAge)("Debian's age -d decrypts it", { timeout: 60_000 }, async () => {
    const out = path.join(scratchDir(env), 'backup.json');
    const r = await runUnderPty(['age', '-d', '-o', out, exportFile], [{ waitFor: 'Enter passphrase', send: `${AGE_PASS}\n` }]);
    expect(r.code, r.output).toBe(0);
    const json = JSON.parse(readFileSync(out, 'utf8'));
    expect(json.entries.stripe.fields.token).toBe(STRIPE);
    expect(json.entries.stripe.origins).toEqual(['https://api.stripe.com']);
    if (process.env.JANEE_TRANSCRIPT) {
      const shown = readFileSync(out, 'utf8').replace(STRIPE, 'sk_live_…').replace(GH_PASSWORD, '…');
      writeFileSync(
        process.env.JANEE_TRANSCRIPT,
        `$ age -d -o backup.json backup.age\n${r.output}\n$ head backup.json\n${shown.split('\n').slice(0, 14).join('\n')}\n`,
      );
    }
    const wrong = await runUnderPty(['age', '-d', '-o', `${out}.2`, exportFile], [{ waitFor: 'Enter passphrase', send: 'not it\n' }]);
    expect(wrong.code).not.toBe(0);
  });
});

describe('janee import --age', () => {
  it('rebuilds a fresh home: secrets into the vault, services into config.yaml', async () => {
    const fresh = await initHome();
    const r = await runJanee(['import', '--age', exportFile], { env: ageEnv(fresh) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('janee: imported secrets: gh, stripe');
    expect(r.stderr).toContain('janee: services added to config.yaml: stripe, gh');
    const list = await runJanee(['list', '--json'], { env: fresh });
    const rows = JSON.parse(list.stdout).services as { name: string; secret: boolean; policies: unknown; rateLimit: unknown }[];
    expect(rows.map((s) => [s.name, s.secret])).toEqual([
      ['stripe', true],
      ['gh', true],
    ]);
    expect(rows.find((s) => s.name === 'stripe')?.rateLimit).toBeTruthy();

    const again = await runJanee(['import', '--age', exportFile], { env: ageEnv(fresh) });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('already there: gh, stripe');
    expect(again.stderr).toContain('kept the existing config of: stripe, gh');
  });

  it('refuses to replace a different secret unless --force; a wrong passphrase fails cleanly', async () => {
    const other = await initHome();
    const add = await runJanee(['add', 'stripe', '--base-url', 'https://api.stripe.com', '--key-stdin'], { env: other, input: 'sk_other' });
    expect(add.code).toBe(0);
    const r = await runJanee(['import', '--age', exportFile], { env: ageEnv(other) });
    expect(r.code).toBe(1);
    expect(errorLines(r.stderr).error).toBe('janee: error: the vault already holds different secrets named "stripe"; nothing was imported');
    const wrong = await runJanee(['import', '--age', exportFile], { env: ageEnv(other, 'nope') });
    expect(wrong.code).toBe(1);
    expect(errorLines(wrong.stderr).error).toBe('janee: error: wrong passphrase for age file');
    const forced = await runJanee(['import', '--age', exportFile, '--force', '--no-config'], { env: ageEnv(other) });
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toContain('replaced: stripe');
    const back = path.join(scratchDir(other), 'check.age');
    expect((await runJanee(['export', '--age', back, '--work-factor', '10'], { env: ageEnv(other) })).code).toBe(0);
    const json = JSON.parse(Buffer.from(await decryptAge(readFileSync(back), new TextEncoder().encode(AGE_PASS))).toString('utf8'));
    expect(json.entries.stripe.fields.token).toBe(STRIPE);
  });

  it('--same-passphrase, and both passphrases on stdin', async () => {
    const file = path.join(scratchDir(env), 'same.age');
    const r = await runJanee(['export', '--age', file, '--work-factor', '10', '--same-passphrase'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(Buffer.from(await decryptAge(readFileSync(file), new TextEncoder().encode(PASSPHRASE))).toString('utf8')).toContain(STRIPE);

    const file2 = path.join(scratchDir(env), 'stdin.age');
    const noEnv = withEnv(env, { JANEE_PASSPHRASE: undefined });
    const s = await runJanee(['export', '--age', file2, '--work-factor', '10', '--passphrase-stdin', '--age-passphrase-stdin'], {
      env: noEnv,
      input: `${PASSPHRASE}\nstdin age pass\n`,
    });
    expect(s.code, s.stderr).toBe(0);
    expect(Buffer.from(await decryptAge(readFileSync(file2), new TextEncoder().encode('stdin age pass'))).toString('utf8')).toContain(
      STRIPE,
    );
  });

  it.skipIf(!haveAge)('reads a file that age -p wrote', { timeout: 60_000 }, async () => {
    const dir = scratchDir(env);
    const json = path.join(dir, 'handmade.json');
    await fs.writeFile(
      json,
      JSON.stringify({
        format: 'janee-export/v1',
        entries: {
          linear: {
            fields: { token: 'lin_api_handmade' },
            origins: ['https://api.linear.app'],
            created: '2026-01-01T00:00:00.000Z',
            updated: '2026-01-01T00:00:00.000Z',
          },
        },
        services: { linear: { baseUrl: 'https://api.linear.app', auth: { type: 'header', name: 'Authorization' } } },
      }),
    );
    const out = path.join(dir, 'handmade.age');
    const enc = await runUnderPty(
      ['age', '-p', '-o', out, json],
      [
        { waitFor: 'Enter passphrase', send: `${AGE_PASS}\n` },
        { waitFor: 'Confirm passphrase', send: `${AGE_PASS}\n` },
      ],
    );
    expect(enc.code, enc.output).toBe(0);
    const fresh = await initHome();
    const r = await runJanee(['import', '--age', out], { env: ageEnv(fresh), timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('imported secrets: linear');
    expect(await fs.readFile(path.join(fresh.JANEE_HOME, 'config.yaml'), 'utf8')).toContain('auth: { type: header, name: Authorization }');
  });
});
