/**
 * GitHub App installation tokens: an RS256 JWT signed with the app's private key
 * (iss = the app id, iat backdated 60 s against clock skew, exp 9 minutes later so
 * exp − iat stays within GitHub's 10-minute limit) is exchanged at
 * `POST {api}/app/installations/{id}/access_tokens` for a token that lives an hour.
 * `{api}` is the service's baseUrl (https://api.github.com, or GitHub Enterprise
 * Server's https://HOST/api/v3), so the token endpoint is on the origin the key is
 * bound to. Cached and refreshed with GITHUB_APP_MARGIN_MS to spare.
 */
import type { KeyObject } from 'node:crypto';
import { encodeJwtRs256 } from '../jwt.js';
import type { Minted } from './cache.js';
import { postForToken, tokenError, tokenField, type TokenHttp } from './endpoint.js';

export const GITHUB_APP_MARGIN_MS = 10 * 60 * 1000;

export interface GitHubAppParams {
  /** The service's baseUrl: the API root, no trailing slash. */
  apiUrl: string;
  appId: string;
  installationId: string;
  privateKey: KeyObject;
  timeoutMs?: number | undefined;
}

export function githubAppJwt(appId: string, key: KeyObject, nowMs: number): string {
  const now = Math.floor(nowMs / 1000);
  return encodeJwtRs256({ iat: now - 60, exp: now + 9 * 60, iss: appId }, key);
}

export function installationTokenUrl(apiUrl: string, installationId: string): string {
  return `${apiUrl.replace(/\/+$/, '')}/app/installations/${encodeURIComponent(installationId)}/access_tokens`;
}

export async function mintGitHubApp(http: TokenHttp, p: GitHubAppParams, now: () => number): Promise<Minted> {
  const url = installationTokenUrl(p.apiUrl, p.installationId);
  const answer = await postForToken(http, url, {
    headers: {
      authorization: `Bearer ${githubAppJwt(p.appId, p.privateKey, now())}`,
      accept: 'application/vnd.github+json',
      'x-github-api-version': '2022-11-28',
      'user-agent': 'janee',
    },
    okStatus: [200, 201],
    timeoutMs: p.timeoutMs,
  });
  const origin = new URL(url).origin;
  const token = tokenField(answer, 'token', origin);
  const at = typeof answer.expires_at === 'string' ? Date.parse(answer.expires_at) : NaN;
  if (!Number.isFinite(at)) throw tokenError(`token endpoint ${origin} answered without a valid expires_at`);
  return { token, expiresAt: at };
}
