/**
 * The kill switch: `<JANEE_HOME>/killswitch`, present while anything is blocked.
 *
 * Format (UTF-8 text, 0600, written atomically under `<file>.lock`):
 *
 *     # janee kill switch: calls to the services below are blocked while this file exists.
 *     # One service name per line; "*" blocks every service. Remove with: janee killswitch off --all
 *     *
 *     stripe
 *     github
 *
 * - `#` lines and blank lines are ignored; surrounding whitespace (and a CR) is trimmed.
 * - `*` on a line of its own is the global switch: every service is blocked.
 * - The global switch and the per-service blocks are independent: `janee
 *   killswitch off` lifts the global switch and leaves `stripe` blocked. (Files
 *   written before this kept no service lines beside `*`; they read the same.)
 * - A file with no entries at all blocks every service too, so
 *   `touch ~/.janee/killswitch` is an emergency stop that needs no janee.
 * - Anything else (a line that is not a service name, a file over 64 KiB, a file
 *   that cannot be read) fails closed: everything is blocked and `error` says why.
 * - No file: nothing is blocked. `setKillswitch` deletes the file when the last
 *   block is lifted.
 */
import { constants as fsc } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { JaneeError, usageError } from '../errors.js';
import { atomicWrite, ensureDir, withLock } from '../util/fsutil.js';

export interface KillState {
  all: boolean;
  services: Set<string>;
  /** Set when the file could not be understood; `all` is then true (fail closed). */
  error?: string;
}

/** Same rule as config.yaml service names. */
const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const MAX_BYTES = 64 * 1024;

const HEADER =
  '# janee kill switch: calls to the services below are blocked while this file exists.\n' +
  '# One service name per line; "*" blocks every service. Remove with: janee killswitch off --all\n';

const off = (): KillState => ({ all: false, services: new Set() });
const failClosed = (error: string): KillState => ({ all: true, services: new Set(), error });

export function parseKillswitch(text: string): KillState {
  const services = new Set<string>();
  let all = false;
  let entries = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    if (line === '' || line.startsWith('#')) continue;
    entries++;
    if (line === '*') all = true;
    else if (SERVICE_NAME.test(line)) services.add(line);
    else return failClosed(`line ${i + 1} is neither a service name nor "*"`);
  }
  if (entries === 0) return { all: true, services };
  return { all, services };
}

export function formatKillswitch(s: KillState): string {
  return (
    HEADER +
    (s.all ? '*\n' : '') +
    [...s.services]
      .sort()
      .map((n) => `${n}\n`)
      .join('')
  );
}

export async function readKillswitch(file: string): Promise<KillState> {
  let h: fs.FileHandle;
  try {
    // O_NONBLOCK: a FIFO put in its place would block the open for ever (every call and
    // `janee killswitch` itself waiting on it); it opens at once and is refused below.
    h = await fs.open(file, fsc.O_RDONLY | fsc.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return off();
    return failClosed(`${file} cannot be read (${code ?? 'EIO'})`);
  }
  try {
    if (!(await h.stat()).isFile()) return failClosed(`${file} cannot be read (not a regular file)`);
    const buf = Buffer.alloc(MAX_BYTES + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await h.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n > MAX_BYTES) return failClosed(`${file} is larger than ${MAX_BYTES} bytes`);
    }
    const st = parseKillswitch(buf.subarray(0, n).toString('utf8'));
    return st.error === undefined ? st : failClosed(`${file}: ${st.error}`);
  } catch (e) {
    return failClosed(`${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'EIO'})`);
  } finally {
    await h.close();
  }
}

export function isKilled(s: KillState, service: string): boolean {
  return s.all || s.services.has(service);
}

/** What is blocked, in words: "everything", "everything (and on their own: github)", "stripe, github" or "nothing". */
export function describeKillState(s: KillState): string {
  const names = [...s.services].sort();
  if (s.error !== undefined) return `everything (the kill switch file is damaged: ${s.error})`;
  if (s.all) return names.length ? `everything (and on their own: ${names.join(', ')})` : 'everything';
  return names.length ? names.join(', ') : 'nothing';
}

/**
 * What a change does to the state (pure). `on`: with no services the global
 * switch, else those services. `off`: with no services the global switch only,
 * else those services only; with `everything`, every block. The global switch
 * and the per-service blocks never touch each other.
 */
function applyKillChange(cur: KillState, on: boolean, services: readonly string[], opts: { everything?: boolean } = {}): KillState {
  if (!on && opts.everything === true) return off();
  const next = new Set(cur.services);
  if (services.length === 0) return { all: on, services: next };
  for (const s of services) {
    if (on) next.add(s);
    else next.delete(s);
  }
  return { all: cur.all, services: next };
}

/**
 * Apply a change (see applyKillChange) to the file under its lock and return the
 * new state. A damaged file (which blocks everything) is only ever replaced by
 * `off` with `everything`: its service lines cannot be known, so no other change
 * can keep them.
 */
export async function setKillswitch(
  file: string,
  on: boolean,
  services: readonly string[],
  opts: { everything?: boolean } = {},
): Promise<KillState> {
  for (const s of services) {
    if (!SERVICE_NAME.test(s)) {
      throw usageError(`"${s.slice(0, 64)}" is not a service name`, 'service names are 1-64 letters, digits, "_", "." or "-"');
    }
  }
  const everything = !on && opts.everything === true;
  await ensureDir(path.dirname(file));
  return withLock(file, async () => {
    const cur = await readKillswitch(file);
    if (cur.error !== undefined && !everything) {
      throw new JaneeError(
        'KILLSWITCH_DAMAGED',
        `the kill switch file is damaged (${cur.error}), so every service is blocked`,
        `fix or delete ${file}, or run \`janee killswitch off --all\` to lift every block`,
      );
    }
    const next = applyKillChange(cur, on, services, { everything });
    if (!next.all && next.services.size === 0) {
      await fs.rm(file, { force: true });
    } else {
      await atomicWrite(file, formatKillswitch(next), { backup: false });
    }
    return next;
  });
}

/**
 * Cached view of the kill switch for the per-call path. A call within `maxAgeMs`
 * of the last check costs nothing; after that, one `stat` — the file is re-read
 * only when its inode, size, mtime or ctime changed (atomic writes always make a
 * new inode). So a running gate sees `janee killswitch on` within maxAgeMs.
 */
export class KillswitchWatcher {
  readonly #file: string;
  readonly #maxAgeMs: number;
  #state: KillState | undefined;
  #sig: string | undefined;
  #checkedAt = Number.NEGATIVE_INFINITY;
  #inflight: Promise<KillState> | undefined;

  constructor(file: string, opts: { maxAgeMs?: number } = {}) {
    this.#file = file;
    this.#maxAgeMs = opts.maxAgeMs ?? 250;
  }

  current(): Promise<KillState> {
    if (this.#state !== undefined && performance.now() - this.#checkedAt < this.#maxAgeMs) {
      return Promise.resolve(this.#state);
    }
    this.#inflight ??= this.#refresh().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  async #refresh(): Promise<KillState> {
    let sig: string;
    try {
      const st = await fs.stat(this.#file, { bigint: true });
      sig = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    } catch (e) {
      sig = `missing:${(e as NodeJS.ErrnoException).code ?? 'EIO'}`;
    }
    if (this.#state === undefined || sig !== this.#sig) {
      this.#state = await readKillswitch(this.#file);
      this.#sig = sig;
    }
    this.#checkedAt = performance.now();
    return this.#state;
  }
}
