// The esbuild plugin that replaces two dependencies janee never uses, so serve does
// not parse them at every start (~300 KB of serve's ~1 MB):
// - zod's 50 translated error-message locales (zod itself defaults to `en`, kept);
// - the MCP SDK's ajv-based JSON Schema validator, which the SDK server uses only for
//   elicitation (src/mcp/server.ts never elicits); the stub refuses loudly if used.
// Shared by scripts/bundle.mjs and scripts/bench.mjs (which bundles its SDK echo
// server the same way, so that floor is not slowed by code janee does not load).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const stubs = {
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

/** The options janee's bundle is built with (scripts/bundle.mjs); the bench's floor server uses them too. */
export const bundleOptions = {
  plugins: [stubs],
  bundle: true,
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
};
