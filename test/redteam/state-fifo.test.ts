/**
 * Red team (fourth pass, the readers it left): janee's state records (the remembered
 * vault generation, agents' last use) and a dotfiles repo's .gitattributes were read with
 * a blocking open. A FIFO in the state directory hung every command that opens the vault;
 * a .gitattributes committed as a symlink to /dev/zero (git stores symlinks) made
 * `janee git setup` read until memory ran out. Each must fail at once. The BUILT CLI.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addBearer, cleanupTempHomes, errorLines, initHome, runJanee, scratchDir, type JaneeEnv } from '../helpers/cli.js';

let env: JaneeEnv & { HOME: string; XDG_STATE_HOME: string };

beforeAll(async () => {
  const base = await initHome();
  const scratch = scratchDir(base);
  env = { ...base, HOME: path.join(scratch, 'user'), XDG_STATE_HOME: path.join(scratch, 'state') };
  await fs.mkdir(env.HOME, { mode: 0o700 });
  await addBearer(env, 'svc', 'https://api.example.com', 'sk_test_0123456789abcdefghij');
}, 60_000);

afterAll(cleanupTempHomes);

describe('special files where janee reads its own small files', { timeout: 60_000 }, () => {
  it('a FIFO in place of the remembered generation fails the vault open at once', async () => {
    const dir = path.join(env.XDG_STATE_HOME, 'janee');
    const records = (await fs.readdir(dir)).filter((f) => f.startsWith('vault-') && f.endsWith('.json'));
    expect(records.length, `no generation record in ${dir}: ${(await fs.readdir(dir)).join(', ')}`).toBeGreaterThan(0);
    for (const f of records) {
      await fs.rm(path.join(dir, f));
      execFileSync('mkfifo', [path.join(dir, f)]);
    }
    const r = await runJanee(['list'], { env, spawn: true, timeoutMs: 15_000 });
    expect(r.timedOut, 'hung').toBe(false);
    expect(r.code, r.stderr).toBe(1);
    expect(errorLines(r.stderr).error).toMatch(/cannot read .* \(ENOTFILE\)/);
  });

  it('a .gitattributes linked to /dev/zero fails janee git setup at once', async () => {
    const repo = path.join(scratchDir(env), 'dotfiles');
    await fs.mkdir(repo);
    execFileSync('git', ['init', '-q', repo]);
    await fs.symlink('/dev/zero', path.join(repo, '.gitattributes'));
    const vault = path.join(repo, 'vault.janee');
    await fs.copyFile(path.join(env.JANEE_HOME, 'vault.janee'), vault);
    const r = await runJanee(['git', 'setup'], { env: { ...env, JANEE_VAULT: vault }, spawn: true, timeoutMs: 15_000, cwd: repo });
    expect(r.timedOut, 'hung').toBe(false);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/ENOTFILE/);
  });
});
