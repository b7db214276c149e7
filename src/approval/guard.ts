/**
 * The gate's side of approvals. A call that matched an `approve: true` rule comes
 * here after the kill switch and the policy; `check` either returns (the call may
 * go out now: a grant covers it, or its one-time approval was just consumed) or
 * throws:
 *
 * - ApprovalPendingError (APPROVAL_PENDING): waiting for a human. The first time a
 *   request is seen it becomes a pending request (a record for `janee approvals`,
 *   one audit line); later identical calls only look for a decision and write
 *   nothing (the MCP layer polls by calling again);
 * - APPROVAL_DENIED / APPROVAL_EXPIRED (audited), after which the same request
 *   would be a new pending request.
 *
 * Pending requests live in this process's memory: a decision counts only for a
 * request this process is holding, and only once (so a restart, an approval
 * file copied back after use, or one made for another process's request is
 * refused). Decisions are records on disk authenticated with the approval key
 * (record.ts): one written without the vault key is ignored, and reported once.
 */
import { JaneeError } from '../errors.js';
import { newApprovalId, requestDigest, unexpired, type ApprovalRecord, type RequestParts } from './record.js';
import { approvalKey } from './record.js';
import { claimRecord, listRecords, readRecord, removeRecords, writeRecord } from './store.js';
import { ApprovalPendingError } from './pending.js';

/** Pending requests one process holds at most (each costs a file and an audit line). */
const MAX_PENDING = 32;
/** Of those, one agent's: a serve --http holds many agents, and one must not starve the others. */
const MAX_PENDING_PER_AGENT = 8;

export interface ApprovalAudit {
  outcome: 'approval' | 'blocked';
  rule: string;
  approval: string;
}

export interface ApprovalCall {
  dir: string;
  fileKey: Uint8Array;
  rule: string;
  waitMs: number;
  ttlMs: number;
  parts: RequestParts;
  /** Shown to the human: already redacted. */
  preview: { headers: string; bodySha256: string; body: string };
  reason: string;
  audit(a: ApprovalAudit): Promise<unknown>;
}

interface Pending {
  id: string;
  digest: string;
  expiresAt: number;
  agent: string;
}

export class ApprovalGuard {
  readonly #byDigest = new Map<string, Pending>();
  /** `<id>.<kind>` of records already reported as forged or damaged. */
  readonly #reported = new Set<string>();
  /** Grants this process has seen, and those it has since seen gone (revoked or expired): a copy put back is not one. */
  readonly #grantsSeen = new Set<string>();
  readonly #grantsGone = new Set<string>();

  /** The id of the approval or grant the call goes out under; throws when it may not go out now. */
  async check(call: ApprovalCall): Promise<string> {
    const key = approvalKey(call.fileKey);
    try {
      return await this.#check(call, key);
    } finally {
      key.fill(0);
    }
  }

  async #check(call: ApprovalCall, key: Uint8Array): Promise<string> {
    const { parts, dir } = call;
    const digest = requestDigest(parts);
    const now = Date.now();
    const pending = this.#byDigest.get(digest);

    const grant = await this.#grantFor(call, key, now);
    if (grant) {
      if (pending) {
        this.#byDigest.delete(digest);
        await removeRecords(dir, pending.id, ['pending']);
      }
      return grant;
    }

    if (pending && now >= pending.expiresAt) {
      this.#byDigest.delete(digest);
      await removeRecords(dir, pending.id);
      await call.audit({ outcome: 'blocked', rule: 'approval expired', approval: pending.id });
      throw new JaneeError(
        'APPROVAL_EXPIRED',
        `approval ${pending.id} expired: no human approved this call in time`,
        'ask the human to approve it; sending the call again starts a new approval request',
      );
    }
    if (!pending) return this.#newPending(call, key, digest, now);

    const denied = await readRecord(dir, pending.id, 'denied', key);
    if (denied.state === 'bad') await this.#report(call, pending.id, 'denied', denied.why);
    if (denied.state === 'ok' && denied.record.digest === digest) {
      this.#byDigest.delete(digest);
      await removeRecords(dir, pending.id);
      await call.audit({ outcome: 'blocked', rule: 'approval denied', approval: pending.id });
      throw new JaneeError('APPROVAL_DENIED', `a human denied this call (approval ${pending.id})`, 'do not retry it; ask the human why');
    }

    const approved = await readRecord(dir, pending.id, 'approved', key);
    if (approved.state === 'bad') await this.#report(call, pending.id, 'approved', approved.why);
    if (approved.state === 'ok' && this.#approves(approved.record, digest, now)) {
      // Consume: of two callers (or processes) only the one whose rename succeeds goes on.
      const claimed = await claimRecord(dir, pending.id, 'approved', key);
      if (claimed.state === 'ok' && this.#approves(claimed.record, digest, now) && this.#byDigest.get(digest) === pending) {
        this.#byDigest.delete(digest);
        await removeRecords(dir, pending.id, ['pending']);
        return pending.id;
      }
    }
    throw new ApprovalPendingError(pending.id, call.waitMs, pending.expiresAt);
  }

  #approves(r: ApprovalRecord<'approved'>, digest: string, now: number): boolean {
    return r.digest === digest && unexpired(r.expires, now);
  }

  async #newPending(call: ApprovalCall, key: Uint8Array, digest: string, now: number): Promise<never> {
    for (const [d, p] of this.#byDigest) if (now >= p.expiresAt) this.#byDigest.delete(d);
    const agent = call.parts.agent;
    const mine = [...this.#byDigest.values()].filter((p) => p.agent === agent).length;
    if (this.#byDigest.size >= MAX_PENDING || mine >= MAX_PENDING_PER_AGENT) {
      const n = mine >= MAX_PENDING_PER_AGENT ? MAX_PENDING_PER_AGENT : MAX_PENDING;
      throw new JaneeError(
        'APPROVAL_TOO_MANY',
        `${n} calls${mine >= MAX_PENDING_PER_AGENT ? ' of this agent' : ''} are already waiting for approval`,
        'wait for the human to decide on them (`janee approvals`) before sending more',
      );
    }
    const id = newApprovalId();
    const expiresAt = now + call.ttlMs;
    const pending: Pending = { id, digest, expiresAt, agent };
    this.#byDigest.set(digest, pending);
    const { parts } = call;
    const rec: ApprovalRecord<'pending'> = {
      kind: 'pending',
      id,
      digest,
      agent: parts.agent,
      service: parts.service,
      rule: call.rule,
      method: parts.method,
      path: parts.path,
      query: parts.query,
      headers: call.preview.headers,
      bodySha256: call.preview.bodySha256,
      bodyPreview: call.preview.body,
      reason: call.reason,
      created: new Date(now).toISOString(),
      expires: new Date(expiresAt).toISOString(),
      pid: String(process.pid),
    };
    try {
      await writeRecord(call.dir, key, rec);
    } catch (e) {
      this.#byDigest.delete(digest);
      throw e instanceof JaneeError
        ? e
        : new JaneeError('WRITE_FAILED', 'cannot write the approval request', 'check the permissions of ~/.local/state/janee');
    }
    await call.audit({ outcome: 'approval', rule: 'pending', approval: id });
    throw new ApprovalPendingError(id, call.waitMs, expiresAt);
  }

  /** An unexpired grant for this agent, service and rule. */
  async #grantFor(call: ApprovalCall, key: Uint8Array, now: number): Promise<string | undefined> {
    const grants = await listRecords(call.dir, key, ['grant']);
    const present = new Set(grants.map((g) => g.id));
    for (const id of this.#grantsSeen) if (!present.has(id)) this.#grantsGone.add(id);
    let found: string | undefined;
    for (const g of grants) {
      if (g.result.state === 'bad') {
        await this.#report(call, g.id, 'grant', g.result.why);
        continue;
      }
      if (g.result.state !== 'ok') continue;
      const r = g.result.record as ApprovalRecord<'grant'>;
      if (this.#grantsGone.has(r.id) || !unexpired(r.expires, now)) continue;
      this.#grantsSeen.add(r.id);
      if (r.agent === call.parts.agent && r.service === call.parts.service && r.rule === call.rule) found ??= r.id;
    }
    return found;
  }

  async #report(call: ApprovalCall, id: string, kind: string, why: string): Promise<void> {
    const k = `${id}.${kind}`;
    if (this.#reported.has(k)) return;
    this.#reported.add(k);
    await call.audit({ outcome: 'approval', rule: `ignored ${kind} record (${why})`, approval: id });
  }
}
