/**
 * Red team (fifth pass): a careless `janee add`. A wrong file piped to `--key-stdin` (a
 * log, a tarball in base64, a whole keychain export) was stored as one "secret" of up
 * to 1 MiB. Every serve then holds it, and its redaction variants, in memory for every
 * call. A field value is now capped at 96 KiB, enough for a 64 KiB `--field-file` in
 * base64 and far above the largest real secrets (PEM keys, service-account JSON).
 * The BUILT CLI in a real process; the vault is checked to be unchanged.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempHomes, errorLines, initHome, runJanee, type JaneeEnv } from '../helpers/cli.js';

let env: JaneeEnv;

beforeAll(async () => {
  env = await initHome();
}, 60_000);

afterAll(cleanupTempHomes);

const add = (name: string, input: string) =>
  runJanee(['add', name, '--base-url', 'https://api.example.com', '--auth', 'bearer', '--key-stdin'], { env, input });

describe('a secret of hundreds of KiB is refused at janee add', { timeout: 60_000 }, () => {
  it('a 200 KiB value on --key-stdin is BAD_KEY and nothing is written', async () => {
    const vaultBefore = await fs.readFile(path.join(env.JANEE_HOME, 'vault.janee'));
    const r = await add('big', `sk_test_${'a'.repeat(200 * 1024)}\n`);
    expect(r.code, r.stderr).toBe(1);
    expect(errorLines(r.stderr).error).toMatch(/the secret is longer than 96 KiB/);
    expect(r.stderr).not.toContain('aaaaaaaa');
    expect(Buffer.compare(await fs.readFile(path.join(env.JANEE_HOME, 'vault.janee')), vaultBefore)).toBe(0);
    expect(await fs.readFile(path.join(env.JANEE_HOME, 'config.yaml'), 'utf8')).not.toMatch(/big/);
  });

  it('a 4 KiB value (a PEM key base64ed on one line) is still accepted', async () => {
    const r = await add('pem', `sk_test_${'b'.repeat(4 * 1024)}\n`);
    expect(r.code, r.stderr).toBe(0);
  });
});
