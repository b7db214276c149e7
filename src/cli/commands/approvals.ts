/**
 * `janee approvals [--json]`, `janee approve ID [--for DURATION]`, `janee deny ID`
 * and `janee approvals revoke ID`: the human's side of `approve: true` rules
 * (docs/approvals.md). approve and deny need the passphrase typed in a terminal
 * (src/cli/approval-ops.ts says why).
 */
import { Command, Option } from 'clipanion';
import { formatDuration, parseDuration } from '../../agent/protocol.js';
import { escapeField } from '../../audit/format.js';
import { approvalKey, ID_RE, timeOf, unexpired, type ApprovalRecord } from '../../approval/record.js';
import { listRecords, readRecord, removeRecords, writeRecord, type Listed } from '../../approval/store.js';
import { JaneeError, usageError } from '../../errors.js';
import { secret } from '../../util/secret.js';
import { unlockVaultFile } from '../../vault/store.js';
import { auditDecision, dirFor, humanApprovalKey } from '../approval-ops.js';
import { JaneeCommand, jsonOption } from '../base.js';
import { info, warn } from '../io.js';
import { findPassphrase } from '../passphrase.js';

/** Longest grant `--for` may give. */
const MAX_GRANT_MS = 30 * 86_400_000;

function checkId(id: string): string {
  if (!ID_RE.test(id))
    throw usageError(
      `"${escapeField(id.slice(0, 40))}" is not an approval id`,
      'ids are 10 letters and digits, as `janee approvals` shows them',
    );
  return id;
}

function running(pid: string): boolean {
  const n = Number(pid);
  if (!Number.isSafeInteger(n) || n < 1) return false;
  try {
    process.kill(n, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface PendingRow {
  id: string;
  agent: string;
  service: string;
  rule: string;
  method: string;
  path: string;
  query: string;
  headers: string;
  bodySha256: string;
  bodyPreview: string;
  reason: string;
  created: string;
  expires: string;
  ageSeconds: number;
  state: 'pending' | 'approved';
  holderRunning: boolean;
}

function ago(iso: string, now: number): string {
  const t = timeOf(iso);
  return Number.isFinite(t) ? formatDuration(now - t) : '?';
}

export class ApprovalsCommand extends JaneeCommand {
  static override paths = [['approvals']];
  static override usage = Command.Usage({
    description: 'List calls waiting for approval, and active grants',
    details: `
      Shows each call an agent made that matched a rule with \`approve: true\` and is waiting for a
      human: its id, agent, service, method, path, query, a redacted preview and the SHA-256 of the
      body, the agent's reason and its age; and the grants made with \`janee approve ID --for\`.
      Records are checked against the vault key when JANEE_PASSPHRASE(_FILE) is set; otherwise they
      are shown unchecked (\`janee approve\` checks before writing anything). Expired records are removed.
    `,
    examples: [
      ['List', 'janee approvals'],
      ['As JSON', 'janee approvals --json'],
    ],
  });

  json = jsonOption();

  async run(): Promise<number> {
    const file = await this.vaultFile();
    const dir = dirFor(file);
    let key: Uint8Array | undefined;
    const found = await findPassphrase(this.io, { noPrompt: true });
    if (found) {
      using p = secret(found.passphrase);
      const vault = await unlockVaultFile(file, p.bytes);
      key = approvalKey(vault.fileKey);
      vault.fileKey.fill(0);
    }
    let records: Listed[];
    try {
      records = await listRecords(dir, key);
    } finally {
      key?.fill(0);
    }
    const now = Date.now();
    const pending: PendingRow[] = [];
    const grants: Omit<ApprovalRecord<'grant'>, 'kind'>[] = [];
    const ignored: { id: string; kind: string; why: string }[] = [];
    const approved = new Set(records.filter((r) => r.kind === 'approved' && r.result.state === 'ok').map((r) => r.id));
    for (const r of records) {
      if (r.result.state === 'bad') {
        ignored.push({ id: r.id, kind: r.kind, why: r.result.why });
        continue;
      }
      if (r.result.state !== 'ok') continue;
      const rec = r.result.record;
      if ('expires' in rec && !unexpired(rec.expires, now)) {
        await removeRecords(dir, r.id, [r.kind]);
        continue;
      }
      if (rec.kind === 'pending') {
        pending.push({
          id: rec.id,
          agent: rec.agent,
          service: rec.service,
          rule: rec.rule,
          method: rec.method,
          path: rec.path,
          query: rec.query,
          headers: rec.headers,
          bodySha256: rec.bodySha256,
          bodyPreview: rec.bodyPreview,
          reason: rec.reason,
          created: rec.created,
          expires: rec.expires,
          ageSeconds: Math.max(0, Math.round((now - timeOf(rec.created)) / 1000)),
          state: approved.has(rec.id) ? 'approved' : 'pending',
          holderRunning: running(rec.pid),
        });
      } else if (rec.kind === 'grant') {
        grants.push({ id: rec.id, agent: rec.agent, service: rec.service, rule: rec.rule, decided: rec.decided, expires: rec.expires });
      }
    }
    if (this.json) {
      this.outJson({ checked: found !== undefined, pending, grants, ignored });
      return 0;
    }
    if (!found)
      info(
        this.context.stderr,
        'records not checked against the vault key (no JANEE_PASSPHRASE(_FILE)); `janee approve` checks before it writes',
      );
    for (const i of ignored) warn(this.context.stderr, `ignored ${i.kind} record ${i.id}: ${i.why} (not written with this vault's key)`);
    if (pending.length === 0) this.out('no calls are waiting for approval');
    for (const p of pending) {
      const q = p.query ? `?${p.query}` : '';
      const state =
        p.state === 'approved'
          ? 'approved, not yet sent'
          : p.holderRunning
            ? 'pending'
            : 'stale (the serve or agent that held it has stopped)';
      this.out(
        `${p.id}  ${escapeField(p.method)} ${escapeField(`${p.path}${q}`)}  on ${escapeField(p.service)}  by ${escapeField(p.agent)}  ${ago(p.created, now)} ago  [${state}]`,
      );
      if (p.reason) this.out(`    reason: ${escapeField(p.reason)}`);
      if (p.headers) this.out(`    headers: ${escapeField(p.headers)}`);
      if (p.bodySha256) {
        this.out(`    body sha256: ${p.bodySha256}`);
        this.out(`    body: ${escapeField(p.bodyPreview)}`);
      }
      this.out(`    rule: ${escapeField(p.rule)}; expires in ${formatDuration(timeOf(p.expires) - now)}`);
    }
    for (const g of grants) {
      this.out(
        `grant ${g.id}: ${escapeField(g.agent)} may call ${escapeField(g.service)} under "${escapeField(g.rule)}" for ${formatDuration(timeOf(g.expires) - now)} more`,
      );
    }
    return 0;
  }
}

/** The pending request `id`, checked with the key; throws when it is absent, forged or expired. */
async function checkedPending(dir: string, id: string, key: Uint8Array, fileKey: Uint8Array): Promise<ApprovalRecord<'pending'>> {
  const r = await readRecord(dir, id, 'pending', key);
  if (r.state === 'missing') throw notFound(id);
  if (r.state === 'bad') {
    await auditDecision(fileKey, {
      agent: 'unknown',
      service: '',
      method: '',
      path: '',
      rule: `ignored pending record (${r.why})`,
      approval: id,
    });
    throw new JaneeError(
      'APPROVAL_FORGED',
      `approval request ${id} was not written with this vault's key (${r.why}): it was ignored`,
      'something other than janee wrote it; nothing was approved. Check the processes of your user',
    );
  }
  if (!unexpired(r.record.expires)) {
    throw new JaneeError('APPROVAL_EXPIRED', `approval request ${id} has expired`, 'the agent has to send the call again');
  }
  return r.record;
}

function notFound(id: string): JaneeError {
  return new JaneeError('APPROVAL_NOT_FOUND', `no call is waiting for approval under ${id}`, 'see `janee approvals`');
}

function describe(p: ApprovalRecord<'pending'>): string {
  const q = p.query ? `?${p.query}` : '';
  return `${escapeField(p.method)} ${escapeField(p.path + q)} on ${escapeField(p.service)} for ${escapeField(p.agent)}`;
}

export class ApproveCommand extends JaneeCommand {
  static override paths = [['approve']];
  static override usage = Command.Usage({
    description: 'Approve a call waiting for approval (asks for the passphrase in the terminal)',
    details: `
      The call ID (see \`janee approvals\`) may then go out once: the agent's identical request runs
      when it is sent again (or at once, if execute is still waiting). With --for, the approval is a
      grant: calls of the same agent, to the same service, under the same rule, need no approval for
      that long. The passphrase is read from the terminal only: JANEE_PASSPHRASE and
      JANEE_PASSPHRASE_FILE are refused here, so that an agent with a shell cannot approve.
    `,
    examples: [
      ['Approve once', 'janee approve k3m9x2bq7d'],
      ['Approve this agent for this rule for an hour', 'janee approve k3m9x2bq7d --for 1h'],
    ],
  });

  id = Option.String({ name: 'id' });
  for = Option.String('--for', { description: 'Grant the same agent, service and rule for this long (30s, 15m, 8h, 1d)' });

  async run(): Promise<number> {
    const id = checkId(this.id);
    let forMs: number | undefined;
    if (this.for !== undefined) {
      forMs = parseDuration(this.for);
      if (forMs === undefined || forMs < 1000 || forMs > MAX_GRANT_MS)
        throw usageError(
          `--for must be a duration from 1s to ${formatDuration(MAX_GRANT_MS)} (e.g. 15m, 8h), got "${escapeField(this.for)}"`,
        );
    }
    const file = await this.vaultFile();
    const dir = dirFor(file);
    if ((await readRecord(dir, id, 'pending', undefined)).state === 'missing') throw notFound(id);
    const { key, fileKey } = await humanApprovalKey(this.io, file, 'approve');
    try {
      const p = await checkedPending(dir, id, key, fileKey);
      if ((await readRecord(dir, id, 'denied', key)).state === 'ok')
        throw new JaneeError('APPROVAL_DENIED', `${id} was already denied`, 'the agent has to send the call again for a new decision');
      const decided = new Date().toISOString();
      if (forMs === undefined) {
        await writeRecord(dir, key, { kind: 'approved', id, digest: p.digest, decided, expires: p.expires });
      } else {
        const expires = new Date(Date.now() + forMs).toISOString();
        await writeRecord(dir, key, { kind: 'grant', id, agent: p.agent, service: p.service, rule: p.rule, decided, expires });
      }
      const rule = forMs === undefined ? 'approved' : `approved for ${formatDuration(forMs)}`;
      await auditDecision(fileKey, { agent: p.agent, service: p.service, method: p.method, path: p.path, rule, approval: id });
      info(
        this.context.stderr,
        forMs === undefined
          ? `approved ${id}: ${describe(p)} may go out once`
          : `approved ${id} and granted ${escapeField(p.agent)} "${escapeField(p.rule)}" on ${escapeField(p.service)} for ${formatDuration(forMs)} (end it with \`janee approvals revoke ${id}\`)`,
      );
      return 0;
    } finally {
      key.fill(0);
      fileKey.fill(0);
    }
  }
}

export class DenyCommand extends JaneeCommand {
  static override paths = [['deny']];
  static override usage = Command.Usage({
    description: 'Refuse a call waiting for approval (asks for the passphrase in the terminal)',
    examples: [['Refuse', 'janee deny k3m9x2bq7d']],
  });

  id = Option.String({ name: 'id' });

  async run(): Promise<number> {
    const id = checkId(this.id);
    const file = await this.vaultFile();
    const dir = dirFor(file);
    if ((await readRecord(dir, id, 'pending', undefined)).state === 'missing') throw notFound(id);
    const { key, fileKey } = await humanApprovalKey(this.io, file, 'deny');
    try {
      const p = await checkedPending(dir, id, key, fileKey);
      await writeRecord(dir, key, { kind: 'denied', id, digest: p.digest, decided: new Date().toISOString() });
      await removeRecords(dir, id, ['approved']);
      await auditDecision(fileKey, { agent: p.agent, service: p.service, method: p.method, path: p.path, rule: 'denied', approval: id });
      info(this.context.stderr, `denied ${id}: ${describe(p)} will not go out`);
      return 0;
    } finally {
      key.fill(0);
      fileKey.fill(0);
    }
  }
}

export class ApprovalsRevokeCommand extends JaneeCommand {
  static override paths = [['approvals', 'revoke']];
  static override usage = Command.Usage({
    description: 'End a grant (or an approval not used yet)',
    details: `
      Removes the grant or the unused approval ID. Taking access away needs no passphrase.
    `,
    examples: [['End a grant', 'janee approvals revoke k3m9x2bq7d']],
  });

  id = Option.String({ name: 'id' });

  async run(): Promise<number> {
    const id = checkId(this.id);
    const dir = dirFor(await this.vaultFile());
    const grant = await readRecord(dir, id, 'grant', undefined);
    const removed = await removeRecords(dir, id, ['grant', 'approved']);
    if (!removed) throw new JaneeError('APPROVAL_NOT_FOUND', `no grant or unused approval ${id}`, 'see `janee approvals`');
    const g = grant.state === 'ok' ? grant.record : undefined;
    await auditDecision(undefined, {
      agent: g?.agent ?? 'unknown',
      service: g?.service ?? '',
      method: '',
      path: '',
      rule: 'revoked',
      approval: id,
    });
    info(this.context.stderr, `revoked ${id}`);
    return 0;
  }
}
