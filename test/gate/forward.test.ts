import * as net from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JaneeError } from '../../src/errors.js';
import { encodeBody } from '../../src/gate/body.js';
import { Forwarder, type ForwardRequest } from '../../src/gate/forward.js';
import { closedPort, sleep, startRawServer, startUpstream, type Upstream } from '../helpers/upstream.js';

const SECRET = 'sk_test_QUERYSECRET_0123456789abcdef';

let up: Upstream;
let fwd: Forwarder;

beforeAll(async () => {
  up = await startUpstream();
  fwd = new Forwarder();
});
afterAll(async () => {
  await fwd.close();
  await up.close();
});

function req(path: string, over: Partial<ForwardRequest> = {}): ForwardRequest {
  return { url: `${up.url}${path}`, method: 'GET', headers: {}, body: undefined, timeoutMs: 5_000, maxResponseBytes: 1024 * 1024, ...over };
}

async function failure(p: Promise<unknown>): Promise<JaneeError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(JaneeError);
    return e as JaneeError;
  }
  throw new Error('expected a failure');
}

/** The message must carry neither the query secret nor any header value. */
function expectClean(e: JaneeError): void {
  const text = JSON.stringify(e.toJSON());
  expect(text).not.toContain(SECRET);
  expect(text).not.toContain('QUERYSECRET');
  expect(text).not.toContain('HEADERSECRET');
  expect(text).not.toContain('/secret-path');
}

describe('Forwarder basics', () => {
  it('sends method, headers and body; returns status, headers and body', async () => {
    const res = await fwd.forward(
      req('/echo?a=1', {
        method: 'POST',
        headers: { 'x-test': 'yes', 'content-type': 'text/plain', 'Accept-Encoding': 'gzip' },
        body: 'hello',
      }),
    );
    expect(res.status).toBe(200);
    expect(res.truncated).toBe(false);
    expect(res.headers['content-type']).toBe('application/json');
    const echoed = JSON.parse(Buffer.from(res.body).toString('utf8'));
    expect(echoed).toMatchObject({ method: 'POST', url: '/echo?a=1', body: 'hello' });
    expect(echoed.headers['x-test']).toBe('yes');
    expect(echoed.headers['accept-encoding']).toBe('identity');
  });

  it('sends a Uint8Array body byte for byte', async () => {
    const bytes = new Uint8Array([0, 1, 2, 255, 254, 10, 13]);
    const before = up.requests.length;
    await fwd.forward(req('/status?code=204', { method: 'PUT', body: bytes }));
    expect(up.requests[before]!.body.equals(Buffer.from(bytes))).toBe(true);
  });

  it('reuses keep-alive connections', async () => {
    const u2 = await startUpstream();
    const f = new Forwarder();
    try {
      for (let i = 0; i < 20; i++) await f.forward({ ...req('/echo'), url: `${u2.url}/echo` });
      // undici (raw request() too) opens a second socket once, then reuses it.
      expect(u2.connections).toBeLessThanOrEqual(2);
    } finally {
      await f.close();
      await u2.close();
    }
  });

  it('returns 3xx as is and never follows a redirect (the attacker sees nothing)', async () => {
    const attacker = await startUpstream();
    try {
      for (const status of [301, 302, 303, 307, 308]) {
        const to = `${attacker.url}/steal`;
        const res = await fwd.forward(
          req(`/redirect?status=${status}&to=${encodeURIComponent(to)}`, { headers: { authorization: 'Bearer HEADERSECRET' } }),
        );
        expect(res.status).toBe(status);
        expect(res.headers.location).toBe(to);
      }
      // Same-origin redirect is not followed either.
      const res = await fwd.forward(req(`/redirect?to=${encodeURIComponent('/echo')}`));
      expect(res.status).toBe(302);
      expect(up.requests.at(-1)!.url.startsWith('/redirect')).toBe(true);
      await sleep(100);
      expect(attacker.requests).toHaveLength(0);
      expect(attacker.connections).toBe(0);
    } finally {
      await attacker.close();
    }
  });
});

describe('body cap', () => {
  it('truncates a 50 MB stream at the cap without buffering it', async () => {
    const f = new Forwarder();
    const sentBefore = up.bytesSent;
    const finishedBefore = up.finishedStreams;
    const memBefore = process.memoryUsage().arrayBuffers;
    const res = await f.forward(req(`/bytes?n=${50 * 1024 * 1024}`, { maxResponseBytes: 1024 * 1024 }));
    const memAfter = process.memoryUsage().arrayBuffers;
    expect(res.truncated).toBe(true);
    expect(res.body.length).toBe(1024 * 1024);
    expect(res.headers['content-length']).toBe(String(50 * 1024 * 1024));
    expect(memAfter - memBefore).toBeLessThan(16 * 1024 * 1024);
    await sleep(100);
    // We stopped reading: the server could not push the whole stream.
    expect(up.bytesSent - sentBefore).toBeLessThan(20 * 1024 * 1024);
    expect(up.finishedStreams).toBe(finishedBefore);
    await f.close();
  });

  it('truncates an endless body', async () => {
    const res = await fwd.forward(req('/bytes?n=inf', { maxResponseBytes: 100_000 }));
    expect(res.truncated).toBe(true);
    expect(res.body.length).toBe(100_000);
  });

  it('a body of exactly the cap is not truncated; one byte more is', async () => {
    const a = await fwd.forward(req('/bytes?n=5000&chunk=777', { maxResponseBytes: 5000 }));
    expect(a.truncated).toBe(false);
    expect(a.body.length).toBe(5000);
    const b = await fwd.forward(req('/bytes?n=5001&chunk=777', { maxResponseBytes: 5000 }));
    expect(b.truncated).toBe(true);
    expect(b.body.length).toBe(5000);
  });

  it('still works on the same forwarder after truncations (no leaked sockets)', async () => {
    for (let i = 0; i < 20; i++) {
      const r = await fwd.forward(req('/bytes?n=300000', { maxResponseBytes: 1000 }));
      expect(r.truncated).toBe(true);
    }
    const ok = await fwd.forward(req('/echo'));
    expect(ok.status).toBe(200);
    await sleep(100);
    expect(up.openSockets()).toBeLessThan(10);
  });
});

describe('timeouts', () => {
  it('slow headers -> GATE_UPSTREAM_TIMEOUT (headers)', async () => {
    const t0 = performance.now();
    const e = await failure(fwd.forward(req(`/slow-headers?ms=3000&key=${SECRET}`, { timeoutMs: 300 })));
    const took = performance.now() - t0;
    expect(e.code).toBe('GATE_UPSTREAM_TIMEOUT');
    expect(e.message).toBe(`upstream ${up.url} timed out after 0.3s (headers)`);
    expect(took).toBeGreaterThanOrEqual(280);
    expect(took).toBeLessThan(2000);
    expectClean(e);
  });

  it('slow body -> GATE_UPSTREAM_TIMEOUT (body)', async () => {
    const e = await failure(fwd.forward(req('/slow-body?ms=inf', { timeoutMs: 300 })));
    expect(e.code).toBe('GATE_UPSTREAM_TIMEOUT');
    expect(e.message).toContain('(body)');
  });

  it('a trickling body cannot outlive the deadline', async () => {
    const t0 = performance.now();
    const e = await failure(fwd.forward(req('/trickle?every=50', { timeoutMs: 400 })));
    expect(e.code).toBe('GATE_UPSTREAM_TIMEOUT');
    expect(e.message).toContain('(body)');
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('a hanging server -> headers timeout; the forwarder keeps working', async () => {
    const e = await failure(fwd.forward(req('/hang', { timeoutMs: 200 })));
    expect(e.code).toBe('GATE_UPSTREAM_TIMEOUT');
    expect((await fwd.forward(req('/echo'))).status).toBe(200);
  });

  it('a TLS handshake that never completes -> (connect), with either timer', async () => {
    // A TCP server that accepts and stays silent: for https the connection is never
    // established (undici's connect includes the TLS handshake).
    const silent = net.createServer((s) => s.on('error', () => undefined));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as net.AddressInfo).port;
    const f = new Forwarder({ connectTimeoutMs: 250 });
    try {
      const e = await failure(f.forward({ ...req('/'), url: `https://127.0.0.1:${port}/secret-path?key=${SECRET}`, timeoutMs: 5000 }));
      expect(e.code).toBe('GATE_UPSTREAM_TIMEOUT');
      expect(e.message).toBe(`upstream https://127.0.0.1:${port} timed out after 0.25s (connect)`);
      expectClean(e);
      // The per-call deadline shorter than the connect timeout: still `connect`.
      const e2 = await failure(f.forward({ ...req('/'), url: `https://127.0.0.1:${port}/x`, timeoutMs: 100 }));
      expect(e2.code).toBe('GATE_UPSTREAM_TIMEOUT');
      expect(e2.message).toBe(`upstream https://127.0.0.1:${port} timed out after 0.1s (connect)`);
    } finally {
      await f.close();
      silent.close();
    }
  });

  it('TLS to a plain HTTP server -> GATE_UPSTREAM_ERROR (TLS)', async () => {
    const e = await failure(fwd.forward({ ...req('/'), url: `${up.url.replace('http:', 'https:')}/x?key=${SECRET}` }));
    expect(e.code).toBe('GATE_UPSTREAM_ERROR');
    expect(e.message).toMatch(/TLS handshake failed|connection/);
    expectClean(e);
  });
});

describe('connection errors', () => {
  it('connection refused -> GATE_UPSTREAM_ERROR, no secret in the message', async () => {
    const port = await closedPort();
    const e = await failure(
      fwd.forward({
        ...req('/'),
        url: `http://127.0.0.1:${port}/secret-path?key=${SECRET}`,
        headers: { authorization: 'Bearer HEADERSECRET' },
      }),
    );
    expect(e.code).toBe('GATE_UPSTREAM_ERROR');
    expect(e.message).toBe(`upstream http://127.0.0.1:${port}: connection refused (ECONNREFUSED)`);
    expectClean(e);
  });

  it('connection reset mid-body -> GATE_UPSTREAM_ERROR while reading the body', async () => {
    const e = await failure(fwd.forward(req(`/reset?key=${SECRET}`)));
    expect(e.code).toBe('GATE_UPSTREAM_ERROR');
    expect(e.message).toMatch(/while reading the body/);
    expect(e.message).toMatch(/ECONNRESET|UND_ERR_SOCKET/);
    expectClean(e);
  });

  it('DNS failure -> GATE_UPSTREAM_ERROR', async () => {
    const e = await failure(fwd.forward({ ...req('/'), url: `http://nonexistent.invalid/x?key=${SECRET}`, timeoutMs: 5000 }));
    expect(['GATE_UPSTREAM_ERROR', 'GATE_UPSTREAM_TIMEOUT']).toContain(e.code);
    expectClean(e);
  });

  it.each([
    ['garbage instead of HTTP', 'NOT HTTP AT ALL\r\n\r\n'],
    ['bad content-length', 'HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\nhello'],
    ['CR injection in a header', 'HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 0\r\n\r\n'],
    ['short body', 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this'],
  ])('malformed response (%s) -> GATE_UPSTREAM_ERROR', async (_name, reply) => {
    const raw = await startRawServer(reply);
    try {
      const e = await failure(
        fwd.forward({ ...req('/'), url: `${raw.url}/secret-path?key=${SECRET}`, headers: { 'x-api-key': 'HEADERSECRET' } }),
      );
      expect(e.code).toBe('GATE_UPSTREAM_ERROR');
      expect(e.message.startsWith(`upstream ${raw.url}: `)).toBe(true);
      expect(e.message).not.toContain('UNKNOWN');
      expectClean(e);
    } finally {
      await raw.close();
    }
  });

  it('an invalid header value is refused before sending, without echoing it', async () => {
    const e = await failure(fwd.forward(req('/echo', { headers: { 'x-a': 'HEADERSECRET\r\nx-b: y' } })));
    expect(e.code).toBe('GATE_BAD_REQUEST');
    expectClean(e);
  });

  it('rejects non-http URLs', async () => {
    const e = await failure(fwd.forward({ ...req('/'), url: 'file:///etc/passwd' }));
    expect(e.code).toBe('GATE_BAD_REQUEST');
  });
});

describe('content-encoding', () => {
  it('decodes gzip (so redaction sees plaintext) and drops content-encoding', async () => {
    const res = await fwd.forward(req('/gzip'));
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(Buffer.from(res.body).toString('utf8')).url).toBe('/gzip');
  });

  it('caps decoded bytes of a compression bomb', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024)); // ~64 KiB compressed
    up.route('/bomb', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-encoding': 'gzip' });
      res.end(bomb);
    });
    const res = await fwd.forward(req('/bomb', { maxResponseBytes: 1024 * 1024 }));
    expect(res.truncated).toBe(true);
    expect(res.body.length).toBe(1024 * 1024);
  });

  it('an encoding it cannot decode is an error, not an opaque body', async () => {
    const e = await failure(fwd.forward(req('/zstd')));
    expect(e.code).toBe('GATE_UPSTREAM_ERROR');
    expect(e.message).toContain('zstd');
  });

  it('corrupt gzip -> GATE_UPSTREAM_ERROR', async () => {
    up.route('/badgzip', (_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip' });
      res.end(Buffer.from('this is not gzip at all'));
    });
    const e = await failure(fwd.forward(req('/badgzip')));
    expect(e.code).toBe('GATE_UPSTREAM_ERROR');
    expect(e.message).toMatch(/corrupt compressed/);
  });
});

describe('encodeBody', () => {
  it('binary from the upstream -> base64', async () => {
    const res = await fwd.forward(req('/binary?n=1000'));
    const enc = encodeBody(res.body, res.headers['content-type']);
    expect(enc.bodyEncoding).toBe('base64');
    expect(Buffer.from(enc.body, 'base64').equals(Buffer.from(res.body))).toBe(true);
  });

  it('textual types with valid UTF-8 -> utf8', () => {
    const b = Buffer.from('{"a":"héllo ✓"}');
    for (const ct of [
      'application/json',
      'application/json; charset=utf-8',
      'text/html',
      'application/problem+json',
      'application/atom+xml',
      'application/x-www-form-urlencoded',
      'application/javascript',
    ]) {
      expect(encodeBody(b, ct)).toEqual({ body: '{"a":"héllo ✓"}', bodyEncoding: 'utf8' });
    }
  });

  it('textual type but invalid UTF-8 -> base64', () => {
    expect(encodeBody(Buffer.from([0x7b, 0xff, 0x7d]), 'application/json').bodyEncoding).toBe('base64');
  });

  it('non-textual type -> base64 even when the bytes are ASCII', () => {
    expect(encodeBody(Buffer.from('abc'), 'application/octet-stream').bodyEncoding).toBe('base64');
    expect(encodeBody(Buffer.from('abc'), 'image/png').bodyEncoding).toBe('base64');
  });

  it('no content-type: utf8 if valid UTF-8 without NUL', () => {
    expect(encodeBody(Buffer.from('plain'), undefined)).toEqual({ body: 'plain', bodyEncoding: 'utf8' });
    expect(encodeBody(Buffer.from('a\u0000b'), undefined).bodyEncoding).toBe('base64');
  });

  it('a truncated body cut inside a multi-byte character stays utf8', () => {
    const full = Buffer.from('abc✓'); // ✓ is 3 bytes
    const cut = full.subarray(0, full.length - 1);
    expect(encodeBody(cut, 'text/plain').bodyEncoding).toBe('base64');
    expect(encodeBody(cut, 'text/plain', { truncated: true })).toEqual({ body: 'abc', bodyEncoding: 'utf8' });
  });

  it('keeps a BOM and handles empty bodies', () => {
    expect(encodeBody(Buffer.from('\ufeffhi'), 'text/plain').body).toBe('\ufeffhi');
    expect(encodeBody(new Uint8Array(0), 'image/png')).toEqual({ body: '', bodyEncoding: 'utf8' });
  });
});
