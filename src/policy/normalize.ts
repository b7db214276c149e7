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
 *
 * This file splits a request target (or a policy pattern) into segments and
 * checks the query, the method and the upstream URL; segment.ts reads percent
 * escapes and canonicalises one segment; chars.ts holds the character classes
 * (shared with gate/headers.ts).
 */
import { JaneeError } from '../errors.js';
import { describeChar, isAsciiControl, isForbiddenDecodedChar, isQuerySafe, isToken, isUnreserved, isWhitespace } from './chars.js';
import { canonEscape, canonSegment, PATH_HINT, pctByte, readEscape, Reject, type Mode } from './segment.js';

/** Longest accepted request target (path + '?' + query), in UTF-16 code units. */
export const MAX_TARGET_LENGTH = 16 * 1024;

export interface RequestTarget {
  /** Normalised, starts with '/', no query. */
  path: string;
  /** Canonical query string without '?', '' if none. */
  query: string;
}

export const ALLOWED_METHODS: readonly string[] = Object.freeze(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

function badRequest(message: string, hint?: string): JaneeError {
  return new JaneeError('GATE_BAD_REQUEST', message, hint);
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

function checkStart(raw: string, what: Mode): void {
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
      const hint = 'write a literal "%" as %25, or pass values in the `query` field to have them encoded';
      out += canonEscape(readEscape(raw, i, 'query', hint));
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
      if (isForbiddenDecodedChar(ch) || isWhitespace(ch)) {
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
export function normalizeRequestTarget(rawPath: string, extraQuery?: Record<string, string | string[]>): RequestTarget {
  try {
    if (typeof rawPath !== 'string') throw new Reject('path must be a string');
    if (rawPath.length > MAX_TARGET_LENGTH) {
      throw new Reject(`path is too long (${rawPath.length} characters, at most ${MAX_TARGET_LENGTH})`, 'shorten the path or query');
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
      throw new Reject(`request target is too long (at most ${MAX_TARGET_LENGTH} characters after encoding)`, 'shorten the path or query');
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

const METHOD_HINT = `use one of ${ALLOWED_METHODS.join(', ')}`;

/** Case-insensitive in, upper-case out; anything outside ALLOWED_METHODS is refused. */
export function normalizeMethod(method: string): string {
  if (typeof method !== 'string' || method.length === 0) {
    throw badRequest('method is empty', METHOD_HINT);
  }
  if (method.length > 32) throw badRequest('method is too long', METHOD_HINT);
  if (!isToken(method)) {
    throw badRequest(`method ${JSON.stringify(method)} is not a valid HTTP method`, METHOD_HINT);
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
    if (e instanceof Reject) throw new Error(e.message, { cause: e });
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
  return new JaneeError('GATE_ORIGIN_MISMATCH', message, 'check the service baseUrl in config.yaml');
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
  if (target === null || typeof target !== 'object' || typeof target.path !== 'string' || typeof target.query !== 'string') {
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
