/**
 * The agent's edge: each op's raw JSON arguments checked once, into the typed
 * arguments of the Ops table (protocol.ts), before any handler sees them. Every
 * refusal is AGENT_BAD_REQUEST and names what is wrong, never the value sent.
 *
 * One validator per concept, shared with the rest of janee: an execute request
 * is checked with the MCP tool's schema (src/gate/request.ts), a vault entry as
 * the vault payload checks it (src/vault/payload.ts), an entry name as
 * `janee add` checks it (ENTRY_NAME_RE).
 */
import { parseBaseUrl } from '../config/url.js';
import { JaneeError } from '../errors.js';
import { parseExecRequest } from '../exec/request.js';
import { parseExecuteRequest } from '../gate/request.js';
import type { Caller } from '../gate/types.js';
import { ENTRY_NAME_RE, checkAgent, checkEntry, isExecBinding } from '../vault/payload.js';
import type { VaultEntry } from '../vault/types.js';
import { NONCE_BYTES } from './proof.js';
import { LIMIT_TTL_MS, PROTOCOL_HINT, isOp, isRequestId, type NoArgs, type Op, type OpArgs, type Request } from './protocol.js';

type Raw = Readonly<Record<string, unknown>>;

/** Checked arguments of `op`; throws AGENT_UNKNOWN_OP or AGENT_BAD_REQUEST. */
export function parseArgs(req: Request): { op: Op; args: OpArgs<Op> } {
  const op = req.op;
  if (!isOp(op)) throw new JaneeError('AGENT_UNKNOWN_OP', `unknown op "${String(op).slice(0, 40)}"`, PROTOCOL_HINT);
  return { op, args: PARSERS[op](req) };
}

const none = (): NoArgs => ({});

const PARSERS: { [K in Op]: (raw: Raw) => OpArgs<K> } = {
  hello: none,
  status: none,
  list_services: (raw) => (raw.caller === undefined ? {} : { caller: parseCaller(raw.caller) }),
  execute: parseExecute,
  list_commands: (raw) => (raw.caller === undefined ? {} : { caller: parseCaller(raw.caller) }),
  exec: parseExec,
  cancel: (raw) => {
    if (!isRequestId(raw.target)) throw bad('cancel needs "target": the id of a request on this connection', 'send the id you gave it');
    return { target: raw.target };
  },
  unlock: parseUnlock,
  prove: parseProve,
  rekey: parseRekey,
  lock: none,
  vault_entries: none,
  vault_put: parsePut,
  vault_delete: parseDelete,
  reload: none,
  authenticate: parseAuthenticate,
  agents_list: none,
  agent_put: parseAgentPut,
  agent_delete: (raw) => ({ name: parseName(raw.name, 'agent_delete needs "name"', 'use `janee agents remove NAME`') }),
};

function bad(message: string, hint: string): JaneeError {
  return new JaneeError('AGENT_BAD_REQUEST', message, hint);
}

function parseExecute(raw: Raw): OpArgs<'execute'> {
  const hint = 'send { req: { service, method, path, … }, caller: { agent, agentSource } }';
  const r = parseExecuteRequest(raw.req);
  if (!r.ok)
    throw bad(r.field === 'req' ? 'invalid execute request: req must be an object' : `invalid execute request: bad "${r.field}"`, hint);
  return { req: r.req, caller: parseCaller(raw.caller) };
}

function parseExec(raw: Raw): OpArgs<'exec'> {
  const hint = 'send { req: { command, args, cwd?, stdin? }, caller: { agent, agentSource } }';
  const r = parseExecRequest(raw.req);
  if (!r.ok) throw bad(r.field === 'req' ? 'invalid exec request: req must be an object' : `invalid exec request: bad "${r.field}"`, hint);
  return { req: r.req, caller: parseCaller(raw.caller) };
}

/**
 * Who is calling, as serve was told; an unusable name or source is "unknown" (it only
 * labels the audit line). A scope (`services`) that is not a list of names is refused:
 * dropping it would widen the caller to every service.
 */
function parseCaller(x: unknown): Caller {
  const c = (typeof x === 'object' && x !== null ? x : {}) as Record<string, unknown>;
  const agent = typeof c.agent === 'string' && c.agent !== '' ? c.agent.slice(0, 100) : 'unknown';
  const agentSource = c.agentSource === 'flag' || c.agentSource === 'clientInfo' || c.agentSource === 'token' ? c.agentSource : 'unknown';
  // A token agent's name and scope come from its token, checked by the agent (ops.ts), never from the claim.
  if (agentSource === 'token') return { agent, agentSource, token: typeof c.token === 'string' && c.token.length <= 200 ? c.token : '' };
  const s = c.services;
  if (s === undefined || s === null) return { agent, agentSource };
  if (!Array.isArray(s) || s.length > 1000 || !s.every((n) => typeof n === 'string' && n.length <= 200))
    throw bad('caller.services must be a list of service names', 'send the scope of the agent token');
  return { agent, agentSource, services: [...(s as string[])] };
}

function parseAuthenticate(raw: Raw): OpArgs<'authenticate'> {
  // Any string up to a bound: a malformed token is the gate's refusal (audited), not a bad request.
  const token = typeof raw.token === 'string' && raw.token.length <= 200 ? raw.token : '';
  const via = typeof raw.via === 'string' ? raw.via.slice(0, 100) : '';
  return { token, via };
}

function parseAgentPut(raw: Raw): OpArgs<'agent_put'> {
  const name = parseName(raw.name, 'invalid agent name', 'use 1-64 letters, digits, "_", "." or "-"');
  const record = checkAgent(name, raw.record, (why) => {
    throw bad(`invalid agent record: ${why}`, 'use `janee agents add`');
  });
  return { name, record };
}

function parseUnlock(raw: Raw): OpArgs<'unlock'> {
  if (raw.key !== undefined) {
    throw bad(
      'the agent never takes the file key over its socket',
      'use `janee unlock`: it hands the key only to an agent it starts itself',
    );
  }
  const out: OpArgs<'unlock'> = {};
  const ttlMs = optionalMs(raw.ttlMs, 'ttlMs');
  const maxTtlMs = optionalMs(raw.maxTtlMs, 'maxTtlMs');
  if (ttlMs !== undefined) out.ttlMs = ttlMs;
  if (maxTtlMs !== undefined) out.maxTtlMs = maxTtlMs;
  // A missing or malformed MAC is not a bad request but a failed proof (AGENT_NOT_PROVEN, in the handler).
  if (typeof raw.mac === 'string') out.mac = raw.mac;
  return out;
}

function parseProve(raw: Raw): OpArgs<'prove'> {
  const n = raw.nonce;
  if (typeof n !== 'string' || n.length > 100 || Buffer.from(n, 'base64').length !== NONCE_BYTES) {
    throw bad(`prove needs "nonce": ${NONCE_BYTES} random bytes in base64`, 'use `janee unlock`');
  }
  return { nonce: n };
}

/** Shapes only; lengths and the seal itself are checked when it is opened (proof.ts). */
function parseRekey(raw: Raw): OpArgs<'rekey'> {
  const s = (x: unknown) => (typeof x === 'string' && x.length <= 200 ? x : undefined);
  const nonce = s(raw.nonce);
  const iv = s(raw.iv);
  const sealed = s(raw.sealed);
  if (nonce === undefined || iv === undefined || sealed === undefined)
    throw bad('rekey needs the new key sealed under the current one', 'use `janee rekey`');
  return { nonce, iv, sealed };
}

function parsePut(raw: Raw): OpArgs<'vault_put'> & { entry: VaultEntry; replace: boolean } {
  const name = parseName(raw.name, 'invalid entry name', 'use 1-64 letters, digits, "_", "." or "-"');
  if (raw.replace !== undefined && typeof raw.replace !== 'boolean')
    throw bad('vault_put: "replace" must be true or false', 'use `janee set`');
  return { name, entry: parseEntry(name, raw.entry), replace: raw.replace === true };
}

/** Any name may be asked for (one the vault cannot hold simply does not exist). */
function parseDelete(raw: Raw): OpArgs<'vault_delete'> {
  const name = raw.name;
  if (typeof name !== 'string' || name.length === 0 || name.length > 200) throw bad('vault_delete needs "name"', 'use `janee remove NAME`');
  return { name };
}

function parseName(x: unknown, message: string, hint: string): string {
  if (typeof x !== 'string' || !ENTRY_NAME_RE.test(x)) throw bad(message, hint);
  return x;
}

/** Bounds on what one request may carry; the entry's validity is the payload's check. */
const MAX_FIELDS = 16;
const MAX_VALUE_CHARS = 64 * 1024;
const MAX_ORIGINS = 32;

function parseEntry(name: string, x: unknown): VaultEntry {
  const fail = (why: string): never => {
    throw bad(`invalid vault entry: ${why}`, 'use `janee add`');
  };
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return fail('not an object');
  const e = x as Record<string, unknown>;
  const fields = e.fields;
  if (typeof fields === 'object' && fields !== null) {
    const values = Object.values(fields);
    if (values.length > MAX_FIELDS) fail(`fields must hold 1 to ${MAX_FIELDS} values`);
    if (values.some((v) => typeof v === 'string' && v.length > MAX_VALUE_CHARS))
      fail(`a field value is longer than ${MAX_VALUE_CHARS} characters`);
  }
  if (Array.isArray(e.origins) && (e.origins.length === 0 || e.origins.length > MAX_ORIGINS))
    fail(`origins must hold 1 to ${MAX_ORIGINS} origins`);
  // Absent times mean now (what the vault stores: toISOString); anything else must be exactly that form.
  const now = new Date().toISOString();
  const entry = checkEntry(name, { ...e, created: e.created ?? now, updated: e.updated ?? now }, fail);
  // Where a credential may be sent: https, or plain http to loopback only (config/url.ts).
  for (const o of entry.origins) {
    if (isExecBinding(o)) continue;
    try {
      parseBaseUrl(o);
    } catch {
      fail('origins must be https (plain http only to localhost)');
    }
  }
  return entry;
}

function optionalMs(x: unknown, name: string): number | undefined {
  if (x === undefined || x === null) return undefined;
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 1000 || x > LIMIT_TTL_MS) {
    throw bad(`${name} must be a whole number of ms from 1000 to ${LIMIT_TTL_MS}`, 'use `janee unlock --ttl …`');
  }
  return x;
}

/** The same bounds for the ttl given on the start pipe (run.ts). */
export { optionalMs };
