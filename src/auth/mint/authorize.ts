/**
 * The OAuth 2 authorization-code flow with PKCE (RFC 7636, S256) on a loopback
 * redirect (RFC 8252 7.3), for `janee add NAME --auth oauth2 --authorize`: an API
 * that needs a user's consent gives a refresh token only this way.
 *
 *   1. listen on 127.0.0.1, port 0 (the OS picks), path /callback;
 *   2. the authorization URL (client_id, redirect_uri, scope, a random state, the
 *      S256 challenge of a random verifier) goes to `onUrl`: the CLI prints it on
 *      stderr for the human to open;
 *   3. the browser comes back to /callback: a wrong or missing state is refused
 *      (and the listener keeps waiting, so a stray request cannot end the flow);
 *      an `error` ends it;
 *   4. the code is exchanged at the token URL with the verifier; the answer must
 *      hold a refresh token, which the caller stores in the vault.
 *
 * The page shown in the browser says only whether it worked. Nothing here logs or
 * returns the code, the verifier or any token except to the caller.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { oauthAnswer, postForToken, tokenError, type TokenHttp } from './endpoint.js';
import { clientRequest } from './oauth2.js';

export const AUTHORIZE_TIMEOUT_MS = 5 * 60 * 1000;

export interface AuthorizeOptions {
  authorizeUrl: string;
  tokenUrl: string;
  clientId: string;
  clientSecret?: string | undefined;
  clientAuth?: 'basic' | 'body' | undefined;
  scopes?: readonly string[] | undefined;
  audience?: string | undefined;
  http: TokenHttp;
  /** Receives the URL the human must open. */
  onUrl: (url: string) => void;
  timeoutMs?: number | undefined;
  now?: () => number;
}

export interface Authorized {
  refreshToken: string;
  accessToken: string;
  expiresAt: number | undefined;
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url'); // 43 characters of the unreserved set
  return { verifier, challenge: createHash('sha256').update(verifier, 'ascii').digest('base64url') };
}

export async function authorizeWithPkce(o: AuthorizeOptions): Promise<Authorized> {
  const { verifier, challenge } = pkcePair();
  const state = randomBytes(16).toString('base64url');
  const { code, redirectUri } = await waitForCode(o, state, challenge);
  const form = new URLSearchParams([
    ['grant_type', 'authorization_code'],
    ['code', code],
    ['redirect_uri', redirectUri],
    ['code_verifier', verifier],
  ]);
  const headers = clientRequest(o, form);
  // Public clients (no secret) identify themselves in the body; a confidential one did in the header.
  if (!form.has('client_id') && headers.authorization === undefined) form.set('client_id', o.clientId);
  const answer = await postForToken(o.http, o.tokenUrl, { headers, form });
  const m = oauthAnswer(answer, o.tokenUrl, (o.now ?? Date.now)());
  if (m.refreshToken === undefined) {
    throw tokenError(
      `token endpoint ${new URL(o.tokenUrl).origin} gave no refresh token`,
      'the provider may need a scope or setting for offline access (e.g. offline_access); janee needs a refresh token to mint access tokens later',
    );
  }
  return { refreshToken: m.refreshToken, accessToken: m.token, expiresAt: m.expiresAt };
}

function authorizationUrl(o: AuthorizeOptions, redirectUri: string, state: string, challenge: string): string {
  const u = new URL(o.authorizeUrl);
  u.searchParams.set('response_type', 'code');
  u.searchParams.set('client_id', o.clientId);
  u.searchParams.set('redirect_uri', redirectUri);
  if (o.scopes && o.scopes.length > 0) u.searchParams.set('scope', o.scopes.join(' '));
  if (o.audience !== undefined && o.audience !== '') u.searchParams.set('audience', o.audience);
  u.searchParams.set('state', state);
  u.searchParams.set('code_challenge', challenge);
  u.searchParams.set('code_challenge_method', 'S256');
  return u.toString();
}

function sameState(a: string | null, b: string): boolean {
  if (a === null) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function page(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', connection: 'close' });
  res.end(`${text}\n`);
}

async function waitForCode(o: AuthorizeOptions, state: string, challenge: string): Promise<{ code: string; redirectUri: string }> {
  const server = http.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const redirectUri = `http://127.0.0.1:${port}/callback`;
  try {
    return await new Promise<{ code: string; redirectUri: string }>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(tokenError('no answer from the browser in time', 'run the command again and open the URL it prints')),
        o.timeoutMs ?? AUTHORIZE_TIMEOUT_MS,
      );
      const done = (fn: () => void) => {
        clearTimeout(timer);
        fn();
      };
      server.on('request', (req, res) => {
        const u = new URL(req.url ?? '/', redirectUri);
        if (req.method !== 'GET' || u.pathname !== '/callback') return page(res, 404, 'not found');
        if (!sameState(u.searchParams.get('state'), state))
          return page(res, 400, 'janee: this answer does not belong to the authorization janee started');
        const error = u.searchParams.get('error');
        if (error !== null) {
          page(res, 200, 'janee: authorization was not granted. You can close this tab.');
          const code = /^[a-z_]{1,40}$/.test(error) ? ` (${error})` : '';
          return done(() => reject(tokenError(`authorization was not granted${code}`, 'run the command again and approve the access')));
        }
        const code = u.searchParams.get('code');
        if (code === null || code === '') return page(res, 400, 'janee: the answer has no code');
        page(res, 200, 'janee: authorized. You can close this tab and go back to the terminal.');
        done(() => resolve({ code, redirectUri }));
      });
      o.onUrl(authorizationUrl(o, redirectUri, state, challenge));
    });
  } finally {
    server.closeAllConnections();
    server.close();
  }
}
