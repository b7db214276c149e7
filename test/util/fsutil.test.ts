import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { atomicWrite, dropLockCandidate, withLock } from '../../src/util/fsutil.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await fs.mkdtemp(path.join(tmpdir(), 'janee-fsutil-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

describe('withLock', () => {
  it('serialises holders in one process and leaves nothing behind', async () => {
    const d = await tempDir();
    const target = path.join(d, 'thing');
    let inside = 0;
    let maxInside = 0;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        withLock(target, async () => {
          inside++;
          maxInside = Math.max(maxInside, inside);
          await new Promise((r) => setTimeout(r, 1));
          inside--;
        }),
      ),
    );
    expect(maxInside).toBe(1);
    expect(await fs.readdir(d)).toEqual([]);
  });

  it('does not add a process exit listener per acquisition', async () => {
    const d = await tempDir();
    const before = process.listenerCount('exit');
    for (let i = 0; i < 30; i++) await withLock(path.join(d, 'x'), async () => undefined);
    expect(process.listenerCount('exit') - before).toBeLessThanOrEqual(1);
  });

  it('keeps the candidate with keepCandidate until dropLockCandidate, and drops it otherwise', async () => {
    const d = await tempDir();
    const target = path.join(d, 'hot');
    const candidate = `.hot.lock.${process.pid}`;
    await withLock(target, async () => undefined, { keepCandidate: true });
    expect(await fs.readdir(d)).toEqual([candidate]);
    await withLock(target, async () => undefined, { keepCandidate: true });
    expect(await fs.readdir(d)).toEqual([candidate]);
    dropLockCandidate(target);
    expect(await fs.readdir(d)).toEqual([]);
    await withLock(target, async () => undefined);
    expect(await fs.readdir(d)).toEqual([]);
  });

  it('breaks a lock left by a dead process', async () => {
    const d = await tempDir();
    const target = path.join(d, 'thing');
    // A pid that cannot be alive: above the kernel's pid_max.
    await fs.writeFile(`${target}.lock`, '4194305\n');
    expect(await withLock(target, async () => 'got it', { timeoutMs: 2000 })).toBe('got it');
    expect(await fs.readdir(d)).toEqual([]);
  });

  it('waits for a live holder and times out with LOCK_TIMEOUT', async () => {
    const d = await tempDir();
    const target = path.join(d, 'thing');
    await fs.writeFile(`${target}.lock`, `${process.ppid}\n`); // alive: our parent
    await expect(withLock(target, async () => 'never', { timeoutMs: 200 })).rejects.toMatchObject({ code: 'LOCK_TIMEOUT' });
  });
});

describe('atomicWrite', () => {
  it('keeps the previous version as .bak and writes 0600', async () => {
    const d = await tempDir();
    const f = path.join(d, 'file');
    await atomicWrite(f, 'one');
    await atomicWrite(f, 'two');
    expect(await fs.readFile(f, 'utf8')).toBe('two');
    expect(await fs.readFile(`${f}.bak`, 'utf8')).toBe('one');
    expect((await fs.stat(f)).mode & 0o777).toBe(0o600);
    expect((await fs.readdir(d)).sort()).toEqual(['file', 'file.bak']);
  });
});
