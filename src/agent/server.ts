/**
 * The agent: a long-lived process (`janee agent`, started detached by
 * `janee unlock`) that holds the unlocked vault and runs the gate for every
 * serve, over a Unix socket (protocol.ts).
 *
 * Life cycle.
 *   start  → bind the socket (single instance, see below) → report "ready" on
 *            the ready pipe → wait for the file key on that same pipe, inherited
 *            from the `janee unlock` that started it (run.ts; never over the
 *            socket; the agent never sees the passphrase and never runs scrypt).
 *   unlock → verify the key opens the vault file → serve calls.
 *   stop   → on `lock`, idle timeout (--ttl, reset by each call that uses the
 *            vault), hard limit (--max-ttl, from the last unlock), SIGTERM/SIGINT,
 *            or no unlock within STARTUP_UNLOCK_MS: wipe the key, stop listening
 *            (which removes the socket file), let calls in flight finish (at
 *            most DRAIN_MS), close connections, flush the audit log, exit.
 *
 * Single instance. Binding happens under `<socket>.lock` (fsutil.withLock, which
 * breaks a lock whose owner died). Inside it: if the socket path answers `hello`
 * another agent is running and this one exits ("exists"); if it refuses the
 * connection it is a stale socket from a crashed agent and is removed; then we
 * bind. Two racing `janee unlock`s therefore end with one agent.
 *
 * The vault. A LocalGate with VaultSecrets (re-read with the file key when the
 * file changes: `janee add`, `passwd` keep working; a rekeyed file locks it until
 * `janee rekey` hands over the new key, sealed under the old one). Vault writes asked over the socket
 * (`vault_put`, `vault_delete`) go through updateVault under the vault's lock
 * file, with a copy of the key (a concurrent lock cannot zero the key mid-write).
 *
 * Rollback. If the file on disk is replaced by an older copy (lower generation)
 * the agent keeps serving its newer copy, `status` reports it, and writes are
 * refused (AGENT_VAULT_ROLLBACK) until the human restores the newer file or
 * accepts the older one (`janee vault accept-older`, then `janee lock && janee unlock`) — the agent neither
 * overwrites the file it was given nor silently goes back.
 *
 * Bad clients. Garbage, oversize lines, wrong versions and clients that vanish
 * mid-request are answered or dropped per protocol.ts; errors on a socket never
 * reach the process. The log (stderr, redirected by `unlock` to a file next to the
 * socket) holds events and error codes, never secrets or request contents.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';
import { SERVICE_NAME } from '../config/load.js';
import { parseBaseUrl } from '../config/url.js';
import { JaneeError } from '../errors.js';
import { LocalGate } from '../gate/gate.js';
import { VaultSecrets } from '../gate/secrets.js';
import { GateCodes, type Caller, type ExecuteRequest } from '../gate/types.js';
import { withLock } from '../util/fsutil.js';
import { openWithKey, updateVault } from '../vault/store.js';
import { isValidFieldValue } from '../vault/payload.js';
import type { VaultData, VaultEntry } from '../vault/types.js';
import { VERSION } from '../version.js';
import {
  DEFAULT_MAX_TTL_MS,
  DEFAULT_TTL_MS,
  LIMIT_TTL_MS,
  LineSplitter,
  PROTOCOL_HINT,
  PROTOCOL_VERSION,
  encodeLine,
  errorResponse,
  isRequestId,
  okResponse,
  type EntryInfo,
  type HelloResult,
  type Request,
  type RequestId,
  type Response,
  type StatusResult,
} from './protocol.js';
import { checkSocketDir, checkSocketFile } from './socket-path.js';
import { NONCE_BYTES, checkRenew, openSealedKey, proofMac } from './proof.js';
import { lockedError, lockedSource } from './locked.js';
import { probeAgent } from './client.js';

/** A fresh agent that gets no key within this long exits. */
export const STARTUP_UNLOCK_MS = 30_000;
/** Calls in flight get this long to finish when the agent stops. */
export const DRAIN_MS = 5_000;
/** Requests in flight per connection before new ones are refused. */
const MAX_INFLIGHT_PER_CONN = 1024;
/** A client that stops reading its answers is dropped past this much queued output. */
const MAX_QUEUED_OUTPUT = 64 * 1024 * 1024;
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface UnlockResult {
  state: 'unlocked';
  already: boolean;
  pid: number;
  idleTtlMs: number;
  maxTtlMs: number;
}

export interface AgentOptions {
  vaultFile: string;
  socketPath: string;
  configFile: string;
  auditDir: string;
  killswitchFile: string;
  ttlMs?: number;
  maxTtlMs?: number;
  /** Diagnostics (one line each, no secrets). */
  log?: (line: string) => void;
  /** Called once when the agent is listening (or found another one running). */
  onStarted?: (r: { ready: true; pid: number } | { exists: true; pid: number | null }) => void;
  startupUnlockMs?: number;
}

interface Conn {
  socket: net.Socket;
  inflight: number;
  /** Closing after a protocol error: input is ignored. */
  dropping: boolean;
  /** Issued by `prove`, consumed by one `unlock` (proof.ts). */
  challenge?: Buffer | undefined;
}

export class Agent {
  readonly #opts: AgentOptions;
  readonly #gate: LocalGate;
  readonly #log: (line: string) => void;
  #server: net.Server | undefined;
  #watcher: fs.FSWatcher | undefined;
  #socketIno: bigint | undefined;
  readonly #conns = new Set<Conn>();
  #inflight = 0;
  #drained: (() => void) | undefined;
  #secrets: VaultSecrets | undefined;
  #lockedReason: string = 'waiting for the key from the `janee unlock` that started it';
  #ttlMs: number;
  #maxTtlMs: number;
  readonly #startedAt = Date.now();
  #unlockedAt: number | undefined;
  #lastUse = Date.now();
  #timer: NodeJS.Timeout | undefined;
  #stopping: Promise<void> | undefined;
  #stopped!: () => void;
  readonly done: Promise<void>;
  /** Serialises unlock and lock so they never interleave. */
  #keyOps: Promise<unknown> = Promise.resolve();

  constructor(opts: AgentOptions) {
    this.#opts = opts;
    this.#log = opts.log ?? (() => undefined);
    this.#ttlMs = opts.ttlMs ?? DEFAULT_TTL_MS;
    this.#maxTtlMs = opts.maxTtlMs ?? DEFAULT_MAX_TTL_MS;
    this.#gate = new LocalGate({ configFile: opts.configFile, auditDir: opts.auditDir, killswitchFile: opts.killswitchFile, secrets: lockedSource(this.#lockedError('the agent is waiting for its key')) });
    this.done = new Promise<void>((r) => (this.#stopped = r));
  }

  get unlocked(): boolean {
    return this.#secrets !== undefined && !this.#secrets.locked;
  }

  /** Bind the socket. Resolves false when another agent already serves this path. */
  async start(): Promise<boolean> {
    const sock = this.#opts.socketPath;
    await checkSocketDir(sock, { create: true });
    const bound = await withLock(sock, async () => {
      if ((await checkSocketFile(sock)) === 'socket') {
        const other = await probeAgent(sock, 2_000);
        if (other.kind === 'alive') {
          this.#opts.onStarted?.({ exists: true, pid: other.hello?.pid ?? null });
          return false;
        }
        if (other.kind === 'unresponsive') {
          // Something accepts connections but does not answer: a hung agent that may hold a key.
          throw new JaneeError('AGENT_UNRESPONSIVE', `an agent is listening on ${sock} but does not answer`, 'stop the hung `janee agent` process (kill it), then run `janee unlock` again');
        }
        this.#log(`removing a stale socket (${other.kind})`);
        await fsp.rm(sock, { force: true });
      }
      const server = net.createServer({ allowHalfOpen: false, pauseOnConnect: false }, (s) => this.#accept(s));
      server.maxConnections = 512;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ path: sock, backlog: 128 }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      server.on('error', (e) => this.#log(`server error ${(e as NodeJS.ErrnoException).code ?? e.name}`));
      fs.chmodSync(sock, 0o600);
      this.#socketIno = fs.lstatSync(sock, { bigint: true }).ino;
      this.#server = server;
      if (this.#stopping) server.close(); // SIGTERM arrived while binding
      return true;
    });
    if (!bound) return false;
    if (this.#stopping) return true;
    this.#watchPlace();
    this.#log(`listening on ${sock} (vault ${this.#opts.vaultFile})`);
    this.#arm();
    this.#opts.onStarted?.({ ready: true, pid: process.pid });
    return true;
  }

  // -------------------------------------------------------------------------
  // Connections

  #accept(socket: net.Socket): void {
    if (this.#stopping) {
      socket.destroy();
      return;
    }
    if (!this.#atOurPath()) {
      // Reached through a path that is no longer ours: a relay may sit at our path.
      socket.destroy();
      this.#log('a connection arrived but the socket at our path is no longer ours: stopping');
      void this.stop('the agent socket was moved or replaced');
      return;
    }
    const conn: Conn = { socket, inflight: 0, dropping: false };
    this.#conns.add(conn);
    const lines = new LineSplitter();
    socket.on('error', () => undefined); // EPIPE/ECONNRESET from a client that went away
    socket.on('close', () => this.#conns.delete(conn));
    socket.on('data', (chunk: Buffer) => {
      if (conn.dropping) return;
      for (const line of lines.push(chunk)) {
        if (!this.#onLine(conn, line)) return this.#drop(conn);
      }
      if (lines.overflow) {
        this.#send(conn, errorResponse(null, new JaneeError('AGENT_PROTOCOL', 'request line is longer than 8 MiB', 'send one JSON request per line')));
        this.#drop(conn);
      }
    });
  }

  /** After garbage: flush what we wrote, then close; whatever else the client sends is discarded. */
  #drop(conn: Conn): void {
    conn.dropping = true;
    const s = conn.socket;
    const t = setTimeout(() => s.destroy(), 2_000);
    s.end(() => {
      clearTimeout(t);
      s.destroy();
    });
  }

  /** Handles one line; false = close the connection (framing can't be trusted). */
  #onLine(conn: Conn, line: string): boolean {
    if (line.trim() === '') return true;
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      this.#send(conn, errorResponse(null, new JaneeError('AGENT_PROTOCOL', 'request is not a JSON line', `send one JSON object per line: {"v":${PROTOCOL_VERSION},"id":1,"op":"hello"}`)));
      return false;
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
      this.#send(conn, errorResponse(null, new JaneeError('AGENT_PROTOCOL', 'request is not a JSON object', `send one JSON object per line: {"v":${PROTOCOL_VERSION},"id":1,"op":"hello"}`)));
      return false;
    }
    const req = msg as Partial<Request>;
    const id = isRequestId(req.id) ? req.id : null;
    // `lock` is understood at every protocol version, so any janee can stop any agent
    // (the fix for a version mismatch is `janee lock && janee unlock`).
    if (req.v !== PROTOCOL_VERSION && !(req.op === 'lock' && id !== null)) {
      this.#send(conn, errorResponse(id, new JaneeError('AGENT_PROTOCOL', `protocol version ${JSON.stringify(req.v ?? null).slice(0, 20)} is not supported (this agent speaks version ${PROTOCOL_VERSION})`, PROTOCOL_HINT)));
      return true;
    }
    if (id === null) {
      this.#send(conn, errorResponse(null, new JaneeError('AGENT_BAD_REQUEST', 'request has no valid id', 'give each request an id: a string (≤ 64 chars) or an integer')));
      return true;
    }
    if (conn.inflight >= MAX_INFLIGHT_PER_CONN) {
      this.#send(conn, errorResponse(id, new JaneeError('AGENT_BUSY', `more than ${MAX_INFLIGHT_PER_CONN} requests in flight on one connection`, 'wait for answers before sending more')));
      return true;
    }
    conn.inflight++;
    this.#inflight++;
    void this.#dispatch(req as Request, conn).then(
      (result) => this.#finish(conn, okResponse(id, result)),
      (e) => this.#finish(conn, errorResponse(id, e)),
    );
    return true;
  }

  #finish(conn: Conn, res: Response): void {
    conn.inflight--;
    this.#inflight--;
    this.#send(conn, res);
    if (this.#inflight === 0) this.#drained?.();
  }

  #send(conn: Conn, res: Response): void {
    const s = conn.socket;
    if (s.destroyed || !s.writable) return; // the client left; the work is done (and audited) anyway
    let line: string;
    try {
      line = encodeLine(res);
    } catch {
      line = encodeLine(errorResponse(res.id, undefined));
    }
    if (Buffer.byteLength(line) > 64 * 1024 * 1024) line = encodeLine(errorResponse(res.id, new JaneeError('AGENT_INTERNAL', 'answer too large', 'ask for less')));
    s.write(line);
    if (s.writableLength > MAX_QUEUED_OUTPUT) s.destroy();
  }

  // -------------------------------------------------------------------------
  // Ops

  async #dispatch(req: Request, conn: Conn): Promise<unknown> {
    switch (req.op) {
      case 'hello':
        return this.#hello();
      case 'status':
        return this.#status();
      case 'list_services':
        this.#touch();
        return this.#gate.listServices();
      case 'execute': {
        this.#touch();
        const { execReq, caller } = parseExecute(req);
        return this.#gate.execute(execReq, caller);
      }
      case 'unlock':
        return this.#serial(() => this.#renew(req, conn));
      case 'prove':
        return this.#prove(req, conn);
      case 'rekey':
        return this.#serial(() => this.#rekey(req));
      case 'lock':
        return this.#serial(async () => {
          void this.stop('janee lock');
          return { pid: process.pid };
        });
      case 'vault_entries':
        this.#touch();
        return this.#entries();
      case 'vault_put':
        this.#touch();
        this.#checkPlace();
        return this.#put(req);
      case 'vault_delete':
        this.#touch();
        return this.#delete(req);
      case 'reload':
        this.#secrets?.invalidate();
        return this.#status();
      default:
        throw new JaneeError('AGENT_UNKNOWN_OP', `unknown op "${String(req.op).slice(0, 40)}"`, PROTOCOL_HINT);
    }
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#keyOps.then(fn, fn);
    this.#keyOps = p.catch(() => undefined);
    return p;
  }

  #hello(): HelloResult {
    return {
      agent: 'janee',
      version: VERSION,
      protocol: PROTOCOL_VERSION,
      pid: process.pid,
      vault: this.#opts.vaultFile,
      config: this.#opts.configFile,
      state: this.unlocked ? 'unlocked' : 'locked',
    };
  }

  async #status(): Promise<StatusResult> {
    let data: VaultData | undefined;
    if (this.unlocked) data = await this.#secrets?.current().catch(() => undefined);
    const now = Date.now();
    const unlocked = this.unlocked;
    if (!unlocked && this.#secrets?.locked && !this.#stopping) {
      this.#lockedReason = 'the vault file was rekeyed or replaced since it was unlocked: run `janee unlock` again';
    }
    const rb = unlocked ? this.#secrets?.rollback : undefined;
    return {
      ...this.#hello(),
      state: unlocked ? 'unlocked' : 'locked',
      lockedReason: unlocked ? null : this.#lockedReason,
      unlockedAt: unlocked && this.#unlockedAt !== undefined ? new Date(this.#unlockedAt).toISOString() : null,
      idleTtlMs: this.#ttlMs,
      maxTtlMs: this.#maxTtlMs,
      idleLeftMs: unlocked ? Math.max(0, this.#lastUse + this.#ttlMs - now) : null,
      hardLeftMs: unlocked && this.#unlockedAt !== undefined ? Math.max(0, this.#unlockedAt + this.#maxTtlMs - now) : null,
      rollback: rb ? { ...rb } : null,
      generation: data?.generation ?? null,
      secrets: data ? Object.keys(data.entries).length : null,
      connections: this.#conns.size,
    };
  }

  /**
   * Takes the file key. Only run.ts calls this, with the key read from the pipe
   * inherited from the `janee unlock` that started this process: the socket never
   * carries a key in plaintext (see proof.ts for `rekey`).
   */
  unlockWithKey(key: Uint8Array, ttlMs?: number, maxTtlMs?: number): Promise<UnlockResult> {
    return this.#serial(() => this.#adopt(key, optionalMs(ttlMs, 'ttlMs'), optionalMs(maxTtlMs, 'maxTtlMs')));
  }

  /** Adopts `key` (ours from then on, wiped on failure) if it opens the vault; resets the timers. */
  async #adopt(key: Uint8Array, ttlArg: number | undefined, maxTtlArg: number | undefined): Promise<UnlockResult> {
    let adopted = false;
    try {
      if (this.#stopping) throw new JaneeError('AGENT_STOPPING', 'the agent is shutting down', 'run `janee unlock` again in a moment');
      const ttlMs = ttlArg ?? this.#ttlMs;
      const maxTtlMs = maxTtlArg ?? this.#maxTtlMs;
      if (ttlMs > maxTtlMs) throw new JaneeError('AGENT_BAD_REQUEST', 'ttlMs is longer than maxTtlMs', 'the idle timeout cannot exceed the hard limit');
      const current = this.unlocked ? this.#secrets : undefined;
      let already = false;
      if (current && timingSafeEqual(current.key(), key)) {
        already = true;
        key.fill(0);
      } else {
        let opened;
        try {
          opened = await openWithKey(this.#opts.vaultFile, key);
        } catch (e) {
          if (e instanceof JaneeError && e.code === 'VAULT_REKEYED') {
            throw new JaneeError('AGENT_KEY_MISMATCH', `that key does not open ${this.#opts.vaultFile}`, 'the vault changed while unlocking: run `janee unlock` again');
          }
          throw e;
        }
        const secrets = new VaultSecrets(this.#opts.vaultFile, key, opened.data);
        this.#gate.setSecrets(secrets); // wipes the previous key, if any
        this.#secrets = secrets;
        adopted = true;
        this.#log(current ? 'unlocked with a new key (the vault was rekeyed)' : 'unlocked');
      }
      this.#resetTimers(ttlMs, maxTtlMs);
      return { state: 'unlocked', already, pid: process.pid, idleTtlMs: ttlMs, maxTtlMs };
    } catch (e) {
      if (!adopted) key.fill(0);
      throw e;
    }
  }

  #resetTimers(ttlMs: number, maxTtlMs: number): void {
    this.#ttlMs = ttlMs;
    this.#maxTtlMs = maxTtlMs;
    this.#unlockedAt = Date.now();
    this.#lastUse = Date.now();
    this.#arm();
  }

  /**
   * `unlock` over the socket: an unlocked agent resets its timers, for a client that
   * proves it holds the key (a MAC on the challenge from `prove`, proof.ts). It takes no key.
   */
  async #renew(req: Request, conn: Conn): Promise<UnlockResult> {
    if (req.key !== undefined) {
      throw new JaneeError('AGENT_BAD_REQUEST', 'the agent never takes the file key over its socket', 'use `janee unlock`: it hands the key only to an agent it starts itself');
    }
    const ttlMs = optionalMs(req.ttlMs, 'ttlMs') ?? this.#ttlMs;
    const maxTtlMs = optionalMs(req.maxTtlMs, 'maxTtlMs') ?? this.#maxTtlMs;
    if (ttlMs > maxTtlMs) throw new JaneeError('AGENT_BAD_REQUEST', 'ttlMs is longer than maxTtlMs', 'the idle timeout cannot exceed the hard limit');
    const secrets = this.#unlockedSecrets();
    const challenge = conn.challenge;
    conn.challenge = undefined; // one use
    if (!challenge || !checkRenew(secrets.key(), challenge, ttlMs, maxTtlMs, req.mac)) {
      throw new JaneeError('AGENT_NOT_PROVEN', 'unlock needs "mac": proof of the key over the challenge from "prove" on this connection', 'use `janee unlock`');
    }
    this.#resetTimers(ttlMs, maxTtlMs);
    return { state: 'unlocked', already: true, pid: process.pid, idleTtlMs: ttlMs, maxTtlMs };
  }

  /** `prove`: a MAC on the client's nonce under a key derived from the file key (proof.ts). */
  #prove(req: Request, conn: Conn): { mac: string; pid: number; challenge: string } {
    const nonce = typeof req.nonce === 'string' && req.nonce.length <= 100 ? Buffer.from(req.nonce, 'base64') : undefined;
    if (!nonce || nonce.length !== NONCE_BYTES) throw new JaneeError('AGENT_BAD_REQUEST', `prove needs "nonce": ${NONCE_BYTES} random bytes in base64`, 'use `janee unlock`');
    this.#checkPlace();
    const secrets = this.#unlockedSecrets();
    const mac = proofMac(secrets.key(), nonce, { vault: this.#opts.vaultFile, socket: this.#opts.socketPath, pid: process.pid });
    conn.challenge = randomBytes(NONCE_BYTES);
    return { mac: mac.toString('base64'), pid: process.pid, challenge: conn.challenge.toString('base64') };
  }

  /** `rekey`: the new file key, sealed under the current one (proof.ts). */
  async #rekey(req: Request): Promise<UnlockResult> {
    this.#checkPlace();
    const fresh = openSealedKey(this.#unlockedSecrets().key(), req as { nonce?: unknown; iv?: unknown; sealed?: unknown });
    return this.#adopt(fresh, undefined, undefined);
  }

  /**
   * Before anything that involves the key or a new secret: is the socket file at
   * our path still the one we bound? If it was moved aside (and something else
   * listens at the path, or will), this agent may be reached only through a relay:
   * it wipes the key and stops (fail closed).
   */
  #checkPlace(): void {
    if (this.#stopping || this.#atOurPath()) return;
    this.#log('the socket at our path is no longer ours (moved or replaced): stopping');
    void this.stop('the agent socket was moved or replaced');
    throw new JaneeError('AGENT_DISPLACED', `the agent socket ${this.#opts.socketPath} was moved or replaced; the agent wiped its key and stopped`, 'check what else listens on that path, then run `janee unlock` again');
  }

  /** Stop as soon as our socket file is moved or replaced (inotify/kqueue on its directory). */
  #watchPlace(): void {
    const sock = this.#opts.socketPath;
    try {
      this.#watcher = fs.watch(path.dirname(sock), { persistent: false }, (_event, name) => {
        if (name !== null && name !== path.basename(sock)) return;
        if (!this.#stopping && !this.#atOurPath()) {
          this.#log('our socket file was moved or replaced: stopping');
          void this.stop('the agent socket was moved or replaced');
        }
      });
      this.#watcher.on('error', () => undefined);
    } catch {
      this.#log('cannot watch the socket directory; the checks before each sensitive request remain');
    }
  }

  #atOurPath(): boolean {
    try {
      return this.#socketIno !== undefined && fs.lstatSync(this.#opts.socketPath, { bigint: true }).ino === this.#socketIno;
    } catch {
      return false;
    }
  }

  #lockedError(why: string): JaneeError {
    return lockedError(this.#opts.vaultFile, this.#opts.socketPath, why);
  }

  #unlockedSecrets(): VaultSecrets {
    const s = this.#secrets;
    if (!s || s.locked) throw this.#lockedError(this.#lockedReason);
    return s;
  }

  async #entries(): Promise<EntryInfo[]> {
    const data = await this.#unlockedSecrets().current();
    return Object.entries(data.entries).map(([name, e]) => ({ name, origins: [...e.origins], fieldNames: Object.keys(e.fields), created: e.created, updated: e.updated }));
  }

  async #put(req: Request): Promise<{ generation: number; replaced: boolean }> {
    const name = parseName(req.name);
    const entry = parseEntry(req.entry);
    if (req.replace !== undefined && typeof req.replace !== 'boolean') throw new JaneeError('AGENT_BAD_REQUEST', 'vault_put: "replace" must be true or false', 'use `janee set NAME`');
    // (entry.fields is not cleared afterwards: the saved copy the agent keeps shares it.)
    const r = await this.#write((data) => {
      const old = Object.hasOwn(data.entries, name) ? data.entries[name] : undefined;
      if (old && req.replace !== true) {
        throw new JaneeError('VAULT_DUPLICATE', `the vault already holds a secret named "${name}"`, `run \`janee remove ${name}\` first, or pick another name`);
      }
      // Replacing keeps `created` and never widens where the secret may go: that is `janee bind`, with the passphrase.
      const wider = old ? entry.origins.filter((o) => !old.origins.includes(o)) : [];
      if (old && wider.length > 0) throw new JaneeError('AGENT_BAD_REQUEST', `replacing the secret "${name}" would bind it to ${wider.join(', ')}, where it is not bound now`, `binding a secret to another origin needs the passphrase: \`janee bind ${name} URL\``);
      data.entries[name] = old ? { ...entry, created: old.created } : entry;
      return old !== undefined;
    });
    this.#log(`vault: ${r.result ? 'replaced' : 'added'} an entry (generation ${r.generation})`);
    return { generation: r.generation, replaced: r.result };
  }

  async #delete(req: Request): Promise<{ existed: boolean; generation: number }> {
    if (typeof req.name !== 'string' || req.name.length === 0 || req.name.length > 200) throw new JaneeError('AGENT_BAD_REQUEST', 'vault_delete needs "name"', 'use `janee remove NAME`');
    const name = req.name;
    const r = await this.#write((data) => {
      const existed = Object.hasOwn(data.entries, name);
      delete data.entries[name];
      return existed;
    });
    if (r.result) this.#log(`vault: removed an entry (generation ${r.generation})`);
    return { existed: r.result, generation: r.generation };
  }

  /** Read-modify-write of the vault file with (a copy of) our key; refused after a rollback. */
  async #write<T>(fn: (data: VaultData) => T): Promise<{ result: T; generation: number }> {
    const secrets = this.#unlockedSecrets();
    secrets.invalidate();
    const mem = await secrets.current();
    if (secrets.rollback) throw rollbackError(this.#opts.vaultFile, secrets.rollback);
    const key = secrets.key().slice();
    try {
      const { result, vault } = await updateVault(this.#opts.vaultFile, key, (data) => {
        if (data.generation < mem.generation) throw rollbackError(this.#opts.vaultFile, { onDisk: data.generation, inMemory: mem.generation });
        return fn(data);
      });
      secrets.written(vault.data);
      return { result, generation: vault.data.generation };
    } finally {
      key.fill(0);
      secrets.invalidate();
    }
  }

  // -------------------------------------------------------------------------
  // Timers and stopping

  #touch(): void {
    this.#lastUse = Date.now();
  }

  /** The moment the agent stops unless something happens. */
  #deadline(): { at: number; why: string } {
    if (this.#unlockedAt === undefined) return { at: this.#startedAt + (this.#opts.startupUnlockMs ?? STARTUP_UNLOCK_MS), why: 'no unlock arrived' };
    const idle = this.#lastUse + this.#ttlMs;
    const hard = this.#unlockedAt + this.#maxTtlMs;
    return idle <= hard ? { at: idle, why: 'idle timeout' } : { at: hard, why: 'hard time limit' };
  }

  #arm(): void {
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#stopping) return;
    const { at } = this.#deadline();
    this.#timer = setTimeout(() => this.#check(), Math.min(MAX_TIMER_MS, Math.max(0, at - Date.now())));
  }

  #check(): void {
    const d = this.#deadline();
    if (Date.now() >= d.at) void this.stop(d.why);
    else this.#arm();
  }

  /** Wipe the key, stop listening, drain, close. Idempotent. */
  stop(why: string): Promise<void> {
    this.#stopping ??= this.#stop(why);
    return this.#stopping;
  }

  async #stop(why: string): Promise<void> {
    this.#log(`stopping: ${why}`);
    if (this.#timer) clearTimeout(this.#timer);
    this.#lockedReason = why;
    this.#gate.setSecrets(undefined); // wipes the key: calls from now on answer "locked"
    this.#secrets = undefined;
    // net.Server.close() unlinks the socket path (libuv) at once and stops accepting;
    // its callback waits for every connection, so it is not awaited here.
    this.#watcher?.close();
    if (this.#atOurPath()) {
      this.#server?.close();
      this.#removeOurSocket();
    } else {
      // Closing the server would unlink the path (libuv does), and what is there now is
      // not ours: stop accepting instead; the listening fd goes when the process exits.
      this.#server?.removeAllListeners('connection');
      this.#server?.on('connection', (s: net.Socket) => s.destroy());
    }
    if (this.#inflight > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.#log(`${this.#inflight} request(s) still running after ${DRAIN_MS / 1000}s were cut off`);
          resolve();
        }, DRAIN_MS);
        this.#drained = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    // Let answers flush, then close every connection.
    await Promise.all(
      [...this.#conns].map(
        (c) =>
          new Promise<void>((resolve) => {
            const t = setTimeout(() => {
              c.socket.destroy();
              resolve();
            }, 500);
            c.socket.end(() => {
              clearTimeout(t);
              resolve();
            });
            c.socket.once('close', () => {
              clearTimeout(t);
              resolve();
            });
          }),
      ),
    );
    await this.#gate.close().catch(() => undefined);
    this.#log('stopped');
    this.#stopped();
  }

  #removeOurSocket(): void {
    try {
      const st = fs.lstatSync(this.#opts.socketPath, { bigint: true });
      if (this.#socketIno !== undefined && st.ino === this.#socketIno) fs.rmSync(this.#opts.socketPath, { force: true });
    } catch {
      /* already gone */
    }
  }
}

function rollbackError(file: string, rb: { onDisk: number; inMemory: number }): JaneeError {
  return new JaneeError(
    'AGENT_VAULT_ROLLBACK',
    `the vault file ${file} (generation ${rb.onDisk}) is older than the agent's unlocked copy (generation ${rb.inMemory}); not writing to it`,
    `restore the newer file (e.g. from ${file}.bak or git), or accept the file on disk with \`janee vault accept-older\` then \`janee lock && janee unlock\``,
  );
}

function optionalMs(x: unknown, name: string): number | undefined {
  if (x === undefined || x === null) return undefined;
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 1000 || x > LIMIT_TTL_MS) {
    throw new JaneeError('AGENT_BAD_REQUEST', `${name} must be a whole number of ms from 1000 to ${LIMIT_TTL_MS}`, 'use `janee unlock --ttl …`');
  }
  return x;
}

function parseName(x: unknown): string {
  if (typeof x !== 'string' || !SERVICE_NAME.test(x)) throw new JaneeError('AGENT_BAD_REQUEST', 'invalid entry name', 'use 1-64 letters, digits, "_", "." or "-"');
  return x;
}

function parseEntry(x: unknown): VaultEntry {
  const bad = (why: string) => new JaneeError('AGENT_BAD_REQUEST', `invalid vault entry: ${why}`, 'use `janee add`');
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw bad('not an object');
  const e = x as Record<string, unknown>;
  const fields = e.fields;
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) throw bad('fields must be an object');
  const outFields: Record<string, string> = {};
  const names = Object.keys(fields);
  if (names.length === 0 || names.length > 16) throw bad('fields must hold 1 to 16 values');
  for (const k of names) {
    const v = (fields as Record<string, unknown>)[k];
    if (!/^[A-Za-z][A-Za-z0-9_]{0,31}$/.test(k) || typeof v !== 'string' || v.length > 64 * 1024 || !isValidFieldValue(v)) throw bad('each field must be a non-empty string without control characters (TAB allowed)');
    outFields[k] = v;
  }
  if (!Array.isArray(e.origins) || e.origins.length === 0 || e.origins.length > 32) throw bad('origins must be a non-empty list');
  const origins: string[] = [];
  for (const o of e.origins) {
    if (typeof o !== 'string') throw bad('origins must be strings');
    let origin: string;
    try {
      origin = parseBaseUrl(o).origin;
    } catch {
      throw bad('an origin is not a valid URL origin');
    }
    if (origin !== o) throw bad('origins must be scheme://host[:port]');
    origins.push(o);
  }
  const now = new Date().toISOString();
  // Exactly what the vault stores (toISOString); absent means now. Anything else is refused here,
  // as a bad request, not later by the vault encoder as an internal error.
  const time = (t: unknown, what: string) => {
    if (t === undefined) return now;
    if (typeof t !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(t) || Number.isNaN(Date.parse(t)) || new Date(t).toISOString() !== t) {
      throw bad(`${what} must be an ISO-8601 UTC time like 2026-01-31T12:00:00.000Z`);
    }
    return t;
  };
  return { fields: outFields, origins, created: time(e.created, 'created'), updated: time(e.updated, 'updated') };
}

function parseExecute(req: Request): { execReq: ExecuteRequest; caller: Caller } {
  const bad = (why: string) => new JaneeError('AGENT_BAD_REQUEST', `invalid execute request: ${why}`, 'send { req: { service, method, path, … }, caller: { agent, agentSource } }');
  const r = req.req;
  if (typeof r !== 'object' || r === null || Array.isArray(r)) throw bad('req must be an object');
  const e = r as Record<string, unknown>;
  for (const k of ['service', 'method', 'path'] as const) if (typeof e[k] !== 'string') throw bad(`${k} must be a string`);
  if (e.reason !== undefined && typeof e.reason !== 'string') throw bad('reason must be a string');
  if (e.headers !== undefined && (typeof e.headers !== 'object' || e.headers === null || Array.isArray(e.headers))) throw bad('headers must be an object');
  if (e.query !== undefined && (typeof e.query !== 'object' || e.query === null || Array.isArray(e.query))) throw bad('query must be an object');
  if (e.body !== undefined && e.body !== null && typeof e.body !== 'string' && typeof e.body !== 'object') throw bad('body must be a string or an object');
  const c = (req.caller ?? {}) as Record<string, unknown>;
  const agent = typeof c.agent === 'string' && c.agent !== '' ? c.agent.slice(0, 100) : 'unknown';
  const agentSource = c.agentSource === 'flag' || c.agentSource === 'clientInfo' ? c.agentSource : 'unknown';
  return { execReq: e as unknown as ExecuteRequest, caller: { agent, agentSource } };
}

export type { RequestId };
