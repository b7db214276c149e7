/**
 * Reading the audit log: `janee logs` (readEntries) and `janee logs --follow`
 * (followEntries). Readers are lenient: lines that are not entries are skipped
 * (`janee logs verify` is where damage is reported). Files are streamed, so a day
 * file of any size is read in bounded memory.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { JaneeError } from '../errors.js';
import { fileLines, fileLinesReverse } from './lines.js';
import { FILE_RE, looseParse, type AuditEntry } from './record.js';

export interface ReadOptions {
  /** Only entries for this service. */
  service?: string;
  /** Only entries from this agent. */
  agent?: string;
  /** Only the last N matching entries (0 = none). */
  limit?: number;
}

/** The day files in `dir`, oldest first (names only). Missing dir → []. */
export async function listLogFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw readError(dir, e);
  }
  return names.filter((n) => FILE_RE.test(n)).sort();
}

function readError(file: string, e: unknown): JaneeError {
  if (e instanceof JaneeError) return e;
  const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
  return new JaneeError('AUDIT_READ_FAILED', `could not read ${file} (${code})`, 'check the audit directory permissions');
}

function matches(e: AuditEntry, opts: ReadOptions): boolean {
  return (opts.service === undefined || e.service === opts.service) && (opts.agent === undefined || e.agent === opts.agent);
}

/** Matching entries of one file, streamed. Returns the offset just past its last `\n`. */
async function readFileEntries(file: string, opts: ReadOptions, out: AuditEntry[]): Promise<number> {
  let end = 0;
  try {
    for await (const l of fileLines(file)) {
      if (!l.terminated) break; // a partial last line: held back (follow reads it once complete)
      end = l.end;
      const e = l.tooLong ? null : looseParse(l.text);
      if (e && matches(e, opts)) out.push(e);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw readError(file, e);
  }
  return end;
}

/**
 * The last `want` matching entries of one file, reading backwards (in file order
 * in `out`). Returns the offset just past its last `\n`, like readFileEntries.
 */
async function tailFileEntries(file: string, opts: ReadOptions, want: number, out: AuditEntry[]): Promise<number> {
  let end: number | undefined;
  const found: AuditEntry[] = [];
  try {
    for await (const l of fileLinesReverse(file)) {
      if (end === undefined) end = l.terminated ? l.end : l.start;
      if (!l.terminated || found.length >= want) {
        if (found.length >= want) break;
        continue; // a partial last line: held back
      }
      const e = l.tooLong ? null : looseParse(l.text);
      if (e && matches(e, opts)) found.push(e);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw readError(file, e);
  }
  out.push(...found.reverse());
  return end ?? 0;
}

/**
 * Entries across all day files in date order (line order within a file), filtered.
 * With `limit`, only the last N are returned and older files are not read once
 * enough have been found.
 */
export async function readEntries(dir: string, opts: ReadOptions = {}): Promise<AuditEntry[]> {
  return (await readWithPosition(dir, opts)).entries;
}

interface Position {
  /** Newest file name, or null if there is none. */
  file: string | null;
  /** Offset just past the last complete line read from it. */
  offset: number;
}

async function readWithPosition(dir: string, opts: ReadOptions): Promise<{ entries: AuditEntry[]; pos: Position }> {
  const files = await listLogFiles(dir);
  const limit = opts.limit === undefined ? Infinity : Math.max(0, Math.floor(opts.limit));
  const chunks: AuditEntry[][] = [];
  let found = 0;
  const pos: Position = { file: files.at(-1) ?? null, offset: 0 };
  for (let i = files.length - 1; i >= 0; i--) {
    const name = files[i] as string;
    const out: AuditEntry[] = [];
    // With a limit, only the end of a file is needed: read it backwards.
    const end =
      limit === Infinity
        ? await readFileEntries(path.join(dir, name), opts, out)
        : await tailFileEntries(path.join(dir, name), opts, limit - found, out);
    if (i === files.length - 1) pos.offset = end;
    chunks.push(out);
    found += out.length;
    if (found >= limit) break;
  }
  const all = chunks.reverse().flat();
  const entries = limit === Infinity ? all : limit === 0 ? [] : all.slice(-limit);
  return { entries, pos };
}

export interface FollowOptions extends ReadOptions {
  /** Poll interval (default 200 ms). */
  pollMs?: number;
}

/**
 * `janee logs --follow`: first calls `onEntry` for what `readEntries(dir, opts)`
 * returns (so `limit` is how much history to show first; 0 for none), then polls
 * the newest day file every `pollMs` and calls `onEntry` for each new complete
 * line, moving on to newer day files as they appear (day rollover; the rest of
 * the previous file is read first). A partial last line is held back until its
 * newline arrives. Resolves when `signal` aborts.
 */
export async function followEntries(
  dir: string,
  opts: FollowOptions,
  onEntry: (e: AuditEntry) => void,
  signal: AbortSignal,
): Promise<void> {
  const filter: ReadOptions = {};
  if (opts.service !== undefined) filter.service = opts.service;
  if (opts.agent !== undefined) filter.agent = opts.agent;
  const { entries, pos } = await readWithPosition(dir, opts);
  for (const e of entries) {
    if (signal.aborted) return;
    onEntry(e);
  }
  const pollMs = opts.pollMs ?? 200;
  let { file, offset } = pos;

  const readFrom = async (name: string, from: number): Promise<number> => {
    const file = path.join(dir, name);
    let size: number;
    try {
      size = (await fs.stat(file)).size;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return from;
      throw readError(name, e);
    }
    if (size < from) from = 0; // replaced or truncated: start over on it
    if (size === from) return from;
    try {
      for await (const l of fileLines(file, { start: from })) {
        if (!l.terminated) break;
        from = l.end;
        const e = l.tooLong ? null : looseParse(l.text);
        if (e && matches(e, filter) && !signal.aborted) onEntry(e);
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw readError(name, e);
    }
    return from;
  };

  while (!signal.aborted) {
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, pollMs);
      function done(): void {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
    if (signal.aborted) break;
    if (file !== null) offset = await readFrom(file, offset);
    const files = await listLogFiles(dir);
    for (const name of files) {
      if (file !== null && name <= file) continue;
      // A newer day file: finish with it from the start, then keep following it.
      file = name;
      offset = await readFrom(name, 0);
    }
  }
}
