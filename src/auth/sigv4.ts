/**
 * AWS Signature Version 4 (header form), pure.
 *
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
 * - Canonical URI: every byte but the unreserved characters (A-Z a-z 0-9 - . _ ~) and
 *   `/` percent-encoded in upper-case hex. For every service but S3 this is applied to
 *   the path as sent, already percent-encoded, so it is encoded twice (`%20` → `%2520`),
 *   after dot segments and repeated slashes are removed. S3 neither normalises nor
 *   double-encodes: each segment is decoded and encoded once.
 * - Canonical query: each `name=value` decoded (`+` is a space, as AWS reads it),
 *   both encoded as above, sorted by name then value.
 * - Canonical headers: lower-case names, values trimmed with inner runs of spaces
 *   collapsed, repeated headers joined with `,`, sorted.
 * Checked against AWS's test suite (test/fixtures/aws-sig-v4-test-suite) and the `aws4`
 * package on random requests (test/auth/sigv4.test.ts).
 */
import { createHash, createHmac } from 'node:crypto';
import type { Applied, AuthRequest, AwsSigV4Auth } from './types.js';

export interface SigV4Request {
  method: string;
  /** The path as sent (or, in the test suite, as written in the request line). */
  path: string;
  /** The query as sent, without `?`. */
  query: string;
  /** Exactly the headers to sign (name as given → value); `host` must be one. */
  headers: [string, string][];
  /** Hex sha256 of the body, or UNSIGNED-PAYLOAD. */
  payloadHash: string;
}

export interface SigV4Key {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  service: string;
  /** YYYYMMDD'T'HHMMSS'Z' */
  datetime: string;
}

const sha256hex = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** RFC 3986 encoding of a string's UTF-8 bytes; `/` kept when `keepSlash`. */
export function uriEncode(s: string, keepSlash = false): string {
  let enc: string | undefined;
  try {
    // encodeURIComponent leaves A-Z a-z 0-9 - _ . ! ~ * ' ( ) alone: escape the five RFC 3986 reserves.
    enc = encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  } catch {
    enc = undefined; // a lone surrogate: encode its UTF-8 replacement bytes below, as Buffer does
  }
  if (enc !== undefined) return keepSlash ? enc.replace(/%2F/g, '/') : enc;
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function canonicalUri(path: string, s3: boolean): string {
  if (path === '' || path === '/') return '/';
  // S3 signs the object key encoded once, and a "/" in the key is never encoded, even
  // one the request spelled %2F (AWS: "the forward slash in the key name is not encoded").
  if (s3)
    return path
      .split('/')
      .map((seg) => uriEncode(safeDecode(seg)).replaceAll('%2F', '/'))
      .join('/');
  const out: string[] = [];
  const segs = path.split('/');
  for (const [i, seg] of segs.entries()) {
    if (seg === '.' || (seg === '' && i > 0 && i < segs.length - 1)) continue;
    if (seg === '..') {
      if (out.length > 1) out.pop();
      continue;
    }
    out.push(uriEncode(seg));
  }
  // A trailing "/", "/." or "/.." leaves the path ending in a slash.
  const last = segs[segs.length - 1];
  if ((last === '.' || last === '..') && out[out.length - 1] !== '') out.push('');
  const joined = out.join('/');
  return joined.startsWith('/') ? joined : `/${joined}`;
}

export function canonicalQuery(query: string): string {
  const pairs: [string, string][] = [];
  for (const kv of query.split('&')) {
    if (kv === '') continue;
    const eq = kv.indexOf('=');
    const k = eq < 0 ? kv : kv.slice(0, eq);
    const v = eq < 0 ? '' : kv.slice(eq + 1);
    pairs.push([uriEncode(safeDecode(k.replace(/\+/g, ' '))), uriEncode(safeDecode(v.replace(/\+/g, ' ')))]);
  }
  pairs.sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function canonicalHeaders(headers: [string, string][]): { text: string; signed: string } {
  const byName = new Map<string, string[]>();
  for (const [name, value] of headers) {
    const n = name.toLowerCase().trim();
    const v = value.trim().replace(/\s+/g, ' ');
    byName.set(n, [...(byName.get(n) ?? []), v]);
  }
  const names = [...byName.keys()].sort();
  return { text: names.map((n) => `${n}:${(byName.get(n) as string[]).join(',')}\n`).join(''), signed: names.join(';') };
}

export function canonicalRequest(req: SigV4Request, s3: boolean): { text: string; signedHeaders: string } {
  const h = canonicalHeaders(req.headers);
  const text = [req.method.toUpperCase(), canonicalUri(req.path, s3), canonicalQuery(req.query), h.text, h.signed, req.payloadHash].join(
    '\n',
  );
  return { text, signedHeaders: h.signed };
}

export function scope(key: SigV4Key): string {
  return `${key.datetime.slice(0, 8)}/${key.region}/${key.service}/aws4_request`;
}

export function stringToSign(canonical: string, key: SigV4Key): string {
  return ['AWS4-HMAC-SHA256', key.datetime, scope(key), sha256hex(canonical)].join('\n');
}

export function signature(sts: string, key: SigV4Key): string {
  const hmac = (k: string | Buffer, d: string): Buffer => createHmac('sha256', k).update(d).digest();
  const kDate = hmac(`AWS4${key.secretAccessKey}`, key.datetime.slice(0, 8));
  const kSigning = hmac(hmac(hmac(kDate, key.region), key.service), 'aws4_request');
  const sig = createHmac('sha256', kSigning).update(sts).digest('hex');
  for (const k of [kDate, kSigning]) k.fill(0);
  return sig;
}

/** The Authorization header value for a request (the whole algorithm). */
export function authorization(req: SigV4Request, key: SigV4Key): { authorization: string; canonical: string; stringToSign: string } {
  const cr = canonicalRequest(req, key.service === 's3');
  const sts = stringToSign(cr.text, key);
  return {
    authorization: `AWS4-HMAC-SHA256 Credential=${key.accessKeyId}/${scope(key)}, SignedHeaders=${cr.signedHeaders}, Signature=${signature(sts, key)}`,
    canonical: cr.text,
    stringToSign: sts,
  };
}

export function amzDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** Headers signed besides the ones the signer sets: what changes the meaning of the request. */
const SIGNED = /^(content-type|content-md5|x-amz-.*)$/;

/** Signs a gate request: adds authorization, x-amz-date, x-amz-content-sha256 and, with a session token, x-amz-security-token. */
export function signAwsRequest(
  auth: AwsSigV4Auth,
  fields: { accessKeyId: string; secretAccessKey: string; sessionToken?: string | undefined },
  req: AuthRequest,
  now: number,
): Applied {
  const datetime = amzDate(now);
  const payloadHash = auth.payload === 'unsigned' ? 'UNSIGNED-PAYLOAD' : sha256hex(req.body ?? new Uint8Array());
  const added: Record<string, string> = { 'x-amz-date': datetime, 'x-amz-content-sha256': payloadHash };
  if (fields.sessionToken) added['x-amz-security-token'] = fields.sessionToken;
  const toSign: [string, string][] = [['host', new URL(req.origin).host]];
  for (const [k, v] of Object.entries({ ...req.headers, ...added })) if (SIGNED.test(k)) toSign.push([k, v]);
  const { authorization: value } = authorization(
    { method: req.method, path: req.path, query: req.query, headers: toSign, payloadHash },
    { accessKeyId: fields.accessKeyId, secretAccessKey: fields.secretAccessKey, region: auth.region, service: auth.service, datetime },
  );
  return { headers: { ...added, authorization: value } };
}
