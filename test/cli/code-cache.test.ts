/**
 * The launcher's V8 code cache (src/cli/launch.ts, src/cli/code-cache.ts): the build
 * leaves one for this node beside the bundle; a run uses it; a cache V8 rejects is
 * replaced; a foreign one (writable by others, owned by someone else, a symlink) is
 * never read; `JANEE_CODE_CACHE=0` reads and writes none; and what a run writes holds
 * no secret it handled. Each test runs a copy of the BUILT dist/cli/main.js and
 * bundle.js in a temporary directory (the bundle needs nothing else), so the shared
 * build is never touched; `JANEE_CODE_CACHE=trace` makes the launcher say what it did.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheFileName, foreignCache, isCacheFileName, mayWriteCache, type FileFacts } from '../../src/cli/code-cache.js';
import { CLI, cleanupTempHomes, initHome, PASSPHRASE, scratchDir, withEnv, type JaneeEnv } from '../helpers/cli.js';

afterAll(cleanupTempHomes);

const built = path.dirname(CLI);
const isRoot = process.getuid?.() === 0;

let home: JaneeEnv;
let n = 0;
beforeAll(async () => {
  home = await initHome();
});

/** A copy of the built launcher, bundle and (unless `withCache` is false) code cache; returns its directory and the cache's name. */
async function copyBuild(withCache = true): Promise<{ dir: string; cache: string }> {
  const dir = path.join(scratchDir(home), `build-${n++}`);
  await fs.mkdir(dir, { recursive: true });
  const caches = (await fs.readdir(built)).filter(isCacheFileName);
  expect(caches, 'npm run build leaves one code cache beside the bundle').toHaveLength(1);
  const names = ['main.js', 'bundle.js', ...(withCache ? caches : [])];
  for (const f of names) await fs.copyFile(path.join(built, f), path.join(dir, f));
  return { dir, cache: caches[0]! };
}

function janee(dir: string, args: string[], extra: Record<string, string | undefined> = {}) {
  const r = spawnSync(process.execPath, [path.join(dir, 'main.js'), ...args], {
    env: withEnv(home, { JANEE_PASSPHRASE: undefined, JANEE_CODE_CACHE: 'trace', ...extra }),
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, input: undefined };
}

const traced = (stderr: string) =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('janee: code cache: '))
    .map((l) => l.slice('janee: code cache: '.length).replace(/ \(\d+ bytes\)$/, ''));

describe('the code cache beside the bundle', () => {
  it('the build leaves one for this node and this bundle, and a run uses it', async () => {
    const { dir, cache } = await copyBuild();
    const size = (await fs.stat(path.join(dir, 'bundle.js'))).size;
    expect(cache).toMatch(
      new RegExp(`^bundle\\.[0-9a-f]{16}\\.${size}\\.${process.version.replace(/\./g, '\\.')}-${process.arch}\\.v8cache$`),
    );
    const r = janee(dir, ['list']);
    expect(r.code, r.stderr).toBe(0);
    expect(traced(r.stderr)).toEqual([`used ${cache}`]);
  });

  it('`janee --version` answers without the bundle', async () => {
    const { dir } = await copyBuild();
    await fs.rm(path.join(dir, 'bundle.js'));
    const r = janee(dir, ['--version']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it('one V8 rejects (here: garbage) is replaced by what the run compiled, and the next run uses that', async () => {
    const { dir, cache } = await copyBuild();
    await fs.writeFile(path.join(dir, cache), Buffer.alloc(4096, 7));
    const r = janee(dir, ['list']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(janee(dir, ['list'], { JANEE_CODE_CACHE: '0' }).stdout); // what it says without a cache
    expect(traced(r.stderr)).toEqual([`rejected by V8: ${cache}`, `wrote ${cache}`]);
    expect(traced(janee(dir, ['list']).stderr)).toEqual([`used ${cache}`]);
  });

  it('one writable by group or others is never read, and is replaced by one that is not', async () => {
    const { dir, cache } = await copyBuild();
    await fs.chmod(path.join(dir, cache), 0o666);
    const r = janee(dir, ['status']);
    expect(r.code, r.stderr).toBe(0);
    expect(traced(r.stderr)).toEqual([`ignored ${cache}: writable by others than the bundle is`, `wrote ${cache}`]);
    expect((await fs.stat(path.join(dir, cache))).mode & 0o022).toBe(0);
  });

  it('a symlink in its place is never followed, and the file it points to is left alone', async () => {
    const { dir, cache } = await copyBuild();
    const elsewhere = path.join(dir, 'elsewhere.bin');
    await fs.rename(path.join(dir, cache), elsewhere);
    const before = await fs.readFile(elsewhere);
    await fs.symlink(elsewhere, path.join(dir, cache));
    const r = janee(dir, ['list']);
    expect(r.code, r.stderr).toBe(0);
    expect(traced(r.stderr)).toEqual([`wrote ${cache}`]); // read as none, then replaced by a file
    expect((await fs.lstat(path.join(dir, cache))).isSymbolicLink()).toBe(false);
    expect((await fs.readFile(elsewhere)).equals(before)).toBe(true);
  });

  it.skipIf(!isRoot)("one owned by another user is never read; a run as someone other than the bundle's owner writes none", async () => {
    const { dir, cache } = await copyBuild();
    await fs.chown(path.join(dir, cache), 65534, 65534);
    const r = janee(dir, ['list']);
    expect(r.code, r.stderr).toBe(0);
    expect(traced(r.stderr)).toEqual([`ignored ${cache}: not owned by the bundle's owner`, `wrote ${cache}`]);
    // The bundle belongs to someone else now: this run (root) reads nothing of theirs it should not, and writes nothing.
    const other = await copyBuild(false);
    await fs.chown(path.join(other.dir, 'bundle.js'), 65534, 65534);
    const r2 = janee(other.dir, ['list']);
    expect(r2.code, r2.stderr).toBe(0);
    expect(traced(r2.stderr)).toEqual([]);
    expect((await fs.readdir(other.dir)).filter(isCacheFileName)).toEqual([]);
  });

  it('JANEE_CODE_CACHE=0 reads none and writes none', async () => {
    const { dir } = await copyBuild(false);
    const r = janee(dir, ['list'], { JANEE_CODE_CACHE: '0' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect((await fs.readdir(dir)).filter(isCacheFileName)).toEqual([]);
  });

  it('what a run writes holds no secret it handled (the key, in any common encoding)', async () => {
    const { dir, cache } = await copyBuild(false);
    const key = 'sk_test_codecache_7Qm2Lx9Vb4Nc8Rz1';
    const r = spawnSync(process.execPath, [path.join(dir, 'main.js'), 'add', 'cc', '--base-url', 'https://cc.example.com', '--key-stdin'], {
      env: withEnv(home, { JANEE_PASSPHRASE: PASSPHRASE, JANEE_CODE_CACHE: 'trace' }),
      input: `${key}\n`,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(traced(r.stderr)).toEqual([`wrote ${cache}`]);
    const bytes = await fs.readFile(path.join(dir, cache));
    for (const form of [
      Buffer.from(key),
      Buffer.from(key, 'utf16le'),
      Buffer.from(Buffer.from(key).toString('base64')),
      Buffer.from(Buffer.from(key).toString('hex')),
    ])
      expect(bytes.includes(form)).toBe(false);
  });
});

describe('which cache may be read and written (pure)', () => {
  const bundle: FileFacts = { uid: 1000, mode: 0o100644, size: 1_800_000, isFile: true };
  it('refuses what is not the owner’s plain, private-enough file of a possible size', () => {
    expect(foreignCache({ ...bundle, size: 1_000_000 }, bundle)).toBeUndefined();
    expect(foreignCache({ ...bundle, isFile: false }, bundle)).toBe('not a regular file');
    expect(foreignCache({ ...bundle, uid: 1001 }, bundle)).toBe("not owned by the bundle's owner");
    expect(foreignCache({ ...bundle, mode: 0o100664 }, bundle)).toBe('writable by others than the bundle is');
    expect(foreignCache({ ...bundle, mode: 0o100646 }, bundle)).toBe('writable by others than the bundle is');
    // As writable as a group-writable bundle: whoever may write the bundle may write this.
    expect(foreignCache({ ...bundle, mode: 0o100664 }, { ...bundle, mode: 0o100664 })).toBeUndefined();
    expect(foreignCache({ ...bundle, size: 0 }, bundle)).toBe('of an impossible size');
    expect(foreignCache({ ...bundle, size: 65 * 1024 * 1024 }, bundle)).toBe('of an impossible size');
  });
  it('writes only as the bundle’s owner, and never after V8’s flags changed', () => {
    expect(mayWriteCache(bundle, 1000, false)).toBe(true);
    expect(mayWriteCache(bundle, 1001, false)).toBe(false);
    expect(mayWriteCache(bundle, undefined, false)).toBe(false);
    expect(mayWriteCache(bundle, 1000, true)).toBe(false);
  });
  it('names the build and the node it is for', () => {
    expect(cacheFileName('0123456789abcdef', 42, 'v20.19.0', 'arm64')).toBe('bundle.0123456789abcdef.42.v20.19.0-arm64.v8cache');
    expect(isCacheFileName('bundle.0123456789abcdef.42.v20.19.0-arm64.v8cache')).toBe(true);
    expect(isCacheFileName('bundle.js')).toBe(false);
  });
});
