/**
 * Request-target normalisation (pure). The agent calling the gate is the
 * attacker: whatever it sends is either rejected with a precise message or turned
 * into one canonical path + query, and that canonical form is both what policies
 * are matched against and what is sent upstream (see buildUpstreamUrl).
 *
 * Path rules (fail closed — reject rather than guess):
 * - starts with exactly one '/'; absolute (`http:…`) and scheme-relative (`//h`)
 *   URLs are refused;
 * - no '\' (raw or %5C), no '#', no raw ';' (Tomcat-style `..;/` path parameters),
 *   no control characters or whitespace (raw or percent-encoded; %20 is fine),
 *   no encoded invisible format characters (bidi controls, zero-width, BOM),
 *   no raw non-ASCII (percent-encode it as UTF-8), no %25 (double encoding), no
 *   %2F (encoded '/'), no malformed escapes, no escapes that are not valid UTF-8;
 * - no '.' / '..' segments, raw or percent-encoded in any case; more generally no
 *   segment made only of dots, also after Unicode NFKC folding (fullwidth '．．');
 * - no empty segments ('//'), except that ONE trailing '/' is allowed and kept
 *   (`/v1/charges/` is sent as is, because some APIs need it) — for policy matching
 *   it is ignored, i.e. `/v1/charges/` is matched like `/v1/charges`;
 * - escapes of unreserved characters (ALPHA DIGIT - . _ ~) are decoded, other
 *   escapes get upper-case hex, and characters outside the RFC 3986 pchar set
 *   (`"<>[]^\`{|}`) are percent-encoded. The result is a fixed point: normalising it
 *   again returns it unchanged, and WHATWG URL parsing does not rewrite it.
 * Query: everything after the first '?'. Never used for policy matching. Escapes
 * are validated and canonicalised like the path (but %25 and encoded controls are
 * allowed: they are data); raw non-ASCII is UTF-8 percent-encoded; raw whitespace,
 * control characters and '#' are refused; `"'<>[]^\`{|}\` are percent-encoded so
 * that WHATWG URL parsing leaves the query unchanged.
 */
import { JaneeError } from '../errors.js';

/**
 * Same value as GateCodes.BAD_REQUEST in src/gate/types.ts. Not imported from
 * there because imports point downward only (gate → policy); a test checks they
 * stay equal.
 */
export const BAD_REQUEST_CODE = 'GATE_BAD_REQUEST';
/** Same value as GateCodes.ORIGIN_MISMATCH (see BAD_REQUEST_CODE). */
export const ORIGIN_MISMATCH_CODE = 'GATE_ORIGIN_MISMATCH';

/** Longest accepted request target (path + '?' + query), in UTF-16 code units. */
export const MAX_TARGET_LENGTH = 16 * 1024;

export interface RequestTarget {
  /** Normalised, starts with '/', no query. */
  path: string;
  /** Canonical query string without '?', '' if none. */
  query: string;
}

export const ALLOWED_METHODS: readonly string[] = Object.freeze([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
]);

const PATH_HINT = 'send a path relative to the service baseUrl, like /v1/charges/ch_123';

/** Internal rejection; converted to JaneeError (requests) or Error (patterns). */
class Reject extends Error {
  readonly hint: string;
  constructor(message: string, hint: string = PATH_HINT) {
    super(message);
    this.hint = hint;
  }
}

function badRequest(message: string, hint?: string): JaneeError {
  return new JaneeError(BAD_REQUEST_CODE, message, hint);
}

// ---------------------------------------------------------------- characters

const HEX = '0123456789ABCDEF';

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

function pctByte(b: number): string {
  return '%' + HEX[b >> 4]! + HEX[b & 15]!;
}

function isAlphaNum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** RFC 3986 unreserved: ALPHA DIGIT - . _ ~ */
function isUnreserved(c: number): boolean {
  return isAlphaNum(c) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e;
}

/** sub-delims without ';' (refused in paths), plus ':' and '@'. */
function isPathSafePunct(c: number): boolean {
  // ! $ & ' ( ) * + , = : @
  return (
    c === 0x21 ||
    c === 0x24 ||
    c === 0x26 ||
    c === 0x27 ||
    c === 0x28 ||
    c === 0x29 ||
    c === 0x2a ||
    c === 0x2b ||
    c === 0x2c ||
    c === 0x3d ||
    c === 0x3a ||
    c === 0x40
  );
}

/** Characters that stay raw in a canonical query (besides unreserved). */
function isQuerySafe(c: number): boolean {
  // sub-delims without "'" (WHATWG encodes it in special-scheme queries), ':' '@' '/' '?'
  return (
    c === 0x21 ||
    c === 0x24 ||
    c === 0x26 ||
    c === 0x28 ||
    c === 0x29 ||
    c === 0x2a ||
    c === 0x2b ||
    c === 0x2c ||
    c === 0x3b ||
    c === 0x3d ||
    c === 0x3a ||
    c === 0x40 ||
    c === 0x2f ||
    c === 0x3f
  );
}

function isAsciiControl(c: number): boolean {
  return c < 0x20 || c === 0x7f;
}

function describeChar(c: number): string {
  return 'U+' + c.toString(16).toUpperCase().padStart(4, '0');
}

/** Control (Cc), invisible format (Cf: bidi, zero-width, BOM, soft hyphen), line/paragraph separators. */
const FORBIDDEN_DECODED = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

function isForbiddenDecodedChar(ch: string): boolean {
  return FORBIDDEN_DECODED.test(ch);
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// ---------------------------------------------------------------- segments

type Mode = 'path' | 'pattern';

interface Segment {
  /** Canonical (what is sent / stored). */
  canon: string;
  /** Fully percent-decoded (what is compared). */
  decoded: string;
}

function isAllDots(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== 0x2e) return false;
  return true;
}

/**
 * Canonicalise one path segment (no '/' inside); `mode` also names the input in
 * messages ("path" or "pattern").
 */
/** The byte of the `%XX` escape at raw[i], or -1 if it is malformed. */
function escapeAt(raw: string, i: number): number {
  const h = i + 1 < raw.length ? hexVal(raw.charCodeAt(i + 1)) : -1;
  const l = i + 2 < raw.length ? hexVal(raw.charCodeAt(i + 2)) : -1;
  return h < 0 || l < 0 ? -1 : h * 16 + l;
}

function canonSegment(raw: string, mode: Mode): Segment {
  const what = mode;
  const shown = JSON.stringify(raw.length > 40 ? raw.slice(0, 40) + '…' : raw);
  let canon = '';
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x25) {
      // '%'
      const b = escapeAt(raw, i);
      if (b < 0) {
        throw new Reject(
          `${what} has a malformed percent escape (${JSON.stringify(raw.slice(i, i + 3))})`,
          'a "%" must start a two-hex-digit escape; a literal "%" is allowed only in the query, as %25',
        );
      }
      if (b === 0x25) {
        throw new Reject(
          `${what} must not contain %25 (double percent-encoding is refused)`,
          'decode the path once before sending it',
        );
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
      canon += isUnreserved(b) ? String.fromCharCode(b) : pctByte(b);
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
      throw new Reject(
        `${what} must not contain ";" (path parameters are refused)`,
        'percent-encode a literal ";" as %3B',
      );
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
      if (/\s/u.test(ch)) throw new Reject(`${what} must not contain whitespace (${describeChar(cp)})`);
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
    if (cp > 0x7f && /\s/u.test(ch)) {
      throw new Reject(`${what} must not contain non-ASCII whitespace (${describeChar(cp)})`);
    }
  }
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

// ---------------------------------------------------------------- paths

/** A parsed, normalised request path. */
export interface ParsedPath {
  /** Canonical path (what is sent). */
  path: string;
  /** Decoded segments, without the empty one a trailing '/' would give. */
  segments: string[];
  trailingSlash: boolean;
}

const SCHEME_RE = /^[A-Za-z][A-Za-z0-9+.-]*:/;

function checkStart(raw: string, what: 'path' | 'pattern'): void {
  if (raw.length === 0) throw new Reject(`${what} is empty`);
  const c0 = raw.charCodeAt(0);
  if (c0 !== 0x2f) {
    if (SCHEME_RE.test(raw.slice(0, 64))) {
      throw new Reject(`${what} must start with "/" (got an absolute URL)`, PATH_HINT);
    }
    if (c0 === 0x5c) throw new Reject(`${what} must start with "/" (got a backslash)`);
    throw new Reject(`${what} must start with "/"`);
  }
  if (raw.length > 1 && (raw.charCodeAt(1) === 0x2f || raw.charCodeAt(1) === 0x5c)) {
    throw new Reject(`${what} must start with a single "/" (got a scheme-relative URL)`, PATH_HINT);
  }
}

/** Parse the path part (no '?') of a request target. Throws Reject. */
function parsePathPart(raw: string): ParsedPath {
  checkStart(raw, 'path');
  if (raw === '/') return { path: '/', segments: [], trailingSlash: false };
  const parts = raw.slice(1).split('/');
  const segments: string[] = [];
  const canon: string[] = [];
  let trailingSlash = false;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (p === '') {
      if (i === parts.length - 1 && i > 0) {
        trailingSlash = true;
        continue;
      }
      throw new Reject('path must not contain empty segments ("//")', PATH_HINT);
    }
    const s = canonSegment(p, 'path');
    segments.push(s.decoded);
    canon.push(s.canon);
  }
  return { path: '/' + canon.join('/') + (trailingSlash ? '/' : ''), segments, trailingSlash };
}

function canonQuery(raw: string): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x25) {
      const b = escapeAt(raw, i);
      if (b < 0) {
        throw new Reject(
          `query has a malformed percent escape (${JSON.stringify(raw.slice(i, i + 3))})`,
          'write a literal "%" as %25, or pass values in the `query` field to have them encoded',
        );
      }
      out += isUnreserved(b) ? String.fromCharCode(b) : pctByte(b);
      i += 2;
      continue;
    }
    if (isAsciiControl(c)) throw new Reject(`query must not contain control characters (${describeChar(c)})`);
    if (c === 0x20) {
      throw new Reject('query must not contain whitespace', 'percent-encode a space as %20, or use the `query` field');
    }
    if (c === 0x23) throw new Reject('request target must not contain a "#" fragment', 'percent-encode a literal "#" as %23');
    if (c > 0x7e) {
      const cp = raw.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      if (isForbiddenDecodedChar(ch) || /\s/u.test(ch)) {
        throw new Reject(`query must not contain control or whitespace characters (${describeChar(cp)})`);
      }
      try {
        out += encodeURIComponent(ch);
      } catch {
        throw new Reject(`query contains an unpaired surrogate (${describeChar(c)})`);
      }
      i += ch.length - 1;
      continue;
    }
    out += isUnreserved(c) || isQuerySafe(c) ? String.fromCharCode(c) : pctByte(c);
  }
  return out;
}

function encodeQueryComponent(s: string): string {
  try {
    return encodeURIComponent(s).replace(/'/g, '%27');
  } catch {
    throw new Reject('query field contains an unpaired surrogate', 'send valid Unicode text');
  }
}

function extraQueryString(extra: unknown): string {
  if (extra === undefined || extra === null) return '';
  if (typeof extra !== 'object' || Array.isArray(extra)) {
    throw new Reject('query must be an object of string or string[] values', 'for example {"limit": "10"}');
  }
  const parts: string[] = [];
  for (const [k, v] of Object.entries(extra as Record<string, unknown>)) {
    if (k === '') throw new Reject('query field has an empty parameter name');
    let values: string[];
    if (typeof v === 'string') values = [v];
    else if (Array.isArray(v) && v.every((x): x is string => typeof x === 'string')) values = v;
    else {
      throw new Reject(
        `query parameter ${JSON.stringify(k.slice(0, 40))} must be a string or an array of strings`,
        'convert numbers and booleans to strings',
      );
    }
    const ek = encodeQueryComponent(k);
    for (const val of values) parts.push(ek + '=' + encodeQueryComponent(val));
  }
  return parts.join('&');
}

function toBadRequest(e: unknown): never {
  if (e instanceof Reject) throw badRequest(e.message, e.hint);
  throw e;
}

/**
 * Normalise what the agent sent (`path`, possibly with `?query`, plus the
 * `query` object). Throws JaneeError GATE_BAD_REQUEST when it cannot be
 * normalised safely.
 */
export function normalizeRequestTarget(
  rawPath: string,
  extraQuery?: Record<string, string | string[]>,
): RequestTarget {
  try {
    if (typeof rawPath !== 'string') throw new Reject('path must be a string');
    if (rawPath.length > MAX_TARGET_LENGTH) {
      throw new Reject(
        `path is too long (${rawPath.length} characters, at most ${MAX_TARGET_LENGTH})`,
        'shorten the path or query',
      );
    }
    // Absolute/scheme-relative first: it is the most useful message.
    checkStart(rawPath, 'path');
    if (rawPath.includes('#')) {
      throw new Reject('request target must not contain a "#" fragment', 'percent-encode a literal "#" as %23');
    }
    const q = rawPath.indexOf('?');
    const parsed = parsePathPart(q < 0 ? rawPath : rawPath.slice(0, q));
    const rawQuery = q < 0 ? '' : canonQuery(rawPath.slice(q + 1));
    const extra = extraQueryString(extraQuery);
    const query = rawQuery === '' ? extra : extra === '' ? rawQuery : rawQuery + '&' + extra;
    if (parsed.path.length + (query === '' ? 0 : 1 + query.length) > MAX_TARGET_LENGTH) {
      throw new Reject(
        `request target is too long (at most ${MAX_TARGET_LENGTH} characters after encoding)`,
        'shorten the path or query',
      );
    }
    return { path: parsed.path, query };
  } catch (e) {
    return toBadRequest(e);
  }
}

/**
 * Parse an already-normalised path for matching. Throws JaneeError
 * GATE_BAD_REQUEST if it is not a valid path; a '?query' part is ignored.
 */
export function parseRequestPath(path: string): ParsedPath {
  try {
    if (typeof path !== 'string') throw new Reject('path must be a string');
    if (path.length > MAX_TARGET_LENGTH) throw new Reject('path is too long');
    if (path.includes('#')) throw new Reject('request target must not contain a "#" fragment');
    const q = path.indexOf('?');
    return parsePathPart(q < 0 ? path : path.slice(0, q));
  } catch (e) {
    return toBadRequest(e);
  }
}

// ---------------------------------------------------------------- methods

function isTchar(c: number): boolean {
  // RFC 9110 token: ! # $ % & ' * + - . ^ _ ` | ~ DIGIT ALPHA
  return (
    isAlphaNum(c) ||
    c === 0x21 ||
    c === 0x23 ||
    c === 0x24 ||
    c === 0x25 ||
    c === 0x26 ||
    c === 0x27 ||
    c === 0x2a ||
    c === 0x2b ||
    c === 0x2d ||
    c === 0x2e ||
    c === 0x5e ||
    c === 0x5f ||
    c === 0x60 ||
    c === 0x7c ||
    c === 0x7e
  );
}

const METHOD_HINT = `use one of ${ALLOWED_METHODS.join(', ')}`;

/** Case-insensitive in, upper-case out; anything outside ALLOWED_METHODS is refused. */
export function normalizeMethod(method: string): string {
  if (typeof method !== 'string' || method.length === 0) {
    throw badRequest('method is empty', METHOD_HINT);
  }
  if (method.length > 32) throw badRequest('method is too long', METHOD_HINT);
  for (let i = 0; i < method.length; i++) {
    if (!isTchar(method.charCodeAt(i))) {
      throw badRequest(`method ${JSON.stringify(method)} is not a valid HTTP method`, METHOD_HINT);
    }
  }
  const upper = method.toUpperCase();
  if (!ALLOWED_METHODS.includes(upper)) {
    throw badRequest(`method ${upper} is not allowed`, METHOD_HINT);
  }
  return upper;
}

// ---------------------------------------------------------------- patterns

/** One pattern segment: `*`, `**` (last only), or a decoded literal. */
export type PatternSegment = { kind: 'one' } | { kind: 'rest' } | { kind: 'literal'; value: string };

/** A parsed policy pattern. */
export interface ParsedPattern {
  /** Canonical pattern text. */
  pattern: string;
  segments: PatternSegment[];
}

function parsePatternInner(pattern: string): ParsedPattern {
  if (typeof pattern !== 'string') throw new Reject('pattern must be a string');
  if (pattern.length > MAX_TARGET_LENGTH) throw new Reject('pattern is too long');
  checkStart(pattern, 'pattern');
  if (pattern === '/') return { pattern: '/', segments: [] };
  const parts = pattern.slice(1).split('/');
  const canon: string[] = [];
  const segments: PatternSegment[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    const last = i === parts.length - 1;
    if (p === '') {
      if (last && i > 0) continue; // trailing '/' is insignificant in a pattern
      throw new Reject('pattern must not contain empty segments ("//")');
    }
    if (p === '*') {
      canon.push('*');
      segments.push({ kind: 'one' });
      continue;
    }
    if (p === '**') {
      const trailingOnly = i === parts.length - 2 && parts[i + 1] === '';
      if (!last && !trailingOnly) throw new Reject('pattern may use "**" only as the last segment');
      canon.push('**');
      segments.push({ kind: 'rest' });
      continue;
    }
    const s = canonSegment(p, 'pattern');
    canon.push(s.canon);
    segments.push({ kind: 'literal', value: s.decoded });
  }
  return { pattern: '/' + canon.join('/'), segments };
}

/** For the matcher: parsed pattern, throws Error on an invalid pattern. */
export function parsePolicyPattern(pattern: string): ParsedPattern {
  try {
    return parsePatternInner(pattern);
  } catch (e) {
    if (e instanceof Reject) throw new Error(e.message);
    throw e;
  }
}

/**
 * Validate and canonicalise a policy `path` from config.yaml. Throws Error with a
 * message (the config loader adds file and line). Raw non-ASCII is allowed here
 * (trusted config) and stored UTF-8 percent-encoded; a trailing '/' is dropped.
 */
export function normalizePolicyPattern(pattern: string): string {
  return parsePolicyPattern(pattern).pattern;
}

// ---------------------------------------------------------------- upstream URL

function originError(message: string): JaneeError {
  return new JaneeError(ORIGIN_MISMATCH_CODE, message, 'check the service baseUrl in config.yaml');
}

/**
 * baseUrl (no trailing slash; may carry a path prefix) + target.path + ('?' +
 * query). Re-checks that the target is canonical and that WHATWG URL parsing
 * keeps the origin, the path (prefix + exactly target.path) and the query
 * unchanged; throws otherwise. Returns the URL's href.
 */
export function buildUpstreamUrl(baseUrl: string, target: RequestTarget): string {
  let base: URL;
  try {
    base = new URL(baseUrl);
  } catch {
    throw originError('service baseUrl is not a valid URL');
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw originError('service baseUrl must be an http or https URL');
  }
  if (base.search !== '' || base.hash !== '' || baseUrl.includes('?') || baseUrl.includes('#')) {
    throw originError('service baseUrl must not have a query or fragment');
  }
  if (
    target === null ||
    typeof target !== 'object' ||
    typeof target.path !== 'string' ||
    typeof target.query !== 'string'
  ) {
    throw badRequest('request target is invalid');
  }
  const again = normalizeRequestTarget(target.query === '' ? target.path : target.path + '?' + target.query);
  if (again.path !== target.path || again.query !== target.query || target.path.includes('?')) {
    throw badRequest('request target is not normalised', 'normalise it with normalizeRequestTarget first');
  }
  const basePath = base.pathname.endsWith('/') ? base.pathname.slice(0, -1) : base.pathname;
  const prefix = base.href.endsWith('/') ? base.href.slice(0, -1) : base.href;
  const built = prefix + target.path + (target.query === '' ? '' : '?' + target.query);
  let url: URL;
  try {
    url = new URL(built);
  } catch {
    throw originError('upstream URL could not be built');
  }
  if (
    url.origin !== base.origin ||
    url.protocol !== base.protocol ||
    url.host !== base.host ||
    url.username !== base.username ||
    url.password !== base.password
  ) {
    throw originError('upstream URL would leave the service origin');
  }
  if (url.pathname !== basePath + target.path) {
    throw originError('upstream URL path would differ from the checked path');
  }
  if (url.search !== (target.query === '' ? '' : '?' + target.query) || url.hash !== '') {
    throw originError('upstream URL query would differ from the checked query');
  }
  return url.href;
}
