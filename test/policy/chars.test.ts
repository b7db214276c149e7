/**
 * The character classes shared by the path normaliser, the policy matcher and
 * the header rules (src/policy/chars.ts), checked against the grammars they
 * come from over every UTF-16 code unit; and the import direction that keeps
 * src/policy pure (nothing from config, gate or above).
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  isAsciiControl,
  isFieldValue,
  isPathSafePunct,
  isQuerySafe,
  isTchar,
  isToken,
  isUnreserved,
  isWhitespace,
} from '../../src/policy/chars.js';
import { sanitizeAgentHeaders } from '../../src/gate/headers.js';
import { normalizeMethod } from '../../src/policy/index.js';

/** Each class, spelled as the grammar says it (RFC 3986, RFC 9110, the house rules). */
const GRAMMAR: [string, (c: number) => boolean, RegExp][] = [
  ['unreserved', isUnreserved, /^[A-Za-z0-9\-._~]$/],
  ['path punctuation', isPathSafePunct, /^[!$&'()*+,=:@]$/],
  ['query punctuation', isQuerySafe, /^[!$&()*+,;=:@/?]$/],
  ['tchar', isTchar, /^[!#$%&'*+.^_`|~0-9A-Za-z-]$/],

  ['ASCII control', isAsciiControl, /^[\u0000-\u001f\u007f]$/],
];

describe('character classes', () => {
  for (const [name, fn, re] of GRAMMAR) {
    it(`${name} matches its grammar on every code unit`, () => {
      const wrong: string[] = [];
      for (let c = 0; c <= 0xffff; c++) if (fn(c) !== re.test(String.fromCharCode(c))) wrong.push(c.toString(16));
      expect(wrong).toEqual([]);
    });
  }

  it('isToken: non-empty, tchar only', () => {
    expect(isToken('X-Api-Key')).toBe(true);
    expect(isToken("!#$%&'*+-.^_`|~09AZaz")).toBe(true);
    for (const bad of ['', 'Authorization ', ' Host', 'a:b', 'a\tb', 'a\r\nb', 'é', 'a(b)', 'a"b', 'a/b']) {
      expect(isToken(bad), JSON.stringify(bad)).toBe(false);
    }
  });

  it('isFieldValue: no control but HTAB, nothing above latin1', () => {
    const wrong: string[] = [];
    for (let c = 0; c <= 0xffff; c++) {
      const ok = c === 0x09 || (c >= 0x20 && c !== 0x7f && c <= 0xff);
      if (isFieldValue(`a${String.fromCharCode(c)}b`) !== ok) wrong.push(c.toString(16));
    }
    expect(wrong).toEqual([]);
    expect(isFieldValue('')).toBe(true);
    expect(isFieldValue('caf\u00e9\tok')).toBe(true);
  });

  it('isWhitespace: Unicode whitespace, not the invisible format characters', () => {
    for (const ch of [' ', '\t', '\u00a0', '\u2003', '\u3000', '\u2028']) expect(isWhitespace(ch)).toBe(true);
    // Zero-width space and soft hyphen are not whitespace: isForbiddenDecodedChar refuses them.
    for (const ch of ['a', '.', '\u200b', '\u00ad']) expect(isWhitespace(ch)).toBe(false);
  });

  it('a method and a header name are the same token: one rule refuses both', () => {
    for (const name of ['GE T', 'GET\u0000', 'G\u00c9T', 'GET;']) {
      expect(() => normalizeMethod(name), name).toThrow(/not a valid HTTP method/);
      expect(() => sanitizeAgentHeaders({ [name]: 'x' }), name).toThrow(/not a valid HTTP header name/);
    }
  });
});

describe('src/policy imports', () => {
  const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/policy');
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));

  it('import only src/policy itself and src/errors (config → policy, gate → policy, never back)', () => {
    const outside: string[] = [];
    for (const f of files) {
      const text = readFileSync(path.join(dir, f), 'utf8');
      for (const m of text.matchAll(/^\s*(?:import|export)\b[^;]*?\sfrom\s+'([^']+)'/gms)) {
        const spec = m[1]!;
        if (!spec.startsWith('./') && spec !== '../errors.js') outside.push(`${f}: ${spec}`);
      }
    }
    expect(outside).toEqual([]);
  });

  it('chars.ts imports nothing (it is the shared bottom of the header and path rules)', () => {
    expect(readFileSync(path.join(dir, 'chars.ts'), 'utf8')).not.toMatch(/^\s*import\b/m);
  });
});
