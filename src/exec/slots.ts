/**
 * How many exec programs one janee process runs at once. Without a cap one
 * JSON-RPC batch (100 calls in one POST) starts 100 programs, each buffering up
 * to twice maxOutputBytes in serve or in the agent that every serve shares. A call
 * over the cap waits in a short queue, in order; beyond the queue, or after
 * waiting too long, it is refused (EXEC_BUSY) without running.
 *
 * The cap is shared by every agent of the process (the agent serves all serves,
 * serve --http all tokens), so no one agent may take all of it: an agent holds at
 * most MAX_RUNNING_PER_AGENT of the running places and MAX_WAITING_PER_AGENT of the
 * waiting ones, and a freed place goes to the first waiting call whose agent is
 * under its share. Another agent always finds room.
 */
import { JaneeError } from '../errors.js';
import { cancelled } from '../gate/cancel.js';

/** Programs running at once, per janee process (serve, or the agent). */
export const MAX_RUNNING = 8;
/** Calls waiting for one of them to end. */
export const MAX_WAITING = 16;
/** One agent's share of each. */
export const MAX_RUNNING_PER_AGENT = 6;
export const MAX_WAITING_PER_AGENT = 12;
/** A waiting call gives up after this long (the programs it waits for may run for minutes). */
const WAIT_MS = 30_000;

export type Release = () => void;

interface Limits {
  running: number;
  waiting: number;
  runningPerAgent: number;
  waitingPerAgent: number;
  waitMs: number;
}

interface Waiter {
  agent: string;
  start: () => void;
  timer: NodeJS.Timeout;
}

export class Slots {
  readonly #limits: Limits;
  #running = 0;
  readonly #runningBy = new Map<string, number>();
  readonly #waiting: Waiter[] = [];

  constructor(limits: Partial<Limits> = {}) {
    this.#limits = {
      running: MAX_RUNNING,
      waiting: MAX_WAITING,
      runningPerAgent: MAX_RUNNING_PER_AGENT,
      waitingPerAgent: MAX_WAITING_PER_AGENT,
      waitMs: WAIT_MS,
      ...limits,
    };
  }

  /**
   * Resolves with the release once `agent`'s program may start; rejects with EXEC_BUSY,
   * or GATE_CANCELLED when `signal` aborts while it waits (its place in the queue is freed).
   */
  take(agent: string, signal?: AbortSignal): Promise<Release> {
    const l = this.#limits;
    if (signal?.aborted === true) return Promise.reject(cancelled('program'));
    if (this.#running < l.running && this.#mayRun(agent)) return Promise.resolve(this.#grant(agent));
    const queued = this.#waiting.filter((w) => w.agent === agent).length;
    if (this.#waiting.length >= l.waiting || queued >= l.waitingPerAgent) return Promise.reject(this.#busy());
    return new Promise((resolve, reject) => {
      const leave = (why: JaneeError): void => {
        clearTimeout(entry.timer);
        signal?.removeEventListener('abort', onAbort);
        const i = this.#waiting.indexOf(entry);
        if (i >= 0) this.#waiting.splice(i, 1);
        reject(why);
      };
      const onAbort = (): void => leave(cancelled('program'));
      const entry: Waiter = {
        agent,
        start: () => {
          clearTimeout(entry.timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(this.#grant(agent));
        },
        timer: setTimeout(() => leave(this.#busy()), l.waitMs),
      };
      entry.timer.unref();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(entry);
    });
  }

  #mayRun(agent: string): boolean {
    return (this.#runningBy.get(agent) ?? 0) < this.#limits.runningPerAgent;
  }

  #grant(agent: string): Release {
    this.#running++;
    this.#runningBy.set(agent, (this.#runningBy.get(agent) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#running--;
      const n = (this.#runningBy.get(agent) ?? 1) - 1;
      if (n > 0) this.#runningBy.set(agent, n);
      else this.#runningBy.delete(agent);
      this.#startNext();
    };
  }

  /** Free places go to the first waiting calls whose agents are under their share. */
  #startNext(): void {
    while (this.#running < this.#limits.running) {
      const i = this.#waiting.findIndex((w) => this.#mayRun(w.agent));
      if (i < 0) return;
      this.#waiting.splice(i, 1)[0]?.start();
    }
  }

  #busy(): JaneeError {
    const l = this.#limits;
    return new JaneeError(
      'EXEC_BUSY',
      `too many programs are running (${l.running} at once, ${l.waiting} waiting; one agent at most ${l.runningPerAgent} and ${l.waitingPerAgent}); this one was not run`,
      'wait for running exec calls to end, then call again; run fewer at once',
    );
  }
}

/** The one cap of this process. */
export const execSlots = new Slots();
