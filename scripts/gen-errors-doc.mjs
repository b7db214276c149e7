#!/usr/bin/env node
// Rewrites the table in docs/errors.md from CODES in src/errors.ts (via dist/: run
// `npm run build` first). test/errors.test.ts fails when the two disagree.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { CODES } = await import(path.join(root, 'dist/errors.js'));
const file = path.join(root, 'docs/errors.md');
const doc = readFileSync(file, 'utf8');
const head = doc.slice(0, doc.indexOf('| code | meaning |'));
const rows = Object.entries(CODES).map(([code, meaning]) => `| \`${code}\` | ${meaning.replaceAll('|', '\\|')} |`);
writeFileSync(file, `${head}| code | meaning |\n| --- | --- |\n${rows.join('\n')}\n`);
