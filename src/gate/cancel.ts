/**
 * A call the MCP client cancelled (notifications/cancelled, which the SDK turns into
 * the handler's AbortSignal). The gate stops what it can: the request upstream is
 * aborted, a program is killed with its process group, a call waiting for an exec
 * slot leaves the queue. The call fails with GATE_CANCELLED and is audited like any
 * failure; the client, which cancelled, is sent no answer.
 */
import { JaneeError } from '../errors.js';

/**
 * Where the call was when it was cancelled, which the audit line's rule says (the client
 * never reads the message): `unsent`, nothing reached the upstream (or no program started);
 * `sent`, the upstream may have acted on it (or the program ran part of its course).
 */
export class CancelledError extends JaneeError {
  constructor(
    what: 'request' | 'program',
    readonly reached: boolean,
  ) {
    super(
      'GATE_CANCELLED',
      what === 'request'
        ? reached
          ? 'the call was cancelled by the client after its request was sent; the upstream request was aborted'
          : 'the call was cancelled by the client before its request was sent'
        : reached
          ? 'the call was cancelled by the client; the program was stopped'
          : 'the call was cancelled by the client before the program started',
      reached ? 'it may have taken effect already: check before calling again' : 'nothing was sent or run',
    );
  }

  /** The audit line's rule: the code, and whether the upstream or the program got the call. */
  get rule(): string {
    return `GATE_CANCELLED (${this.reached ? 'sent' : 'not sent'})`;
  }
}

export function cancelled(what: 'request' | 'program', reached = false): CancelledError {
  return new CancelledError(what, reached);
}

/** Throws GATE_CANCELLED if the call was cancelled already. */
export function throwIfCancelled(signal: CancelSignal | undefined, what: 'request' | 'program'): void {
  if (signal?.aborted === true) throw cancelled(what);
}

/**
 * What the gate reads of a cancellation: an AbortSignal fits it (the MCP SDK hands one
 * to each tool call), and so does a Cancel. The agent makes a Cancel for each request
 * it serves rather than an AbortController: on Node 20 an AbortSignal gets a hidden
 * class of its own and outlives young-generation collections, so one per call is old-
 * generation garbage (docs/bench.md).
 */
export interface CancelSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** A plain CancelSignal with its abort(): listeners run once, in order. */
export class Cancel implements CancelSignal {
  aborted = false;
  #listeners: (() => void)[] | undefined;

  addEventListener(_type: 'abort', listener: () => void): void {
    (this.#listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const i = this.#listeners?.indexOf(listener) ?? -1;
    if (i >= 0) this.#listeners!.splice(i, 1);
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const fns = this.#listeners ?? [];
    this.#listeners = undefined;
    for (const f of fns) f();
  }
}
