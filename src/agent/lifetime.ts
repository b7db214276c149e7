/**
 * How long the agent lives, and whether it is still where it was started.
 *
 * Timers. The agent stops at the first of: no unlock within STARTUP_UNLOCK_MS of
 * starting; the idle timeout (--ttl, from the last call that used the vault);
 * the hard limit (--max-ttl, from the last unlock). One timer is armed for the
 * nearest deadline and re-checked when it fires.
 *
 * Place. The socket file at our path must stay the one we bound. If it is moved
 * aside or replaced, this agent may be reached only through a relay: it stops
 * (as soon as the directory watch sees it, on the next connection, and before
 * anything that involves the key or a new secret: AGENT_DISPLACED).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { JaneeError } from '../errors.js';
import { DEFAULT_MAX_TTL_MS, DEFAULT_TTL_MS } from './protocol.js';

/** A fresh agent that gets no key within this long exits. */
export const STARTUP_UNLOCK_MS = 30_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

export class Timers {
  readonly #expire: (why: string) => void;
  readonly #startedAt = Date.now();
  readonly #startupUnlockMs: number;
  #ttlMs: number;
  #maxTtlMs: number;
  #unlockedAt: number | undefined;
  #lastUse = Date.now();
  #timer: NodeJS.Timeout | undefined;
  #cancelled = false;

  constructor(
    opts: { ttlMs?: number | undefined; maxTtlMs?: number | undefined; startupUnlockMs?: number | undefined },
    expire: (why: string) => void,
  ) {
    this.#ttlMs = opts.ttlMs ?? DEFAULT_TTL_MS;
    this.#maxTtlMs = opts.maxTtlMs ?? DEFAULT_MAX_TTL_MS;
    this.#startupUnlockMs = opts.startupUnlockMs ?? STARTUP_UNLOCK_MS;
    this.#expire = expire;
  }

  get ttlMs(): number {
    return this.#ttlMs;
  }

  get maxTtlMs(): number {
    return this.#maxTtlMs;
  }

  get unlockedAt(): number | undefined {
    return this.#unlockedAt;
  }

  /** ms until the idle timeout / the hard limit. */
  idleLeftMs(now: number): number {
    return Math.max(0, this.#lastUse + this.#ttlMs - now);
  }

  hardLeftMs(now: number): number | null {
    return this.#unlockedAt === undefined ? null : Math.max(0, this.#unlockedAt + this.#maxTtlMs - now);
  }

  /** A call used the vault: the idle timeout starts again. */
  touch(): void {
    this.#lastUse = Date.now();
  }

  /** An unlock: new limits, both counted from now. */
  reset(ttlMs: number, maxTtlMs: number): void {
    this.#ttlMs = ttlMs;
    this.#maxTtlMs = maxTtlMs;
    this.#unlockedAt = Date.now();
    this.#lastUse = Date.now();
    this.arm();
  }

  arm(): void {
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#cancelled) return;
    const { at } = this.#deadline();
    this.#timer = setTimeout(() => this.#check(), Math.min(MAX_TIMER_MS, Math.max(0, at - Date.now())));
  }

  cancel(): void {
    this.#cancelled = true;
    if (this.#timer) clearTimeout(this.#timer);
  }

  /** The moment the agent stops unless something happens. */
  #deadline(): { at: number; why: string } {
    if (this.#unlockedAt === undefined) return { at: this.#startedAt + this.#startupUnlockMs, why: 'no unlock arrived' };
    const idle = this.#lastUse + this.#ttlMs;
    const hard = this.#unlockedAt + this.#maxTtlMs;
    return idle <= hard ? { at: idle, why: 'idle timeout' } : { at: hard, why: 'hard time limit' };
  }

  #check(): void {
    const d = this.#deadline();
    if (Date.now() >= d.at) this.#expire(d.why);
    else this.arm();
  }
}

export const DISPLACED = 'the agent socket was moved or replaced';

export class Place {
  readonly #socketPath: string;
  readonly #log: (line: string) => void;
  readonly #displaced: (why: string) => void;
  #ino: bigint | undefined;
  #watcher: fs.FSWatcher | undefined;
  #done = false;

  /** `displaced` is called (perhaps more than once) when the socket at our path is no longer ours. */
  constructor(socketPath: string, log: (line: string) => void, displaced: (why: string) => void) {
    this.#socketPath = socketPath;
    this.#log = log;
    this.#displaced = displaced;
  }

  /** Records the socket file just bound, and watches its directory (inotify/kqueue). */
  bound(ino: bigint): void {
    this.#ino = ino;
    const sock = this.#socketPath;
    try {
      this.#watcher = fs.watch(path.dirname(sock), { persistent: false }, (_event, name) => {
        if (name !== null && name !== path.basename(sock)) return;
        if (!this.#done && !this.ours()) {
          this.#log('our socket file was moved or replaced: stopping');
          this.#displaced(DISPLACED);
        }
      });
      this.#watcher.on('error', () => undefined);
    } catch {
      this.#log('cannot watch the socket directory; the checks before each sensitive request remain');
    }
  }

  /** Whether the socket file at our path is the one we bound. */
  ours(): boolean {
    try {
      return this.#ino !== undefined && fs.lstatSync(this.#socketPath, { bigint: true }).ino === this.#ino;
    } catch {
      return false;
    }
  }

  /**
   * Before anything that involves the key or a new secret: if the socket at our
   * path is no longer ours, stop (wiping the key) and refuse (fail closed).
   */
  check(): void {
    if (this.#done || this.ours()) return;
    this.#log('the socket at our path is no longer ours (moved or replaced): stopping');
    this.#displaced(DISPLACED);
    throw new JaneeError(
      'AGENT_DISPLACED',
      `the agent socket ${this.#socketPath} was moved or replaced; the agent wiped its key and stopped`,
      'check what else listens on that path, then run `janee unlock` again',
    );
  }

  /** Stops watching; from now on the agent is stopping anyway. */
  close(): void {
    this.#done = true;
    this.#watcher?.close();
  }

  /** Removes the socket file if it is still ours. */
  removeIfOurs(): void {
    try {
      const st = fs.lstatSync(this.#socketPath, { bigint: true });
      if (this.#ino !== undefined && st.ino === this.#ino) fs.rmSync(this.#socketPath, { force: true });
    } catch {
      /* already gone */
    }
  }
}
