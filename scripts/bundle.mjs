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
// Two dependencies janee never uses, replaced in the bundle so serve does not parse them
// at every start (~300 KB of serve's ~1 MB):
// - zod's 50 translated error-message locales (zod itself defaults to `en`, kept);
// - the MCP SDK's ajv-based JSON Schema validator, which the SDK server uses only for
//   elicitation (src/mcp/server.ts never elicits); the stub refuses loudly if used.
const stubs = {
  name: 'janee-stubs',
  setup(b) {
    b.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      args.importer.includes(`${path.sep}zod${path.sep}`) ? { path: 'zod-locales', namespace: 'janee-stub' } : undefined,
    );
    b.onResolve({ filter: /\/validation\/ajv-provider\.js$/ }, (args) =>
      args.importer.includes('@modelcontextprotocol') ? { path: 'ajv-provider', namespace: 'janee-stub' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'janee-stub' }, (args) => {
      if (args.path === 'zod-locales') {
        return {
          contents: `export { default as en } from ${JSON.stringify(path.join(root, 'node_modules/zod/v4/locales/en.js'))};`,
          resolveDir: root,
        };
      }
      return {
        contents: `export class AjvJsonSchemaValidator {
  getValidator() { throw new Error('janee: JSON Schema validation (MCP elicitation) is not part of this build'); }
}`,
        resolveDir: root,
      };
    });
  },
};

await build({
  plugins: [stubs],
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
  banner: {
    js: "import { createRequire as __janeeCreateRequire } from 'node:module'; const require = __janeeCreateRequire(import.meta.url);",
  },
});
chmodSync(path.join(root, 'dist/cli/main.js'), 0o755);
