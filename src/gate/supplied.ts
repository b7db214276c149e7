/**
 * What the agent sent in one call, for the redactor's exemption: the agent must
 * learn nothing from janee about text it supplied itself.
 *
 * Redaction answers "does this text hold a run of a secret?". Asked about the
 * agent's own text (an upstream that echoes an id, an error that quotes a path,
 * a program that prints its stdin), that answer is an oracle: guess one
 * character after nine known ones, and the key comes out one character per ~38
 * calls. So a run of a secret in the output is left alone when the same run
 * (see Redactor: every NGRAM-character window of it) is in what the agent sent
 * for this call, in any form the redactor models: as sent, with escapes decoded,
 * upper- or lower-cased, base64 at every alignment, hex, URL-, form- and
 * JSON-encoded. Everything else (the key janee injected, echoed back; a longer
 * stretch of a secret around the agent's text) is redacted as before, and so is
 * a whole value of NGRAM+ characters even when the agent sent it (no one guesses
 * one, so that answer says nothing).
 *
 * The redactor keeps, per scanner, only the windows of the forms that are
 * secret runs. The plain forms (as sent, decoded) are searched on every call,
 * whatever the output holds: were they searched only when the output has a
 * secret run, a right guess echoed would take longer to answer than a wrong
 * one, and the oracle would be back as a timing one. The encoded forms (~20
 * times the text) are searched only for a run the plain ones do not cover: an
 * encoded echo (a base64 cursor) of a right guess still answers later than of
 * a wrong one, by ~0.1 ms (SECURITY.md, Redaction, lists what is not covered).
 */
import type { ExecRequest } from '../exec/request.js';
import { secretVariants } from './inject.js';
import { normalise } from './normalise.js';
import type { ExecuteRequest } from './types.js';

const hex = (s: string): string => Buffer.from(s, 'utf8').toString('hex');

/**
 * Agent text given its encoded forms (base64, hex, URL, JSON: ~20 times its size),
 * shortest parts first. Past this the rest only gets its plain forms: a 4 MiB
 * body in every encoding would cost ~0.3 s of CPU.
 */
const MAX_ENCODED_CHARS = 64 * 1024;

export class Supplied {
  readonly #parts: string[];
  /** The redactor's caches: per scanner, the secret windows found in plain() and in encoded(). */
  readonly plainWindows = new Map<object, Set<string>>();
  readonly encodedWindows = new Map<object, Set<string>>();

  constructor(parts: Iterable<string>) {
    this.#parts = [...new Set(parts)].filter((p) => p !== '');
  }

  /** Each part as sent and with its escapes decoded (the redactor adds upper and lower case). */
  plain(): string[] {
    const out = new Set<string>();
    for (const part of this.#parts) out.add(part).add(normalise(part)?.text ?? part);
    return [...out];
  }

  /** The encodings the redactor lists for a secret value, applied to the agent's text. */
  encoded(): string[] {
    const out = new Set<string>();
    let budget = MAX_ENCODED_CHARS;
    for (const part of [...this.#parts].sort((a, b) => a.length - b.length)) {
      if ((budget -= part.length) < 0) break;
      for (const v of secretVariants({ type: 'header', name: 'x' }, { token: part })) {
        out.add(v);
        const view = normalise(v)?.text;
        if (view !== undefined) out.add(view);
      }
      const h = hex(part);
      out.add(h).add(h.toUpperCase());
    }
    out.delete('');
    return [...out];
  }
}

/** Every string in `x`, object keys too, in document order. A loop, not recursion: a body nested 100,000 deep is legal JSON-RPC. */
function strings(x: unknown, out: string[]): string[] {
  const stack: unknown[] = [x];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') out.push(v);
    else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v as Record<string, unknown>);
      const keys = !Array.isArray(v);
      // Pushed in reverse so they come off the stack in order: key, its value, next key…
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, child] = entries[i]!;
        stack.push(child);
        if (keys) stack.push(k);
      }
    }
  }
  return out;
}

/** An execute request: service, method, path, query, headers, body (as sent). */
export function suppliedByExecute(req: ExecuteRequest): Supplied {
  const parts = strings([req?.service, req?.method, req?.path, req?.query, req?.headers], []);
  const body: unknown = req?.body;
  if (body !== undefined && body !== null) {
    strings(body, parts);
    if (typeof body === 'object') {
      // Too deep to serialise: the gate refuses such a body (GATE_BAD_REQUEST); its strings are above.
      try {
        parts.push(JSON.stringify(body));
      } catch {
        // nothing more to add
      }
    }
  }
  return new Supplied(parts);
}

/** An exec request: command, arguments, cwd, stdin. */
export function suppliedByExec(req: ExecRequest): Supplied {
  return new Supplied(strings([req?.command, req?.args, req?.cwd, req?.stdin], []));
}
