/**
 * What the agent does for each op: one handler per op of the Ops table
 * (protocol.ts), typed from it. Handlers get arguments already checked at the
 * edge (args.ts) and never see the raw request.
 */
import { randomBytes } from 'node:crypto';
import { JaneeError } from '../errors.js';
import type { LocalGate } from '../gate/gate.js';
import type { Caller } from '../gate/types.js';
import { VERSION } from '../version.js';
import { parseArgs } from './args.js';
import type { KeyHolder } from './keyholder.js';
import type { Place, Timers } from './lifetime.js';
import type { Conn } from './listener.js';
import { NONCE_BYTES, checkRenew, openSealedKey, proofMac } from './proof.js';
import { agentInfos, deleteAgent, putAgent } from '../vault/agents.js';
import { isExecBinding } from '../vault/payload.js';
import {
  PROTOCOL_VERSION,
  type AgentInfo,
  type EntryInfo,
  type HelloResult,
  type Op,
  type OpArgs,
  type OpResult,
  type Request,
  type StatusResult,
  type UnlockResult,
} from './protocol.js';

export type Handlers = { [K in Op]: (args: OpArgs<K>, conn: Conn, signal: AbortSignal) => OpResult<K> | Promise<OpResult<K>> };

/** What the handlers act on: the agent's parts (server.ts). */
interface OpsContext {
  vaultFile: string;
  configFile: string;
  socketPath: string;
  gate: LocalGate;
  keys: KeyHolder;
  timers: Timers;
  place: Place;
  log(line: string): void;
  connections(): number;
  stop(why: string): void;
  /** Runs key operations (unlock, rekey, lock) one at a time. */
  serial<T>(fn: () => Promise<T>): Promise<T>;
  /** Takes `key` (wiped unless it opens the vault) and resets the timers. */
  adopt(key: Uint8Array, ttlMs: number | undefined, maxTtlMs: number | undefined): Promise<UnlockResult>;
}

/** Checks the request's arguments, then runs its op. Never throws: a refusal is a rejection. */
export async function dispatch(handlers: Handlers, req: Request, conn: Conn, signal: AbortSignal): Promise<unknown> {
  const { op, args } = parseArgs(req);
  return await (handlers[op] as (a: typeof args, c: Conn, s: AbortSignal) => unknown)(args, conn, signal);
}

export function agentOps(a: OpsContext): Handlers {
  const hello = (): HelloResult => ({
    agent: 'janee',
    version: VERSION,
    protocol: PROTOCOL_VERSION,
    pid: process.pid,
    vault: a.vaultFile,
    config: a.configFile,
    state: a.keys.unlocked ? 'unlocked' : 'locked',
  });

  /**
   * A caller as the gate may trust it. A token agent is named by its token, checked here
   * against the vault: any process of the user can reach this socket, and a claimed token
   * agent would otherwise use that agent's grants and sign its audit lines.
   */
  const proven = async (caller: Caller): Promise<Caller> => {
    if (caller.agentSource !== 'token') return caller;
    const t = await a.gate.authenticate(caller.token === '' ? undefined : caller.token, 'socket');
    return { agent: t.name, agentSource: 'token', services: t.services };
  };

  const status = async (): Promise<StatusResult> => {
    const data = await a.keys.data();
    const now = Date.now();
    const unlocked = a.keys.unlocked;
    const rb = unlocked ? a.keys.secrets().rollback : undefined;
    const unlockedAt = a.timers.unlockedAt;
    return {
      ...hello(),
      state: unlocked ? 'unlocked' : 'locked',
      lockedReason: unlocked ? null : a.keys.lockedReason(),
      unlockedAt: unlocked && unlockedAt !== undefined ? new Date(unlockedAt).toISOString() : null,
      idleTtlMs: a.timers.ttlMs,
      maxTtlMs: a.timers.maxTtlMs,
      idleLeftMs: unlocked ? a.timers.idleLeftMs(now) : null,
      hardLeftMs: unlocked ? a.timers.hardLeftMs(now) : null,
      rollback: rb ? { ...rb } : null,
      generation: data?.generation ?? null,
      secrets: data ? Object.keys(data.entries).length : null,
      connections: a.connections(),
    };
  };

  return {
    hello,
    status,
    list_services: async ({ caller }) => {
      a.timers.touch();
      return a.gate.listServices(caller && (await proven(caller)));
    },
    execute: async ({ req, caller }, _conn, signal) => {
      a.timers.touch();
      return a.gate.execute(req, await proven(caller), signal);
    },
    list_commands: async ({ caller }) => {
      a.timers.touch();
      return a.gate.listCommands(caller && (await proven(caller)));
    },
    exec: async ({ req, caller }, _conn, signal) => {
      a.timers.touch();
      return a.gate.exec(req, await proven(caller), signal);
    },
    /** Only the connection that sent a request may cancel it; an answered one is no longer there. */
    cancel: ({ target }, conn) => {
      const running = conn.running.get(target);
      running?.abort();
      return { cancelled: running !== undefined };
    },

    /**
     * An unlocked agent resets its timers, for a client that proves it holds the
     * key (a MAC on the challenge from `prove`, proof.ts). It takes no key.
     */
    unlock: (args, conn) =>
      a.serial(() => {
        const ttlMs = args.ttlMs ?? a.timers.ttlMs;
        const maxTtlMs = args.maxTtlMs ?? a.timers.maxTtlMs;
        if (ttlMs > maxTtlMs)
          throw new JaneeError('AGENT_BAD_REQUEST', 'ttlMs is longer than maxTtlMs', 'the idle timeout cannot exceed the hard limit');
        const secrets = a.keys.secrets();
        const challenge = conn.challenge;
        conn.challenge = undefined; // one use
        if (!challenge || !checkRenew(secrets.key(), challenge, ttlMs, maxTtlMs, args.mac)) {
          throw new JaneeError(
            'AGENT_NOT_PROVEN',
            'unlock needs "mac": proof of the key over the challenge from "prove" on this connection',
            'use `janee unlock`',
          );
        }
        a.timers.reset(ttlMs, maxTtlMs);
        return Promise.resolve({ state: 'unlocked' as const, already: true, pid: process.pid, idleTtlMs: ttlMs, maxTtlMs });
      }),

    /** A MAC on the client's nonce under a key derived from the file key (proof.ts). */
    prove: ({ nonce }, conn) => {
      a.place.check();
      const mac = proofMac(a.keys.secrets().key(), Buffer.from(nonce, 'base64'), {
        vault: a.vaultFile,
        socket: a.socketPath,
        pid: process.pid,
      });
      conn.challenge = randomBytes(NONCE_BYTES);
      return { mac: mac.toString('base64'), pid: process.pid, challenge: conn.challenge.toString('base64') };
    },

    /** The new file key, sealed under the current one (proof.ts). */
    rekey: (sealed) =>
      a.serial(() => {
        a.place.check();
        return a.adopt(openSealedKey(a.keys.secrets().key(), sealed), undefined, undefined);
      }),

    lock: () =>
      a.serial(() => {
        a.stop('janee lock');
        return Promise.resolve({ pid: process.pid });
      }),

    vault_entries: async (): Promise<EntryInfo[]> => {
      a.timers.touch();
      const data = await a.keys.secrets().current();
      return Object.entries(data.entries).map(([name, e]) => ({
        name,
        origins: [...e.origins],
        fieldNames: Object.keys(e.fields),
        created: e.created,
        updated: e.updated,
      }));
    },

    vault_put: async ({ name, entry, replace = false }) => {
      a.timers.touch();
      a.place.check();
      const now = new Date().toISOString();
      // (entry.fields is not cleared afterwards: the saved copy the agent keeps shares it.)
      const r = await a.keys.write((data) => {
        const old = Object.hasOwn(data.entries, name) ? data.entries[name] : undefined;
        if (old && !replace) {
          throw new JaneeError(
            'VAULT_DUPLICATE',
            `the vault already holds a secret named "${name}"`,
            `run \`janee remove ${name}\` first, or pick another name`,
          );
        }
        // Replacing never widens where the secret may go: that is `janee bind`, with the
        // passphrase (any process of the user can reach this socket).
        // And a new entry does not come bound to a command: an `exec:` binding pins what a
        // program may run with it, which needs the passphrase (`janee bind NAME exec:COMMAND`).
        const wider = old ? entry.origins.filter((o) => !old.origins.includes(o)) : entry.origins.filter(isExecBinding);
        if (wider.length > 0) {
          throw new JaneeError(
            'BIND_NEEDS_PASSPHRASE',
            `replacing the secret "${name}" would bind it to ${wider.join(', ')}, where it is not bound now`,
            `binding a secret to another origin or a command needs the passphrase: \`janee bind ${name} URL|exec:COMMAND\``,
          );
        }
        // A replaced entry keeps when it was first created; it is updated now.
        data.entries[name] = old
          ? { fields: entry.fields, origins: entry.origins, created: old.created, updated: now }
          : { fields: entry.fields, origins: entry.origins, created: entry.created ?? now, updated: entry.updated ?? now };
        return old !== undefined;
      });
      a.log(`vault: ${r.result ? 'replaced' : 'added'} an entry (generation ${r.generation})`);
      return { generation: r.generation, replaced: r.result };
    },

    vault_delete: async ({ name }) => {
      a.timers.touch();
      const r = await a.keys.write((data) => {
        const existed = Object.hasOwn(data.entries, name);
        delete data.entries[name];
        return existed;
      });
      if (r.result) a.log(`vault: removed an entry (generation ${r.generation})`);
      return { existed: r.result, generation: r.generation };
    },

    reload: async () => {
      a.keys.invalidate();
      return status();
    },

    // Checked on every HTTP request of a serve: the vault as re-read (at most 250 ms old), so revocation is prompt.
    authenticate: ({ token, via }) => {
      a.timers.touch();
      return a.gate.authenticate(token, via);
    },

    agents_list: async (): Promise<AgentInfo[]> => {
      a.timers.touch();
      return agentInfos(await a.keys.secrets().current());
    },

    agent_put: async ({ name, record }) => {
      a.timers.touch();
      a.place.check();
      const r = await a.keys.write((data) => putAgent(data, name, record));
      a.log(`vault: added an agent token (generation ${r.generation})`);
      return { generation: r.generation };
    },

    agent_delete: async ({ name }) => {
      a.timers.touch();
      const r = await a.keys.write((data) => deleteAgent(data, name));
      if (r.result) a.log(`vault: removed an agent token (generation ${r.generation})`);
      return { existed: r.result, generation: r.generation };
    },
  };
}
