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
 * - `npm run build` writes it (JANEE_CODE_CACHE=build: every module loaded, none
 *   run, so it holds what any command compiles at start, serve's SDK included);
 * - a run that finds none for its node, or one V8 rejects, writes what it
 *   compiled when it exits, if it runs as the bundle's owner and V8's flags are
 *   unchanged (serve changes one: its cache would fit only itself);
 * - `JANEE_CODE_CACHE=0` turns it off, `=trace` says on stderr what it did.
 * A cache that cannot be read or written is no error: janee runs without it.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import { VERSION } from '../version.js';
import { cacheFileName, FLAGS_CHANGED, foreignCache, mayWriteCache, type FileFacts } from './code-cache.js';
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

const here = path.dirname(fileURLToPath(import.meta.url));
const bundlePath = path.join(here, 'bundle.js');
const setting = process.env.JANEE_CODE_CACHE;
const enabled = setting !== '0' && setting !== 'off';
const building = setting === 'build';
const trace = (what: string): void => {
  if (setting === 'trace') process.stderr.write(`janee: code cache: ${what}\n`);
};
const facts = (s: fs.Stats): FileFacts => ({ uid: s.uid, mode: s.mode, size: s.size, isFile: s.isFile() });

/** The cache's bytes, or undefined: none, foreign (trace says why) or unreadable. O_NOFOLLOW and fstat: what is checked is what is read. */
function readCache(file: string, bundle: FileFacts): Buffer | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const why = foreignCache(facts(fs.fstatSync(fd)), bundle);
    if (why === undefined) return fs.readFileSync(fd);
    trace(`ignored ${path.basename(file)}: ${why}`);
    return undefined;
  } catch {
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes the cache whole or not at all (a temporary file renamed over it), no more writable than the bundle. */
function writeCache(file: string, data: Buffer, bundle: FileFacts): boolean {
  const tmp = path.join(here, `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(tmp, data, { mode: 0o644 & bundle.mode, flag: 'wx' });
    fs.renameSync(tmp, file);
    trace(`wrote ${path.basename(file)} (${data.length} bytes)`);
    return true;
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    trace(`not written: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    return false;
  }
}

async function run(): Promise<void> {
  const argv = process.argv.slice(2);
  if (isVersionOnly(argv) && !building) {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  const fd = fs.openSync(bundlePath, 'r');
  const bundle = facts(fs.fstatSync(fd));
  const source = fs.readFileSync(fd, 'utf8');
  fs.closeSync(fd);
  const cacheFile = path.join(here, cacheFileName(__JANEE_BUNDLE_ID__, bundle.size, process.version, process.arch));
  const cached = enabled && !building ? readCache(cacheFile, bundle) : undefined;
  const script = new Script(source, { filename: bundlePath, cachedData: cached });
  if (cached !== undefined)
    trace(script.cachedDataRejected === true ? `rejected by V8: ${path.basename(cacheFile)}` : `used ${path.basename(cacheFile)}`);
  const globals = globalThis as Record<symbol, unknown>;
  // The build loads every module and runs no command (src/cli/main.ts checks this marker).
  if (building) globals[Symbol.for('janee.cli.embedded')] = true;
  const module = { exports: {} as Record<string, unknown> };
  (script.runInThisContext() as BundleFunction)(module.exports, createRequire(bundlePath), module, bundlePath, here);

  if (building) {
    await (module.exports.warmModules as () => Promise<void>)();
    if (!writeCache(cacheFile, script.createCachedData(), bundle)) throw new Error(`cannot write ${cacheFile}`);
    return;
  }
  if (enabled && (cached === undefined || script.cachedDataRejected === true)) {
    process.once('exit', () => {
      if (mayWriteCache(bundle, process.getuid?.(), globals[FLAGS_CHANGED] === true))
        writeCache(cacheFile, script.createCachedData(), bundle);
    });
  }
}

run().catch((e: unknown) => {
  process.stderr.write(`janee: error: cannot start janee: ${e instanceof Error ? e.message : String(e)}\n`);
  process.stderr.write('janee: hint: reinstall janee (from a checkout: `npm run build`)\n');
  process.exitCode = 1;
});
