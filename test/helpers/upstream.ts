/**
 * A real loopback HTTP server on port 0 for gate tests. Records every request
 * (method, url, headers, raw headers, body) and answers according to the path:
 *
 *   /echo (and any unknown path)   200 JSON { method, url, headers, body }
 *   /echo-secret                   the Authorization header and the `key` query
 *                                  value echoed raw, base64, URL- and JSON-encoded,
 *                                  in the body and in allowlisted response headers
 *   /pad?n=N                       N bytes of "x" then the Authorization value
 *   /redirect?to=URL&status=302    a redirect to URL
 *   /bytes?n=N|inf&chunk=C         N bytes (or endless) of "a", streamed with backpressure
 *   /binary?n=N                    N bytes 0..255 repeating (NULs included), octet-stream
 *   /slow-headers?ms=N             waits N ms before the response head
 *   /slow-body?ms=N                head + first chunk, then N ms (or `inf`) before the end
 *   /trickle?every=N               one byte every N ms, forever
 *   /reset                         head + part of the body, then a TCP RST
 *   /hang                          never answers
 *   /status?code=N                 that status, empty body
 *   /gzip                          the /echo JSON, gzip-compressed (content-encoding: gzip)
 *   /zstd                          a body claiming content-encoding: zstd
 *
 * `route(path, handler)` overrides or adds a path. `startRawServer` gives a plain
 * TCP server for malformed HTTP.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { gzipSync } from 'node:zlib';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, rec: RecordedRequest) => void | Promise<void>;

export interface Upstream {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** Body bytes written by /bytes responses (to check we stopped reading early). */
  bytesSent: number;
  /** Whether a /bytes response was written to the end. */
  finishedStreams: number;
  /** Live sockets right now (to check keep-alive reuse / leaks). */
  openSockets(): number;
  /** Connections accepted so far. */
  connections: number;
  route(path: string, handler: Handler): void;
  close(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startUpstream(): Promise<Upstream> {
  const routes = new Map<string, Handler>();
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const up: Upstream = {
    url: '',
    port: 0,
    requests: [],
    bytesSent: 0,
    finishedStreams: 0,
    connections: 0,
    openSockets: () => sockets.size,
    route: (path, handler) => void routes.set(path, handler),
    close: async () => {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };

  const echo = (req: http.IncomingMessage, rec: RecordedRequest): string =>
    JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: rec.body.toString('utf8') });

  const builtin: Record<string, Handler> = {
    '/echo': (req, res, rec) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(echo(req, rec));
    },
    '/echo-secret': (req, res) => {
      const auth = req.headers.authorization ?? '';
      const key = new URL(req.url ?? '/', 'http://x').searchParams.get('key') ?? '';
      const forms = (v: string): Record<string, string> => ({
        raw: v,
        base64: Buffer.from(v).toString('base64'),
        base64url: Buffer.from(v).toString('base64url'),
        uri: encodeURIComponent(v),
        form: new URLSearchParams([['k', v]]).toString().slice(2),
        json: JSON.stringify(v).slice(1, -1),
      });
      const body = JSON.stringify({ auth: forms(auth), key: forms(key), url: req.url, embedded: `prefix${auth}suffix` });
      res.writeHead(200, {
        'content-type': 'application/json',
        'x-request-id': auth,
        location: `https://example.test/next?key=${encodeURIComponent(key)}`,
        link: `<https://example.test/?a=${Buffer.from(auth).toString('base64')}>; rel="next"`,
        'www-authenticate': `Bearer realm="${auth}"`,
        'x-secret-not-allowlisted': auth,
      });
      res.end(body);
    },
    '/pad': (req, res) => {
      const n = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('n') ?? '0');
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`${'x'.repeat(n)}${req.headers.authorization ?? ''}`);
    },
    '/redirect': (req, res) => {
      const q = new URL(req.url ?? '/', 'http://x').searchParams;
      res.writeHead(Number(q.get('status') ?? '302'), { location: q.get('to') ?? '/' });
      res.end('redirecting');
    },
    '/bytes': (req, res) => {
      const q = new URL(req.url ?? '/', 'http://x').searchParams;
      const nParam = q.get('n') ?? '0';
      const endless = nParam === 'inf';
      let left = endless ? Number.POSITIVE_INFINITY : Number(nParam);
      const chunk = Buffer.alloc(Number(q.get('chunk') ?? '65536'), 'a');
      res.writeHead(
        200,
        endless ? { 'content-type': 'application/octet-stream' } : { 'content-type': 'text/plain', 'content-length': String(left) },
      );
      const pump = (): void => {
        while (left > 0) {
          const c = left >= chunk.length ? chunk : chunk.subarray(0, left);
          left -= c.length;
          up.bytesSent += c.length;
          if (!res.write(c)) {
            res.once('drain', pump);
            return;
          }
        }
        up.finishedStreams++;
        res.end();
      };
      res.on('error', () => undefined);
      pump();
    },
    '/binary': (req, res) => {
      const n = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('n') ?? '1024');
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++) b[i] = i % 256;
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(b);
    },
    '/slow-headers': (req, res, rec) => {
      const ms = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('ms') ?? '1000');
      later(ms, () => {
        if (res.destroyed) return;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(echo(req, rec));
      });
    },
    '/slow-body': (req, res) => {
      const ms = new URL(req.url ?? '/', 'http://x').searchParams.get('ms') ?? '1000';
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first part;');
      if (ms !== 'inf') later(Number(ms), () => res.destroyed || res.end('last part'));
    },
    '/trickle': (req, res) => {
      const every = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('every') ?? '50');
      res.writeHead(200, { 'content-type': 'text/plain' });
      const tick = (): void => {
        if (res.destroyed) return;
        res.write('.');
        later(every, tick);
      };
      tick();
    },
    '/reset': (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100000' });
      res.write('partial body');
      later(30, () => res.socket?.resetAndDestroy());
    },
    '/hang': () => undefined,
    '/status': (req, res) => {
      res.writeHead(Number(new URL(req.url ?? '/', 'http://x').searchParams.get('code') ?? '200'));
      res.end();
    },
    '/gzip': (req, res, rec) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.end(gzipSync(echo(req, rec)));
    },
    '/zstd': (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'zstd' });
      res.end(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0]));
    },
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rec: RecordedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks),
      };
      up.requests.push(rec);
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const h = routes.get(path) ?? builtin[path] ?? builtin['/echo']!;
      void Promise.resolve(h(req, res, rec)).catch(() => res.destroy());
    });
  });
  server.keepAliveTimeout = 10_000;
  server.on('connection', (s: net.Socket) => {
    up.connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  up.port = port;
  up.url = `http://127.0.0.1:${port}`;
  return up;
}

export interface RawServer {
  url: string;
  port: number;
  /** Connections accepted. */
  connections: number;
  close(): Promise<void>;
}

/**
 * A TCP server that reads the request head and answers with `reply` bytes
 * verbatim (for malformed HTTP), then closes.
 */
export async function startRawServer(reply: string | Buffer): Promise<RawServer> {
  const sockets = new Set<net.Socket>();
  const raw: RawServer = {
    url: '',
    port: 0,
    connections: 0,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server = net.createServer((s) => {
    raw.connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      if (buf.includes('\r\n\r\n')) {
        s.end(reply);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  raw.port = (server.address() as net.AddressInfo).port;
  raw.url = `http://127.0.0.1:${raw.port}`;
  return raw;
}

/** A port on 127.0.0.1 with nothing listening (bound, then released). */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export { sleep };
