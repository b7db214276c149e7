/**
 * The agent's socket: binding it as the single instance, framing JSON lines,
 * the envelope of each request (version, id, in-flight limit), answering, and
 * draining and closing connections when the agent stops. What each op does is
 * not here (ops.ts): a request with a valid envelope goes to `dispatch`.
 *
 * Single instance. Binding happens under `<socket>.lock` (fsutil.withLock, which
 * breaks a lock whose owner died). Inside it: if the socket path answers `hello`
 * another agent is running and this one exits ("exists"); if it refuses the
 * connection it is a stale socket from a crashed agent and is removed; then we
 * bind. Two racing `janee unlock`s therefore end with one agent.
 *
 * Bad clients. Garbage, oversize lines, wrong versions and clients that vanish
 * mid-request are answered or dropped per protocol.ts; errors on a socket never
 * reach the process.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as net from 'node:net';
import { JaneeError } from '../errors.js';
import { Cancel, type CancelSignal } from '../gate/cancel.js';
import { withLock } from '../util/fsutil.js';
import { probeAgent } from './client.js';
import {
  LineSplitter,
  PROTOCOL_HINT,
  PROTOCOL_VERSION,
  encodeLine,
  errorResponse,
  isRequestId,
  okResponse,
  type Request,
  type RequestId,
  type Response,
} from './protocol.js';
import { checkSocketDir, checkSocketFile } from './socket-path.js';

/** Requests in flight per connection before new ones are refused. */
const MAX_INFLIGHT_PER_CONN = 1024;
/** A client that stops reading its answers is dropped past this much queued output. */
const MAX_QUEUED_OUTPUT = 64 * 1024 * 1024;
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

export interface Conn {
  socket: net.Socket;
  inflight: number;
  /** Closing after a protocol error: input is ignored. */
  dropping: boolean;
  /** Issued by `prove`, consumed by one `unlock` (proof.ts). */
  challenge?: Buffer | undefined;
  /** Requests in flight on this connection, by id: `cancel` aborts one (only its own connection may). */
  running: Map<RequestId, Cancel>;
}

interface ListenerHooks {
  /** Whether to take a new connection (false: it is destroyed). */
  accept(): boolean;
  /** Runs one request whose envelope is valid; its result or error is the answer. `signal`: the client cancelled it. */
  dispatch(req: Request, conn: Conn, signal: CancelSignal): Promise<unknown>;
  log(line: string): void;
}

export class Listener {
  readonly #hooks: ListenerHooks;
  #server: net.Server | undefined;
  #closed = false;
  readonly #conns = new Set<Conn>();
  #inflight = 0;
  #drained: (() => void) | undefined;

  constructor(hooks: ListenerHooks) {
    this.#hooks = hooks;
  }

  get connections(): number {
    return this.#conns.size;
  }

  /**
   * Binds `sock` as the single agent there. Resolves the inode of the socket file
   * bound, or `{ exists }` when another agent already answers on that path.
   */
  async bind(sock: string): Promise<{ ino: bigint } | { exists: true; pid: number | null }> {
    await checkSocketDir(sock, { create: true });
    return withLock(sock, async () => {
      if ((await checkSocketFile(sock)) === 'socket') {
        const other = await probeAgent(sock, 2_000);
        if (other.kind === 'alive') return { exists: true as const, pid: other.hello?.pid ?? null };
        if (other.kind === 'unresponsive') {
          // Something accepts connections but does not answer: a hung agent that may hold a key.
          throw new JaneeError(
            'AGENT_UNRESPONSIVE',
            `an agent is listening on ${sock} but does not answer`,
            'stop the hung `janee agent` process (kill it), then run `janee unlock` again',
          );
        }
        this.#hooks.log(`removing a stale socket (${other.kind})`);
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
      server.on('error', (e) => this.#hooks.log(`server error ${(e as NodeJS.ErrnoException).code ?? e.name}`));
      fs.chmodSync(sock, 0o600);
      const ino = fs.lstatSync(sock, { bigint: true }).ino;
      this.#server = server;
      if (this.#closed) server.close(); // the agent began stopping while binding
      return { ino };
    });
  }

  /**
   * Stops accepting. `unlink`: close the server, which also unlinks the socket path
   * (libuv); false when what is at the path now is not ours: then connections are
   * refused instead and the listening fd goes when the process exits.
   */
  stopAccepting(unlink: boolean): void {
    this.#closed = true;
    if (unlink) {
      // Its callback waits for every connection, so it is not awaited.
      this.#server?.close();
    } else {
      this.#server?.removeAllListeners('connection');
      this.#server?.on('connection', (s: net.Socket) => s.destroy());
    }
  }

  /** Waits for requests in flight, at most `ms`; resolves how many were cut off. */
  async drain(ms: number): Promise<number> {
    if (this.#inflight === 0) return 0;
    return new Promise<number>((resolve) => {
      const t = setTimeout(() => resolve(this.#inflight), ms);
      this.#drained = () => {
        clearTimeout(t);
        resolve(0);
      };
    });
  }

  /** Cancels every request still running (after a drain that timed out): each ends, audited as cancelled. */
  cancelAll(): number {
    let n = 0;
    for (const c of this.#conns)
      for (const cancel of c.running.values()) {
        cancel.abort();
        n++;
      }
    return n;
  }

  /** Lets answers flush, then closes every connection. */
  async closeAll(): Promise<void> {
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
  }

  #accept(socket: net.Socket): void {
    if (this.#closed || !this.#hooks.accept()) {
      socket.destroy();
      return;
    }
    const conn: Conn = { socket, inflight: 0, dropping: false, running: new Map() };
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
        this.#send(
          conn,
          errorResponse(null, new JaneeError('AGENT_PROTOCOL', 'request line is longer than 8 MiB', 'send one JSON request per line')),
        );
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
      msg = undefined;
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
      const what = msg === undefined ? 'a JSON line' : 'a JSON object';
      const hint = `send one JSON object per line: {"v":${PROTOCOL_VERSION},"id":1,"op":"hello"}`;
      this.#send(conn, errorResponse(null, new JaneeError('AGENT_PROTOCOL', `request is not ${what}`, hint)));
      return false;
    }
    const req = msg as Partial<Request>;
    const id = isRequestId(req.id) ? req.id : null;
    // `lock` is understood at every protocol version, so any janee can stop any agent
    // (the fix for a version mismatch is `janee lock && janee unlock`).
    if (req.v !== PROTOCOL_VERSION && !(req.op === 'lock' && id !== null)) {
      this.#send(
        conn,
        errorResponse(
          id,
          new JaneeError(
            'AGENT_PROTOCOL',
            `protocol version ${JSON.stringify(req.v ?? null).slice(0, 20)} is not supported (this agent speaks version ${PROTOCOL_VERSION})`,
            PROTOCOL_HINT,
          ),
        ),
      );
      return true;
    }
    if (id === null) {
      this.#send(
        conn,
        errorResponse(
          null,
          new JaneeError('AGENT_BAD_REQUEST', 'request has no valid id', 'give each request an id: a string (≤ 64 chars) or an integer'),
        ),
      );
      return true;
    }
    // A cancel is never refused for being one request too many: the call it ends would run on.
    if (conn.inflight >= MAX_INFLIGHT_PER_CONN && req.op !== 'cancel') {
      this.#send(
        conn,
        errorResponse(
          id,
          new JaneeError(
            'AGENT_BUSY',
            `more than ${MAX_INFLIGHT_PER_CONN} requests in flight on one connection`,
            'wait for answers before sending more',
          ),
        ),
      );
      return true;
    }
    conn.inflight++;
    this.#inflight++;
    const cancel = new Cancel();
    if (!conn.running.has(id)) conn.running.set(id, cancel); // a repeated id in flight cannot be cancelled
    const done = (): void => {
      if (conn.running.get(id) === cancel) conn.running.delete(id);
    };
    void this.#hooks.dispatch(req as Request, conn, cancel).then(
      (result) => {
        done();
        this.#finish(conn, okResponse(id, result));
      },
      (e) => {
        done();
        this.#finish(conn, errorResponse(id, e));
      },
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
    if (Buffer.byteLength(line) > MAX_ANSWER_BYTES)
      line = encodeLine(errorResponse(res.id, new JaneeError('AGENT_INTERNAL', 'answer too large', 'ask for less')));
    s.write(line);
    if (s.writableLength > MAX_QUEUED_OUTPUT) s.destroy();
  }
}
