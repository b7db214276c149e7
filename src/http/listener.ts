/**
 * The socket of `janee serve --http`: plain HTTP, or HTTPS with `--tls-cert` and
 * `--tls-key`. A non-loopback address needs TLS (the bearer token and every
 * response would cross the network in clear) unless `--insecure-bind` says the
 * human knows (serve prints a warning).
 */
import * as fs from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { JaneeError, usageError } from '../errors.js';
import { isLoopback } from './checks.js';

export interface ListenOptions {
  host: string;
  port: number;
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  insecureBind?: boolean | undefined;
  /** How long a client may take to send a whole request, headers and body (default 60 s). */
  requestTimeoutMs?: number | undefined;
}

/** An 8 MiB body at 140 KB/s; the answer may take longer (an approval, a slow upstream): this is not a limit on it. */
const REQUEST_TIMEOUT_MS = 60_000;

export interface Bound {
  server: http.Server;
  /** The real port (port 0 picks one). */
  port: number;
  tls: boolean;
  url: string;
  /** Addresses a Host header may name when bound to every interface. */
  interfaces: string[];
}

/** Refuses the options that must not start (exit 2); returns a warning to print, if any. */
export function checkBindOptions(o: ListenOptions): string | undefined {
  if ((o.tlsCert === undefined) !== (o.tlsKey === undefined))
    throw usageError('--tls-cert and --tls-key go together', 'give both files (PEM)');
  if (isLoopback(o.host) || o.tlsCert !== undefined) return undefined;
  if (!o.insecureBind) {
    throw usageError(
      `refusing to serve on ${o.host} without TLS: agent tokens and responses would cross the network in clear`,
      'give --tls-cert FILE --tls-key FILE, bind to 127.0.0.1, or (on a network you trust) add --insecure-bind',
    );
  }
  return `serving on ${o.host} WITHOUT TLS (--insecure-bind): anyone on that network can read agent tokens and responses`;
}

export async function listen(o: ListenOptions, handler: http.RequestListener): Promise<Bound> {
  // A client that sends its request slowly (headers, or a body) gets 408 and loses the
  // socket: a token holder cannot pin sockets and body buffers open for ever. Node's
  // requestTimeout covers receiving the request only, not the time taken to answer it.
  const requestTimeout = o.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const limits: http.ServerOptions = {
    requestTimeout,
    headersTimeout: Math.min(20_000, requestTimeout),
    connectionsCheckingInterval: Math.min(30_000, Math.max(50, requestTimeout / 4)),
  };
  let server: http.Server;
  const tls = o.tlsCert !== undefined && o.tlsKey !== undefined;
  if (tls) {
    let cert: Buffer;
    let key: Buffer;
    try {
      [cert, key] = await Promise.all([fs.readFile(o.tlsCert as string), fs.readFile(o.tlsKey as string)]);
    } catch {
      throw new JaneeError(
        'HTTP_LISTEN',
        'cannot read the TLS certificate or key file',
        'check the paths given to --tls-cert and --tls-key',
      );
    }
    try {
      server = https.createServer({ ...limits, cert, key }, handler);
    } catch {
      throw new JaneeError(
        'HTTP_LISTEN',
        'the TLS certificate or key is not usable (PEM expected, key matching the certificate)',
        'check --tls-cert and --tls-key',
      );
    } finally {
      key.fill(0);
    }
  } else {
    server = http.createServer(limits, handler);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new JaneeError('HTTP_LISTEN', `cannot listen on ${o.host}:${o.port} (${e.code ?? 'error'})`, 'pick another port or address')),
    );
    server.listen(o.port, o.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const hostPart = o.host.includes(':') ? `[${o.host}]` : o.host;
  const interfaces = Object.values(networkInterfaces())
    .flat()
    .flatMap((i) => (i ? [i.address] : []));
  return { server, port, tls, url: `${tls ? 'https' : 'http'}://${hostPart}:${port}/mcp`, interfaces };
}
