/**
 * `execute` for a call that needs a human's approval (src/approval): the gate
 * answers APPROVAL_PENDING (ApprovalPendingError) instead of a result; here we
 * wait up to its waitMs by sending the same call again every POLL_MS (the gate
 * writes nothing for these repeats, and re-checks the kill switch, the policy and
 * the lock each time). Progress notifications go out while waiting when the
 * client asked for them (`_meta.progressToken`). No decision in time: the tool
 * result says the call is waiting for a human, with the id and the command.
 *
 * Waiting happens here, in serve, and never on the agent socket: the agent only
 * ever answers one short `execute` at a time.
 */
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { ApprovalPendingError } from '../approval/pending.js';
import { JaneeError } from '../errors.js';
import type { Caller, ExecuteRequest, ExecuteResult, Gate } from '../gate/types.js';

const POLL_MS = 1000;

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

export async function executeWithApproval(
  gate: Gate,
  req: ExecuteRequest,
  caller: Caller,
  extra: Extra | undefined,
): Promise<ExecuteResult> {
  let deadline: number | undefined;
  for (;;) {
    try {
      // A token revoked or expired during the wait ends it: an approval given later must
      // not send a call for an agent the human has since removed.
      if (deadline !== undefined && caller.agentSource === 'token' && caller.token !== undefined) {
        const a = await gate.authenticate(caller.token, 'approval wait');
        caller = { ...caller, agent: a.name, services: a.services };
      }
      return await gate.execute(req, caller, extra?.signal);
    } catch (e) {
      if (!(e instanceof ApprovalPendingError)) throw e;
      const now = Date.now();
      deadline ??= now + e.waitMs;
      if (now >= deadline || extra?.signal.aborted) throw stillWaiting(e);
      await progress(extra, e, deadline - now);
      await sleep(Math.min(POLL_MS, deadline - now), extra?.signal);
    }
  }
}

async function progress(extra: Extra | undefined, e: ApprovalPendingError, leftMs: number): Promise<void> {
  const token = extra?._meta?.progressToken;
  if (token === undefined) return;
  const total = e.waitMs / 1000;
  await extra
    ?.sendNotification({
      method: 'notifications/progress',
      params: {
        progressToken: token,
        progress: Math.max(0, Math.round((total - leftMs / 1000) * 10) / 10),
        total,
        message: `waiting for a human to approve (approval ${e.id}: janee approve ${e.id})`,
      },
    })
    .catch(() => undefined); // a client gone away stops nothing here; the next poll or the deadline ends the wait
}

/** The final "waiting" answer: what happened, the id, the command, and what to do next. */
function stillWaiting(e: ApprovalPendingError): JaneeError {
  const ci = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';
  const until = new Date(e.expiresAt).toISOString();
  return new JaneeError(
    'APPROVAL_PENDING',
    `this call is waiting for a human to approve it (approval ${e.id}); it was not sent` +
      (ci ? '. CI is set: no human is expected to answer here, so it will be refused when the request expires' : ''),
    `ask the human to run \`janee approve ${e.id}\` (or \`janee deny ${e.id}\`) in their terminal, then send the identical request again before ${until}`,
  );
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, Math.max(0, ms));
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
