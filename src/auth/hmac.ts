/**
 * Exchange-style HMAC signing from a template (src/auth/types.ts HmacTemplate), pure.
 *
 * Order: the template's query parameters other than the signature are appended to the
 * query; the parts of `sign` are concatenated (no separator) and HMAC'd with the key
 * field; the signature goes into its header or is appended as the last query parameter.
 */
import { createHmac } from 'node:crypto';
import { requireField, assertHeaderSafe } from './fields.js';
import { appendQuery } from './query.js';
import type { Applied, AuthRequest, HmacTemplate } from './types.js';

export function hmacTimestamp(format: HmacTemplate['timestamp'], now: number): string {
  if (format === 'ms') return String(Math.floor(now));
  if (format === 's') return String(Math.floor(now / 1000));
  return new Date(now).toISOString();
}

/** The string that is signed, and the query with the template's unsigned-by-position parameters added. */
export function hmacPayload(
  t: HmacTemplate,
  fields: Readonly<Record<string, string>>,
  req: AuthRequest,
  timestamp: string,
  service: string,
): { payload: string; query: string } {
  const value = (src: string): string => {
    if (src === 'timestamp') return timestamp;
    if (src.startsWith('field:')) return requireField(fields, src.slice(6), service);
    if (src.startsWith('literal:')) return src.slice(8);
    throw new Error(`hmac: no value for ${src}`);
  };
  const pre = Object.entries(t.query ?? {}).filter(([, src]) => src !== 'signature');
  const query = appendQuery(
    req.query,
    pre.map(([k, src]) => [k, value(src)] as const),
  );
  const body = req.body === undefined ? '' : Buffer.from(req.body).toString('utf8');
  const parts = t.sign.map((p) => {
    switch (p) {
      case 'method':
        return req.method;
      case 'path':
        return req.path;
      case 'query':
        return query;
      case 'pathquery':
        return query === '' ? req.path : `${req.path}?${query}`;
      case 'body':
        return body;
      case 'queryorbody':
        return req.body === undefined ? query : body;
      default:
        return value(p);
    }
  });
  return { payload: parts.join(''), query };
}

export function hmacDigest(t: HmacTemplate, key: string, payload: string): string {
  return createHmac(t.algorithm, Buffer.from(key, 'utf8')).update(payload, 'utf8').digest(t.encoding);
}

export function signHmac(
  t: HmacTemplate,
  fields: Readonly<Record<string, string>>,
  req: AuthRequest,
  now: number,
  service: string,
): Applied {
  const timestamp = hmacTimestamp(t.timestamp, now);
  const { payload, query } = hmacPayload(t, fields, req, timestamp, service);
  const signature = hmacDigest(t, requireField(fields, t.keyField, service), payload);
  const value = (src: string): string => {
    if (src === 'signature') return signature;
    if (src === 'timestamp') return timestamp;
    if (src.startsWith('field:')) {
      const v = requireField(fields, src.slice(6), service);
      assertHeaderSafe(v, service, src.slice(6));
      return v;
    }
    return src.slice(8); // literal:
  };
  const headers: Record<string, string> = {};
  for (const [name, src] of Object.entries(t.headers)) headers[name.toLowerCase()] = value(src);
  const post = Object.entries(t.query ?? {}).filter(([, src]) => src === 'signature');
  const finalQuery = appendQuery(
    query,
    post.map(([k]) => [k, signature] as const),
  );
  return finalQuery === req.query ? { headers } : { headers, query: finalQuery };
}
