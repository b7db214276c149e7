/**
 * What every HTTP request to `janee serve --http` must pass before anything else
 * (pure: header values in, verdicts out):
 * - Host names the address serve is bound to (or localhost, for a loopback bind):
 *   a page on a rebound DNS name reaches 127.0.0.1 with its own Host (DNS rebinding);
 * - an Origin header, when present, is one the human allowed (`--allow-origin`):
 *   browsers send one on every cross-site request, MCP clients outside one send none;
 * - `Authorization: Bearer <token>` (checked against the vault by the gate).
 */
import { isIP } from 'node:net';

/** `[HOST:]PORT` as given to `--http`: host default 127.0.0.1; IPv6 in brackets. */
export function parseListen(raw: string): { host: string; port: number } | undefined {
  const m = /^(?:(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):)?(\d{1,5})$/.exec(raw.trim());
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port > 65535) return undefined;
  const host = m[1] === undefined ? '127.0.0.1' : m[1].replace(/^\[|\]$/g, '');
  if (host.includes(':') && isIP(host) !== 6) return undefined;
  return { host, port };
}

/** 127.0.0.0/8, ::1, localhost (and ::ffff:127.x). */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/**
 * A name given to `--allow-host`: a DNS name (letters, digits, hyphens, dots) or an IP
 * address, without a port (the bound port is implied). No wildcards: a name allowed
 * here is one a DNS-rebinding page could use, so each is named by the human.
 */
export function validHostName(raw: string): boolean {
  if (isIP(raw.replace(/^\[(.*)\]$/, '$1')) !== 0) return true;
  return (
    raw.length <= 253 && /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(raw)
  );
}

/**
 * Host header values accepted for a server bound to `host` (or, for 0.0.0.0/::, to any
 * of `interfaces`) on `port`, plus the names allowed with `--allow-host` (a container
 * reaches the host as host.docker.internal, a name the bound address cannot tell).
 */
export function allowedHosts(
  host: string,
  port: number,
  tls: boolean,
  interfaces: readonly string[],
  extra: readonly string[] = [],
): Set<string> {
  const names = host === '0.0.0.0' || host === '::' ? [...interfaces] : [host];
  names.push(...extra.map((n) => n.replace(/^\[|\]$/g, '')));
  if (names.some(isLoopback)) names.push('localhost', '127.0.0.1', '::1');
  const out = new Set<string>();
  const defaultPort = tls ? 443 : 80;
  for (const n of names) {
    const h = (isIP(n) === 6 ? `[${n}]` : n).toLowerCase();
    out.add(`${h}:${port}`);
    if (port === defaultPort) out.add(h);
  }
  return out;
}

export function hostAllowed(hostHeader: string | undefined, allowed: ReadonlySet<string>): boolean {
  return hostHeader !== undefined && allowed.has(hostHeader.toLowerCase());
}

/** An allowed origin in canonical form (`new URL(x).origin`), or undefined. */
export function canonicalOrigin(raw: string): string | undefined {
  try {
    const o = new URL(raw).origin;
    return o === 'null' ? undefined : o;
  } catch {
    return undefined;
  }
}

/** No Origin header: not a browser, allowed. One that is present must be listed. */
export function originAllowed(originHeader: string | undefined, allowed: ReadonlySet<string>): boolean {
  if (originHeader === undefined) return true;
  const o = canonicalOrigin(originHeader);
  return o !== undefined && o === originHeader.replace(/\/$/, '') && allowed.has(o);
}

/** The token of `Authorization: Bearer <token>`; undefined when absent or another scheme. */
export function bearerToken(header: string | undefined): string | undefined {
  const m = header === undefined ? null : /^Bearer +(\S+) *$/i.exec(header);
  return m?.[1];
}
