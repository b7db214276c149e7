/**
 * The error-code registry is a contract: docs/errors.md lists exactly the codes in
 * src/errors.ts with the same meanings, and every code the sources use is registered
 * (the compiler checks `new JaneeError(code, …)`; this checks the documentation).
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CODES, isCode, JaneeError } from '../src/errors.js';

const root = path.resolve(import.meta.dirname, '..');

describe('error codes', () => {
  it('docs/errors.md lists every registered code with its meaning, and nothing else', async () => {
    const doc = await fs.readFile(path.join(root, 'docs/errors.md'), 'utf8');
    const rows = new Map([...doc.matchAll(/^\| `([A-Z_]+)` \| (.*) \|$/gm)].map((m) => [m[1]!, m[2]!.replaceAll('\\|', '|')]));
    expect([...rows.keys()].sort()).toEqual(Object.keys(CODES).sort());
    for (const [code, meaning] of Object.entries(CODES)) expect(rows.get(code), code).toBe(meaning);
  });

  it('codes are UPPER_SNAKE and isCode accepts exactly them', () => {
    for (const code of Object.keys(CODES)) expect(code).toMatch(/^[A-Z]+(_[A-Z0-9]+)*$/);
    expect(isCode('GATE_BLOCKED')).toBe(true);
    expect(isCode('toString')).toBe(false);
    expect(isCode('GATE_NOPE')).toBe(false);
    expect(isCode(42)).toBe(false);
  });

  it('JaneeError serialises its code, message and hint', () => {
    expect(new JaneeError('GATE_BLOCKED', 'blocked', 'ask').toJSON()).toEqual({ code: 'GATE_BLOCKED', message: 'blocked', hint: 'ask' });
  });
});
