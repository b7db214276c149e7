/**
 * The agent protocol: JSON lines over the agent's Unix socket.
 *
 * Each line is one JSON object. A request is `{ v, id, op, ...args }`; the agent
 * answers each request with exactly one line, `{ v, id, ok: true, result }` or
 * `{ v, id, ok: false, error: { code, message, hint? } }`, in whatever order the
 * work finishes — `id` (a string or number chosen by the client) matches them up,
 * so a client may keep many requests in flight on one connection.
 *
 * Version. `v` is PROTOCOL_VERSION. A request with another `v` is answered with
 * AGENT_PROTOCOL (and a hint to restart the agent); the connection stays open.
 * One exception, kept by every future version: `{ v: any, id, op: "lock" }` is
 * always obeyed, so any janee can stop any agent (`janee lock && janee unlock`
 * is the fix for a mismatch).
 *
 * Bad input. A line that is not JSON (or is not an object) is answered with an
 * AGENT_PROTOCOL error whose id is null, and the connection is closed: after
 * garbage the framing cannot be trusted. A line longer than MAX_LINE_BYTES is
 * answered the same way. A known op with bad arguments gets AGENT_BAD_REQUEST on
 * its id; an unknown op gets AGENT_UNKNOWN_OP. Nothing a client sends ends the agent.
 *
 * Ops (args → result). The `Ops` table below is the contract in types: the
 * client's `request(op, args)` and the agent's handlers are both typed from it,
 * and the agent validates each op's arguments once, at the edge (args.ts).
 *   hello                                  → HelloResult
 *   status                                 → StatusResult
 *   list_services                          → ServiceInfo[]
 *   execute    { req, caller }             → ExecuteResult
 *              (req checked with the MCP execute schema, src/gate/request.ts)
 *   list_commands                          → CommandInfo[]
 *   exec       { req, caller }             → ExecResult
 *              (req checked with the MCP exec schema, src/exec/request.ts; the
 *              program runs in the agent's process tree, as the agent's user)
 *   cancel     { target }                  → { cancelled }
 *              (the MCP client cancelled the call: the execute or exec request with id
 *              `target` on this same connection fails with GATE_CANCELLED, its upstream
 *              request aborted or its program killed; cancelled: false when it was
 *              already answered. An agent without this op answers AGENT_UNKNOWN_OP,
 *              which the client ignores: the call then runs to its end)
 *   unlock     { ttlMs?, maxTtlMs?, mac } → { state, already: true, pid, idleTtlMs, maxTtlMs }
 *              (an unlocked agent resets its timers when `mac` proves the key over
 *              the challenge of the last `prove` on this connection; it takes no
 *              key: a request with "key" is refused. The key reaches an agent only
 *              over the start pipe of the `janee unlock` that spawned it: run.ts)
 *   prove      { nonce (base64, 32 bytes) } → { mac, pid, challenge }   (proof.ts)
 *   rekey      { nonce, iv, sealed }       → { state, already, pid, idleTtlMs, maxTtlMs }
 *              (the new file key sealed under the current one: proof.ts)
 *   lock                                   → { pid }   (then the agent exits)
 *   vault_entries                          → { name, origins, fieldNames, created, updated }[]
 *   vault_put  { name, entry, replace? }   → { generation, replaced }
 *              (entry checked as the vault payload checks it, src/vault/payload.ts;
 *              an existing name is refused unless `replace: true` (default false),
 *              which replaces that entry: `created` kept from the old entry,
 *              `updated` now, fields as given; origins the old entry is not bound
 *              to are refused: widening a binding needs the passphrase, `janee bind`)
 *   vault_delete { name }                  → { existed, generation }
 *   reload                                 → StatusResult     (re-read the vault now)
 *   authenticate { token, via }            → TokenAgent   (GATE_UNAUTHORIZED, audited, when refused)
 *   agents_list                            → AgentInfo[]  (no hashes)
 *   agent_put  { name, record }            → { generation }   (a new agent; an existing name is refused)
 *   agent_delete { name }                  → { existed, generation }
 *
 * Secrets cross the socket only inward, and never the file key in plaintext: a
 * new secret in `vault_put`, and in `rekey` a new file key sealed under the old
 * one. No op returns a secret value. `prove`, `rekey` and `vault_put` are
 * refused, and the agent wipes its key and stops, when the socket file at its
 * path is no longer the one it bound (moved aside or replaced: AGENT_DISPLACED).
 *
 * Version 2: `unlock` no longer takes a key; `prove` and `rekey` are new.
 * Later additions that keep version 2 (optional arguments, extra result fields):
 * `vault_put` `replace` and its `replaced` result; `list_services` `caller` (a scoped
 * caller sees only its services); `execute` caller `services`; the agent-token ops
 * authenticate, agents_list, agent_put, agent_delete (an older agent answers them
 * with AGENT_UNKNOWN_OP, whose hint says to restart it); `approval: { id, waitMs,
 * expiresAt }` on an APPROVAL_PENDING error (serve waits for the decision by
 * sending `execute` again: no op waits on the socket); `list_commands` and `exec`;
 * caller `token`: a caller with agentSource `token` is named and scoped by the token it
 * sends, checked by the agent (no token: GATE_UNAUTHORIZED); its claimed name and
 * `services` are ignored.
 */
import { ApprovalPendingError } from '../approval/pending.js';
import { isCode, JaneeError } from '../errors.js';
import type { CommandInfo, ExecRequest, ExecResult } from '../exec/request.js';
import type { Caller, ExecuteRequest, ExecuteResult, ServiceInfo, TokenAgent } from '../gate/types.js';
import type { AgentInfo, AgentRecord } from '../vault/types.js';

export type { AgentInfo };

export const PROTOCOL_VERSION = 2;
/** Longest accepted line (request or response), newline excluded. */
export const MAX_LINE_BYTES = 8 * 1024 * 1024;

/** An op without arguments. */
export type NoArgs = Record<string, never>;

/** Every op: its arguments (as sent, and as handed to the agent's handler after validation) and its result. */
export interface Ops {
  hello: { args: NoArgs; result: HelloResult };
  status: { args: NoArgs; result: StatusResult };
  list_services: { args: { caller?: Caller }; result: ServiceInfo[] };
  execute: { args: { req: ExecuteRequest; caller: Caller }; result: ExecuteResult };
  list_commands: { args: { caller?: Caller }; result: CommandInfo[] };
  exec: { args: { req: ExecRequest; caller: Caller }; result: ExecResult };
  cancel: { args: { target: RequestId }; result: { cancelled: boolean } };
  unlock: { args: { ttlMs?: number; maxTtlMs?: number; mac?: string }; result: UnlockResult };
  prove: { args: { nonce: string }; result: ProveResult };
  rekey: { args: SealedKey; result: UnlockResult };
  lock: { args: NoArgs; result: { pid: number } };
  vault_entries: { args: NoArgs; result: EntryInfo[] };
  vault_put: { args: { name: string; entry: EntryInput; replace?: boolean }; result: { generation: number; replaced: boolean } };
  vault_delete: { args: { name: string }; result: { existed: boolean; generation: number } };
  reload: { args: NoArgs; result: StatusResult };
  authenticate: { args: { token: string; via: string }; result: TokenAgent };
  agents_list: { args: NoArgs; result: AgentInfo[] };
  agent_put: { args: { name: string; record: AgentRecord }; result: { generation: number } };
  agent_delete: { args: { name: string }; result: { existed: boolean; generation: number } };
}

export type Op = keyof Ops;
export type OpArgs<K extends Op> = Ops[K]['args'];
export type OpResult<K extends Op> = Ops[K]['result'];

const OPS = [
  'hello',
  'status',
  'list_services',
  'execute',
  'list_commands',
  'exec',
  'cancel',
  'unlock',
  'prove',
  'rekey',
  'lock',
  'vault_entries',
  'vault_put',
  'vault_delete',
  'reload',
  'authenticate',
  'agents_list',
  'agent_put',
  'agent_delete',
] as const satisfies readonly Op[];
// Every op of the table is listed (a compile error otherwise).
const _allListed: Exclude<Op, (typeof OPS)[number]> extends never ? true : never = true;
void _allListed;

export function isOp(x: unknown): x is Op {
  return typeof x === 'string' && (OPS as readonly string[]).includes(x);
}

export type RequestId = string | number;

export interface Request {
  v: number;
  id: RequestId;
  op: string;
  [arg: string]: unknown;
}

interface ErrorBody {
  code: string;
  message: string;
  hint?: string;
  /** APPROVAL_PENDING only: what serve needs to wait for the decision (src/approval/pending.ts). */
  approval?: { id: string; waitMs: number; expiresAt: number };
}

export type Response =
  { v: number; id: RequestId | null; ok: true; result: unknown } | { v: number; id: RequestId | null; ok: false; error: ErrorBody };

type AgentState = 'locked' | 'unlocked';

export interface HelloResult {
  agent: 'janee';
  version: string;
  protocol: number;
  pid: number;
  vault: string;
  config: string;
  state: AgentState;
}

export interface StatusResult extends HelloResult {
  /** Why it is locked, when it is running but locked. */
  lockedReason: string | null;
  unlockedAt: string | null;
  idleTtlMs: number;
  maxTtlMs: number;
  /** ms until the idle timeout / the hard limit (null while locked). */
  idleLeftMs: number | null;
  hardLeftMs: number | null;
  /** Set when the vault on disk is older than the agent's copy. */
  rollback: { onDisk: number; inMemory: number } | null;
  generation: number | null;
  secrets: number | null;
  connections: number;
}

export interface EntryInfo {
  name: string;
  origins: string[];
  fieldNames: string[];
  created: string;
  updated: string;
}

/** A new vault entry as sent in `vault_put`; absent times mean now. */
interface EntryInput {
  fields: Record<string, string>;
  origins: string[];
  created?: string;
  updated?: string;
}

export interface UnlockResult {
  state: 'unlocked';
  already: boolean;
  pid: number;
  idleTtlMs: number;
  maxTtlMs: number;
}

interface ProveResult {
  mac: string;
  pid: number;
  challenge: string;
}

/** A new file key sealed under the current one (proof.ts), all base64. */
export interface SealedKey {
  nonce: string;
  iv: string;
  sealed: string;
}

export const PROTOCOL_HINT = 'the agent and this janee are different versions: restart the agent with `janee lock && janee unlock`';

export function encodeLine(msg: Request | Response): string {
  return `${JSON.stringify(msg)}\n`;
}

export function okResponse(id: RequestId | null, result: unknown): Response {
  return { v: PROTOCOL_VERSION, id, ok: true, result: result ?? null };
}

export function errorResponse(id: RequestId | null, e: unknown): Response {
  const err = toJaneeError(e);
  const body: ErrorBody = { code: err.code, message: err.message };
  if (err.hint !== undefined) body.hint = err.hint;
  if (err instanceof ApprovalPendingError) body.approval = err.detail();
  return { v: PROTOCOL_VERSION, id, ok: false, error: body };
}

/** Anything thrown becomes a JaneeError whose text is safe to send (no raw exception text). */
function toJaneeError(e: unknown): JaneeError {
  if (e instanceof JaneeError) return e;
  return new JaneeError('AGENT_INTERNAL', 'internal error in the agent', 'this is a bug in janee; see the agent log next to its socket');
}

export function errorFromBody(body: unknown): JaneeError {
  const b = (body ?? {}) as Partial<ErrorBody>;
  const code = isCode(b.code) ? b.code : 'AGENT_PROTOCOL'; // a code this janee does not know is a protocol error
  const message = typeof b.message === 'string' ? b.message : 'the agent sent a malformed error';
  if (code === 'APPROVAL_PENDING') {
    const pending = ApprovalPendingError.fromDetail(b.approval);
    if (pending) return pending;
  }
  return new JaneeError(code, message, typeof b.hint === 'string' ? b.hint : undefined);
}

export function isRequestId(x: unknown): x is RequestId {
  return (typeof x === 'string' && x.length <= 64) || (typeof x === 'number' && Number.isSafeInteger(x));
}

/**
 * Splits a byte stream into lines, refusing any line over `max` bytes without
 * buffering more than that. Returns complete lines; `overflow` is set (and
 * stays set) once a line is too long.
 */
export class LineSplitter {
  #parts: Buffer[] = [];
  #size = 0;
  overflow = false;

  constructor(private readonly max = MAX_LINE_BYTES) {}

  push(chunk: Buffer): string[] {
    if (this.overflow) return [];
    const lines: string[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      const piece = chunk.subarray(start, nl);
      if (this.#size + piece.length > this.max) return this.#overflowed(lines);
      const line = this.#size === 0 ? piece.toString('utf8') : Buffer.concat([...this.#parts, piece]).toString('utf8');
      this.#parts = [];
      this.#size = 0;
      lines.push(line);
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      if (this.#size + rest.length > this.max) return this.#overflowed(lines);
      // Copy: the caller's buffer may be reused.
      this.#parts.push(Buffer.from(rest));
      this.#size += rest.length;
    }
    return lines;
  }

  /** Bytes of an unfinished line held right now. */
  get pending(): number {
    return this.#size;
  }

  #overflowed(lines: string[]): string[] {
    this.overflow = true;
    this.#parts = [];
    this.#size = 0;
    return lines;
  }
}

/** Parses `30s`, `15m`, `8h`, `1d` (whole numbers) into ms. */
export function parseDuration(raw: string): number | undefined {
  const m = /^(\d{1,7})(s|m|h|d)$/.exec(raw.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
  return n * unit;
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${s % 60 ? `${s % 60}s` : ''}`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${m % 60 ? `${m % 60}m` : ''}`;
  const d = Math.floor(h / 24);
  return `${d}d${h % 24 ? `${h % 24}h` : ''}`;
}

export const DEFAULT_TTL_MS = 8 * 3_600_000;
export const DEFAULT_MAX_TTL_MS = 24 * 3_600_000;
/** Upper bound for --max-ttl. */
export const LIMIT_TTL_MS = 30 * 86_400_000;
