/**
 * Replaces every known secret form with `[REDACTED:<service>]`.
 *
 * Built once per vault state (all services' variants, not just the called one's:
 * an upstream may echo any secret it was ever sent) and run on every response
 * body, header and error message that goes back to the agent.
 *
 * What is redacted: every run of at least NGRAM (10) consecutive characters of
 * any *source*, and every whole occurrence of a source shorter than that. The
 * sources of a secret are its variants (raw, base64 at every alignment, URL-,
 * form- and JSON-encoded…, see secretVariants), each variant's normalised form
 * (normalise.ts) and its hex in lower and upper case. They are searched in the
 * text as returned and in its normalised view (JSON/HTML/percent/quoted-printable
 * escapes decoded, line breaks and NULs dropped); a match in the view is mapped
 * back to the characters it was decoded from, so the whole escaped run goes.
 *
 * Why runs of NGRAM characters and not only whole values: upstreams echo most of
 * a key ("sk_test_…9f8e" minus the last four), split it across two header
 * values, or wrap it across lines. NGRAM = 10 because a half of any secret of 20+
 * characters is still found, a key echoed without its last few characters is
 * found from 14 characters on, and 10 characters of a random key (≥ 50 bits) do
 * not turn up by chance in unrelated text. The cost is cosmetic false positives
 * where a secret shares 10 characters with something public: a structured prefix
 * (`Bearer sk_test_`) followed by another key, or the account part a Stripe
 * publishable key shares with its secret key.
 *
 * Except the agent's own text: with `supplied` (what the agent sent for this
 * call), a hit whose every NGRAM-character window is also in the agent's text,
 * in any form listed there, and that is not a whole value, is not redacted (see
 * supplied.ts: otherwise an echo tells the agent, one guess at a time, which
 * strings are runs of a secret). One character the agent did not send and the
 * whole run goes, as before.
 *
 * Matching: every GRAM-character window (5) of every source is indexed; the
 * text is sampled every STRIDE (6) characters, which any run of NGRAM
 * characters cannot slip between. A sampled window goes through a bit filter and
 * a Map; each candidate is extended both ways against its source and kept when
 * the match reaches NGRAM characters. Hits are merged into ranges, each labelled
 * with the service with the most matched characters in it. Sources shorter than
 * NGRAM (short field values) go through one combined RegExp, scanned one
 * character at a time so overlaps are found too. `Bearer <token>` and `Basic
 * <creds>` are not sources (their n-grams would take the scheme off another
 * key): a range right after such a scheme takes the scheme too.
 *
 * Cost: linear in the text; on a 1 MiB JSON body ~6 ms (the normalising pass
 * about half), against ~0.5 ms for the former single RegExp of whole variants;
 * bodies of a few KiB stay in microseconds. See bench:gate.
 *
 * Bodies (`redactBody`): a gzip body (or a zlib one) is inflated, under a cap, to
 * look inside: one that holds a secret, or cannot be inspected, is withheld whole
 * (there is no mapping back into compressed bytes), and so is one cut at the size
 * cap (no fixed tail can be dropped from it). A body in UTF-16/32 (BOM,
 * declared or sniffed) or another declared non-UTF-8 charset is transcoded and
 * returned as UTF-8 text; one in a charset nothing here decodes (UTF-7, EBCDIC)
 * is withheld. UTF-8 text is redacted as text; anything else as bytes
 * (`redactBytes`: the latin1 view, one char per byte, against each source's UTF-8
 * bytes) *before* it is base64-encoded for the agent: once base64-encoded a
 * secret in binary data sits at an arbitrary alignment.
 *
 * Truncated bodies: a body cut at the byte cap could end in the first part of a
 * secret, and an agent able to pad the response (an echo endpoint) could move
 * the cut one character at a time and read it. With `{ truncated: true }` a
 * fixed-length tail is dropped whatever it holds: max(longest variant − 1,
 * (NGRAM − 1) × MAX_ESCAPE_LENGTH), enough to hold any part of a secret too short
 * to be matched, in any escaped form. The cut never depends on content (see cut).
 */
import { gunzipSync, inflateRawSync, inflateSync, constants as zc } from 'node:zlib';
import { bodyCharset, encodeBody, isTextualContentType, transcode } from './body.js';
import { MAX_ESCAPE_LENGTH, normalise, type NormalisedView } from './normalise.js';
import type { Supplied } from './supplied.js';

/** Shortest run of a secret's characters that is redacted on its own (see above). */
export const NGRAM = 10;
/** Most bytes a compressed body is inflated to for inspection; a larger one is withheld. */
const MAX_INFLATED_BYTES = 16 * 1024 * 1024;
/** Hex forms are listed for values up to this length. */
const MAX_HEX_SOURCE = 128;

interface RedactOptions {
  /** The text/bytes were cut at a size cap: also drop a tail that could begin a secret. */
  truncated?: boolean;
  /** What the agent sent for this call: its own text is not redacted (see supplied.ts). */
  supplied?: Supplied | undefined;
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// Any run of NGRAM characters contains a GRAM-character window starting at a
// multiple of STRIDE: only those windows are hashed and looked up, then each
// candidate is extended both ways against the source it came from.
const STRIDE = 6;
const GRAM = NGRAM - STRIDE + 1;
const BASE = 0x01000193;
const FILTER_BITS = 21;
const slot = (h: number): number => Math.imul(h, 0x9e3779b1) >>> (32 - FILTER_BITS);

// Matching ignores ASCII case: an upstream that upper-cases what it echoes ("INVALID KEY
// SK_LIVE_…") must not leak the key. Folding keeps lengths, so positions map as they are.
const fold = (c: number): number => (c >= 65 && c <= 90 ? c | 32 : c);
const foldAscii = (s: string): string => s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) | 32));

function hashOf(s: string, at: number): number {
  let h = 0;
  for (let k = 0; k < GRAM; k++) h = (Math.imul(h, BASE) + fold(s.charCodeAt(at + k))) | 0;
  return h;
}

/** A string to find and the index of its service. */
type Source = [string, number];

/** Flat hit list: start, end, service index, weight. */
type Hits = number[];

/** The agent's own runs of secrets (see Redactor#own). */
interface Own {
  /** Whether this window (a short source's match: itself) is in the agent's text. */
  has(window: string): boolean;
  /** Whether this run holds a whole value of NGRAM+ characters. */
  whole(run: string): boolean;
}

class Scanner {
  readonly #sources: Source[] = [];
  /** GRAM-character window → flat [source index, offset, …] of where it occurs. */
  readonly #grams = new Map<string, number[]>();
  readonly #filter = new Uint32Array(1 << (FILTER_BITS - 5));
  readonly #short: RegExp | undefined;
  readonly #shortLabel = new Map<string, number>();

  constructor(sources: Source[]) {
    for (const [src, svc] of sources) {
      if (src.length < NGRAM) {
        if (src !== '' && !this.#shortLabel.has(src)) this.#shortLabel.set(src, svc);
        continue;
      }
      const folded = foldAscii(src);
      const idx = this.#sources.push([folded, svc]) - 1;
      for (let i = 0; i + GRAM <= folded.length; i++) {
        const g = folded.slice(i, i + GRAM);
        const at = this.#grams.get(g);
        if (at === undefined) {
          this.#grams.set(g, [idx, i]);
          const b = slot(hashOf(g, 0));
          this.#filter[b >>> 5]! |= 1 << (b & 31);
        } else at.push(idx, i);
      }
    }
    const shorts = [...this.#shortLabel.keys()].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
    this.#short = shorts.length === 0 ? undefined : new RegExp(shorts.map(escapeRe).join('|'), 'g');
  }

  /** Appends the hits in `s` to `out`. */
  collect(s: string, out: Hits): void {
    const push = (start: number, end: number, svc: number, weight: number): number => out.push(start, end, svc, weight);
    const re = this.#short;
    if (re !== undefined) {
      re.lastIndex = 0;
      let m: RegExpExecArray | null;
      while ((m = re.exec(s)) !== null) {
        push(m.index, m.index + m[0].length, this.#shortLabel.get(m[0]) ?? 0, m[0].length);
        re.lastIndex = m.index + 1;
      }
    }
    if (this.#grams.size === 0) return;
    const filter = this.#filter;
    const n = s.length;
    for (let p = 0; p + GRAM <= n; p += STRIDE) {
      const b = slot(hashOf(s, p));
      if ((filter[b >>> 5]! & (1 << (b & 31))) === 0) continue;
      const at = this.#grams.get(foldAscii(s.slice(p, p + GRAM)));
      if (at === undefined) continue;
      for (let k = 0; k < at.length; k += 2) {
        const [src, svc] = this.#sources[at[k]!]!;
        const off = at[k + 1]!;
        let left = 0;
        while (left < off && left < p && fold(s.charCodeAt(p - left - 1)) === src.charCodeAt(off - left - 1)) left++;
        let right = GRAM;
        while (off + right < src.length && p + right < n && fold(s.charCodeAt(p + right)) === src.charCodeAt(off + right)) right++;
        if (left + right >= NGRAM) push(p - left, p + right, svc, left + right);
      }
    }
  }

  /** Whether `s` holds a whole source of NGRAM or more characters (ASCII case ignored). */
  holdsWhole(s: string): boolean {
    if (this.#grams.size === 0) return false;
    const n = s.length;
    // Any source of NGRAM+ characters holds a GRAM window at a sampled position of `s`.
    for (let p = 0; p + GRAM <= n; p += STRIDE) {
      const b = slot(hashOf(s, p));
      if ((this.#filter[b >>> 5]! & (1 << (b & 31))) === 0) continue;
      const at = this.#grams.get(foldAscii(s.slice(p, p + GRAM)));
      if (at === undefined) continue;
      for (let k = 0; k < at.length; k += 2) {
        const [src] = this.#sources[at[k]!]!;
        const off = at[k + 1]!;
        if (p >= off && p - off + src.length <= n && foldAscii(s.slice(p - off, p - off + src.length)) === src) return true;
      }
    }
    return false;
  }
}

/** Merged [start, end, service index] ranges, in order; the label is the service with the most weight. */
function merge(hits: Hits): [number, number, number][] {
  const count = hits.length / 4;
  if (count === 0) return [];
  const order = Array.from({ length: count }, (_, i) => i);
  order.sort((a, b) => hits[a * 4]! - hits[b * 4]! || a - b);
  const out: [number, number, number][] = [];
  let cur: [number, number, number] | undefined;
  let weights = new Map<number, number>();
  const close = (): void => {
    if (cur === undefined) return;
    let best = -1;
    for (const [svc, w] of weights) if (w > best || (w === best && svc < cur[2])) [best, cur[2]] = [w, svc];
    out.push(cur);
  };
  for (const i of order) {
    const [s, e, svc, w] = [hits[i * 4]!, hits[i * 4 + 1]!, hits[i * 4 + 2]!, hits[i * 4 + 3]!];
    if (cur !== undefined && s <= cur[1]) {
      if (e > cur[1]) cur[1] = e;
    } else {
      close();
      cur = [s, e, svc];
      weights = new Map();
    }
    weights.set(svc, (weights.get(svc) ?? 0) + w);
  }
  close();
  return out;
}

/** Replaces `ranges` and drops everything from `cut` on (a range crossing the cut is still replaced). */
function apply(text: string, ranges: [number, number, number][], labels: string[], cut = text.length): string {
  if (ranges.length === 0 && cut === text.length) return text;
  let out = '';
  let at = 0;
  for (const [s, e, svc] of ranges) {
    if (s >= cut) break;
    out += `${text.slice(at, s)}[REDACTED:${labels[svc] ?? 'secret'}]`;
    at = e;
  }
  return at < cut ? out + text.slice(at, cut) : out;
}

const hex = (s: string): string => Buffer.from(s, 'utf8').toString('hex');

export class Redactor {
  readonly #labels: string[] = [];
  readonly #text: Scanner;
  readonly #textSources: Source[];
  #bytes: Scanner | undefined;
  #lower: Scanner | undefined;
  /** Auth schemes (`Bearer `) whose `<scheme><secret>` variants are redacted in one piece. */
  readonly #schemes: string[] = [];
  /** Characters dropped from the end of a truncated text (see cut). */
  readonly tail: number;
  readonly #byteTail: number;

  constructor(entries: { service: string; variants: string[] }[]) {
    const sources = new Map<string, number>();
    const all = new Set(entries.flatMap((e) => e.variants));
    let longest = 0;
    let longestBytes = 0;
    for (const e of entries) {
      let svc = this.#labels.indexOf(e.service);
      if (svc < 0) svc = this.#labels.push(e.service) - 1;
      for (const v of e.variants) {
        if (v === '') continue;
        longest = Math.max(longest, v.length);
        longestBytes = Math.max(longestBytes, Buffer.byteLength(v));
        // `Bearer <token>`: its n-grams would also take the scheme and a space off
        // another key ("Bearer sk_t…"). The token is a source of its own; a match
        // right after the scheme takes the scheme too (see #ranges).
        const scheme = /^((?:Bearer|Basic) )(.+)$/s.exec(v);
        if (scheme !== null && all.has(scheme[2]!)) {
          if (!this.#schemes.includes(scheme[1]!)) this.#schemes.push(scheme[1]!);
          continue;
        }
        const forms = [v, normalise(v)?.text ?? v];
        // Hex of values, not of their encodings: a value is a variant whose base64 is one too.
        if (v.length <= MAX_HEX_SOURCE && all.has(Buffer.from(v, 'utf8').toString('base64'))) forms.push(hex(v), hex(v).toUpperCase());
        for (const f of forms) if (f !== '' && !sources.has(f)) sources.set(f, svc);
      }
    }
    this.#textSources = [...sources];
    this.#text = new Scanner(this.#textSources);
    const escaped = (NGRAM - 1) * MAX_ESCAPE_LENGTH;
    this.tail = Math.max(escaped, longest - 1);
    this.#byteTail = Math.max(escaped, longestBytes - 1);
  }

  #ranges(scanner: Scanner, text: string, supplied?: Supplied): [number, number, number][] {
    const hits: Hits = [];
    const own = supplied === undefined ? undefined : this.#own(scanner, supplied);
    this.#collect(scanner, text, hits, undefined, own);
    const view = normalise(text);
    if (view !== undefined) this.#collect(scanner, view.text, hits, view, own);
    const ranges: [number, number, number][] = [];
    for (const r of merge(hits)) {
      const scheme = this.#schemes.find((p) => r[0] >= p.length && text.startsWith(p, r[0] - p.length));
      if (scheme !== undefined) r[0] -= scheme.length;
      const last = ranges[ranges.length - 1];
      if (last !== undefined && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
      else ranges.push(r);
    }
    return ranges;
  }

  /** The hits in `s` less the agent's own text (`own`), positions mapped through `map` when given. */
  #collect(scanner: Scanner, s: string, out: Hits, map: NormalisedView | undefined, own: Own | undefined): void {
    let hits: Hits = [];
    scanner.collect(s, hits);
    if (own !== undefined && hits.length > 0) hits = unsupplied(s, hits, own);
    for (let k = 0; k < hits.length; k += 4) {
      const [start, end] = [hits[k]!, hits[k + 1]!];
      if (map === undefined) out.push(start, end, hits[k + 2]!, hits[k + 3]!);
      else out.push(map.from(start), map.to(end - 1), hits[k + 2]!, hits[k + 3]!);
    }
  }

  /**
   * Which runs are the agent's: the windows of its plain forms are found now,
   * whatever the output holds (see supplied.ts on timing); those of its encoded
   * forms only when a run is not among them.
   */
  #own(scanner: Scanner, supplied: Supplied): Own {
    const plain = this.#windows(scanner, supplied.plainWindows, () => supplied.plain(), true);
    let encoded: Set<string> | undefined;
    return {
      has: (w) => plain.has(w) || (encoded ??= this.#windows(scanner, supplied.encodedWindows, () => supplied.encoded(), false)).has(w),
      whole: (t) => scanner.holdsWhole(t),
    };
  }

  /**
   * The runs of secrets in `forms()`, as `scanner` finds them: every NGRAM window
   * of each (a short source: itself) as written, and upper- and lower-cased when
   * `cased` (an upstream may change the case of an echo). Once per call and scanner.
   */
  #windows(scanner: Scanner, cache: Map<object, Set<string>>, forms: () => string[], cased: boolean): Set<string> {
    const cached = cache.get(scanner);
    if (cached !== undefined) return cached;
    const found = new Set<string>();
    const add = (w: string): void => {
      found.add(w);
      if (cased) found.add(w.toLowerCase()).add(w.toUpperCase());
    };
    const hits: Hits = [];
    for (const form of forms()) {
      // The bytes scanner reads the latin1 view of UTF-8 (see redactBytes).
      const f = scanner === this.#bytes ? Buffer.from(form, 'utf8').toString('latin1') : form;
      hits.length = 0;
      scanner.collect(f, hits);
      for (let k = 0; k < hits.length; k += 4) {
        const [a, b] = [hits[k]!, hits[k + 1]!];
        if (b - a < NGRAM) add(f.slice(a, b));
        else for (let j = a; j + NGRAM <= b; j++) add(f.slice(j, j + NGRAM));
      }
    }
    cache.set(scanner, found);
    return found;
  }

  /** Whether `text` holds a whole secret value of NGRAM+ characters, in any form listed (case ignored). */
  holdsWhole(text: string): boolean {
    if (this.#text.holdsWhole(text)) return true;
    const view = normalise(text);
    return view !== undefined && this.#text.holdsWhole(view.text);
  }

  /**
   * Where a truncated text is cut: a fixed number of characters is dropped
   * whatever they contain. Redacting the tail only when it *looks like* a
   * secret's prefix would tell an agent that can echo its own text at the cap
   * whether each guessed character was right.
   */
  #cut(length: number, tail: number): number {
    return Math.max(0, length - tail);
  }

  redact(text: string, opts: RedactOptions = {}): string {
    return this.#redactText(text, opts.truncated === true, opts.supplied).text;
  }

  #redactText(text: string, truncated: boolean, supplied: Supplied | undefined): { text: string; found: string | undefined } {
    const ranges = this.#ranges(this.#text, text, supplied);
    const cut = truncated ? this.#cut(text.length, this.tail) : text.length;
    return { text: apply(text, ranges, this.#labels, cut), found: this.#labelOf(ranges) };
  }

  #labelOf(ranges: [number, number, number][]): string | undefined {
    return ranges.length === 0 ? undefined : (this.#labels[ranges[0]![2]] ?? 'secret');
  }

  /** Redacts the latin1 view of `bytes` against each source's UTF-8 bytes. */
  redactBytes(bytes: Uint8Array, opts: RedactOptions = {}): Uint8Array {
    return this.#redactBytes(bytes, opts.truncated === true, opts.supplied).bytes;
  }

  #redactBytes(bytes: Uint8Array, truncated: boolean, supplied: Supplied | undefined): { bytes: Uint8Array; found: string | undefined } {
    this.#bytes ??= new Scanner(this.#textSources.map(([v, s]): Source => [Buffer.from(v, 'utf8').toString('latin1'), s]));
    const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
    const ranges = this.#ranges(this.#bytes, view, supplied);
    const cut = truncated ? this.#cut(view.length, this.#byteTail) : view.length;
    if (ranges.length === 0 && cut === view.length) return { bytes, found: undefined };
    return { bytes: Buffer.from(apply(view, ranges, this.#labels, cut), 'latin1'), found: this.#labelOf(ranges) };
  }

  /** A response body as the agent receives it (see the file comment): utf8 text or base64. */
  redactBody(
    bytes: Uint8Array,
    contentType: string | undefined,
    truncated = false,
    supplied?: Supplied,
  ): { body: string; bodyEncoding: 'utf8' | 'base64' } {
    return this.#body(bytes, contentType, truncated, 0, supplied).out;
  }

  #body(
    bytes: Uint8Array,
    contentType: string | undefined,
    truncated: boolean,
    depth: number,
    supplied: Supplied | undefined,
  ): { out: { body: string; bodyEncoding: 'utf8' | 'base64' }; found: string | undefined; withheld?: boolean } {
    if (bytes.length === 0) return { out: encodeBody(bytes, contentType), found: undefined };
    const inflated = inflateForInspection(bytes);
    if (inflated !== undefined) {
      // Compressed without content-encoding (forward.ts decodes declared encodings).
      if (inflated === 'uninspectable' || depth > 0) return withheld('it is compressed and janee could not inspect all of it');
      // Cut at the cap: the inflatable part could end in the start of a key, and
      // there is no fixed tail to drop from compressed bytes (see the file comment).
      if (truncated) return withheld('it is compressed and was cut at the size cap (maxResponseBytes)');
      const inner = this.#body(inflated, undefined, false, depth + 1, supplied);
      if (inner.found !== undefined) return withheld('it is compressed and holds a secret', inner.found);
      if (inner.withheld === true) return inner;
      return { out: encodeBody(bytes, contentType, { truncated }), found: undefined };
    }
    const charset = bodyCharset(bytes, contentType);
    const textual = isTextualContentType(contentType);
    const untyped = contentType === undefined || contentType.trim() === '';
    if (charset === 'unknown') {
      if (textual || untyped) return withheld('it declares a charset janee cannot decode');
    } else if (charset !== undefined && !(isAsciiCompatible(charset) && validUtf8(bytes, truncated) !== undefined)) {
      const r = this.#redactText(transcode(bytes, charset, truncated), truncated, supplied);
      return { out: { body: r.text, bodyEncoding: 'utf8' }, found: r.found };
    }
    const text = validUtf8(bytes, truncated);
    if (text !== undefined) {
      const r = this.#redactText(text, truncated, supplied);
      if (textual || (untyped && !r.text.includes('\u0000'))) return { out: { body: r.text, bodyEncoding: 'utf8' }, found: r.found };
      return { out: { body: Buffer.from(r.text, 'utf8').toString('base64'), bodyEncoding: 'base64' }, found: r.found };
    }
    const r = this.#redactBytes(bytes, truncated, supplied);
    return { out: encodeBody(r.bytes, contentType, { truncated }), found: r.found };
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

  /**
   * Response headers: a header whose *name* holds a secret, in any case, is dropped. Values are
   * searched one by one and also as one run in order (joined by a line break,
   * which the normalised view drops), so a secret split across two headers is
   * found whatever the length of its pieces; each value loses its own part.
   */
  redactHeaders(h: Record<string, string>, supplied?: Supplied): Record<string, string> {
    // Names arrive lower-cased (undici): compared against lower-cased sources.
    this.#lower ??= new Scanner(this.#textSources.map(([v, s]): Source => [v.toLowerCase(), s]));
    const names = Object.keys(h).filter((k) => this.#ranges(this.#lower!, k.toLowerCase(), supplied).length === 0);
    const joined = names.map((k) => h[k]!).join('\n');
    const ranges = this.#ranges(this.#text, joined, supplied);
    const out: Record<string, string> = {};
    let at = 0;
    for (const k of names) {
      const v = h[k]!;
      const end = at + v.length;
      const mine = ranges
        .filter(([s, e]) => s < end && e > at)
        .map(([s, e, svc]): [number, number, number] => [Math.max(s, at) - at, Math.min(e, end) - at, svc]);
      out[k] = apply(v, mine, this.#labels);
      at = end + 1;
    }
    return out;
  }
}

/**
 * `hits` (in `s`) less the agent's own text: a hit is dropped when each of its
 * NGRAM-character windows is in `supplied`. Otherwise it is redacted whole, the
 * agent's part with the rest: the real key echoed after the agent's correct
 * guess must come back the same as after a wrong one (a window with a character
 * the agent did not send taints the run). A whole value of NGRAM+ characters
 * (`whole`) is redacted even when the agent sent it: no one guesses one, so that
 * says nothing, and a whole key never comes back (as exec refuses a request that
 * holds one). A short value (under NGRAM, matched only whole) is always redacted:
 * exempting it would let one call carrying many guesses unmask the injected value
 * wherever an upstream quotes it (a user name in `/me`); SECURITY.md says what a
 * short value is still exposed to.
 */
function unsupplied(s: string, hits: Hits, supplied: Own): Hits {
  const out: Hits = [];
  for (let k = 0; k < hits.length; k += 4) {
    const [a, b] = [hits[k]!, hits[k + 1]!];
    let own = b - a >= NGRAM;
    for (let j = a; own && j + NGRAM <= b; j++) own = supplied.has(s.slice(j, j + NGRAM));
    if (!own || (b - a >= NGRAM && supplied.whole(s.slice(a, b)))) out.push(a, b, hits[k + 2]!, hits[k + 3]!);
  }
  return out;
}

/** A body replaced whole by a notice (the agent still gets the status and headers). */
function withheld(
  why: string,
  service?: string,
): { out: { body: string; bodyEncoding: 'utf8' }; found: string | undefined; withheld: true } {
  const body = `${service === undefined ? '' : `[REDACTED:${service}] `}[janee withheld this body: ${why}]`;
  return { out: { body, bodyEncoding: 'utf8' }, found: service, withheld: true };
}

function validUtf8(bytes: Uint8Array, truncated: boolean): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes, { stream: truncated });
  } catch {
    return undefined;
  }
}

function isAsciiCompatible(charset: string): boolean {
  return !charset.startsWith('utf-16') && !charset.startsWith('utf-32') && charset !== 'replacement';
}

/**
 * For a body that starts like gzip (1f 8b) or zlib (78 01/5e/9c/da): its inflated
 * bytes, `uninspectable` when gzip fails to inflate or exceeds MAX_INFLATED_BYTES,
 * or undefined when it is not compressed (zlib headers also start ordinary text
 * such as "x^", so a zlib body that does not inflate is taken as not compressed).
 * A body cut at the cap inflates as far as it goes.
 */
function inflateForInspection(bytes: Uint8Array): Uint8Array | 'uninspectable' | undefined {
  if (bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) return unzipForInspection(bytes);
  const gzip = bytes[0] === 0x1f && bytes[1] === 0x8b;
  const zlib = bytes[0] === 0x78 && [0x01, 0x5e, 0x9c, 0xda].includes(bytes[1] ?? -1);
  if (!gzip && !zlib) return undefined;
  const opts = { maxOutputLength: MAX_INFLATED_BYTES, finishFlush: zc.Z_SYNC_FLUSH };
  try {
    return gzip ? gunzipSync(bytes, opts) : inflateSync(bytes, opts);
  } catch {
    return gzip ? 'uninspectable' : undefined;
  }
}

/** More entries than this in one archive is not inspected (withheld). */
const MAX_ZIP_ENTRIES = 1000;
const ZIP_LOCAL = 0x04034b50;
const ZIP_DESCRIPTOR = 0x08074b50;
const ZIP_CENTRAL = 0x02014b50;
const ZIP_END = 0x06054b50;
/** What may follow an entry's data descriptor. */
const ZIP_NEXT = [ZIP_LOCAL, ZIP_CENTRAL, ZIP_END];

/**
 * A zip archive (PK\3\4): its entries are raw deflate, which gzip and zlib framing do not
 * cover, so an export endpoint's .zip would hand the agent an echoed key. The entries are
 * walked through their local headers, as an unzip tool reads them; each deflated one is
 * inflated (all of them together under MAX_INFLATED_BYTES). Returned: a newline, the
 * inflated entries, then the archive itself (stored entries, names and comments as they
 * are). Anything else — encryption, another method, a stored entry whose size follows
 * it, a header that does not parse, bytes between the entries and the central directory
 * — is `uninspectable`: withheld, never passed on unread.
 */
function unzipForInspection(bytes: Uint8Array): Uint8Array | 'uninspectable' {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The newline first: what is inspected must not itself start like a compressed body.
  const parts: Buffer[] = [Buffer.from('\n')];
  let room = MAX_INFLATED_BYTES;
  let o = 0;
  for (let n = 0; o + 30 <= view.length && view.readUInt32LE(o) === ZIP_LOCAL; n++) {
    if (n >= MAX_ZIP_ENTRIES) return 'uninspectable';
    const flags = view.readUInt16LE(o + 6);
    const method = view.readUInt16LE(o + 8);
    const size = view.readUInt32LE(o + 18);
    const start = o + 30 + view.readUInt16LE(o + 26) + view.readUInt16LE(o + 28);
    const descriptor = (flags & 0x08) !== 0;
    if ((flags & 0x01) !== 0 || start > view.length) return 'uninspectable';
    if (method === 0) {
      if (descriptor || startsCompressed(view.subarray(start, start + size))) return 'uninspectable';
      o = start + size;
    } else if (method === 8) {
      if (room <= 0) return 'uninspectable';
      let r: { buffer: Buffer; engine: { bytesWritten: number } };
      try {
        r = inflateRawSync(view.subarray(start), {
          info: true,
          maxOutputLength: room,
          finishFlush: zc.Z_SYNC_FLUSH,
        }) as unknown as typeof r;
      } catch {
        return 'uninspectable';
      }
      if (startsCompressed(r.buffer)) return 'uninspectable';
      parts.push(r.buffer, Buffer.from('\n'));
      room -= r.buffer.length;
      // A header whose size disagrees with the stream could skip an entry unread.
      if (!descriptor && r.engine.bytesWritten !== size) return 'uninspectable';
      o = start + r.engine.bytesWritten;
    } else return 'uninspectable';
    if (descriptor) {
      // crc and sizes after the data (4 + 4 + 4, or 4 + 8 + 8 in zip64), with or without a signature.
      const base = o + 4 <= view.length && view.readUInt32LE(o) === ZIP_DESCRIPTOR ? o + 4 : o;
      const next = [base + 12, base + 20].find((p) => p + 4 <= view.length && ZIP_NEXT.includes(view.readUInt32LE(p)));
      if (next === undefined) return 'uninspectable';
      o = next;
    }
  }
  // The walk ends at the central directory or the end record (or the end of a body cut at
  // the cap, withheld by the caller anyway); anything else hides entries it did not see.
  if (o + 4 <= view.length && view.readUInt32LE(o) !== ZIP_CENTRAL && view.readUInt32LE(o) !== ZIP_END) return 'uninspectable';
  parts.push(view);
  return Buffer.concat(parts);
}

/** An entry that is itself gzip, zlib or zip: compressed twice, not inspected (as gzip inside gzip). */
function startsCompressed(b: Uint8Array): boolean {
  return (
    (b[0] === 0x1f && b[1] === 0x8b) ||
    (b[0] === 0x78 && [0x01, 0x5e, 0x9c, 0xda].includes(b[1] ?? -1)) ||
    (b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04)
  );
}
