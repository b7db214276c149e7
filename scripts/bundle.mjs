#!/usr/bin/env node
// Bundles the CLI into dist/cli/main.js (over tsc's per-file output for that entry).
// Why: janee serve is started by MCP clients for every session, and Node spends
// most of a cold start resolving and reading hundreds of small files (the MCP SDK,
// zod, undici). One bundle with lazily loaded chunks starts several times faster.
// tsc still type-checks and emits dist/ for scripts that import single modules.
// The stubbed dependencies and the shared options: scripts/bundle-stubs.mjs.
import { build } from 'esbuild';
import { chmodSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleOptions } from './bundle-stubs.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
rmSync(path.join(root, 'dist/cli/chunks'), { recursive: true, force: true });

await build({
  ...bundleOptions,
  entryPoints: { main: path.join(root, 'src/cli/main.ts') },
  outdir: path.join(root, 'dist/cli'),
  chunkNames: 'chunks/[name]-[hash]',
  splitting: true,
});
chmodSync(path.join(root, 'dist/cli/main.js'), 0o755);
