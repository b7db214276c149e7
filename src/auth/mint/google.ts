/**
 * Google service accounts (RFC 7523 JWT bearer grant): the JSON key's private key
 * signs an assertion (iss = client_email, aud = the key's own token_uri, scope = the
 * configured scopes, sub = the user to act as with domain-wide delegation, an hour
 * from iat) that the key's token_uri exchanges for an access token.
 *
 * The token_uri comes from the key, i.e. from the vault, not from config.yaml, so it
 * needs no binding of its own; it must still be https (http only to a loopback host).
 */
import type { KeyObject } from 'node:crypto';
import { encodeJwtRs256, parsePrivateKey } from '../jwt.js';
import type { Minted } from './cache.js';
import { oauthAnswer, postForToken, tokenError, type TokenHttp } from './endpoint.js';

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export interface ServiceAccountKey {
  clientEmail: string;
  tokenUri: string;
  privateKeyId: string | undefined;
  privateKey: KeyObject;
}

export interface GoogleParams {
  key: ServiceAccountKey;
  scopes: readonly string[];
  subject?: string | undefined;
  timeoutMs?: number | undefined;
}

/** Parses the JSON key file's text. Messages name what is wrong, never a value. */
export function parseServiceAccountKey(text: string): ServiceAccountKey {
  let k: unknown;
  try {
    k = JSON.parse(text);
  } catch {
    k = undefined;
  }
  const bad = (what: string) =>
    tokenError(`the service account key ${what}`, 'store the JSON key file Google gave you again (`janee set NAME`)');
  if (typeof k !== 'object' || k === null || Array.isArray(k)) throw bad('is not a JSON object');
  const o = k as Record<string, unknown>;
  if (o.type !== undefined && o.type !== 'service_account') throw bad('is not of type service_account');
  if (typeof o.client_email !== 'string' || o.client_email === '') throw bad('has no client_email');
  if (typeof o.private_key !== 'string') throw bad('has no private_key');
  const tokenUri = typeof o.token_uri === 'string' ? o.token_uri : 'https://oauth2.googleapis.com/token';
  if (!isAllowedTokenUri(tokenUri)) throw bad('has a token_uri that is not https (http only on loopback)');
  return {
    clientEmail: o.client_email,
    tokenUri,
    privateKeyId: typeof o.private_key_id === 'string' ? o.private_key_id : undefined,
    privateKey: parsePrivateKey(o.private_key, 'the service account private_key'),
  };
}

/** The key file's text from its field: stored base64-encoded by `janee add`, or as the JSON itself. */
export function keyFileText(stored: string): string {
  const t = stored.trim();
  return t.startsWith('{') ? t : Buffer.from(t, 'base64').toString('utf8');
}

function isAllowedTokenUri(s: string): boolean {
  try {
    const u = new URL(s);
    if (u.protocol === 'https:') return true;
    return u.protocol === 'http:' && (u.hostname === '127.0.0.1' || u.hostname === '[::1]' || u.hostname === 'localhost');
  } catch {
    return false;
  }
}

export function googleAssertion(p: GoogleParams, nowMs: number): string {
  const now = Math.floor(nowMs / 1000);
  const claims: Record<string, unknown> = {
    iss: p.key.clientEmail,
    scope: p.scopes.join(' '),
    aud: p.key.tokenUri,
    iat: now,
    exp: now + 3600,
  };
  if (p.subject !== undefined && p.subject !== '') claims.sub = p.subject;
  return encodeJwtRs256(claims, p.key.privateKey, p.key.privateKeyId === undefined ? {} : { kid: p.key.privateKeyId });
}

export async function mintGoogle(http: TokenHttp, p: GoogleParams, now: () => number): Promise<Minted> {
  const form = new URLSearchParams([
    ['grant_type', JWT_BEARER_GRANT],
    ['assertion', googleAssertion(p, now())],
  ]);
  const answer = await postForToken(http, p.key.tokenUri, { headers: {}, form, timeoutMs: p.timeoutMs });
  const m = oauthAnswer(answer, p.key.tokenUri, now());
  return { token: m.token, expiresAt: m.expiresAt };
}
