/**
 * Byte helpers shared by the janee vault format and the age codec: both use
 * canonical unpadded base64 (RFC 4648 §4 without "="), parsed strictly.
 */
import { timingSafeEqual } from 'node:crypto';

const B64_CHARS = /^[A-Za-z0-9+/]*$/;

/** Standard alphabet, no padding. */
export function b64encode(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64').replace(/=+$/, '');
}

/**
 * Strict decode: standard alphabet only, no padding, no whitespace, and canonical
 * (non-zero spare bits re-encode differently). Returns undefined if not.
 */
export function b64decode(text: string): Uint8Array | undefined {
  if (!B64_CHARS.test(text) || text.length % 4 === 1) return undefined;
  const buf = Buffer.from(text, 'base64');
  const out = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  return b64encode(out) === text ? out : undefined;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Constant-time equality (lengths are not secret). */
export function ctEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
