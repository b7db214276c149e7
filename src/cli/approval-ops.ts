/**
 * What `janee approvals`, `approve`, `deny` and `approvals revoke` share: the
 * passphrase from a terminal only, the approval key, reading the records, and
 * auditing a human's decision.
 *
 * Why the terminal only. Approving is the one thing an AI agent must never do for
 * itself, and an agent with a shell can inherit JANEE_PASSPHRASE or
 * JANEE_PASSPHRASE_FILE, or pipe into stdin: so approve and deny refuse when
 * either is set, have no --passphrase-stdin, and need stdin and stderr to be a
 * terminal. The unlocked agent's key is not used either (any process of the user
 * can reach its socket). There is no way to approve without a terminal, on purpose.
 */
import { AuditWriter, signerFromFileKey, type AuditInput } from '../audit/index.js';
import { approvalKey } from '../approval/record.js';
import { approvalsDir, listRecords, removeRecords } from '../approval/store.js';
import { auditDir } from '../config/paths.js';
import { JaneeError } from '../errors.js';
import { approvalAgent } from '../gate/approve.js';
import type { Streams } from './io.js';
import { unlockWithPassphrase } from './vault-ops.js';

const ENV_SOURCES = ['JANEE_PASSPHRASE', 'JANEE_PASSPHRASE_FILE'] as const;

/** The approval key, from the passphrase typed at this terminal. The caller wipes it. */
export async function humanApprovalKey(io: Streams, vaultFile: string, verb: string): Promise<{ key: Uint8Array; fileKey: Uint8Array }> {
  const set = ENV_SOURCES.filter((k) => process.env[k]);
  if (set.length > 0) {
    throw new JaneeError(
      'APPROVAL_NEEDS_TERMINAL',
      `janee ${verb} reads the passphrase from the terminal only, and ${set.join(' and ')} ${set.length > 1 ? 'are' : 'is'} set here`,
      `a coding agent with a shell may have inherited it: run this in your own terminal without it, e.g. \`env -u JANEE_PASSPHRASE -u JANEE_PASSPHRASE_FILE janee ${verb} ID\``,
    );
  }
  if (!io.stdin.isTTY || !io.stderr.isTTY) {
    throw new JaneeError(
      'APPROVAL_NEEDS_TERMINAL',
      `janee ${verb} needs a terminal to ask for the vault passphrase`,
      'a human decides here: run it in a terminal (there is no --passphrase-stdin for it, on purpose)',
    );
  }
  const vault = await unlockWithPassphrase(io, vaultFile, { env: {}, prompt: 'vault passphrase: ' });
  return { key: approvalKey(vault.fileKey), fileKey: vault.fileKey };
}

export function dirFor(vaultFile: string): string {
  return approvalsDir(vaultFile);
}

/** One audit line for a human's decision, signed when the file key is at hand. */
export async function auditDecision(
  fileKey: Uint8Array | undefined,
  line: { agent: string; service: string; method: string; path: string; rule: string; approval: string },
): Promise<void> {
  const writer = new AuditWriter(auditDir());
  if (fileKey) writer.setSigner(signerFromFileKey(fileKey));
  const input: AuditInput = { ...line, agentSource: 'unknown', outcome: 'approval', status: null, ms: 0 };
  try {
    await writer.append(input);
  } finally {
    await writer.close();
  }
}

/**
 * Ends the grants of token agent `name` (when its token is removed): a grant is bound to
 * the name, and a new token given that name later must not inherit it. Like `approvals
 * revoke`, taking access away needs no key; each removal is audited. The ids removed.
 */
export async function revokeTokenGrants(vaultFile: string, name: string): Promise<string[]> {
  const dir = dirFor(vaultFile);
  const agent = approvalAgent({ agent: name, agentSource: 'token' });
  const ids: string[] = [];
  for (const l of await listRecords(dir, undefined, ['grant'])) {
    const r = l.result.state === 'ok' && l.result.record.kind === 'grant' ? l.result.record : undefined;
    if (r?.agent !== agent || !(await removeRecords(dir, l.id, ['grant']))) continue;
    ids.push(l.id);
    await auditDecision(undefined, { agent, service: r.service, method: '', path: '', rule: 'revoked', approval: l.id });
  }
  return ids;
}
