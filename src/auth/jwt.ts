/**
 * Compact JWS with RS256 (RSASSA-PKCS1-v1_5 over SHA-256, RFC 7515/7518), the one
 * algorithm the token minters need: GitHub App JWTs and Google service-account
 * assertions. node:crypto does the RSA; this file only frames it. Checked against
 * RFC 7515 appendix A.2 (test/auth/jwt.test.ts).
 *
 * Private keys arrive as vault field values, which cannot hold line breaks, so a
 * PEM may come with its newlines written as the two characters `\n`, base64-encoded
 * whole (how `janee add` stores a key file), or as the base64 of its DER (PKCS#8 or
 * PKCS#1); parsePrivateKey takes all of them.
 * Nothing here ever puts key material in an error message.
 */
import { createPrivateKey, createSign, type KeyObject } from 'node:crypto';
import { JaneeError } from '../errors.js';

export function base64url(data: Uint8Array | string): string {
  return Buffer.from(typeof data === 'string' ? Buffer.from(data, 'utf8') : data).toString('base64url');
}

/** RS256 signature over the ASCII signing input `header.payload`, base64url. */
export function signRs256(signingInput: string, key: KeyObject): string {
  const s = createSign('sha256');
  s.update(signingInput, 'ascii');
  return s.sign(key).toString('base64url');
}

/** `base64url(header).base64url(claims).signature`, header `{"alg":"RS256","typ":"JWT"}` plus `extraHeader`. */
export function encodeJwtRs256(claims: Record<string, unknown>, key: KeyObject, extraHeader: Record<string, string> = {}): string {
  const input = `${base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', ...extraHeader }))}.${base64url(JSON.stringify(claims))}`;
  return `${input}.${signRs256(input, key)}`;
}

/**
 * An RSA private key from a vault field: PEM (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA
 * PRIVATE KEY`, real or `\n`-escaped line breaks) or the base64 of its DER.
 * `what` names the field in the error (never its value).
 */
export function parsePrivateKey(value: string, what: string): KeyObject {
  const text = value.trim().replace(/\\r\\n|\\n/g, '\n');
  let key: KeyObject | undefined;
  try {
    if (text.startsWith('-----BEGIN')) key = createPrivateKey({ key: text, format: 'pem' });
    else if (/^[A-Za-z0-9+/=\s]+$/.test(text)) {
      const bytes = Buffer.from(text.replace(/\s+/g, ''), 'base64');
      try {
        // The base64 of a PEM file (how `janee add` stores key files), or of its DER.
        if (bytes.subarray(0, 10).toString('latin1') === '-----BEGIN') key = createPrivateKey({ key: bytes, format: 'pem' });
        else key = derKey(bytes);
      } finally {
        bytes.fill(0);
      }
    }
  } catch {
    key = undefined;
  }
  if (!key || key.asymmetricKeyType !== 'rsa') {
    throw new JaneeError(
      'AUTH_TOKEN_FAILED',
      `${what} is not an RSA private key (PEM, or the base64 of its DER)`,
      'store the key again from the file the provider gave you',
    );
  }
  return key;
}

function derKey(der: Buffer): KeyObject {
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } catch {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs1' });
  }
}
