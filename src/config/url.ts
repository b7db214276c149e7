/**
 * Parsing of service base URLs and their origins. A credential is bound to an
 * origin (scheme://host[:port], WHATWG URL.origin form), so both sides of that
 * comparison come from this one function.
 */
import { JaneeError } from '../errors.js';

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/** A host name (URL.hostname form) plain http may be used with. */
export const isLoopbackHost = (hostname: string): boolean => LOOPBACK.test(hostname);

interface ParsedBaseUrl {
  /** Normalised: no trailing slash, no query, no fragment. */
  baseUrl: string;
  origin: string;
  /** baseUrl's path without its trailing slash ('' for the root): what the agent's path is appended to. */
  path: string;
}

/**
 * The gate parses its service's base URL on every call; a parse is a pure function
 * of the string, so results are kept (frozen, so no caller can change another's) for
 * the few base URLs a config names. Bounded: a config with more than this many
 * distinct base URLs only parses again. Errors are not kept.
 */
const parsed = new Map<string, Readonly<ParsedBaseUrl>>();
const PARSED_MAX = 256;

export function parseBaseUrl(raw: string): Readonly<ParsedBaseUrl> {
  let p = parsed.get(raw);
  if (p === undefined) {
    p = Object.freeze(parse(raw));
    if (parsed.size >= PARSED_MAX) parsed.clear();
    parsed.set(raw, p);
  }
  return p;
}

function parse(raw: string): ParsedBaseUrl {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new JaneeError('CONFIG_INVALID', `"${printable(raw)}" is not a valid URL`, 'use a full URL such as https://api.example.com');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    throw new JaneeError('CONFIG_INVALID', `base URL must be http(s), got ${u.protocol}`, 'use a full URL such as https://api.example.com');
  }
  if (u.protocol === 'http:' && !isLoopbackHost(u.hostname)) {
    throw new JaneeError(
      'CONFIG_INVALID',
      `refusing plain http to ${u.host}: the credential would cross the network unencrypted`,
      'use https (plain http is allowed only for localhost)',
    );
  }
  if (u.username || u.password)
    throw new JaneeError(
      'CONFIG_INVALID',
      'base URL must not contain a user name or password',
      'put credentials in the vault with `janee add`',
    );
  if (u.search || u.hash || raw.includes('?') || raw.includes('#'))
    throw new JaneeError(
      'CONFIG_INVALID',
      'base URL must not have a query or fragment',
      'use auth type query to send a key as a query parameter',
    );
  const baseUrl = `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
  return { baseUrl, origin: u.origin, path: new URL(baseUrl).pathname.replace(/\/$/, '') };
}

export function originOf(raw: string): string {
  return parseBaseUrl(raw).origin;
}

function printable(s: string): string {
  return s
    .replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/).*@/s, '$1***@')
    .replace(/[?#].*$/s, '?***')
    .replace(/[^\x20-\x7e]/g, '?')
    .slice(0, 200); // never echo userinfo or a query: they may hold a key
}
