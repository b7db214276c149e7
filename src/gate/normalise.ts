/**
 * A decoded view of text for redaction, with a map from each view character back
 * to the characters of the original it came from.
 *
 * Upstream serializers escape differently from JSON.stringify: .NET writes `+` as
 * `\u002B`, Go writes `<>&` as `\u003c\u003e\u0026`, some encoders escape every
 * character; HTML templates use entities; URLs use percent-encoding of every
 * byte; mail-style bodies use quoted-printable and base64 wrapped at 76 columns.
 * Listing every such form of every secret is endless, so the redactor also
 * searches this view, where one level of each is undone in a single pass:
 *
 * - JSON / JS escapes: `\uXXXX` (either hex case), `\xHH`, `\"` `\\` `\/` `\b`
 *   `\f` `\n` `\r` `\t`;
 * - HTML entities: decimal `&#43;`, hex `&#x2b;` / `&#X2B;` (`;` optional, at
 *   most 6 hex / 7 decimal digits) and the named entities of ASCII characters (`&plus;`, `&sol;`…);
 * - percent-encoding `%HH` and quoted-printable `=HH` (either case), a run of
 *   them forming a UTF-8 sequence decoded to that character; a QP soft line
 *   break (`=` before a line end) is dropped;
 * - CR, LF and NUL are dropped (raw or decoded), so base64 wrapped at any
 *   width (MIME's 76 columns) reads as one run, and so does ASCII text in
 *   UTF-16/32 that no BOM or charset announced.
 *
 * Everything else is copied as is. One level only: a form escaped twice is found
 * because the redactor also normalises its own variants (the twice-escaped
 * variant normalises to the once-escaped one). Text is never decoded from base64
 * or hex here (alignment is unknown); the redactor lists those forms instead.
 *
 * `from(i)`/`to(i)` are the [start, end) of the original that view character i
 * was decoded from. One escape can yield two characters (a surrogate pair):
 * both map to the whole escape.
 */
import { hexVal } from '../policy/index.js';

export interface NormalisedView {
  text: string;
  /** Start in the original of view character `i`. */
  from(i: number): number;
  /** End (exclusive) in the original of view character `i`. */
  to(i: number): number;
}

/** Longest original run one view character (UTF-16 unit) can come from: `&#x0FFFF;`-like entities. */
export const MAX_ESCAPE_LENGTH = 10;

// ASCII characters (and a few spaces) that HTML5 has named references for.
const ENTITIES: Record<string, number> = {
  excl: 33,
  quot: 34,
  QUOT: 34,
  num: 35,
  dollar: 36,
  percnt: 37,
  amp: 38,
  AMP: 38,
  apos: 39,
  lpar: 40,
  rpar: 41,
  ast: 42,
  midast: 42,
  plus: 43,
  comma: 44,
  period: 46,
  sol: 47,
  colon: 58,
  semi: 59,
  lt: 60,
  LT: 60,
  equals: 61,
  gt: 62,
  GT: 62,
  quest: 63,
  commat: 64,
  lsqb: 91,
  lbrack: 91,
  bsol: 92,
  rsqb: 93,
  rbrack: 93,
  Hat: 94,
  lowbar: 95,
  UnderBar: 95,
  grave: 96,
  DiacriticalGrave: 96,
  lcub: 123,
  lbrace: 123,
  verbar: 124,
  vert: 124,
  VerticalLine: 124,
  rcub: 125,
  rbrace: 125,
  nbsp: 160,
  shy: 0xad,
  ZeroWidthSpace: 0x200b,
  zwnj: 0x200c,
  zwj: 0x200d,
  NoBreak: 0x2060,
  Tab: 9,
  NewLine: 10,
};
const LONGEST_ENTITY = 16;

const ASCII = Array.from({ length: 128 }, (_, c) => String.fromCharCode(c));

const SIMPLE_ESCAPES: Record<number, number> = {
  0x22: 0x22,
  0x5c: 0x5c,
  0x2f: 0x2f,
  0x62: 8,
  0x66: 12,
  0x6e: 10,
  0x72: 13,
  0x74: 9,
};

// A cheap test for "nothing here to decode": most bodies skip the pass entirely.

const TRIGGER = /[\\&%=\r\n\u0000\u00ad\u200b-\u200d\u2060\ufeff]/;

/**
 * Dropped from the view, raw or decoded: line ends (so wrapped base64 reads as
 * one run), NUL (so ASCII in UTF-16/32 that nobody declared reads as ASCII), and
 * the characters that display as nothing (soft hyphen, zero-width space, joiners,
 * word joiner, BOM), which an upstream may put between the characters of a key.
 */
const dropped = (c: number): boolean =>
  c === 10 || c === 13 || c === 0 || c === 0xad || (c >= 0x200b && c <= 0x200d) || c === 0x2060 || c === 0xfeff;

/** The value of `len` hex digits at s[i…], or -1. */
function hexAt(s: string, i: number, len: number): number {
  if (i + len > s.length) return -1;
  let v = 0;
  for (let k = 0; k < len; k++) {
    const d = hexVal(s.charCodeAt(i + k));
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/**
 * The escape (or dropped character) at s[i], which is a TRIGGER character:
 * [code point, or -1 when it yields nothing; index after it], or undefined when
 * s[i] is an ordinary character here.
 */
function decodeAt(s: string, i: number): [number, number] | undefined {
  const c = s.charCodeAt(i);
  if (dropped(c)) return [-1, i + 1];
  if (c === 0x5c /* \ */) {
    const d = s.charCodeAt(i + 1);
    let v: number;
    if (d === 0x75 /* u */ && (v = hexAt(s, i + 2, 4)) >= 0) return [v, i + 6];
    if (d === 0x78 /* x */ && (v = hexAt(s, i + 2, 2)) >= 0) return [v, i + 4];
    const simple = SIMPLE_ESCAPES[d];
    return simple === undefined ? undefined : [simple, i + 2];
  }
  if (c === 0x26 /* & */) return entityAt(s, i);
  // % or =
  if (hexAt(s, i + 1, 2) >= 0) return byteRun(s, i, c);
  if (c === 0x3d) {
    // QP soft line break: `=` CRLF or `=` LF.
    if (s.charCodeAt(i + 1) === 13 && s.charCodeAt(i + 2) === 10) return [-1, i + 3];
    if (s.charCodeAt(i + 1) === 10) return [-1, i + 2];
  }
  return undefined;
}

/**
 * A run of `%HH` or `=HH` (marker `m`) at i forming one UTF-8 sequence: that
 * character and the index after it; else the lone byte (as latin1) and i + 3.
 */
function byteRun(s: string, i: number, m: number): [number, number] {
  const b0 = hexAt(s, i + 1, 2);
  const extra = b0 >= 0xf0 && b0 <= 0xf4 ? 3 : b0 >= 0xe0 ? 2 : b0 >= 0xc2 && b0 < 0xe0 ? 1 : 0;
  if (extra > 0) {
    let cp = b0 & (0x3f >> extra);
    let j = i + 3;
    let ok = true;
    for (let k = 0; k < extra; k++, j += 3) {
      const b = s.charCodeAt(j) === m ? hexAt(s, j + 1, 2) : -1;
      if (b < 0x80 || b > 0xbf) {
        ok = false;
        break;
      }
      cp = (cp << 6) | (b & 0x3f);
    }
    if (ok && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff)) return [cp, j];
  }
  return [b0, i + 3];
}

/**
 * The decoded view of `s`, or undefined when decoding changes nothing (the view
 * would be `s` itself).
 *
 * Built from slices of `s` between escapes (found with one RegExp), so plain
 * text costs no per-character JavaScript. The map is a list of segments: a
 * copied run maps character for character; an escape maps its one or two view
 * characters to the whole escape. `from`/`to` binary-search it (only on a match).
 */
export function normalise(s: string): NormalisedView | undefined {
  if (!TRIGGER.test(s)) return undefined;
  const parts: string[] = [];
  // Segments: view start, original start, original length (-1: a copied run).
  const segView: number[] = [];
  const segOrig: number[] = [];
  const segLen: number[] = [];
  let v = 0;
  let changed = false;
  const n = s.length;
  const next = new RegExp(TRIGGER.source, 'g');
  let run = 0; // start of the run of original text not yet copied
  for (;;) {
    const t = next.exec(s)?.index ?? n;
    const d = t < n ? decodeAt(s, t) : undefined;
    if (d === undefined && t < n) continue; // an ordinary `=`, `&`…: part of the run
    if (t > run) {
      // A copied run: one segment, mapped character for character.
      segView.push(v);
      segOrig.push(run);
      segLen.push(-1);
      parts.push(s.slice(run, t));
      v += t - run;
    }
    if (d === undefined) break;
    changed = true;
    const [cp, end] = d;
    if (cp >= 0 && !dropped(cp)) {
      segView.push(v);
      segOrig.push(t);
      segLen.push(end - t);
      const ch = cp < 128 ? ASCII[cp]! : String.fromCodePoint(cp);
      parts.push(ch);
      v += ch.length;
    }
    run = end;
    next.lastIndex = end;
  }
  if (!changed) return undefined;
  const seg = (x: number): number => {
    let lo = 0;
    let hi = segView.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (segView[mid]! <= x) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  return {
    text: parts.join(''),
    from: (x) => {
      const k = seg(x);
      return segLen[k] === -1 ? segOrig[k]! + (x - segView[k]!) : segOrig[k]!;
    },
    to: (x) => {
      const k = seg(x);
      return segLen[k] === -1 ? segOrig[k]! + (x - segView[k]!) + 1 : segOrig[k]! + segLen[k]!;
    },
  };
}

/** An HTML character reference at s[i] (`&`): [code point, index after it], or undefined. */
function entityAt(s: string, i: number): [number, number] | undefined {
  const n = s.length;
  if (s.charCodeAt(i + 1) === 0x23 /* # */) {
    const hex = (s.charCodeAt(i + 2) | 0x20) === 0x78;
    let j = i + (hex ? 3 : 2);
    const start = j;
    let v = 0;
    while (j < n && j - start < (hex ? 6 : 7)) {
      const d = hex ? hexVal(s.charCodeAt(j)) : s.charCodeAt(j) - 48;
      if (d < 0 || d > (hex ? 15 : 9)) break;
      v = v * (hex ? 16 : 10) + d;
      j++;
    }
    const more = hex ? hexVal(s.charCodeAt(j)) >= 0 : s.charCodeAt(j) >= 48 && s.charCodeAt(j) <= 57;
    if (j === start || more || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return undefined;
    if (s.charCodeAt(j) === 0x3b) j++;
    return [v, j];
  }
  let j = i + 1;
  while (j < n && j - i <= LONGEST_ENTITY) {
    const c = s.charCodeAt(j) | 0x20;
    if (c < 97 || c > 122) break;
    j++;
  }
  if (j === i + 1 || s.charCodeAt(j) !== 0x3b) return undefined;
  const v = ENTITIES[s.slice(i + 1, j)];
  return v === undefined ? undefined : [v, j + 1];
}
