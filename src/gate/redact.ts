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
 * `{ truncated: true }` a fixed-length tail (longest variant − 1) is dropped, whatever it holds.
 */
import { encodeBody } from './body.js';

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
  ranges(text: string): [number, number, string][] {
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
    return out.map(([s, e, svc]) => [s, e, svc]);
  }

  /**
   * Where a truncated text is cut: the last (longest variant − 1) characters are
   * dropped whatever they contain, so a secret cut in half by the size cap never
   * shows its first half. The cut must not depend on the content: redacting the
   * tail only when it *looks like* a secret's prefix would tell an agent that can
   * echo its own text at the cap whether each guessed character was right.
   */
  cut(length: number): number {
    return Math.max(0, length - Math.max(0, (this.#variants[0]?.length ?? 1) - 1));
  }
}

/** Replaces `ranges` and drops everything from `cut` on (a range crossing the cut is still replaced). */
function apply(text: string, ranges: [number, number, string][], cut = text.length): string {
  if (ranges.length === 0 && cut === text.length) return text;
  let out = '';
  let at = 0;
  for (const [s, e, svc] of ranges) {
    if (s >= cut) break;
    out += `${text.slice(at, s)}[REDACTED:${svc}]`;
    at = e;
  }
  return at < cut ? out + text.slice(at, cut) : out;
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
    return apply(text, this.#text.ranges(text), opts.truncated ? this.#text.cut(text.length) : text.length);
  }

  /** Redacts the latin1 view of `bytes` against each variant's UTF-8 bytes. */
  redactBytes(bytes: Uint8Array, opts: RedactOptions = {}): Uint8Array {
    this.#bytes ??= new Matcher(this.#pairs.map(([v, s]) => [Buffer.from(v, 'utf8').toString('latin1'), s]));
    const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
    const ranges = this.#bytes.ranges(view);
    const cut = opts.truncated ? this.#bytes.cut(view.length) : view.length;
    if (ranges.length === 0 && cut === view.length) return bytes;
    return Buffer.from(apply(view, ranges, cut), 'latin1');
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
