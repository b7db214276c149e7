/**
 * Percent escapes and path segments (pure): reading a `%XX` escape, writing one,
 * and turning one raw path segment (no '/' inside) into its canonical form
 * (what is sent upstream) and its decoded form (what policies compare). The
 * rules themselves are listed at the top of normalize.ts, which splits a
 * request target or a policy pattern into segments and calls canonSegment on
 * each.
 *
 * Failures are thrown as Reject: normalize.ts turns them into a JaneeError for
 * a request and into a plain Error for a pattern (the config loader adds file
 * and line).
 */
import { describeChar, isAsciiControl, isForbiddenDecodedChar, isPathSafePunct, isUnreserved, isWhitespace } from './chars.js';

export const PATH_HINT = 'send a path relative to the service baseUrl, like /v1/charges/ch_123';

/** Internal rejection; converted to JaneeError (requests) or Error (patterns). */
export class Reject extends Error {
  readonly hint: string;
  constructor(message: string, hint: string = PATH_HINT) {
    super(message);
    this.hint = hint;
  }
}

// ---------------------------------------------------------------- escapes

const HEX = '0123456789ABCDEF';

/** The value of one hex digit (either case), or -1. */
export function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

/** `%XX` with upper-case hex: the canonical escape of byte b. */
export function pctByte(b: number): string {
  return '%' + HEX[b >> 4]! + HEX[b & 15]!;
}

/** How byte b of an escape is written canonically: decoded if unreserved, else `%XX`. */
export function canonEscape(b: number): string {
  return isUnreserved(b) ? String.fromCharCode(b) : pctByte(b);
}

/**
 * The byte of the `%XX` escape at raw[i] (raw[i] is '%'). A malformed escape is
 * refused; `what` names the input and `hint` says how to write a literal '%'.
 */
export function readEscape(raw: string, i: number, what: string, hint: string): number {
  const h = i + 1 < raw.length ? hexVal(raw.charCodeAt(i + 1)) : -1;
  const l = i + 2 < raw.length ? hexVal(raw.charCodeAt(i + 2)) : -1;
  if (h < 0 || l < 0) {
    throw new Reject(`${what} has a malformed percent escape (${JSON.stringify(raw.slice(i, i + 3))})`, hint);
  }
  return h * 16 + l;
}

// ---------------------------------------------------------------- segments

/** "path" for a request, "pattern" for a policy path from config.yaml; also names the input in messages. */
export type Mode = 'path' | 'pattern';

interface Segment {
  /** Canonical (what is sent / stored). */
  canon: string;
  /** Fully percent-decoded (what is compared). */
  decoded: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function isAllDots(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== 0x2e) return false;
  return true;
}

/**
 * Canonicalise one path segment (no '/' inside); `mode` also names the input in
 * messages ("path" or "pattern").
 */
export function canonSegment(raw: string, mode: Mode): Segment {
  const what = mode;
  const shown = JSON.stringify(raw.length > 40 ? raw.slice(0, 40) + '…' : raw);
  let canon = '';
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x25) {
      // '%'
      const b = readEscape(raw, i, what, 'a "%" must start a two-hex-digit escape; a literal "%" is allowed only in the query, as %25');
      if (b === 0x25) {
        throw new Reject(`${what} must not contain %25 (double percent-encoding is refused)`, 'decode the path once before sending it');
      }
      if (b === 0x2f) {
        throw new Reject(`${what} must not contain an encoded "/" (%2F)`, 'use a plain "/" between segments');
      }
      if (b === 0x5c) {
        throw new Reject(`${what} must not contain an encoded backslash (%5C)`);
      }
      if (isAsciiControl(b)) {
        throw new Reject(`${what} must not contain an encoded control character (${pctByte(b)})`);
      }
      canon += canonEscape(b);
      bytes.push(b);
      i += 2;
      continue;
    }
    if (isAsciiControl(c)) {
      throw new Reject(`${what} must not contain control characters (${describeChar(c)})`);
    }
    if (c === 0x20) {
      throw new Reject(`${what} must not contain whitespace`, 'percent-encode a space as %20');
    }
    if (c === 0x5c) {
      throw new Reject(`${what} must not contain a backslash`, 'use "/" between segments');
    }
    if (c === 0x23) {
      throw new Reject(`${what} must not contain a "#" fragment`, 'percent-encode a literal "#" as %23');
    }
    if (c === 0x3b) {
      throw new Reject(`${what} must not contain ";" (path parameters are refused)`, 'percent-encode a literal ";" as %3B');
    }
    if (c === 0x3f) {
      // Only reachable for patterns: request paths are split at '?' first.
      throw new Reject(`${what} must not contain a query ("?")`);
    }
    if (c === 0x2a && mode === 'pattern') {
      throw new Reject(
        `${what} may use "*" only as a whole segment (got ${shown})`,
        'use /a/*/b for one segment, /a/** at the end for any rest, %2A for a literal "*"',
      );
    }
    if (c > 0x7e) {
      if (mode === 'path') {
        throw new Reject(
          `path must not contain raw non-ASCII characters (${describeChar(c)})`,
          'percent-encode non-ASCII characters as UTF-8 (for example é as %C3%A9)',
        );
      }
      // Pattern (trusted config): encode as UTF-8. Lone surrogates are refused.
      const cp = raw.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      let enc: string;
      try {
        enc = encodeURIComponent(ch);
      } catch {
        throw new Reject(`${what} contains an unpaired surrogate (${describeChar(c)})`);
      }
      if (isWhitespace(ch)) throw new Reject(`${what} must not contain whitespace (${describeChar(cp)})`);
      for (let k = 0; k < enc.length; k += 3) {
        const b = parseInt(enc.slice(k + 1, k + 3), 16);
        canon += pctByte(b);
        bytes.push(b);
      }
      i += ch.length - 1;
      continue;
    }
    // Printable ASCII.
    canon += isUnreserved(c) || isPathSafePunct(c) ? String.fromCharCode(c) : pctByte(c);
    bytes.push(c);
  }

  let decoded: string;
  try {
    decoded = utf8.decode(Uint8Array.from(bytes));
  } catch {
    throw new Reject(
      `${what} has percent-encoded bytes that are not valid UTF-8 (got ${shown})`,
      'percent-encode non-ASCII characters as UTF-8',
    );
  }
  for (const ch of decoded) {
    const cp = ch.codePointAt(0)!;
    if (isForbiddenDecodedChar(ch)) {
      throw new Reject(`${what} must not contain control or invisible format characters (${describeChar(cp)})`);
    }
    if (cp > 0x7f && isWhitespace(ch)) {
      throw new Reject(`${what} must not contain non-ASCII whitespace (${describeChar(cp)})`);
    }
  }
  // Dot segments, also as their compatibility forms (fullwidth '．．'): a
  // server that folds Unicode would resolve them.
  const folded = decoded.normalize('NFKC');
  if (isAllDots(decoded) || isAllDots(folded)) {
    throw new Reject(`${what} must not contain "." or ".." segments (got ${shown})`, PATH_HINT);
  }
  if (folded.includes('/') || folded.includes('\\')) {
    throw new Reject(`${what} must not contain characters that fold to "/" or "\\" (got ${shown})`);
  }
  const semi = folded.indexOf(';');
  if (semi > 0 && isAllDots(folded.slice(0, semi))) {
    throw new Reject(`${what} must not contain a dot segment with parameters (got ${shown})`);
  }
  return { canon, decoded };
}
