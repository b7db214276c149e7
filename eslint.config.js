// Lint: typescript-eslint's type-checked rules, plus the house rules DESIGN.md states
// in prose: nothing on stdout from library code (serve's stdout is the JSON-RPC
// channel), and imports that point one way only:
//   cli → mcp → agent → gate → {policy, audit, vault, config} → util → errors
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Folders above each layer: a layer may import none of them. */
const above = {
  errors: ['util', 'vault', 'policy', 'config', 'audit', 'gate', 'agent', 'mcp', 'migrate', 'cli'],
  util: ['vault', 'policy', 'config', 'audit', 'gate', 'agent', 'mcp', 'migrate', 'cli'],
  vault: ['policy', 'config', 'audit', 'gate', 'agent', 'mcp', 'migrate', 'cli'],
  policy: ['vault', 'config', 'audit', 'gate', 'agent', 'mcp', 'migrate', 'cli'],
  audit: ['policy', 'config', 'gate', 'agent', 'mcp', 'migrate', 'cli'],
  config: ['vault', 'audit', 'gate', 'agent', 'mcp', 'migrate', 'cli'],
  gate: ['agent', 'mcp', 'migrate', 'cli'],
  agent: ['mcp', 'migrate', 'cli'],
  mcp: ['migrate', 'cli'],
  migrate: ['gate', 'agent', 'mcp', 'cli'],
};

const layerRules = Object.entries(above).map(([layer, banned]) => ({
  files: [layer === 'errors' ? 'src/errors.ts' : `src/${layer}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            regex: `^(\\.\\./)+(${banned.join('|')})(/|\\.js$)`,
            message: `src/${layer} must not import from a layer above it (DESIGN.md: imports point downward only).`,
          },
        ],
      },
    ],
  },
}));

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'fixtures/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['vitest.config.ts', 'eslint.config.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // A `string | undefined` in a template reaches a user message as "undefined".
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/only-throw-error': 'error',
      eqeqeq: ['error', 'always'],
      // janee's input checks match control characters on purpose (paths, headers, audit text).
      'no-control-regex': 'off',
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: { 'no-console': 'error' },
  },
  {
    // Tests read untyped JSON (CLI --json output, audit lines, tool results) and check
    // its shape with expect(): that is where they assert types, so the no-unsafe-* rules
    // would only demand casts that assert nothing.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      // Test doubles implement async interfaces with bodies that need no await.
      '@typescript-eslint/require-await': 'off',
    },
  },
  ...layerRules,
  {
    files: ['**/*.mjs', '**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        performance: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        AbortController: 'readonly',
        fetch: 'readonly',
        queueMicrotask: 'readonly',
        structuredClone: 'readonly',
        setImmediate: 'readonly',
      },
    },
  },
);
