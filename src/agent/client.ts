/**
 * Talking to the agent: one connection (AgentConnection) with many requests in
 * flight, and AgentGate — the Gate serve uses when an agent holds the vault.
 *
 * Before connecting, the socket's directory and the socket itself are checked
 * (socket-path.ts): a socket owned by someone else is refused, never used.
 *
 * AgentGate keeps one connection and reuses it for every call (requests are
 * pipelined, answers matched by id). When the agent goes away (janee lock,
 * timeout, crash) the connection closes; calls in flight fail with AGENT_GONE,
 * and the next call tries to connect again. While no agent answers, calls go to
 * a fallback gate — a locked LocalGate, so they are refused as "vault is locked"
 * with the fix, and still audited. After a new `janee unlock` the next call finds
 * the new agent: serve never needs a restart.
 */
import type { CancelSignal } from '../gate/cancel.js';
import * as net from 'node:net';
import { JaneeError } from '../errors.js';
import type { Caller, ExecuteRequest, ExecuteResult, Gate, ServiceInfo, TokenAgent } from '../gate/types.js';
import type { CommandInfo, ExecRequest, ExecResult } from '../exec/request.js';
import {
  LineSplitter,
  PROTOCOL_HINT,
  PROTOCOL_VERSION,
  encodeLine,
  errorFromBody,
  type HelloResult,
  type Op,
  type OpArgs,
  type OpResult,
  type Request,
  type RequestId,
} from './protocol.js';
import { checkSocketDir, checkSocketFile, realVaultPath } from './socket-path.js';
import { NONCE_BYTES, checkProof, newNonce } from './proof.js';

/** Answers from the agent can be large (an execute result is capped well below this). */
const MAX_ANSWER_BYTES = 80 * 1024 * 1024;
const CONNECT_TIMEOUT_MS = 3_000;

export const NOT_RUNNING = 'AGENT_NOT_RUNNING';

function notRunning(why: string): JaneeError {
  return new JaneeError(NOT_RUNNING, `no agent is running (${why})`, 'run `janee unlock` in a terminal');
}

function goneError(): JaneeError {
  return new JaneeError(
    'AGENT_GONE',
    'the agent stopped before answering (janee lock, timeout or crash); the call may or may not have reached the API',
    'run `janee unlock` in a terminal if the vault is locked, then retry',
  );
}

interface RequestOptions {
  /** Fail with AGENT_TIMEOUT after this long (default: none). */
  timeoutMs?: number;
  /** Aborted: ask the agent to cancel the request (op `cancel`); its answer still settles the call. */
  signal?: CancelSignal | undefined;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: JaneeError) => void;
  timer: NodeJS.Timeout | undefined;
}

export class AgentConnection {
  readonly #socket: net.Socket;
  readonly #pending = new Map<RequestId, Pending>();
  #nextId = 1;
  #closed = false;
  #closeListeners: (() => void)[] = [];
  hello!: HelloResult;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    const lines = new LineSplitter(MAX_ANSWER_BYTES);
    socket.on('data', (chunk: Buffer) => {
      for (const line of lines.push(chunk)) this.#onLine(line);
      if (lines.overflow) this.#fail(new JaneeError('AGENT_PROTOCOL', 'the agent sent an answer that is too large', PROTOCOL_HINT));
    });
    socket.on('error', () => undefined);
    socket.on('close', () => this.#fail(goneError()));
  }

  /** Connects and says hello. Throws AGENT_NOT_RUNNING when nothing listens (no socket, or a stale one). */
  static async open(socketPath: string, opts: { timeoutMs?: number; hello?: boolean } = {}): Promise<AgentConnection> {
    if ((await checkSocketFile(socketPath)) === 'missing') throw notRunning('no socket');
    const timeoutMs = opts.timeoutMs ?? CONNECT_TIMEOUT_MS;
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ path: socketPath });
      const timer = setTimeout(() => {
        s.destroy();
        reject(
          new JaneeError(
            'AGENT_UNRESPONSIVE',
            `the agent at ${socketPath} does not answer`,
            'stop it (`janee lock`, or kill the `janee agent` process) and run `janee unlock` again',
          ),
        );
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        s.destroy();
        if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED' || e.code === 'ENOTSOCK')
          reject(notRunning(e.code === 'ECONNREFUSED' ? 'stale socket' : 'no socket'));
        else
          reject(
            new JaneeError(
              'AGENT_CONNECT',
              `cannot connect to the agent at ${socketPath} (${e.code ?? 'error'})`,
              'check the socket directory, or run `janee lock && janee unlock`',
            ),
          );
      });
    });
    const conn = new AgentConnection(socket);
    if (opts.hello === false) return conn;
    try {
      const hello = await conn.request('hello', {}, { timeoutMs });
      if (hello?.agent !== 'janee' || hello.protocol !== PROTOCOL_VERSION) {
        throw new JaneeError(
          'AGENT_PROTOCOL',
          `the agent speaks protocol ${String(hello?.protocol)}, this janee speaks ${PROTOCOL_VERSION}`,
          PROTOCOL_HINT,
        );
      }
      conn.hello = hello;
      return conn;
    } catch (e) {
      conn.close();
      if (e instanceof JaneeError && e.code === 'AGENT_TIMEOUT') {
        throw new JaneeError(
          'AGENT_UNRESPONSIVE',
          `the agent at ${socketPath} does not answer`,
          'stop it (`janee lock`, or kill the `janee agent` process) and run `janee unlock` again',
        );
      }
      throw e;
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  onClose(fn: () => void): void {
    if (this.#closed) fn();
    else this.#closeListeners.push(fn);
  }

  /**
   * One request, typed by the Ops table (protocol.ts). The result is what the
   * agent sent: an agent of this protocol version, which checked its own answer's
   * shape by construction (its handlers are typed from the same table).
   */
  request<K extends Op>(op: K, args: OpArgs<K>, opts: RequestOptions = {}): Promise<OpResult<K>> {
    if (this.#closed) return Promise.reject(goneError());
    const id = this.#nextId++;
    return new Promise<OpResult<K>>((resolve, reject) => {
      const timer =
        opts.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.#pending.delete(id);
              reject(
                new JaneeError(
                  'AGENT_TIMEOUT',
                  `the agent did not answer "${op}" within ${Math.round(opts.timeoutMs! / 1000)}s`,
                  'check the agent with `janee status`; restart it with `janee lock && janee unlock`',
                ),
              );
            }, opts.timeoutMs);
      const signal = opts.signal;
      const onAbort = (): void => void this.request('cancel', { target: id }).catch(() => undefined); // an older agent: AGENT_UNKNOWN_OP
      const settle =
        <T>(f: (v: T) => void) =>
        (v: T): void => {
          signal?.removeEventListener('abort', onAbort);
          f(v);
        };
      this.#pending.set(id, { resolve: settle(resolve as (v: unknown) => void), reject: settle(reject), timer });
      // Object.assign, then the fields, not {...args, v, id, op}: on Node 20 a spread
      // copy given more fields gets a hidden class of its own and outlives the young
      // generation even as garbage, one per call through the agent (docs/bench.md).
      const msg = Object.assign<Record<string, unknown>, object>({}, args);
      msg.v = PROTOCOL_VERSION;
      msg.id = id;
      msg.op = op;
      this.#socket.write(encodeLine(msg as Request));
      if (signal?.aborted === true) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Resolves when the agent closes the connection (after `lock`, when it has stopped). */
  waitClosed(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.#closed) return resolve(true);
      const t = setTimeout(() => resolve(false), timeoutMs);
      this.onClose(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  close(): void {
    this.#socket.destroy();
    this.#fail(goneError());
  }

  #onLine(line: string): void {
    let msg: { v?: unknown; id?: unknown; ok?: unknown; result?: unknown; error?: unknown };
    try {
      msg = JSON.parse(line) as typeof msg;
    } catch {
      return this.#fail(new JaneeError('AGENT_PROTOCOL', 'the agent sent something that is not JSON', PROTOCOL_HINT));
    }
    if (typeof msg !== 'object' || msg === null)
      return this.#fail(new JaneeError('AGENT_PROTOCOL', 'the agent sent a malformed answer', PROTOCOL_HINT));
    if (msg.v !== PROTOCOL_VERSION) {
      return this.#fail(
        new JaneeError(
          'AGENT_PROTOCOL',
          `the agent speaks protocol ${JSON.stringify(msg.v ?? null).slice(0, 20)}, this janee speaks ${PROTOCOL_VERSION}`,
          PROTOCOL_HINT,
        ),
      );
    }
    if (msg.id === null || msg.id === undefined) {
      // An error about the connection as a whole.
      return this.#fail(errorFromBody(msg.error));
    }
    const p = this.#pending.get(msg.id as RequestId);
    if (!p) return; // timed out earlier
    this.#pending.delete(msg.id as RequestId);
    if (p.timer) clearTimeout(p.timer);
    if (msg.ok === true) p.resolve(msg.result);
    else p.reject(errorFromBody(msg.error));
  }

  #fail(err: JaneeError): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(err);
    }
    if (!this.#closed) {
      this.#closed = true;
      this.#socket.destroy();
      const ls = this.#closeListeners;
      this.#closeListeners = [];
      for (const fn of ls) fn();
    }
  }
}

type Probe = { kind: 'alive'; hello: HelloResult | undefined } | { kind: 'missing' } | { kind: 'stale' } | { kind: 'unresponsive' };

/** Whether something answers on the socket (used before replacing it). */
export async function probeAgent(socketPath: string, timeoutMs = CONNECT_TIMEOUT_MS): Promise<Probe> {
  try {
    const c = await AgentConnection.open(socketPath, { timeoutMs });
    c.close();
    return { kind: 'alive', hello: c.hello };
  } catch (e) {
    const code = e instanceof JaneeError ? e.code : '';
    if (code === NOT_RUNNING) return { kind: (e as JaneeError).message.includes('stale') ? 'stale' : 'missing' };
    if (code === 'AGENT_PROTOCOL') return { kind: 'alive', hello: undefined }; // a janee of another version
    if (code === 'AGENT_UNRESPONSIVE') return { kind: 'unresponsive' };
    throw e;
  }
}

/**
 * Connects to the agent for `vaultFile` if one runs. undefined: none (no socket
 * directory, no socket, or a stale one). Throws for an unsafe directory or
 * socket, an agent of another protocol version, or an agent of another vault.
 */
export async function connectAgent(
  socketPath: string,
  vaultFile: string,
  opts: { timeoutMs?: number } = {},
): Promise<AgentConnection | undefined> {
  if (!(await checkSocketDir(socketPath, { create: false }))) return undefined;
  let conn: AgentConnection;
  try {
    conn = await AgentConnection.open(socketPath, opts);
  } catch (e) {
    if (e instanceof JaneeError && e.code === NOT_RUNNING) return undefined;
    throw e;
  }
  const want = realVaultPath(vaultFile);
  if (conn.hello.vault !== want) {
    conn.close();
    throw new JaneeError(
      'AGENT_OTHER_VAULT',
      `the agent at ${socketPath} holds ${conn.hello.vault}, not ${want}`,
      "point JANEE_AGENT_SOCK at this vault's agent (or unset it), or `janee lock` that agent",
    );
  }
  return conn;
}

interface AgentGateOptions {
  socketPath: string;
  vaultFile: string;
  /** Where calls go while no agent answers: a locked LocalGate (refuses and audits). */
  fallback: () => Gate;
  /** Diagnostics, e.g. "using the agent (pid 123)". */
  log?: (line: string) => void;
}

export class AgentGate implements Gate {
  readonly #opts: AgentGateOptions;
  #conn: AgentConnection | undefined;
  #connecting: Promise<AgentConnection | undefined> | undefined;
  #fallback: Gate | undefined;
  #lastPid: number | undefined;
  #closed = false;

  constructor(opts: AgentGateOptions) {
    this.#opts = opts;
  }

  /** The agent's hello, connecting now if needed; undefined when none answers. */
  async probe(): Promise<HelloResult | undefined> {
    return (await this.#connection())?.hello;
  }

  async listServices(caller?: Caller): Promise<ServiceInfo[]> {
    const c = await this.#connection();
    if (!c) return this.#fallbackGate().listServices(caller);
    return c.request('list_services', caller ? { caller } : {});
  }

  async authenticate(token: string | undefined, via: string): Promise<TokenAgent> {
    const c = await this.#connection();
    if (!c) return this.#fallbackGate().authenticate(token, via);
    return c.request('authenticate', { token: token ?? '', via });
  }

  async execute(req: ExecuteRequest, caller: Caller, signal?: CancelSignal): Promise<ExecuteResult> {
    const c = await this.#connection();
    if (!c) return this.#fallbackGate().execute(req, caller, signal);
    return c.request('execute', { req, caller }, { signal });
  }

  async listCommands(caller?: Caller): Promise<CommandInfo[]> {
    const c = await this.#connection();
    if (!c) return this.#fallbackGate().listCommands(caller);
    return c.request('list_commands', caller ? { caller } : {});
  }

  async exec(req: ExecRequest, caller: Caller, signal?: CancelSignal): Promise<ExecResult> {
    const c = await this.#connection();
    if (!c) return this.#fallbackGate().exec(req, caller, signal);
    return c.request('exec', { req, caller }, { signal });
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#conn?.close();
    this.#conn = undefined;
    await this.#fallback?.close();
  }

  #fallbackGate(): Gate {
    this.#fallback ??= this.#opts.fallback();
    return this.#fallback;
  }

  #connection(): Promise<AgentConnection | undefined> {
    if (this.#conn && !this.#conn.closed) return Promise.resolve(this.#conn);
    if (this.#closed) return Promise.resolve(undefined);
    this.#connecting ??= this.#connect().finally(() => (this.#connecting = undefined));
    return this.#connecting;
  }

  async #connect(): Promise<AgentConnection | undefined> {
    const conn = await connectAgent(this.#opts.socketPath, this.#opts.vaultFile);
    if (!conn) return undefined;
    this.#conn = conn;
    if (conn.hello.pid !== this.#lastPid) {
      this.#lastPid = conn.hello.pid;
      this.#opts.log?.(`using the agent (pid ${conn.hello.pid}, ${conn.hello.state})`);
    }
    conn.onClose(() => {
      if (this.#conn === conn) this.#conn = undefined;
      if (!this.#closed) this.#opts.log?.(`the agent (pid ${conn.hello.pid}) went away; calls say "locked" until \`janee unlock\``);
    });
    return conn;
  }
}

/**
 * Asks the agent to prove it holds `fileKey` (proof.ts). Returns the agent's
 * one-use challenge (for `unlock`) only for a correct MAC on a fresh nonce, bound
 * to this vault, this socket path and the pid it reports; undefined otherwise.
 */
export async function proveAgent(conn: AgentConnection, fileKey: Uint8Array, socketPath: string): Promise<Buffer | undefined> {
  const nonce = newNonce();
  // Checked field by field: whatever answers on the socket is not trusted before it proves the key.
  let r: { mac?: unknown; pid?: unknown; challenge?: unknown };
  try {
    r = await conn.request('prove', { nonce: nonce.toString('base64') }, { timeoutMs: 10_000 });
  } catch (e) {
    if (e instanceof JaneeError && (e.code === 'AGENT_DISPLACED' || e.code === 'AGENT_GONE')) throw e;
    return undefined;
  }
  const pid = typeof r?.pid === 'number' ? r.pid : -1;
  if (pid !== conn.hello.pid || !checkProof(fileKey, nonce, { vault: conn.hello.vault, socket: socketPath, pid }, r.mac)) return undefined;
  const challenge = typeof r.challenge === 'string' ? Buffer.from(r.challenge, 'base64') : Buffer.alloc(0);
  return challenge.length === NONCE_BYTES ? challenge : undefined;
}

/**
 * Asks whatever answers on the socket to stop (`lock`, obeyed at every protocol
 * version) and waits until nothing answers there. Throws AGENT_WONT_STOP when
 * something still answers: the caller must not use that socket.
 */
export async function stopAgentAt(conn: AgentConnection, socketPath: string, waitMs = 10_000): Promise<void> {
  const end = Date.now() + waitMs;
  try {
    await conn.request('lock', {}, { timeoutMs: 5_000 });
    await conn.waitClosed(Math.max(0, end - Date.now()));
  } catch {
    /* judged below by what answers now */
  } finally {
    conn.close();
  }
  for (;;) {
    const p = await probeAgent(socketPath, 2_000).catch(() => ({ kind: 'alive' as const, hello: undefined }));
    if (p.kind === 'missing' || p.kind === 'stale') return;
    if (Date.now() > end) {
      throw new JaneeError(
        'AGENT_WONT_STOP',
        `something at ${socketPath} answers as the agent but does not stop when asked to`,
        `nothing was sent to it; stop the process listening there (\`janee status\` names the pid it claims) or remove ${socketPath}, then run \`janee unlock\` again`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
