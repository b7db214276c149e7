#!/usr/bin/env node
// Bundles the CLI, over tsc's per-file output for it (tsc still type-checks and
// emits dist/ for scripts that import single modules):
// - dist/cli/bundle.js: src/cli/main.ts and everything it imports, as one CommonJS
//   function expression. Why one file: janee serve is started by MCP clients for
//   every session, and Node spends most of a cold start resolving and reading
//   hundreds of small files (the MCP SDK, zod, undici). Why CommonJS: a vm.Script
//   takes V8's code cache, an ES module does not on Node 20. Modules loaded with
//   import() stay lazy (esbuild evaluates them on first use).
// - dist/cli/main.js, the binary: src/cli/launch.ts, which runs the bundle with its
//   code cache. It knows the bundle by its content hash.
// - the code cache for this node, made by the binary itself (JANEE_CODE_CACHE=build),
//   under node's default options, as the runs that read it have them. It is never
//   packed (package.json `files`): a cache is made where it runs (SECURITY.md).
// The stubbed dependencies and the shared options: scripts/bundle-stubs.mjs.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleOptions } from './bundle-stubs.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'dist/cli');
rmSync(path.join(cli, 'chunks'), { recursive: true, force: true }); // the lazy ESM chunks of earlier builds
// Caches of earlier builds, and what a builder left (temporary files, its marker).
for (const f of readdirSync(cli))
  if (/^\.?bundle\..*\.v8cache(\.\d+\.tmp|\.building)?$/.test(f)) rmSync(path.join(cli, f), { force: true });

const { banner: _esmRequire, ...shared } = bundleOptions;
const bundle = path.join(cli, 'bundle.js');
await build({
  ...shared,
  entryPoints: [path.join(root, 'src/cli/main.ts')],
  outfile: bundle,
  format: 'cjs',
  // launch.ts calls it with these five (esbuild's output says 'use strict' itself, as ES modules are).
  banner: { js: '(function (exports, require, module, __filename, __dirname) {' },
  footer: { js: '\n})' },
});

const bundleId = createHash('sha256').update(readFileSync(bundle)).digest('hex').slice(0, 16);
await build({
  ...shared,
  entryPoints: [path.join(root, 'src/cli/launch.ts')],
  outfile: path.join(cli, 'main.js'),
  define: { __JANEE_BUNDLE_ID__: JSON.stringify(bundleId) },
});
chmodSync(path.join(cli, 'main.js'), 0o755);

const { NODE_OPTIONS: _options, ...env } = process.env;
execFileSync(process.execPath, [path.join(cli, 'main.js')], { env: { ...env, JANEE_CODE_CACHE: 'build' }, stdio: 'inherit' });
