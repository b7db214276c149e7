/**
 * Agent tokens: who an HTTP (or JANEE_AGENT_TOKEN) caller is, decided by the
 * vault, not by the caller. Pure: values in, values out.
 *
 * A token is `janee_at_` + base64url of 32 random bytes. Only its SHA-256 is kept
 * (in the vault payload, `agents`): the token has 256 bits of entropy, so a fast
 * hash is enough — there is nothing to guess — and a stolen vault (or its
 * plaintext) still cannot act as an agent. The token is shown once, by
 * `janee agents add`, and written nowhere.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { JaneeError } from '../errors.js';
import type { AgentInfo, AgentRecord, TokenAgent, VaultData } from './types.js';

export const TOKEN_PREFIX = 'janee_at_';
const TOKEN_BYTES = 32;
/** The whole token: prefix + 43 base64url characters. */
const TOKEN_RE = /^janee_at_[A-Za-z0-9_-]{43}$/;

export function newToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(TOKEN_BYTES).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A new record for a token; `services` null or a non-empty list. */
export function agentRecord(token: string, services: string[] | null, now: Date, expiresMs: number | undefined): AgentRecord {
  return {
    hash: hashToken(token),
    services: services === null ? null : [...new Set(services)],
    created: now.toISOString(),
    expires: expiresMs === undefined ? null : new Date(now.getTime() + expiresMs).toISOString(),
  };
}

export function isExpired(rec: AgentRecord, nowMs: number): boolean {
  return rec.expires !== null && Date.parse(rec.expires) <= nowMs;
}

const UNAUTHORIZED_HINT = 'a human creates a token with `janee agents add NAME` and gives it to the agent (Authorization: Bearer …)';

/** The refusal for a request without a usable token; `agent` names the agent when the token was known (expired). */
export class TokenRefused extends JaneeError {
  constructor(
    message: string,
    readonly agent: string | undefined,
  ) {
    super('GATE_UNAUTHORIZED', message, UNAUTHORIZED_HINT);
  }
}

/**
 * The agent `token` belongs to. Throws TokenRefused when it is missing, malformed,
 * unknown (never issued, or revoked) or expired. Every record is compared, in
 * constant time, so the time taken says nothing about which hash came close.
 */
export function findTokenAgent(data: VaultData, token: string | undefined, nowMs: number): TokenAgent {
  if (token === undefined || token === '') throw new TokenRefused('no agent token: send Authorization: Bearer <token>', undefined);
  if (!TOKEN_RE.test(token)) throw new TokenRefused('agent token is not a janee agent token', undefined);
  const want = Buffer.from(hashToken(token), 'hex');
  let found: [string, AgentRecord] | undefined;
  for (const [name, rec] of Object.entries(data.agents ?? {})) {
    if (timingSafeEqual(want, Buffer.from(rec.hash, 'hex')) && !found) found = [name, rec];
  }
  if (!found) throw new TokenRefused('agent token is unknown or revoked', undefined);
  const [name, rec] = found;
  if (isExpired(rec, nowMs)) throw new TokenRefused(`agent token for "${name}" expired at ${rec.expires}`, name);
  return { name, services: rec.services === null ? null : [...rec.services] };
}

/** The agents as listed (no hashes), sorted by name. */
export function agentInfos(data: VaultData): AgentInfo[] {
  return Object.entries(data.agents ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, r]) => ({ name, services: r.services && [...r.services], created: r.created, expires: r.expires }));
}

/** Adds `name` to `data` (in place); an existing name is refused: a token is replaced by remove, then add. */
export function putAgent(data: VaultData, name: string, record: AgentRecord): void {
  const agents = (data.agents ??= {});
  if (Object.hasOwn(agents, name)) {
    throw new JaneeError(
      'VAULT_DUPLICATE',
      `the vault already holds an agent token named "${name}"`,
      `run \`janee agents remove ${name}\` first (that revokes its token), or pick another name`,
    );
  }
  // `CI` beside `ci`: grants, scopes and audit lines are per exact name, and a human
  // reading `janee logs` or revoking one tells them apart by case alone.
  const twin = Object.keys(agents).find((k) => k.toLowerCase() === name.toLowerCase());
  if (twin !== undefined) {
    throw new JaneeError(
      'VAULT_DUPLICATE',
      `the vault already holds an agent token named "${twin}" (the same name but for case)`,
      'pick a name that differs in more than case',
    );
  }
  agents[name] = record;
}

/** Removes `name` from `data` (in place); whether it was there. */
export function deleteAgent(data: VaultData, name: string): boolean {
  if (!data.agents || !Object.hasOwn(data.agents, name)) return false;
  delete data.agents[name];
  if (Object.keys(data.agents).length === 0) delete data.agents;
  return true;
}

/** Whether `agent` may use `service`. */
export function inScope(agent: { services: readonly string[] | null }, service: string): boolean {
  return agent.services === null || agent.services.includes(service);
}
