/**
 * How a response body is handed to the agent: utf8 text when it is text, base64
 * otherwise. Kept apart from forward.ts so the redactor does not pull in undici.
 */

const TEXT_TYPES = new Set([
  'application/json',
  'application/xml',
  'application/javascript',
  'application/ecmascript',
  'application/x-javascript',
  'application/x-www-form-urlencoded',
  'application/x-ndjson',
  'application/ndjson',
  'application/jsonl',
  'application/graphql',
  'application/yaml',
  'application/x-yaml',
  'application/toml',
  'application/sql',
  'application/csv',
]);

export function isTextualContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const mt = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  if (mt.startsWith('text/')) return true;
  if (TEXT_TYPES.has(mt)) return true;
  return mt.endsWith('+json') || mt.endsWith('+xml') || mt.endsWith('+yaml');
}

/**
 * utf8 when the type is textual and the bytes are valid UTF-8; with no type, when
 * the bytes are valid UTF-8 without NUL; base64 otherwise. A BOM is kept as is.
 * `truncated`: the body was cut at the byte cap, possibly inside a multi-byte
 * character; an incomplete final sequence is then dropped instead of forcing the
 * whole body to base64.
 */
export function encodeBody(
  body: Uint8Array,
  contentType: string | undefined,
  opts: { truncated?: boolean } = {},
): { body: string; bodyEncoding: 'utf8' | 'base64' } {
  if (body.length === 0) return { body: '', bodyEncoding: 'utf8' };
  const textual = isTextualContentType(contentType);
  if (textual || contentType === undefined || contentType.trim() === '') {
    try {
      const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body, {
        stream: opts.truncated === true,
      });
      if (textual || !text.includes('\u0000')) return { body: text, bodyEncoding: 'utf8' };
    } catch {
      // not UTF-8: base64 below
    }
  }
  return { body: Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('base64'), bodyEncoding: 'base64' };
}
