/**
 * Character classes (pure, no imports). One place for the rules that decide
 * which characters a request may carry, shared by the request-target
 * normaliser (normalize.ts, segment.ts), the policy matcher (evaluate.ts) and
 * the header rules (gate/headers.ts), so that "what is a token" or "what is a
 * control character" cannot drift apart between them.
 *
 * The ASCII sets are written out as the characters the RFCs list, and turned
 * into one bit table at load time: a lookup per character on the per-call path,
 * and a set that reads like the grammar it comes from.
 */

const ALPHA = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const DIGIT = '0123456789';

const UNRESERVED = 1;
const PATH_PUNCT = 2;
const QUERY_PUNCT = 4;
const TCHAR = 8;

const ASCII = new Uint8Array(128);
function mark(chars: string, bit: number): void {
  for (let i = 0; i < chars.length; i++) {
    const c = chars.charCodeAt(i);
    ASCII[c] = ASCII[c]! | bit;
  }
}
// RFC 3986 unreserved.
mark(ALPHA + DIGIT + '-._~', UNRESERVED);
// RFC 3986 sub-delims without ';' (refused in paths: Tomcat-style `..;/`
// path parameters), plus ':' and '@' — the rest of pchar.
mark("!$&'()*+,=:@", PATH_PUNCT);
// Left raw in a canonical query: sub-delims without "'" (WHATWG URL parsing
// encodes it in special-scheme queries, so it would not be a fixed point),
// plus ':' '@' '/' '?'.
mark('!$&()*+,;=:@/?', QUERY_PUNCT);
// RFC 9110 token characters (method and header names).
mark(ALPHA + DIGIT + "!#$%&'*+-.^_`|~", TCHAR);

function has(c: number, bit: number): boolean {
  return c < 128 && (ASCII[c]! & bit) !== 0;
}

/** RFC 3986 unreserved: ALPHA DIGIT - . _ ~ */
export function isUnreserved(c: number): boolean {
  return has(c, UNRESERVED);
}

/** Left raw in a canonical path segment besides unreserved: ! $ & ' ( ) * + , = : @ */
export function isPathSafePunct(c: number): boolean {
  return has(c, PATH_PUNCT);
}

/** Left raw in a canonical query besides unreserved: ! $ & ( ) * + , ; = : @ / ? */
export function isQuerySafe(c: number): boolean {
  return has(c, QUERY_PUNCT);
}

/** RFC 9110 tchar: ! # $ % & ' * + - . ^ _ ` | ~ DIGIT ALPHA */
export function isTchar(c: number): boolean {
  return has(c, TCHAR);
}

/**
 * A non-empty RFC 9110 token (a method or header name). Anything else in a
 * header name — a trailing space some servers trim and then honour, a ':' —
 * is how header smuggling starts.
 */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!isTchar(s.charCodeAt(i))) return false;
  return true;
}

/** C0 controls and DEL. */
export function isAsciiControl(c: number): boolean {
  return c < 0x20 || c === 0x7f;
}

/**
 * Whether a header value may be sent as is: no control character but HTAB
 * (CR and LF split headers, NUL truncates them in some servers) and nothing
 * outside latin1 (a field value is bytes: a code point above U+00FF has no
 * one-byte form, and what a client makes of it varies).
 */
export function isFieldValue(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((isAsciiControl(c) && c !== 0x09) || c > 0xff) return false;
  }
  return true;
}

/** Control (Cc), invisible format (Cf: bidi, zero-width, BOM, soft hyphen), line/paragraph separators. */
const FORBIDDEN_DECODED = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

/**
 * Whether a decoded character (one code point) must never appear in a path or
 * query: it is either invisible to whoever reads the path (so a policy and an
 * audit line would not show what is sent) or a control character.
 */
export function isForbiddenDecodedChar(ch: string): boolean {
  return FORBIDDEN_DECODED.test(ch);
}

const WHITESPACE = /\s/u;

/** Unicode whitespace (JavaScript's `\s`: ASCII space and tabs, NBSP, U+2000–U+200A, U+3000, …). */
export function isWhitespace(ch: string): boolean {
  return WHITESPACE.test(ch);
}

/** `U+000A`: how messages name a character, never the character itself. */
export function describeChar(c: number): string {
  return 'U+' + c.toString(16).toUpperCase().padStart(4, '0');
}
