import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JaneeError } from '../../src/errors.js';
import { Forwarder } from '../../src/gate/forward.js';
import {
  MAX_AGENT_HEADER_BYTES,
  MAX_AGENT_HEADERS,
  pickResponseHeaders,
  RESPONSE_HEADER_ALLOWLIST,
  sanitizeAgentHeaders,
} from '../../src/gate/headers.js';
import { applyInjection, injectCredential } from '../../src/gate/inject.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

function refused(h: Record<string, string>, auth?: string): JaneeError {
  try {
    sanitizeAgentHeaders(h, auth);
  } catch (e) {
    expect(e).toBeInstanceOf(JaneeError);
    expect((e as JaneeError).code).toBe('GATE_BAD_REQUEST');
    return e as JaneeError;
  }
  throw new Error('expected GATE_BAD_REQUEST');
}

describe('sanitizeAgentHeaders', () => {
  it('drops accept-charset and charset parameters in accept (a UTF-16/32 body hides a secret from a byte search)', () => {
    expect(sanitizeAgentHeaders({ 'Accept-Charset': 'utf-16', 'x-ok': '1' })).toEqual({ 'x-ok': '1' });
    expect(sanitizeAgentHeaders({ Accept: 'application/json; charset=utf-32; q=0.9, text/plain;CHARSET="utf-16", */*' })).toEqual({
      accept: 'application/json; q=0.9, text/plain, */*',
    });
    expect(sanitizeAgentHeaders({ accept: 'application/json' })).toEqual({ accept: 'application/json' });
  });

  it('drops credential, routing, override, hop-by-hop and encoding headers in any case', () => {
    const dropped = [
      'Authorization',
      'PROXY-AUTHORIZATION',
      'Proxy-Connection',
      'Cookie',
      'Host',
      'Forwarded',
      'X-Forwarded-For',
      'X-Forwarded-Host',
      'x-forwarded-proto',
      'X-Real-IP',
      'X-HTTP-Method-Override',
      'X-HTTP-Method',
      'X-Method-Override',
      'X-Original-URL',
      'X-Rewrite-URL',
      'Connection',
      'Keep-Alive',
      'TE',
      'Trailer',
      'Transfer-Encoding',
      'Upgrade',
      'Content-Length',
      'Expect',
      'Accept-Encoding',
      'Range',
      'Via',
    ];
    const h: Record<string, string> = { Accept: 'application/json', 'X-Custom': ' v ' };
    for (const n of dropped) h[n] = 'x';
    expect(sanitizeAgentHeaders(h)).toEqual({ accept: 'application/json', 'x-custom': 'v' });
  });

  it('drops the header the service auth injects', () => {
    expect(sanitizeAgentHeaders({ 'X-API-KEY': 'agent', accept: '*/*' }, 'x-api-key')).toEqual({ accept: '*/*' });
  });

  it('undefined -> {}', () => {
    expect(sanitizeAgentHeaders(undefined)).toEqual({});
  });

  it('refuses CR, LF, NUL and other controls in values (header smuggling), naming the header only', () => {
    for (const v of ['a\r\nHost: evil', 'a\nb', 'a\rb', 'a\u0000b', 'a\u001bb', 'a\u007fb']) {
      const e = refused({ 'X-Test': v });
      expect(e.message).toContain('"X-Test"');
      expect(e.message).toContain('smuggling');
      expect(e.message).not.toContain(v);
    }
    expect(sanitizeAgentHeaders({ 'x-tab': 'a\tb' })).toEqual({ 'x-tab': 'a\tb' });
    refused({ 'x-emoji': 'a😀' });
  });

  it('refuses names that are not RFC 7230 tokens (e.g. "Authorization " with a space)', () => {
    for (const n of ['Authorization ', ' Authorization', 'Auth:orization', 'X Y', 'x\r\ny', '', 'é', 'a(b)']) {
      refused({ [n]: 'x' });
    }
  });

  it('refuses the same name twice in different case', () => {
    refused({ 'X-Custom': 'a', 'x-custom': 'b' });
    // Even for a dropped header: an ambiguous request is refused, not guessed at.
    refused({ authorization: 'a', AUTHORIZATION: 'b' });
  });

  it('caps count and total size', () => {
    const many: Record<string, string> = {};
    for (let i = 0; i <= MAX_AGENT_HEADERS; i++) many[`x-h${i}`] = 'v';
    expect(refused(many).message).toContain('too many');
    expect(refused({ 'x-big': 'a'.repeat(MAX_AGENT_HEADER_BYTES) }).message).toContain('too large');
  });

  it('refuses non-string values', () => {
    refused({ 'x-n': 5 as unknown as string });
  });
});

describe('smuggling attempts over a real upstream', () => {
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

  it('the upstream sees only the injected credential, its own Host, and the real method', async () => {
    const agent = {
      Authorization: 'Bearer agent-token',
      'proxy-authorization': 'Basic eHg6eXk=',
      Host: 'evil.example',
      'X-Forwarded-Host': 'evil.example',
      'X-Forwarded-For': '1.2.3.4',
      Forwarded: 'host=evil.example',
      'X-HTTP-Method-Override': 'DELETE',
      'Transfer-Encoding': 'chunked',
      'Content-Length': '999',
      Cookie: 'session=stolen',
      'X-Original-URL': '/admin',
      'Accept-Encoding': 'gzip',
      Accept: 'application/json',
    };
    const headers = sanitizeAgentHeaders(agent, 'authorization');
    const { url, headers: h } = applyInjection(`${up.url}/echo`, headers, injectCredential({ type: 'bearer' }, { token: 'real-token' }));
    const before = up.requests.length;
    const res = await fwd.forward({ url, method: 'GET', headers: h, body: undefined, timeoutMs: 5000, maxResponseBytes: 1 << 20 });
    expect(res.status).toBe(200);
    const rec = up.requests[before]!;
    expect(rec.method).toBe('GET');
    expect(rec.headers.authorization).toBe('Bearer real-token');
    expect(rec.rawHeaders.filter((n) => n.toLowerCase() === 'authorization')).toHaveLength(1);
    expect(rec.headers.host).toBe(`127.0.0.1:${up.port}`);
    for (const n of [
      'proxy-authorization',
      'x-forwarded-host',
      'x-forwarded-for',
      'forwarded',
      'x-http-method-override',
      'transfer-encoding',
      'cookie',
      'x-original-url',
    ]) {
      expect(rec.headers[n]).toBeUndefined();
    }
    expect(rec.headers['accept-encoding']).toBe('identity');
    expect(rec.headers['content-length']).toBeUndefined();
    expect(rec.headers.accept).toBe('application/json');
  });

  it('a POST body is framed by undici, not by agent headers', async () => {
    const headers = sanitizeAgentHeaders({ 'Content-Length': '1', 'Transfer-Encoding': 'chunked', 'content-type': 'text/plain' });
    const before = up.requests.length;
    await fwd.forward({ url: `${up.url}/echo`, method: 'POST', headers, body: 'hello world', timeoutMs: 5000, maxResponseBytes: 1 << 20 });
    const rec = up.requests[before]!;
    expect(rec.body.toString()).toBe('hello world');
    expect(rec.headers['content-length']).toBe('11');
    expect(up.requests).toHaveLength(before + 1); // no second, smuggled request
  });
});

describe('pickResponseHeaders', () => {
  it('keeps only the allowlist, lower-cased, arrays joined', () => {
    const picked = pickResponseHeaders({
      'Content-Type': 'application/json',
      Location: '/next',
      ETag: '"abc"',
      Link: ['<a>; rel="next"', '<b>; rel="prev"'],
      'Retry-After': '30',
      'X-RateLimit-Remaining': '10',
      'RateLimit-Policy': '100;w=60',
      'X-Request-Id': 'req_1',
      'Set-Cookie': ['a=b'],
      'Set-Cookie2': 'x',
      Server: 'nginx',
      'X-Secret-Debug': 'token',
      'Content-Encoding': 'gzip',
      'Access-Control-Allow-Origin': '*',
      missing: undefined,
    });
    expect(picked).toEqual({
      'content-type': 'application/json',
      location: '/next',
      etag: '"abc"',
      link: '<a>; rel="next", <b>; rel="prev"',
      'retry-after': '30',
      'x-ratelimit-remaining': '10',
      'ratelimit-policy': '100;w=60',
      'x-request-id': 'req_1',
    });
  });

  it('the allowlist never includes cookies or auth-bearing headers', () => {
    for (const n of ['set-cookie', 'authorization', 'proxy-authenticate', 'cookie']) {
      expect(RESPONSE_HEADER_ALLOWLIST).not.toContain(n);
    }
  });
});
