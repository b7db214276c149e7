import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_ESCAPE_LENGTH, normalise } from '../../src/gate/normalise.js';

const esc = (c: string): string[] => {
  const cp = c.charCodeAt(0);
  const h = cp.toString(16).padStart(2, '0');
  return [
    c,
    `\\u${cp.toString(16).padStart(4, '0')}`,
    `\\u${cp.toString(16).toUpperCase().padStart(4, '0')}`,
    `&#${cp};`,
    `&#x${h};`,
    `%${h.toUpperCase()}`,
    `=${h}`,
  ];
};

describe('normalise', () => {
  it('decodes each escape class to the same text', () => {
    const want = 'tk+/<>&=é€😀';
    const forms = [
      '\\u0074\\u006B\\u002b\\u002F\\u003c\\u003e\\u0026\\u003d\\u00e9\\u20ac\\ud83d\\ude00',
      '&#116;&#x6b;&plus;&sol;&lt;&gt;&amp;&equals;&#233;&#x20AC;&#128512;',
      '%74%6b%2B%2f%3C%3E%26%3D%C3%A9%E2%82%AC%F0%9F%98%80',
      '=74=6B=2B=2F=3C=3E=26=3D=C3=A9=E2=82=AC=F0=9F=98=80',
      't\r\nk+=\r\n/<>\n&=é€😀',
      't\0k\0+\0/\0<\0>\0&\0=\0é€😀',
    ];
    for (const f of forms) expect(normalise(f)?.text, f).toBe(want);
    expect(normalise('plain text, nothing to decode')).toBeUndefined();
    expect(normalise('a=b&c=d%zz\\q')).toBeUndefined();
  });

  it('maps every view character back to the original text it came from', () => {
    const piece = fc.oneof(
      fc.string({ maxLength: 6 }),
      fc.constantFrom('\\', '&', '%', '=', '\r\n', '\n', '\0', '&amp', '&#', '\\u12', '%C3', '=\r\n'),
      fc.string({ minLength: 1, maxLength: 1 }).chain((c) => fc.constantFrom(...esc(c))),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), (parts) => {
        const s = parts.join('');
        const v = normalise(s);
        if (v === undefined) return;
        let prevFrom = -1;
        for (let i = 0; i < v.text.length; i++) {
          const [f, t] = [v.from(i), v.to(i)];
          expect(f).toBeGreaterThanOrEqual(prevFrom);
          expect(t).toBeGreaterThan(f);
          expect(t - f).toBeLessThanOrEqual(12); // a 4-byte UTF-8 sequence as %HH×4
          if (t - f === 1) expect(s[f]).toBe(v.text[i]);
          else {
            // An escape: it decodes on its own to the character(s) it stands for.
            const alone = normalise(s.slice(f, t))?.text ?? s.slice(f, t);
            expect(alone).toContain(v.text[i]);
          }
          if (i + 1 < v.text.length && v.from(i + 1) !== f) expect(v.from(i + 1)).toBeGreaterThanOrEqual(t);
          prevFrom = f;
        }
      }),
      { numRuns: 500 },
    );
  });

  it('one view character per UTF-16 unit comes from at most MAX_ESCAPE_LENGTH characters, BMP or not', () => {
    expect(normalise('&#x0FFFF;')!.from(0)).toBe(0);
    expect(normalise('&#x0FFFF;')!.to(0)).toBe(MAX_ESCAPE_LENGTH - 1);
    expect(normalise('&#0065535;')!.to(0)).toBe(MAX_ESCAPE_LENGTH);
    // Longer (zero-padded) references are not decoded.
    expect(normalise('&#00000065535;')).toBeUndefined();
  });
});
