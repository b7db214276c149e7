/**
 * Replaces every known secret form with `[REDACTED:<service>]`.
 *
 * Built once per vault state (all services' variants, not just the called one's:
 * an upstream may echo any secret it was ever sent) and run on every response
 * body, header value and error message that goes back to the agent.
 *
 * Matching: one combined RegExp of the escaped variants, longest first. After a
 * match the scan resumes one character later (not after the match), so
 * overlapping occurrences are found too; the covered ranges are merged and each
 * merged range becomes one marker. The result: every character that belongs to
 * any occurrence of any variant is gone, whatever the overlaps. (Measured on a
 * 1 MiB body with 200 variants: the combined RegExp ~9–20 ms, a JS Aho-Corasick
 * ~22 ms, indexOf per variant ~20 ms, Rabin-Karp ~10 ms; the RegExp is the
 * simplest at equal speed. Typical bodies of a few KiB take microseconds.)
 *
 * Bytes: `redactBytes` works on the latin1 view of the bytes (one char per byte)
 * with each variant's UTF-8 bytes, so it finds secrets in any body, text or
 * binary. Bodies are always redacted as bytes *before* they are base64-encoded
 * for the agent: once base64-encoded, a secret inside binary data would sit at an
 * arbitrary 3-byte alignment and no longer be a fixed string. Replacing whole
 * UTF-8 sequences with an ASCII marker keeps valid UTF-8 valid, so redacting
 * bytes first and then choosing utf8/base64 (`redactBody`) is equivalent to
 * redacting the decoded text.
 *
 * Truncated bodies: a body cut at the byte cap could end in the first half of a
 * secret, and an agent able to pad the response (an echo endpoint) could move
 * the cut one character at a time and read the whole secret. With
 * `{ truncated: true }` a tail that is a prefix of any variant is redacted too.
 */
import { encodeBody } from './forward.js';

export interface RedactOptions {
  /** The text/bytes were cut at a size cap: also redact a tail that begins a secret. */
  truncated?: boolean;
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

class Matcher {
  readonly #re: RegExp | undefined;
  readonly #label = new Map<string, string>();
  readonly #variants: string[];

  constructor(pairs: [string, string][]) {
    for (const [variant, service] of pairs) {
      if (variant !== '' && !this.#label.has(variant)) this.#label.set(variant, service);
    }
    this.#variants = [...this.#label.keys()].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
    this.#re = this.#variants.length === 0 ? undefined : new RegExp(this.#variants.map(escapeRe).join('|'), 'g');
  }

  /** Merged [start, end, service] ranges to replace, in order. */
  ranges(text: string, truncated: boolean): [number, number, string][] {
    const out: [number, number, string, number][] = []; // + length of the longest match inside
    const add = (start: number, end: number, service: string): void => {
      const last = out[out.length - 1];
      if (last !== undefined && start <= last[1]) {
        if (end > last[1]) last[1] = end;
        if (end - start > last[3]) {
          last[2] = service;
          last[3] = end - start;
        }
      } else {
        out.push([start, end, service, end - start]);
      }
    };
    const re = this.#re;
    if (re !== undefined) {
      re.lastIndex = 0;
      let m: RegExpExecArray | null;
      while ((m = re.exec(text)) !== null) {
        add(m.index, m.index + m[0].length, this.#label.get(m[0]) ?? 'secret');
        re.lastIndex = m.index + 1;
      }
    }
    if (truncated) {
      const tail = this.#tail(text);
      if (tail !== undefined) add(text.length - tail[0], text.length, tail[1]);
    }
    return out.map(([s, e, svc]) => [s, e, svc]);
  }

  /** The longest suffix of `text` that is a proper prefix of a variant. */
  #tail(text: string): [number, string] | undefined {
    let best: [number, string] | undefined;
    for (const v of this.#variants) {
      const max = Math.min(v.length - 1, text.length);
      for (let len = max; len > (best?.[0] ?? 0); len--) {
        if (text.endsWith(v.slice(0, len))) {
          best = [len, this.#label.get(v) ?? 'secret'];
          break;
        }
      }
    }
    return best;
  }
}

function apply(text: string, ranges: [number, number, string][]): string {
  if (ranges.length === 0) return text;
  let out = '';
  let at = 0;
  for (const [s, e, svc] of ranges) {
    out += `${text.slice(at, s)}[REDACTED:${svc}]`;
    at = e;
  }
  return out + text.slice(at);
}

export class Redactor {
  readonly #text: Matcher;
  readonly #pairs: [string, string][];
  #bytes: Matcher | undefined;

  constructor(entries: { service: string; variants: string[] }[]) {
    this.#pairs = entries.flatMap((e) => e.variants.map((v): [string, string] => [v, e.service]));
    this.#text = new Matcher(this.#pairs);
  }

  redact(text: string, opts: RedactOptions = {}): string {
    return apply(text, this.#text.ranges(text, opts.truncated === true));
  }

  /** Redacts the latin1 view of `bytes` against each variant's UTF-8 bytes. */
  redactBytes(bytes: Uint8Array, opts: RedactOptions = {}): Uint8Array {
    this.#bytes ??= new Matcher(this.#pairs.map(([v, s]) => [Buffer.from(v, 'utf8').toString('latin1'), s]));
    const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
    const ranges = this.#bytes.ranges(view, opts.truncated === true);
    if (ranges.length === 0) return bytes;
    return Buffer.from(apply(view, ranges), 'latin1');
  }

  /**
   * A response body as the agent receives it: bytes redacted first, then utf8 or
   * base64 (see `encodeBody`).
   */
  redactBody(
    bytes: Uint8Array,
    contentType: string | undefined,
    truncated = false,
  ): { body: string; bodyEncoding: 'utf8' | 'base64' } {
    return encodeBody(this.redactBytes(bytes, { truncated }), contentType, { truncated });
  }

  /**
   * A body that is already base64: decoded, redacted as bytes, re-encoded. Prefer
   * `redactBody` on the raw bytes (it also picks utf8/base64 after redaction).
   */
  redactBase64(b64: string, opts: RedactOptions = {}): string {
    const bytes = Buffer.from(b64, 'base64');
    const out = this.redactBytes(bytes, opts);
    return out === bytes ? b64 : Buffer.from(out.buffer, out.byteOffset, out.byteLength).toString('base64');
  }

  /** Redacts every value of a header record (names are not secret). */
  redactHeaders(h: Record<string, string>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(h)) out[k] = this.redact(v);
    return out;
  }
}
