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
export function throwIfCancelled(signal: AbortSignal | undefined, what: 'request' | 'program'): void {
  if (signal?.aborted === true) throw cancelled(what);
}
