/**
 * The launcher's V8 code cache (src/cli/launch.ts, src/cli/code-cache.ts): the build
 * leaves one for this node beside the bundle; a run uses it; one that is damaged, or
 * that V8 rejects, is neither run nor kept (a builder in the background replaces it);
 * a foreign one (writable by others, owned by someone else, a symlink, a FIFO) is
 * never read; a run with node options or as another user builds none; an edited
 * bundle never meets the old cache; `JANEE_CODE_CACHE=0` reads and builds none; the
 * package carries none; and no cache holds a secret janee handled. Each test runs a
 * copy of the BUILT dist/cli/main.js and bundle.js (timestamps kept) in a temporary
 * directory (the bundle needs nothing else), so the shared build is never touched;
 * `JANEE_CODE_CACHE=trace` makes the launcher say what it did.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import type { BigIntStats } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheFileName, foreignCache, isCacheFileName, mayNotBuild, type FileFacts } from '../../src/cli/code-cache.js';
import { waitFor } from '../agent/helpers.js';
import { CLI, cleanupTempHomes, initHome, PASSPHRASE, REPO_ROOT, scratchDir, withEnv, type JaneeEnv } from '../helpers/cli.js';

afterAll(cleanupTempHomes);

const built = path.dirname(CLI);
const isRoot = process.getuid?.() === 0;

let home: JaneeEnv;
let n = 0;
beforeAll(async () => {
  home = await initHome();
});

const factsOf = (st: BigIntStats): FileFacts => ({
  uid: Number(st.uid),
  mode: Number(st.mode),
  size: Number(st.size),
  mtimeNs: st.mtimeNs,
  isFile: st.isFile(),
});

/**
 * A copy of the built launcher, bundle and (unless `withCache` is false) code cache;
 * returns its directory and the name the launcher looks for there (the build's cache
 * is copied under it: the name holds the bundle's modification time, the copy's own).
 */
async function copyBuild(withCache = true): Promise<{ dir: string; cache: string }> {
  const dir = path.join(scratchDir(home), `build-${n++}`);
  await fs.mkdir(dir, { recursive: true });
  const caches = (await fs.readdir(built)).filter(isCacheFileName);
  expect(caches, 'npm run build leaves one code cache beside the bundle').toHaveLength(1);
  expect(caches[0]).toBe(
    cacheFileName(
      caches[0]!.split('.')[1]!,
      factsOf(await fs.stat(path.join(built, 'bundle.js'), { bigint: true })),
      process.version,
      process.arch,
    ),
  );
  for (const f of ['main.js', 'bundle.js']) await fs.copyFile(path.join(built, f), path.join(dir, f));
  const cache = cacheFileName(
    caches[0]!.split('.')[1]!,
    factsOf(await fs.stat(path.join(dir, 'bundle.js'), { bigint: true })),
    process.version,
    process.arch,
  );
  if (withCache) await fs.copyFile(path.join(built, caches[0]!), path.join(dir, cache));
  return { dir, cache };
}

function janee(dir: string, args: string[], extra: Record<string, string | undefined> = {}) {
  const r = spawnSync(process.execPath, [path.join(dir, 'main.js'), ...args], {
    env: withEnv(home, { JANEE_PASSPHRASE: undefined, JANEE_CODE_CACHE: 'trace', ...extra }),
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const traced = (stderr: string) =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('janee: code cache: '))
    .map((l) => l.slice('janee: code cache: '.length));

const bytesOf = (dir: string, cache: string) => fs.readFile(path.join(dir, cache)).catch(() => undefined);
/** Until the builder a run started in the background has put a new cache in place (and left no marker or temporary file). */
async function rebuilt(dir: string, cache: string, old?: Buffer): Promise<void> {
  await waitFor(
    async () => {
      const now = await bytesOf(dir, cache);
      const left = (await fs.readdir(dir)).filter((f) => f.startsWith('.'));
      return now !== undefined && (old === undefined || !now.equals(old)) && left.length === 0;
    },
    30_000,
    'the cache to be rebuilt in the background',
  );
}

describe('the code cache beside the bundle', () => {
  it('the build leaves one for this node and this bundle, and a run uses it', async () => {
    const { dir, cache } = await copyBuild(); // (copyBuild checks the build's is named for its bundle)
    expect(cache).toMatch(/^bundle\.[0-9a-f]{16}\.\d+\.\d+\.v\d+\.\d+\.\d+-[a-z0-9]+\.v8cache$/);
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

  it('a damaged cache (bytes changed in the middle) is rejected, not run: the command works, and a builder replaces it', async () => {
    const { dir, cache } = await copyBuild();
    const bytes = await fs.readFile(path.join(dir, cache));
    for (let i = bytes.length >> 1; i < (bytes.length >> 1) + 64; i++) bytes[i] = bytes[i]! ^ 0xff;
    await fs.writeFile(path.join(dir, cache), bytes);
    const r = janee(dir, ['list']);
    expect(r.code, r.stderr).toBe(0); // it used to crash node (SIGSEGV, SIGILL) at every start
    expect(r.stdout).toBe(janee(dir, ['list'], { JANEE_CODE_CACHE: '0' }).stdout);
    expect(traced(r.stderr)).toEqual([`rejected by V8: ${cache}`, 'building one in the background']);
    await rebuilt(dir, cache, bytes);
    expect(traced(janee(dir, ['list']).stderr)).toEqual([`used ${cache}`]);
  });

  it('one writable by group or others is never read; the builder replaces it with one that is not', async () => {
    const { dir, cache } = await copyBuild();
    await fs.chmod(path.join(dir, cache), 0o666);
    const r = janee(dir, ['status']);
    expect(r.code, r.stderr).toBe(0);
    expect(traced(r.stderr)).toEqual([`ignored ${cache}: writable by others than the bundle is`, 'building one in the background']);
    await waitFor(async () => ((await fs.stat(path.join(dir, cache))).mode & 0o022) === 0, 30_000, 'a private cache');
    await rebuilt(dir, cache);
  });

  it('a symlink in its place is never followed, and the file it points to is left alone', async () => {
    const { dir, cache } = await copyBuild();
    const elsewhere = path.join(dir, 'elsewhere.bin');
    await fs.rename(path.join(dir, cache), elsewhere);
    const before = await fs.readFile(elsewhere);
    await fs.symlink(elsewhere, path.join(dir, cache));
    const r = janee(dir, ['list']);
    expect(r.code, r.stderr).toBe(0);
    expect(traced(r.stderr)).toEqual(['none usable for this bundle and node (ELOOP)', 'building one in the background']);
    await waitFor(async () => !(await fs.lstat(path.join(dir, cache))).isSymbolicLink(), 30_000, 'the link to be replaced');
    expect((await fs.readFile(elsewhere)).equals(before)).toBe(true);
  });

  it('a FIFO in its place does not hang the start', async () => {
    const { dir, cache } = await copyBuild(false);
    execFileSync('mkfifo', [path.join(dir, cache)]);
    const r = janee(dir, ['list']);
    expect(r.code, r.stderr).toBe(0);
    expect(traced(r.stderr)[0]).toBe(`ignored ${cache}: not a regular file`);
  });

  it('an edited bundle never meets the cache of the old one, even at the same length', async () => {
    const { dir, cache } = await copyBuild();
    const file = path.join(dir, 'bundle.js');
    const source = await fs.readFile(file, 'utf8');
    const version = /VERSION="(\d+\.\d+\.\d+)"/.exec(source)?.[1];
    expect(version).toBeDefined();
    const other = version!.replace(/\d$/, (d) => String((Number(d) + 1) % 10));
    await fs.writeFile(file, source.replace(`VERSION="${version}"`, `VERSION="${other}"`));
    const r = janee(dir, ['--help']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(other); // the edited code ran, not the cached one
    expect(traced(r.stderr)[0]).toMatch(/^none usable for this bundle and node \(ENOENT\)$/);
    expect(await bytesOf(dir, cache)).toBeDefined(); // the old one is left where it was, unread
  });

  it('a run with node options keeps the cache others use, and builds none of its own', async () => {
    const { dir, cache } = await copyBuild();
    const before = await bytesOf(dir, cache);
    const r = janee(dir, ['list'], { NODE_OPTIONS: '--max-old-space-size=300' });
    expect(r.code, r.stderr).toBe(0);
    expect(traced(r.stderr)).toEqual([`rejected by V8: ${cache}`, 'not rebuilt: node runs with options']);
    expect((await bytesOf(dir, cache))?.equals(before!)).toBe(true);
    expect(traced(janee(dir, ['list']).stderr)).toEqual([`used ${cache}`]);
  });

  it.skipIf(!isRoot)("one owned by another user is never read; a run as someone other than the bundle's owner builds none", async () => {
    const { dir, cache } = await copyBuild();
    await fs.chown(path.join(dir, cache), 65534, 65534);
    const r = janee(dir, ['list']);
    expect(r.code, r.stderr).toBe(0);
    expect(traced(r.stderr)).toEqual([`ignored ${cache}: not owned by the bundle's owner`, 'building one in the background']);
    await waitFor(async () => (await fs.stat(path.join(dir, cache))).uid === 0, 30_000, 'our own cache');
    const other = await copyBuild(false);
    await fs.chown(path.join(other.dir, 'bundle.js'), 65534, 65534);
    const r2 = janee(other.dir, ['list']);
    expect(r2.code, r2.stderr).toBe(0);
    expect(traced(r2.stderr)).toEqual(['none usable for this bundle and node (ENOENT)', "not rebuilt: not the bundle's owner"]);
  });

  it('JANEE_CODE_CACHE=0 reads none and builds none', async () => {
    const { dir } = await copyBuild(false);
    const r = janee(dir, ['list'], { JANEE_CODE_CACHE: '0' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    await new Promise((res) => setTimeout(res, 1000));
    expect((await fs.readdir(dir)).filter((f) => isCacheFileName(f) || f.startsWith('.'))).toEqual([]);
  });

  it('no cache holds a secret janee handled (the key, in any common encoding): only a builder, which runs no command, writes one', async () => {
    const { dir, cache } = await copyBuild(false);
    const key = 'sk_test_codecache_7Qm2Lx9Vb4Nc8Rz1';
    const r = spawnSync(process.execPath, [path.join(dir, 'main.js'), 'add', 'cc', '--base-url', 'https://cc.example.com', '--key-stdin'], {
      env: withEnv(home, { JANEE_PASSPHRASE: PASSPHRASE, JANEE_CODE_CACHE: 'trace' }),
      input: `${key}\n`,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(traced(r.stderr)).toEqual(['none usable for this bundle and node (ENOENT)', 'building one in the background']);
    await rebuilt(dir, cache);
    const bytes = (await bytesOf(dir, cache))!;
    for (const secret of [key, PASSPHRASE])
      for (const form of [
        Buffer.from(secret),
        Buffer.from(secret, 'utf16le'),
        Buffer.from(Buffer.from(secret).toString('base64')),
        Buffer.from(Buffer.from(secret).toString('hex')),
      ])
        expect(bytes.includes(form)).toBe(false);
  });

  it('the package carries no cache (one is made where it runs)', () => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: REPO_ROOT, encoding: 'utf8' });
    const files = (JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
    expect(files).toContain('dist/cli/bundle.js');
    expect(files).toContain('dist/cli/main.js');
    expect(files.filter((f) => f.endsWith('.v8cache') || path.basename(f).startsWith('.bundle.'))).toEqual([]);
  });
});

describe('which cache may be read and built (pure)', () => {
  const bundle: FileFacts = { uid: 1000, mode: 0o100644, size: 1_800_000, mtimeNs: 1_764_000_000_123_456_789n, isFile: true };
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
  it('builds only as the bundle’s owner, and only under node’s default options', () => {
    expect(mayNotBuild(bundle, 1000, undefined, [])).toBeUndefined();
    expect(mayNotBuild(bundle, 1000, '  ', [])).toBeUndefined();
    expect(mayNotBuild(bundle, 1001, undefined, [])).toBe("not the bundle's owner");
    expect(mayNotBuild(bundle, undefined, undefined, [])).toBe("not the bundle's owner");
    expect(mayNotBuild(bundle, 1000, '--max-old-space-size=100', [])).toBe('node runs with options');
    expect(mayNotBuild(bundle, 1000, undefined, ['--cpu-prof'])).toBe('node runs with options');
  });
  it('names the bundle (content, size, time) and the node it is for', () => {
    expect(cacheFileName('0123456789abcdef', bundle, 'v20.19.0', 'arm64')).toBe(
      'bundle.0123456789abcdef.1800000.1764000000123456789.v20.19.0-arm64.v8cache',
    );
    expect(isCacheFileName('bundle.0123456789abcdef.42.1.v20.19.0-arm64.v8cache')).toBe(true);
    expect(isCacheFileName('bundle.js')).toBe(false);
  });
});
