/** How a refusal or failure is written in the audit log: one table for execute and exec. */
import type { AuditInput } from '../audit/index.js';
import type { JaneeError } from '../errors.js';
import { CancelledError } from './cancel.js';

export function outcomeFor(err: JaneeError): Partial<Pick<AuditInput, 'outcome' | 'rule'>> {
  switch (err.code) {
    case 'GATE_KILLED':
      return { outcome: 'killed', rule: 'kill switch' };
    case 'GATE_LOCKED':
      return { outcome: 'locked', rule: err.code };
    case 'GATE_BAD_REQUEST':
    case 'GATE_UNKNOWN_SERVICE':
    case 'GATE_UNKNOWN_COMMAND':
    case 'GATE_NOT_IN_SCOPE':
    case 'GATE_UNAUTHORIZED':
      return { outcome: 'blocked', rule: err.code };
    case 'EXEC_BUSY':
      return { outcome: 'rate_limited', rule: err.code };
    case 'GATE_CANCELLED':
      // Whether the upstream (or the program) got the call: the line is the only record of it.
      return { outcome: 'error', rule: err instanceof CancelledError ? err.rule : err.code };
    default:
      return { outcome: 'error', rule: err.code };
  }
}
