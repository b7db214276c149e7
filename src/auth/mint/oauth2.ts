/**
 * OAuth 2 token requests (RFC 6749): the client_credentials grant (4.4) and the
 * refresh_token grant (6). The client authenticates with HTTP Basic (2.3.1:
 * client id and secret form-encoded, then base64) or in the form body; a public
 * client (no secret, e.g. one authorized with PKCE) sends its client_id in the body.
 */
import type { Minted } from './cache.js';
import { oauthAnswer, postForToken, type TokenHttp } from './endpoint.js';

export interface OAuth2Params {
  tokenUrl: string;
  grant: 'client_credentials' | 'refresh_token';
  clientId: string;
  clientSecret?: string | undefined;
  refreshToken?: string | undefined;
  scopes?: readonly string[] | undefined;
  audience?: string | undefined;
  clientAuth?: 'basic' | 'body' | undefined;
  timeoutMs?: number | undefined;
}

/** The form and headers of a token request for `grant` with the client's authentication. */
export function clientRequest(
  p: Pick<OAuth2Params, 'clientId' | 'clientSecret' | 'clientAuth'>,
  form: URLSearchParams,
): Record<string, string> {
  const secret = p.clientSecret === '' ? undefined : p.clientSecret;
  if (secret !== undefined && (p.clientAuth ?? 'basic') === 'basic') {
    const enc = (s: string) => new URLSearchParams([['', s]]).toString().slice(1);
    return { authorization: `Basic ${Buffer.from(`${enc(p.clientId)}:${enc(secret)}`, 'utf8').toString('base64')}` };
  }
  form.set('client_id', p.clientId);
  if (secret !== undefined) form.set('client_secret', secret);
  return {};
}

/** One token request; `refreshToken` in the result is a rotated one the server sent back. */
export async function mintOAuth2(http: TokenHttp, p: OAuth2Params, now: () => number): Promise<Minted & { refreshToken?: string }> {
  const form = new URLSearchParams();
  form.set('grant_type', p.grant);
  if (p.grant === 'refresh_token') form.set('refresh_token', p.refreshToken ?? '');
  if (p.scopes && p.scopes.length > 0) form.set('scope', p.scopes.join(' '));
  if (p.audience !== undefined && p.audience !== '') form.set('audience', p.audience);
  const headers = clientRequest(p, form);
  const answer = await postForToken(http, p.tokenUrl, { headers, form, timeoutMs: p.timeoutMs });
  const minted = oauthAnswer(answer, p.tokenUrl, now());
  // An answer to client_credentials carries no refresh token worth keeping (6749 4.4.3).
  if (p.grant !== 'refresh_token' || minted.refreshToken === p.refreshToken) return { token: minted.token, expiresAt: minted.expiresAt };
  return minted;
}

/** Origins a credential of this auth block is sent to besides the service's own: an oauth2 token URL's. */
export function tokenOrigins(auth: { type: string; tokenUrl?: string }): string[] {
  if (auth.type !== 'oauth2' || auth.tokenUrl === undefined) return [];
  try {
    return [new URL(auth.tokenUrl).origin];
  } catch {
    return [];
  }
}
