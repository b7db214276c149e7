/**
 * Red team (fifth pass): a header with tens of thousands of stanzas.
 * - A vault file (a dotfiles pull request, a synced folder) with 40,000 X25519 recipient
 *   stanzas: parseVault checked each new key against every earlier one (quadratic), so
 *   every janee command that opens the vault, and `git log -p` through the textconv,
 *   took minutes (20,000 stanzas: 9.5 s; 7.6 MB here). A vault now has at most 1024
 *   recipients, keys are checked in a Set, and more is one clear error at once.
 * - An age file for `janee import --age --identity` with 20,000 X25519 stanzas (2 MB):
 *   each costs an X25519 operation (~1 ms), so 21 s; a 256 MB file, most of an hour.
 *   An age header now has at most 1024 stanzas.
 * The BUILT CLI in real processes; the age file starts from one the real `age` wrote.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateFileKey, sealVault, wrapForRecipient, type RecipientStanza } from '../../src/vault/format.js';
import { encodeRecipient } from '../../src/vault/x25519.js';
import { cleanupTempHomes, errorLines, initHome, runJanee, scratchDir, withEnv, type JaneeEnv } from '../helpers/cli.js';

let env: JaneeEnv;

beforeAll(async () => {
  env = await initHome();
}, 60_000);

afterAll(cleanupTempHomes);

const b64 = (n: number) => randomBytes(n).toString('base64').replace(/=+$/, '');

describe('headers with tens of thousands of stanzas fail at once', { timeout: 60_000 }, () => {
  it('a vault with 40,000 recipients: janee list', async () => {
    const fileKey = generateFileKey();
    const one = wrapForRecipient(fileKey, 'a', encodeRecipient(randomBytes(32)));
    const recipients: RecipientStanza[] = [];
    for (let i = 0; i < 40_000; i++) {
      recipients.push({ ...one, name: `m${String(i).padStart(6, '0')}`, recipient: encodeRecipient(randomBytes(32)) });
    }
    const file = path.join(scratchDir(env), 'crowded.janee');
    await fs.writeFile(file, sealVault({ recipients }, fileKey, new TextEncoder().encode('{}')));
    const r = await runJanee(['list'], { env: withEnv(env, { JANEE_VAULT: file }), timeoutMs: 15_000 });
    expect(r.signal, 'janee list was still parsing the header after 15 s').toBeNull();
    expect(r.code, r.stderr).toBe(1);
    expect(errorLines(r.stderr).error).toMatch(/vault header has more than 1024 recipients/);
  });

  it.skipIf(spawnSync('age', ['--version']).status !== 0)('an age file with 20,000 X25519 stanzas: janee import --age', async () => {
    const dir = scratchDir(env);
    const identity = path.join(dir, 'key.txt');
    expect(spawnSync('age-keygen', ['-o', identity]).status).toBe(0);
    const recipient = spawnSync('age-keygen', ['-y', identity], { encoding: 'utf8' }).stdout.trim();
    const plain = path.join(dir, 'export.json');
    await fs.writeFile(plain, '{"format":"janee-export/v1","entries":{}}');
    const real = spawnSync('age', ['-r', recipient], { input: await fs.readFile(plain) }).stdout;
    const afterVersion = real.indexOf(0x0a) + 1;
    let stanzas = '';
    for (let i = 0; i < 20_000; i++) stanzas += `-> X25519 ${b64(32)}\n${b64(32)}\n`;
    const file = path.join(dir, 'crowded.age');
    await fs.writeFile(file, Buffer.concat([real.subarray(0, afterVersion), Buffer.from(stanzas), real.subarray(afterVersion)]));
    const r = await runJanee(['import', '--age', file, '--identity', identity], { env, timeoutMs: 15_000 });
    expect(r.signal, 'janee import was still trying stanzas after 15 s').toBeNull();
    expect(r.code, r.stderr).toBe(1);
    expect(errorLines(r.stderr).error).toMatch(/age header has more than 1024 recipient stanzas/);
  });
});
