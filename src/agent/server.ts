/**
 * The agent: a long-lived process (`janee agent`, started detached by
 * `janee unlock`) that holds the unlocked vault and runs the gate for every
 * serve, over a Unix socket (protocol.ts). This file puts its parts together:
 *
 *   listener.ts   the socket: single-instance bind, framing, connections
 *   args.ts       each op's arguments checked at the edge
 *   ops.ts        what each op does
 *   keyholder.ts  the file key and the vault it opens (adopt, wipe, write)
 *   lifetime.ts   the idle / hard / start-up timers, and the socket's place
 *
 * Life cycle.
 *   start  → bind the socket (single instance) → report "ready" on the ready
 *            pipe → wait for the file key on that same pipe, inherited from the
 *            `janee unlock` that started it (run.ts; never over the socket; the
 *            agent never sees the passphrase and never runs scrypt).
 *   unlock → verify the key opens the vault file → serve calls.
 *   stop   → on `lock`, idle timeout (--ttl, reset by each call that uses the
 *            vault), hard limit (--max-ttl, from the last unlock), SIGTERM/SIGINT,
 *            a displaced socket, or no unlock within STARTUP_UNLOCK_MS: wipe the
 *            key, stop listening (which removes the socket file), let calls in
 *            flight finish (at most DRAIN_MS), close connections, flush the audit
 *            log, exit.
 *
 * The log (stderr, redirected by `unlock` to a file next to the socket) holds
 * events and error codes, never secrets or request contents.
 */
import { JaneeError } from '../errors.js';
import { killRunning, whenNoneRunning } from '../exec/run.js';
import { LocalGate } from '../gate/gate.js';
import { secret } from '../util/secret.js';
import { optionalMs } from './args.js';
import { KeyHolder } from './keyholder.js';
import { DISPLACED, Place, Timers } from './lifetime.js';
import { Listener } from './listener.js';
import { lockedError, lockedSource } from './locked.js';
import { agentOps, dispatch, type Handlers } from './ops.js';
import type { RequestId, UnlockResult } from './protocol.js';

export { STARTUP_UNLOCK_MS } from './lifetime.js';
export type { UnlockResult } from './protocol.js';

/** Calls in flight get this long to finish when the agent stops. */
export const DRAIN_MS = 5_000;

interface AgentOptions {
  vaultFile: string;
  socketPath: string;
  configFile: string;
  auditDir: string;
  killswitchFile: string;
  ttlMs?: number;
  maxTtlMs?: number;
  /** Diagnostics (one line each, no secrets). */
  log?: (line: string) => void;
  /** Called once when the agent is listening (or found another one running). */
  onStarted?: (r: { ready: true; pid: number } | { exists: true; pid: number | null }) => void;
  startupUnlockMs?: number;
}

export class Agent {
  readonly #opts: AgentOptions;
  readonly #log: (line: string) => void;
  readonly #gate: LocalGate;
  readonly #keys: KeyHolder;
  readonly #timers: Timers;
  readonly #place: Place;
  readonly #listener: Listener;
  readonly #ops: Handlers;
  #stopping: Promise<void> | undefined;
  #stopped!: () => void;
  readonly done: Promise<void>;
  /** Serialises unlock and lock so they never interleave. */
  #keyOps: Promise<unknown> = Promise.resolve();

  constructor(opts: AgentOptions) {
    this.#opts = opts;
    const log = (this.#log = opts.log ?? (() => undefined));
    const gate = (this.#gate = new LocalGate({
      configFile: opts.configFile,
      auditDir: opts.auditDir,
      killswitchFile: opts.killswitchFile,
      secrets: lockedSource(lockedError(opts.vaultFile, opts.socketPath, 'the agent is waiting for its key')),
    }));
    this.#keys = new KeyHolder({ vaultFile: opts.vaultFile, socketPath: opts.socketPath, gate, log });
    this.#timers = new Timers(opts, (why) => void this.stop(why));
    this.#place = new Place(opts.socketPath, log, (why) => void this.stop(why));
    this.#listener = new Listener({
      accept: () => {
        if (this.#stopping) return false;
        if (this.#place.ours()) return true;
        // Reached through a path that is no longer ours: a relay may sit at our path.
        log('a connection arrived but the socket at our path is no longer ours: stopping');
        void this.stop(DISPLACED);
        return false;
      },
      dispatch: (req, conn, signal) => dispatch(this.#ops, req, conn, signal),
      log,
    });
    this.#ops = agentOps({
      vaultFile: opts.vaultFile,
      configFile: opts.configFile,
      socketPath: opts.socketPath,
      gate,
      keys: this.#keys,
      timers: this.#timers,
      place: this.#place,
      log,
      connections: () => this.#listener.connections,
      stop: (why) => void this.stop(why),
      serial: (fn) => this.#serial(fn),
      adopt: (key, ttlMs, maxTtlMs) => this.#adopt(key, ttlMs, maxTtlMs),
    });
    this.done = new Promise<void>((r) => (this.#stopped = r));
  }

  get unlocked(): boolean {
    return this.#keys.unlocked;
  }

  /** Bind the socket. Resolves false when another agent already serves this path. */
  async start(): Promise<boolean> {
    const sock = this.#opts.socketPath;
    const bound = await this.#listener.bind(sock);
    if ('exists' in bound) {
      this.#opts.onStarted?.({ exists: true, pid: bound.pid });
      return false;
    }
    if (this.#stopping) return true; // SIGTERM arrived while binding
    this.#place.bound(bound.ino);
    this.#log(`listening on ${sock} (vault ${this.#opts.vaultFile})`);
    this.#timers.arm();
    this.#opts.onStarted?.({ ready: true, pid: process.pid });
    return true;
  }

  /**
   * Takes the file key. Only run.ts calls this, with the key read from the pipe
   * inherited from the `janee unlock` that started this process: the socket never
   * carries a key in plaintext (see proof.ts for `rekey`).
   */
  unlockWithKey(key: Uint8Array, ttlMs?: number, maxTtlMs?: number): Promise<UnlockResult> {
    return this.#serial(async () => {
      using k = secret(key); // wiped if the ttl arguments are refused
      const ttl = optionalMs(ttlMs, 'ttlMs');
      const maxTtl = optionalMs(maxTtlMs, 'maxTtlMs');
      return this.#adopt(k.take(), ttl, maxTtl);
    });
  }

  /** Adopts `bytes` (ours from then on, wiped unless they open the vault); resets the timers. */
  async #adopt(bytes: Uint8Array, ttlArg: number | undefined, maxTtlArg: number | undefined): Promise<UnlockResult> {
    using key = secret(bytes);
    if (this.#stopping) throw new JaneeError('AGENT_STOPPING', 'the agent is shutting down', 'run `janee unlock` again in a moment');
    const ttlMs = ttlArg ?? this.#timers.ttlMs;
    const maxTtlMs = maxTtlArg ?? this.#timers.maxTtlMs;
    if (ttlMs > maxTtlMs)
      throw new JaneeError('AGENT_BAD_REQUEST', 'ttlMs is longer than maxTtlMs', 'the idle timeout cannot exceed the hard limit');
    const { already } = await this.#keys.adopt(key.take());
    this.#timers.reset(ttlMs, maxTtlMs);
    return { state: 'unlocked', already, pid: process.pid, idleTtlMs: ttlMs, maxTtlMs };
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#keyOps.then(fn, fn);
    this.#keyOps = p.catch(() => undefined);
    return p;
  }

  /** Wipe the key, stop listening, drain, close. Idempotent. */
  stop(why: string): Promise<void> {
    this.#stopping ??= this.#stop(why);
    return this.#stopping;
  }

  async #stop(why: string): Promise<void> {
    this.#log(`stopping: ${why}`);
    this.#timers.cancel();
    this.#keys.wipe(why); // calls from now on answer "locked"
    const ours = this.#place.ours();
    this.#place.close();
    // Closing the server unlinks the path (libuv): only when what is there is ours.
    this.#listener.stopAccepting(ours);
    if (ours) this.#place.removeIfOurs();
    const cut = await this.#listener.drain(DRAIN_MS);
    if (cut > 0) {
      // Their upstream requests are aborted and their programs stopped, so each writes its
      // audit line (GATE_CANCELLED) before the log closes, and the agent does not linger.
      this.#log(`${cut} request(s) still running after ${DRAIN_MS / 1000}s were cancelled`);
      this.#listener.cancelAll();
    }
    // No exec program outlives the agent with its key (src/exec/run.ts).
    const killed = killRunning();
    if (killed > 0) {
      this.#log(`${killed} exec program(s) still running were killed`);
      await whenNoneRunning(3_000);
    }
    await this.#listener.closeAll();
    await this.#gate.close().catch(() => undefined);
    this.#log('stopped');
    this.#stopped();
  }
}

export type { RequestId };
