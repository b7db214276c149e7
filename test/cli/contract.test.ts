/**
 * Claims of DESIGN.md / README.md that a contract review found the built CLI did not
 * keep (notes/contract.md). Each case drives the built CLI as a user would.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PASSPHRASE, cleanupTempHomes, errorLines, initHome, runJanee, withEnv } from '../helpers/cli.js';

afterAll(cleanupTempHomes);

describe('passphrase sources (DESIGN "CLI": FILE, env, --passphrase-stdin, prompt)', () => {
  it('janee list reads the vault with --passphrase-stdin, and refuses a wrong one with exit 1', async () => {
    const env = await initHome();
    const add = await runJanee(['add', 'stripe', '--base-url', 'https://api.stripe.com', '--auth', 'bearer', '--key-stdin'], {
      env,
      input: 'sk_test_contract_list_1\n',
    });
    expect(add.code, add.stderr).toBe(0);
    const noEnv = withEnv(env, { JANEE_PASSPHRASE: undefined });

    const r = await runJanee(['list', '--json', '--passphrase-stdin'], { env: noEnv, input: `${PASSPHRASE}\n` });
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { vault: string; services: { name: string; secret: boolean | null }[] };
    expect(doc.vault).toBe('read');
    expect(doc.services).toEqual([expect.objectContaining({ name: 'stripe', secret: true })]);

    const wrong = await runJanee(['list', '--passphrase-stdin'], { env: noEnv, input: 'not the passphrase\n' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^janee: error: wrong passphrase$/m);

    // Without the flag, list still never reads stdin nor prompts: the vault stays "locked".
    const quiet = await runJanee(['list', '--json'], { env: noEnv, input: `${PASSPHRASE}\n` });
    expect(quiet.code, quiet.stderr).toBe(0);
    expect((JSON.parse(quiet.stdout) as { vault: string }).vault).toBe('locked');
  });
});

describe('hints name the real file', () => {
  it('a damaged vault: "restore <the vault path>.bak", not a placeholder', async () => {
    const env = await initHome();
    const vault = path.join(env.JANEE_HOME, 'vault.janee');
    const bytes = await fs.readFile(vault);
    const at = bytes.length - 20; // in the payload: the MAC catches it
    bytes.writeUInt8(bytes.readUInt8(at) ^ 1, at);
    await fs.writeFile(vault, bytes);
    const r = await runJanee(['list'], { env });
    expect(r.code, r.stderr).toBe(1);
    expect(errorLines(r.stderr).hint).toBe(`janee: hint: restore ${vault}.bak or the copy in git`);

    await fs.writeFile(vault, 'janee-vault/v1\nnot a header\n');
    const header = await runJanee(['list'], { env });
    expect(header.code, header.stderr).toBe(1);
    expect(errorLines(header.stderr).hint).toContain(`restore ${vault}.bak`);
  });
});
