import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthSpec } from '../../src/config/types.js';
import { JaneeError } from '../../src/errors.js';
import { Forwarder } from '../../src/gate/forward.js';
import { sanitizeAgentHeaders } from '../../src/gate/headers.js';
import { applyInjection, authHeaderName, injectCredential, secretVariants } from '../../src/gate/inject.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

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

/** What the gate does: sanitize, inject, send; returns what the upstream recorded. */
async function send(auth: AuthSpec, fields: Record<string, string>, path = '/echo', agentHeaders: Record<string, string> = {}) {
  const headers = sanitizeAgentHeaders(agentHeaders, authHeaderName(auth));
  const inj = injectCredential(auth, fields, 'svc');
  const { url, headers: h } = applyInjection(`${up.url}${path}`, headers, inj);
  const before = up.requests.length;
  await fwd.forward({ url, method: 'GET', headers: h, body: undefined, timeoutMs: 5000, maxResponseBytes: 1 << 20 });
  expect(up.requests.length).toBe(before + 1);
  return up.requests[before]!;
}

describe('injectCredential over a real upstream', () => {
  it('bearer -> Authorization: Bearer <token>', async () => {
    const rec = await send({ type: 'bearer' }, { token: 'tok_bearer_123' });
    expect(rec.headers.authorization).toBe('Bearer tok_bearer_123');
  });

  it('basic -> Authorization: Basic base64(user:pass)', async () => {
    const rec = await send({ type: 'basic' }, { username: 'alice', password: 'p@ss:w0rd' });
    expect(rec.headers.authorization).toBe(`Basic ${Buffer.from('alice:p@ss:w0rd').toString('base64')}`);
  });

  it('basic with an empty password (key-as-username, Stripe style)', async () => {
    const rec = await send({ type: 'basic' }, { username: 'sk_test_abc', password: '' });
    expect(rec.headers.authorization).toBe(`Basic ${Buffer.from('sk_test_abc:').toString('base64')}`);
  });

  it('header -> <name>: <token>, whatever case the agent tries', async () => {
    const rec = await send({ type: 'header', name: 'X-Api-Key' }, { token: 'hdr_tok_456' }, '/echo', {
      'x-API-key': 'agent-value',
      'x-other': 'ok',
    });
    expect(rec.headers['x-api-key']).toBe('hdr_tok_456');
    expect(rec.rawHeaders.filter((n) => n.toLowerCase() === 'x-api-key')).toHaveLength(1);
    expect(rec.headers['x-other']).toBe('ok');
  });

  it('query -> ?param=<token>, replacing an agent-supplied param of that name', async () => {
    const rec = await send({ type: 'query', param: 'api_key' }, { token: 'q tok&=/é' }, '/echo?a=1&api_key=agent&api_key=again');
    const u = new URL(rec.url, 'http://x');
    expect(u.searchParams.getAll('api_key')).toEqual(['q tok&=/é']);
    expect(u.searchParams.get('a')).toBe('1');
    expect(rec.headers.authorization).toBeUndefined();
  });
});

describe('injectCredential errors', () => {
  const code = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(JaneeError);
      return (e as JaneeError).code;
    }
    return 'none';
  };

  it('a missing field -> GATE_NO_SECRET naming the service and field', () => {
    try {
      injectCredential({ type: 'bearer' }, { username: 'x' }, 'stripe');
      expect.unreachable();
    } catch (e) {
      expect((e as JaneeError).code).toBe('GATE_NO_SECRET');
      expect((e as JaneeError).message).toBe('secret "stripe" has no token field');
    }
    expect(code(() => injectCredential({ type: 'basic' }, { password: 'x' }))).toBe('GATE_NO_SECRET');
    expect(code(() => injectCredential({ type: 'query', param: 'k' }, { token: '' }))).toBe('GATE_NO_SECRET');
  });

  it('a value that would split a header is refused without echoing it', () => {
    try {
      injectCredential({ type: 'bearer' }, { token: 'abc\r\nX-Evil: 1' }, 'svc');
      expect.unreachable();
    } catch (e) {
      expect((e as JaneeError).code).toBe('GATE_NO_SECRET');
      expect((e as JaneeError).message).not.toContain('abc');
    }
    expect(code(() => injectCredential({ type: 'basic' }, { username: 'a:b', password: 'x' }))).toBe('GATE_NO_SECRET');
  });

  it('field lookup ignores prototype properties', () => {
    expect(code(() => injectCredential({ type: 'bearer' }, Object.create({ token: 'inherited' }) as Record<string, string>))).toBe(
      'GATE_NO_SECRET',
    );
  });
});

describe('secretVariants', () => {
  it('bearer: raw, base64 forms, URL and JSON forms, and the header value', () => {
    const tok = 'sk/live+abc=def"xyz é';
    const v = secretVariants({ type: 'bearer' }, { token: tok });
    for (const want of [
      tok,
      Buffer.from(tok).toString('base64'),
      Buffer.from(tok).toString('base64url'),
      encodeURIComponent(tok),
      new URLSearchParams([['k', tok]]).toString().slice(2),
      JSON.stringify(tok).slice(1, -1),
      `Bearer ${tok}`,
    ]) {
      expect(v).toContain(want);
    }
    expect(v).not.toContain('');
  });

  it('basic: base64(user:pass) and "Basic <that>", the password; a short user name alone is not a secret', () => {
    const v = secretVariants({ type: 'basic' }, { username: 'alice', password: 'hunter22' });
    const creds = Buffer.from('alice:hunter22').toString('base64');
    expect(v).toContain(creds);
    expect(v).toContain(`Basic ${creds}`);
    expect(v).toContain('hunter22');
    expect(v).toContain('alice:hunter22');
    expect(v).not.toContain('alice');
  });

  it('basic: a long user name (a key used as the user name, Stripe style) is redacted with its encodings', () => {
    const key = 'sk_test_0123456789abcdef';
    const v = secretVariants({ type: 'basic' }, { username: key, password: '' });
    expect(v).toContain(key);
    expect(v).toContain(Buffer.from(key).toString('base64'));
  });

  it('short values: raw only; empty values: nothing', () => {
    const v = secretVariants({ type: 'bearer' }, { token: 'abc' });
    expect(v).toContain('abc');
    expect(v).not.toContain(Buffer.from('abc').toString('base64'));
    expect(v).not.toContain('');
  });
});
