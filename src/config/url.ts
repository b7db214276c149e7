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
}

export function parseBaseUrl(raw: string): ParsedBaseUrl {
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
  const pathname = u.pathname.replace(/\/+$/, '');
  return { baseUrl: `${u.origin}${pathname}`, origin: u.origin };
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
