/**
 * Red team (fifth pass): `janee migrate --from DIR` on a 0.x home someone else made (a
 * synced folder, an old backup). rt4 bounded every file janee 1 reads from JANEE_HOME;
 * the 0.x credentials.json was still read with a plain readFile. A FIFO there hung
 * `janee migrate` for ever; a link to /dev/zero was read until memory ran out.
 * Each now fails at once with one clear error. Real 0.16 home (fixtures/legacy), BUILT CLI.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempHomes, errorLines, initHome, REPO_ROOT, runJanee, scratchDir, type JaneeEnv } from '../helpers/cli.js';

let env: JaneeEnv;

beforeAll(async () => {
  env = await initHome();
}, 60_000);

afterAll(cleanupTempHomes);

async function oldHome(name: string): Promise<string> {
  const dir = path.join(scratchDir(env), name);
  await fs.cp(path.join(REPO_ROOT, 'fixtures', 'legacy', 'home-0.16.0'), dir, { recursive: true });
  await fs.rm(path.join(dir, 'credentials.json'));
  return dir;
}

describe('janee migrate --from a home whose credentials.json is not a file', { timeout: 60_000 }, () => {
  it('a FIFO fails at once', async () => {
    const dir = await oldHome('fifo');
    expect(spawnSync('mkfifo', [path.join(dir, 'credentials.json')]).status).toBe(0);
    const r = await runJanee(['migrate', '--from', dir], { env, timeoutMs: 15_000 });
    expect(r.signal, 'janee migrate hung on a FIFO').toBeNull();
    expect(r.code, r.stderr).toBe(1);
    expect(errorLines(r.stderr).error).toMatch(/cannot read .*credentials\.json \(ENOTFILE\)/);
  });

  it('a link to /dev/zero fails at once', async () => {
    const dir = await oldHome('zero');
    await fs.symlink('/dev/zero', path.join(dir, 'credentials.json'));
    const r = await runJanee(['migrate', '--from', dir], { env, timeoutMs: 15_000 });
    expect(r.signal, 'janee migrate read /dev/zero').toBeNull();
    expect(r.code, r.stderr).toBe(1);
    expect(errorLines(r.stderr).error).toMatch(/cannot read .*credentials\.json \(ENOTFILE\)/);
  });
});
