/**
 * Red team (fifth pass): a FIFO, or a link to /dev/zero, named like janee's lock file
 * (`vault.janee.lock`, `config.yaml.lock`) in JANEE_HOME. Whoever can write JANEE_HOME
 * is hostile under SECURITY.md's model (a synced folder), and rt4 bounded every file
 * janee reads there except the lock: to see whether a lock is stale, janee read the
 * owner's pid from it with a plain readFile, which waits for ever on a FIFO. Every
 * command that writes the vault or config.yaml (`add`, `set`, `remove`, `killswitch`)
 * then hung (a directory there made janee spin). A lock that is not a regular file is
 * now refused at once with one clear error, and left alone (janee never made it). The
 * BUILT CLI in a real process.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempHomes, errorLines, initHome, runJanee, type JaneeEnv } from '../helpers/cli.js';

let env: JaneeEnv;

beforeAll(async () => {
  env = await initHome();
}, 60_000);

afterAll(cleanupTempHomes);

const addArgs = (name: string) => ['add', name, '--base-url', 'https://api.example.com', '--auth', 'bearer', '--key-stdin'];

/** `janee add NAME` with `lock` in place: refused at once, config.yaml unchanged, the odd file left alone; works once it is gone. */
async function refusedThenWorks(name: string, lock: string): Promise<void> {
  const config = path.join(env.JANEE_HOME, 'config.yaml');
  const before = await fs.readFile(config, 'utf8');
  const r = await runJanee(addArgs(name), { env, input: 'sk_test_lock_0123456789\n', timeoutMs: 20_000 });
  expect(r.signal, `janee add hung on ${path.basename(lock)}`).toBeNull();
  expect(r.code, r.stderr).toBe(1);
  expect(errorLines(r.stderr).error).toMatch(/is not a lock file janee made/);
  expect(r.stderr).not.toMatch(/internal error/);
  expect(await fs.readFile(config, 'utf8')).toBe(before);
  await fs.lstat(lock); // still there: not ours to remove
  await fs.rm(lock, { recursive: true });
  const again = await runJanee(addArgs(name), { env, input: 'sk_test_lock_0123456789\n' });
  expect(again.code, again.stderr).toBe(0);
}

describe('a lock file that is not a file is refused at once', { timeout: 60_000 }, () => {
  it('vault.janee.lock as a FIFO', async () => {
    const lock = path.join(env.JANEE_HOME, 'vault.janee.lock');
    expect(spawnSync('mkfifo', [lock]).status).toBe(0);
    await refusedThenWorks('fifo', lock);
  });

  it('config.yaml.lock as a link to /dev/zero', async () => {
    const lock = path.join(env.JANEE_HOME, 'config.yaml.lock');
    await fs.symlink('/dev/zero', lock);
    await refusedThenWorks('zero', lock);
  });

  it('vault.janee.lock as a directory', async () => {
    const lock = path.join(env.JANEE_HOME, 'vault.janee.lock');
    await fs.mkdir(lock);
    await refusedThenWorks('dir', lock);
  });
});
