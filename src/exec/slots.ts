/**
 * How many exec programs one janee process runs at once. Without a cap one
 * JSON-RPC batch (100 calls in one POST) starts 100 programs, each buffering up
 * to twice maxOutputBytes in serve or in the agent that every serve shares. A call
 * over the cap waits in a short queue, in order; beyond the queue, or after
 * waiting too long, it is refused (EXEC_BUSY) without running.
 */
import { JaneeError } from '../errors.js';

/** Programs running at once, per janee process (serve, or the agent). */
export const MAX_RUNNING = 8;
/** Calls waiting for one of them to end. */
export const MAX_WAITING = 16;
/** A waiting call gives up after this long (the programs it waits for may run for minutes). */
const WAIT_MS = 30_000;

export type Release = () => void;

export class Slots {
  #running = 0;
  readonly #waiting: { start: () => void; timer: NodeJS.Timeout }[] = [];

  constructor(
    private readonly max = MAX_RUNNING,
    private readonly queue = MAX_WAITING,
    private readonly waitMs = WAIT_MS,
  ) {}

  /** Resolves with the release once a program may start; rejects with EXEC_BUSY. */
  take(): Promise<Release> {
    if (this.#running < this.max) return Promise.resolve(this.#grant());
    if (this.#waiting.length >= this.queue) return Promise.reject(this.#busy());
    return new Promise((resolve, reject) => {
      const entry = {
        start: () => {
          clearTimeout(entry.timer);
          resolve(this.#grant());
        },
        timer: setTimeout(() => {
          this.#waiting.splice(this.#waiting.indexOf(entry), 1);
          reject(this.#busy());
        }, this.waitMs),
      };
      entry.timer.unref();
      this.#waiting.push(entry);
    });
  }

  #grant(): Release {
    this.#running++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#running--;
      this.#waiting.shift()?.start();
    };
  }

  #busy(): JaneeError {
    return new JaneeError(
      'EXEC_BUSY',
      `too many programs are running (${this.max} at once, ${this.queue} waiting); this one was not run`,
      'wait for running exec calls to end, then call again; run fewer at once',
    );
  }
}

/** The one cap of this process. */
export const execSlots = new Slots();
