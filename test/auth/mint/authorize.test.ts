/**
 * The PKCE authorization-code flow end to end on loopback: a mock authorization
 * server (port 0) that the test "visits" with an HTTP client like a browser would,
 * following its redirect to janee's loopback listener; the mock's token endpoint
 * checks the verifier against the challenge it was shown.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizeWithPkce } from '../../../src/auth/mint/authorize.js';
import { JaneeError } from '../../../src/errors.js';
import { Forwarder } from '../../../src/gate/forward.js';
import { startUpstream, type Upstream } from '../../helpers/upstream.js';

let as: Upstream;
let fwd: Forwarder;
beforeAll(async () => {
  as = await startUpstream();
  fwd = new Forwarder();
});
afterAll(async () => {
  await fwd.close();
  await as.close();
});

/** What the mock authorization server saw at /authorize, and the codes it issued. */
const issued = new Map<string, { challenge: string; redirectUri: string; clientId: string }>();

function mockAuthorizationServer(opts: { deny?: boolean; rotate?: boolean } = {}) {
  as.route('/authorize', (req, res) => {
    const u = new URL(req.url ?? '/', as.url);
    const p = Object.fromEntries(u.searchParams);
    const back = new URL(p.redirect_uri!);
    if (opts.deny) back.searchParams.set('error', 'access_denied');
    else {
      const code = `code-${issued.size + 1}`;
      issued.set(code, { challenge: p.code_challenge!, redirectUri: p.redirect_uri!, clientId: p.client_id! });
      back.searchParams.set('code', code);
    }
    back.searchParams.set('state', p.state!);
    res.writeHead(302, { location: back.toString() });
    res.end();
  });
  as.route('/token', (_req, res) => {
    const f = Object.fromEntries(new URLSearchParams(as.requests[as.requests.length - 1]!.body.toString()));
    const grant = issued.get(f.code ?? '');
    const s256 = createHash('sha256')
      .update(f.code_verifier ?? '')
      .digest('base64url');
    const ok =
      grant &&
      f.grant_type === 'authorization_code' &&
      grant.challenge === s256 &&
      grant.redirectUri === f.redirect_uri &&
      grant.clientId === f.client_id;
    res.writeHead(ok ? 200 : 400, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify(
        ok
          ? { access_token: 'at-pkce-0123456789', refresh_token: 'rt-pkce-0123456789', expires_in: 3600, token_type: 'bearer' }
          : { error: 'invalid_grant' },
      ),
    );
  });
}

/** The browser: open the URL, follow the authorization server's redirect to the loopback callback. */
async function visit(url: string): Promise<{ status: number; text: string }> {
  const first = await fetch(url, { redirect: 'manual' });
  const location = first.headers.get('location');
  if (!location) return { status: first.status, text: await first.text() };
  const second = await fetch(location, { redirect: 'manual' });
  return { status: second.status, text: await second.text() };
}

describe('authorizeWithPkce', () => {
  it('gets a refresh token: S256 challenge, state, loopback redirect on 127.0.0.1', async () => {
    mockAuthorizationServer();
    let shown = '';
    let page: Promise<{ status: number; text: string }> | undefined;
    const got = await authorizeWithPkce({
      authorizeUrl: `${as.url}/authorize?prompt=consent`,
      tokenUrl: `${as.url}/token`,
      clientId: 'public-app',
      scopes: ['read', 'offline_access'],
      http: fwd,
      onUrl: (u) => {
        shown = u;
        // A stray request without the state does not end the flow.
        const redirect = new URL(new URL(u).searchParams.get('redirect_uri')!);
        page = fetch(`${redirect.origin}/callback?code=stolen&state=wrong`).then(async (r) => {
          expect(r.status).toBe(400);
          return visit(u);
        });
      },
    });
    expect(got).toMatchObject({ refreshToken: 'rt-pkce-0123456789', accessToken: 'at-pkce-0123456789' });
    expect((await page!).text).toMatch(/authorized/);
    const q = new URL(shown).searchParams;
    expect(q.get('prompt')).toBe('consent');
    expect(q.get('response_type')).toBe('code');
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('scope')).toBe('read offline_access');
    expect(q.get('state')).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(q.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    // The code went to the token endpoint with the verifier; the listener is closed now.
    const redirect = new URL(q.get('redirect_uri')!);
    await expect(fetch(redirect)).rejects.toThrow();
  });

  it('a denied consent ends the flow with AUTH_TOKEN_FAILED', async () => {
    mockAuthorizationServer({ deny: true });
    let err: unknown;
    try {
      await authorizeWithPkce({
        authorizeUrl: `${as.url}/authorize`,
        tokenUrl: `${as.url}/token`,
        clientId: 'public-app',
        http: fwd,
        onUrl: (u) => void visit(u),
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(JaneeError);
    expect((err as JaneeError).code).toBe('AUTH_TOKEN_FAILED');
    expect((err as JaneeError).message).toBe('authorization was not granted (access_denied)');
  });

  it('times out when nobody comes back', async () => {
    await expect(
      authorizeWithPkce({
        authorizeUrl: `${as.url}/authorize`,
        tokenUrl: `${as.url}/token`,
        clientId: 'x',
        http: fwd,
        onUrl: () => undefined,
        timeoutMs: 200,
      }),
    ).rejects.toMatchObject({ code: 'AUTH_TOKEN_FAILED' });
  });
});
