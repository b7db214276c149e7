#!/usr/bin/env node
/**
 * The janee binary (dist/cli/main.js): runs the command line, which the build puts
 * in one script (dist/cli/bundle.js, src/cli/main.ts and everything it imports),
 * with V8's code cache for it.
 *
 * Why: MCP clients start `janee serve` for every session, and a user types short
 * commands; compiling the bundle was about a quarter of each start. Node 20 keeps
 * no code cache for ES modules (module.enableCompileCache is Node 22), but a
 * vm.Script takes one (`cachedData`). So the bundle is one CommonJS function
 * expression (lazy modules stay lazy: esbuild turns each `import()` into a call
 * that evaluates the module on first use), and this file compiles it with the
 * cache, runs it, and hands it node's require.
 *
 * The cache (src/cli/code-cache.ts: where, which, whose):
 * - it is built by this file run with JANEE_CODE_CACHE=build: every module loaded,
 *   none run (so no secret is ever near it), the cache written whole or not at all.
 *   `npm run build` does that; so does a run that finds none it can use, in the
 *   background, when it runs as the bundle's owner with node's default options;
 * - V8 checks its checksum (--verify-snapshot-checksum, set before compiling): a
 *   damaged cache is rejected, not run;
 * - `JANEE_CODE_CACHE=0` turns it off, `=trace` says on stderr what happened.
 * A cache that cannot be read or written is no error: janee runs without it.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { Script } from 'node:vm';
import { VERSION } from '../version.js';
import { cacheFileName, foreignCache, mayNotBuild, STALE_BUILD_MS, type FileFacts } from './code-cache.js';
import { isVersionOnly } from './version-only.js';

/** The bundle's content hash, set by scripts/bundle.mjs when it builds this file. */
declare const __JANEE_BUNDLE_ID__: string;

type BundleFunction = (
  exports: object,
  require: NodeJS.Require,
  module: { exports: Record<string, unknown> },
  filename: string,
  dirname: string,
) => void;

const self = fileURLToPath(import.meta.url);
const here = path.dirname(self);
const bundlePath = path.join(here, 'bundle.js');
const setting = process.env.JANEE_CODE_CACHE;
const enabled = setting !== '0' && setting !== 'off';
const building = setting === 'build';
const trace = (what: string): void => {
  if (setting === 'trace') process.stderr.write(`janee: code cache: ${what}\n`);
};
const facts = (s: fs.BigIntStats): FileFacts => ({
  uid: Number(s.uid),
  mode: Number(s.mode),
  size: Number(s.size),
  mtimeNs: s.mtimeNs,
  isFile: s.isFile(),
});
const errCode = (e: unknown): string => (e as NodeJS.ErrnoException)?.code ?? 'error';

/**
 * The cache's bytes, or undefined (trace says why). O_NOFOLLOW: a symlink is not
 * followed; O_NONBLOCK: a FIFO put there does not hang the open; fstat: what is
 * checked is what is read.
 */
function readCache(file: string, bundle: FileFacts): Buffer | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (e) {
    trace(`none usable for this bundle and node (${errCode(e)})`);
    return undefined;
  }
  try {
    const why = foreignCache(facts(fs.fstatSync(fd, { bigint: true })), bundle);
    if (why === undefined) return fs.readFileSync(fd);
    trace(`ignored ${path.basename(file)}: ${why}`);
  } catch (e) {
    trace(`unreadable ${path.basename(file)} (${errCode(e)})`);
  } finally {
    fs.closeSync(fd);
  }
  return undefined;
}

/** Writes the cache whole or not at all: a temporary file, synced, renamed over it; no more writable than the bundle. */
function writeCache(file: string, data: Buffer, bundle: FileFacts): void {
  const tmp = path.join(here, `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
    try {
      fs.writeSync(fd, data);
      fs.fchmodSync(fd, 0o644 & bundle.mode); // whatever the umask: readable wherever the bundle is
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** Starts a builder for the next runs, unless one is at work (its marker) or this run may not. */
function buildInBackground(file: string, bundle: FileFacts): void {
  const why = mayNotBuild(bundle, process.getuid?.(), process.env.NODE_OPTIONS, process.execArgv);
  if (why !== undefined) return trace(`not rebuilt: ${why}`);
  if (buildUnderWay(file)) return trace('a build is under way');
  // Its own options only, and nothing of this process's environment: no secret is in it.
  const child = spawn(process.execPath, [self], {
    detached: true,
    stdio: 'ignore',
    env: { JANEE_CODE_CACHE: 'build', PATH: process.env.PATH ?? '' },
  });
  child.on('error', () => undefined);
  child.unref();
  trace('building one in the background');
}

/** A builder's marker: created exclusively, removed when it is done; one older than STALE_BUILD_MS is from a builder that died. */
const markerOf = (file: string): string => path.join(here, `.${path.basename(file)}.building`);
function buildUnderWay(file: string): boolean {
  try {
    return Date.now() - fs.lstatSync(markerOf(file)).mtimeMs < STALE_BUILD_MS;
  } catch {
    return false;
  }
}

async function build(file: string, bundle: FileFacts, script: Script, exports: Record<string, unknown>): Promise<void> {
  const marker = markerOf(file);
  if (buildUnderWay(file)) return; // another builder is at it
  fs.rmSync(marker, { force: true }); // a stale one
  fs.closeSync(fs.openSync(marker, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600));
  try {
    await (exports.warmModules as () => Promise<void>)();
    writeCache(file, script.createCachedData(), bundle);
  } finally {
    fs.rmSync(marker, { force: true });
  }
}

/** The bundle, compiled (with the cache when one fits) and run: its exports, and what became of the cache. */
function loadBundle(): { exports: Record<string, unknown>; script: Script; bundle: FileFacts; cacheFile: string; rebuild: boolean } {
  const fd = fs.openSync(bundlePath, 'r');
  const bundle = facts(fs.fstatSync(fd, { bigint: true }));
  const source = fs.readFileSync(fd, 'utf8');
  fs.closeSync(fd);
  const cacheFile = path.join(here, cacheFileName(__JANEE_BUNDLE_ID__, bundle, process.version, process.arch));
  // Before anything is compiled, in reader and builder alike (it is one of the flags a cache is made under).
  if (enabled) setFlagsFromString('--verify-snapshot-checksum');
  const cached = enabled && !building ? readCache(cacheFile, bundle) : undefined;
  const script = new Script(source, { filename: bundlePath, cachedData: cached });
  const rejected = cached !== undefined && script.cachedDataRejected === true;
  if (cached !== undefined) trace(rejected ? `rejected by V8: ${path.basename(cacheFile)}` : `used ${path.basename(cacheFile)}`);
  // A builder loads every module and runs no command (src/cli/main.ts checks this marker).
  if (building) (globalThis as Record<symbol, unknown>)[EMBEDDED] = true;
  const module = { exports: {} as Record<string, unknown> };
  (script.runInThisContext() as BundleFunction)(module.exports, createRequire(bundlePath), module, bundlePath, here);
  return { exports: module.exports, script, bundle, cacheFile, rebuild: enabled && !building && (cached === undefined || rejected) };
}

async function run(): Promise<void> {
  if (isVersionOnly(process.argv.slice(2)) && !building) {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  const loaded = loadBundle();
  if (building) return build(loaded.cacheFile, loaded.bundle, loaded.script, loaded.exports);
  if (loaded.rebuild) buildInBackground(loaded.cacheFile, loaded.bundle);
}

/**
 * Set (to true) on globalThis by a host that imports this file to call main() itself,
 * as the tests' in-process runner does: the bundle is loaded and nothing is run, and
 * `main` is its command line. Otherwise this file is the janee binary.
 */
const EMBEDDED = Symbol.for('janee.cli.embedded');
export let main: ((argv: string[], io?: unknown) => Promise<number>) | undefined;

if ((globalThis as Record<symbol, unknown>)[EMBEDDED] === true && !building) {
  main = loadBundle().exports.main as typeof main;
} else {
  run().catch((e: unknown) => {
    const what = building ? `cannot build the code cache beside ${bundlePath}` : 'cannot start janee';
    process.stderr.write(`janee: error: ${what}: ${e instanceof Error ? e.message : String(e)}\n`);
    process.stderr.write(
      building ? 'janee: hint: run it as the owner of the bundle\n' : 'janee: hint: reinstall janee (from a checkout: `npm run build`)\n',
    );
    process.exitCode = 1;
  });
}
