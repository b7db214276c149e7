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

/**
 * The character set a body is in, when it is not plain UTF-8:
 * - a BOM (UTF-32 before UTF-16: FF FE 00 00 starts both);
 * - else the content-type's `charset` parameter;
 * - else, for a textual or untyped body, the NUL pattern of its first 4 bytes
 *   (RFC 4627 §3: ASCII text in UTF-16/32 has a NUL in each unit).
 * Returns a WHATWG encoding name, `utf-32le`/`utf-32be` (TextDecoder has no
 * UTF-32), `unknown` for a declared charset nothing here can decode (UTF-7,
 * EBCDIC…), or undefined for UTF-8.
 */
export function bodyCharset(body: Uint8Array, contentType: string | undefined): string | undefined {
  const [b0, b1, b2, b3] = [body[0], body[1], body[2], body[3]];
  if (b0 === 0xef && b1 === 0xbb && b2 === 0xbf) return undefined;
  if (b0 === 0xff && b1 === 0xfe && b2 === 0 && b3 === 0) return 'utf-32le';
  if (b0 === 0 && b1 === 0 && b2 === 0xfe && b3 === 0xff) return 'utf-32be';
  if (b0 === 0xff && b1 === 0xfe) return 'utf-16le';
  if (b0 === 0xfe && b1 === 0xff) return 'utf-16be';
  const declared = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(contentType ?? '')?.[1]?.toLowerCase();
  if (declared !== undefined && declared !== '') {
    if (/^utf-?32$/.test(declared)) return b0 === 0 ? 'utf-32be' : b0 !== undefined && b3 === 0 ? 'utf-32le' : 'utf-32be';
    if (/^utf-?32-?(le|be)$/.test(declared)) return declared.endsWith('le') ? 'utf-32le' : 'utf-32be';
    // "utf-16" without a BOM is big-endian by RFC 2781; WHATWG says little. The bytes decide.
    if (/^utf-?16$/.test(declared)) return b0 === 0 ? 'utf-16be' : 'utf-16le';
    let enc: string;
    try {
      enc = new TextDecoder(declared).encoding;
    } catch {
      return 'unknown';
    }
    return enc === 'utf-8' ? undefined : enc;
  }
  if (body.length >= 4 && (contentType === undefined || contentType.trim() === '' || isTextualContentType(contentType))) {
    if (b0 === 0 && b1 === 0 && b2 === 0 && b3 !== 0) return 'utf-32be';
    if (b0 !== 0 && b1 === 0 && b2 === 0 && b3 === 0) return 'utf-32le';
    if (b0 === 0 && b1 !== 0 && b2 === 0 && b3 !== 0) return 'utf-16be';
    if (b0 !== 0 && b1 === 0 && b2 !== 0 && b3 === 0) return 'utf-16le';
  }
  return undefined;
}

/**
 * `body` decoded from `charset` (from bodyCharset, not `unknown`). A BOM is
 * dropped; an incomplete final unit is dropped when `truncated`, else becomes
 * U+FFFD like any invalid sequence.
 */
export function transcode(body: Uint8Array, charset: string, truncated: boolean): string {
  if (charset === 'utf-32le' || charset === 'utf-32be') {
    const le = charset === 'utf-32le';
    const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
    let out = '';
    const units: number[] = [];
    let i = 0;
    if (body.length >= 4 && dv.getUint32(0, le) === 0xfeff) i = 4;
    for (; i + 4 <= body.length; i += 4) {
      const cp = dv.getUint32(i, le);
      units.push(cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ? 0xfffd : cp);
      if (units.length === 8192) {
        out += String.fromCodePoint(...units);
        units.length = 0;
      }
    }
    out += String.fromCodePoint(...units);
    return i < body.length && !truncated ? `${out}\ufffd` : out;
  }
  return new TextDecoder(charset).decode(body, { stream: truncated });
}
