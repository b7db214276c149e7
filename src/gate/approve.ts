/**
 * The gate's step for `approve: true` rules (src/approval/guard.ts does the
 * deciding): what the approval is bound to, and what the human is shown, built
 * from the request exactly as the gate would send it.
 */
import type { ApprovalAudit, ApprovalGuard } from '../approval/guard.js';
import { sha256Hex, type RequestParts } from '../approval/record.js';
import { approvalsDir } from '../approval/store.js';
import { DEFAULT_APPROVAL_TTL_MS, DEFAULT_APPROVAL_WAIT_MS, type ServiceConfig } from '../config/types.js';
import { lockedError, VaultSecrets, type SecretSource } from './secrets.js';
import { sanitizeAgentHeaders } from './headers.js';
import { authHeaderName } from './inject.js';
import type { Redactor } from './redact.js';
import { jsonOfBody } from './request.js';
import type { Caller, ExecuteRequest } from './types.js';

/** Characters of the body shown to the human (the SHA-256 covers all of it). */
const PREVIEW_CHARS = 2000;

export interface ApprovalStep {
  guard: ApprovalGuard;
  secrets: SecretSource | undefined;
  svc: ServiceConfig;
  rule: string;
  method: string;
  target: { path: string; query: string };
  req: ExecuteRequest;
  caller: Caller;
  redactor: Redactor;
  audit(a: ApprovalAudit): Promise<unknown>;
}

/**
 * The agent an approval or grant is bound to. A token agent's name is proven; a name from
 * `--agent` or clientInfo is only claimed, so it must never match a token agent's grant:
 * token agents live under `token:`, and a claimed name that starts so is moved out of it.
 */
export function approvalAgent(caller: Caller): string {
  if (caller.agentSource === 'token') return `token:${caller.agent}`;
  return caller.agent.startsWith('token:') ? `claimed:${caller.agent}` : caller.agent;
}

/** The id the call goes out under; throws while it waits, or when it was refused. */
export function checkApproval(s: ApprovalStep): Promise<string> {
  // Approvals are authenticated with a key derived from the vault's file key: no key, no approval.
  if (!(s.secrets instanceof VaultSecrets) || s.secrets.locked) throw lockedError();
  const headers = sanitizeAgentHeaders(s.req.headers, authHeaderName(s.svc.auth));
  const body = bodyOf(s.req.body);
  const parts: RequestParts = {
    agent: approvalAgent(s.caller),
    service: s.svc.name,
    method: s.method,
    path: s.target.path,
    query: s.target.query,
    headers,
    body: body === undefined ? 'none' : `${body.kind}:${sha256Hex(body.text)}`,
  };
  const shownHeaders = Object.entries(s.redactor.redactHeaders(headers))
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n');
  return s.guard.check({
    dir: approvalsDir(s.secrets.file),
    fileKey: s.secrets.key(),
    rule: s.rule,
    waitMs: s.svc.approvalWaitMs ?? DEFAULT_APPROVAL_WAIT_MS,
    ttlMs: s.svc.approvalTtlMs ?? DEFAULT_APPROVAL_TTL_MS,
    parts,
    preview: {
      headers: shownHeaders,
      bodySha256: body === undefined ? '' : sha256Hex(body.text),
      body: body === undefined ? '' : bodyPreview(body.text, s.redactor),
    },
    reason: typeof s.req.reason === 'string' ? s.req.reason.slice(0, 500) : '',
    audit: (a) => s.audit(a),
  });
}

/**
 * The start of the body, redacted, for the human who approves. A longer body says
 * how much is not shown: an agent could pad the harmless-looking start and put what
 * matters after the cut, and a bare ellipsis is easy to miss.
 */
function bodyPreview(text: string, redactor: Pick<Redactor, 'redact'>): string {
  const shown = redactor.redact(text.slice(0, PREVIEW_CHARS));
  const rest = text.length - PREVIEW_CHARS;
  return rest > 0 ? `${shown}… [${rest} more characters not shown: the body sha256 covers all of it]` : shown;
}

/** The body as the gate sends it (see LocalGate#buildRequest), and whether it goes as JSON. */
function bodyOf(b: ExecuteRequest['body']): { kind: 'string' | 'json'; text: string } | undefined {
  if (b === undefined || b === null) return undefined;
  if (typeof b === 'string') return { kind: 'string', text: b };
  return { kind: 'json', text: jsonOfBody(b) };
}
