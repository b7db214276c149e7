/**
 * A call the MCP client cancelled (notifications/cancelled, which the SDK turns into
 * the handler's AbortSignal). The gate stops what it can: the request upstream is
 * aborted, a program is killed with its process group, a call waiting for an exec
 * slot leaves the queue. The call fails with GATE_CANCELLED and is audited like any
 * failure; the client, which cancelled, is sent no answer.
 */
import { JaneeError } from '../errors.js';

export function cancelled(what: 'request' | 'program'): JaneeError {
  return what === 'request'
    ? new JaneeError(
        'GATE_CANCELLED',
        'the call was cancelled by the client; the upstream request was aborted',
        'the upstream may have acted on it already: check before calling again',
      )
    : new JaneeError(
        'GATE_CANCELLED',
        'the call was cancelled by the client; the program was stopped',
        'it may have done part of its work: check before running it again',
      );
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
