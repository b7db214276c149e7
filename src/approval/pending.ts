/**
 * "Waiting for a human": the one gate refusal that is not final. It carries what
 * the MCP layer needs to wait (src/mcp/approval-wait.ts) — the id and how long to
 * wait — and crosses the agent socket as an optional `approval` field of the
 * error (src/agent/protocol.ts).
 */
import { JaneeError } from '../errors.js';

export class ApprovalPendingError extends JaneeError {
  constructor(
    readonly id: string,
    readonly waitMs: number,
    readonly expiresAt: number,
  ) {
    super(
      'APPROVAL_PENDING',
      `this call needs a human's approval (approval ${id}); it is waiting for one`,
      `a human approves it with \`janee approve ${id}\` (or refuses with \`janee deny ${id}\`); then send the identical request again, before ${new Date(expiresAt).toISOString()}`,
    );
  }

  /** The fields sent over the agent socket. */
  detail(): { id: string; waitMs: number; expiresAt: number } {
    return { id: this.id, waitMs: this.waitMs, expiresAt: this.expiresAt };
  }

  static fromDetail(d: unknown): ApprovalPendingError | undefined {
    if (typeof d !== 'object' || d === null) return undefined;
    const o = d as Record<string, unknown>;
    if (typeof o.id !== 'string' || !/^[a-z0-9]{10}$/.test(o.id)) return undefined;
    if (!Number.isSafeInteger(o.waitMs) || (o.waitMs as number) < 0 || !Number.isSafeInteger(o.expiresAt)) return undefined;
    return new ApprovalPendingError(o.id, o.waitMs as number, o.expiresAt as number);
  }
}
