#!/usr/bin/env node
// Bundles the CLI into dist/cli/main.js (over tsc's per-file output for that entry).
// Why: janee serve is started by MCP clients for every session, and Node spends
// most of a cold start resolving and reading hundreds of small files (the MCP SDK,
// zod, undici). One bundle with lazily loaded chunks starts several times faster.
// tsc still type-checks and emits dist/ for scripts that import single modules.
import { build } from 'esbuild';
import { chmodSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
rmSync(path.join(root, 'dist/cli/chunks'), { recursive: true, force: true });
await build({
  entryPoints: { main: path.join(root, 'src/cli/main.ts') },
  outdir: path.join(root, 'dist/cli'),
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: 'none',
  logLevel: 'warning',
  // Some CommonJS dependencies call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __janeeCreateRequire } from 'node:module'; const require = __janeeCreateRequire(import.meta.url);" },
});
chmodSync(path.join(root, 'dist/cli/main.js'), 0o755);
