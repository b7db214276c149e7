/**
 * Open MCP sessions of `janee serve --http`: each is one transport + McpServer,
 * owned by the agent whose token opened it (another agent's token cannot use it).
 * Idle sessions are closed after `idleMs`; an agent may hold at most `perAgent`
 * at once (a client that opens sessions in a loop cannot exhaust memory).
 */
export interface Session {
  id: string;
  agent: string;
  lastSeen: number;
  close(): Promise<void>;
}

interface SessionLimits {
  idleMs: number;
  perAgent: number;
  now?: () => number;
}

export const DEFAULT_IDLE_MS = 30 * 60_000;
export const DEFAULT_SESSIONS_PER_AGENT = 64;

export class Sessions<S extends Session> {
  readonly #byId = new Map<string, S>();
  readonly #limits: Required<SessionLimits>;
  readonly #sweeper: NodeJS.Timeout;

  constructor(limits: SessionLimits) {
    this.#limits = { now: Date.now, ...limits };
    this.#sweeper = setInterval(() => void this.sweep(), Math.min(60_000, Math.max(1000, limits.idleMs / 4))).unref();
  }

  get size(): number {
    return this.#byId.size;
  }

  /** The session, touched; undefined when unknown or owned by another agent. */
  get(id: string, agent: string): S | undefined {
    const s = this.#byId.get(id);
    if (!s || s.agent !== agent) return undefined;
    s.lastSeen = this.#limits.now();
    return s;
  }

  /** Whether `agent` may open one more. */
  hasRoom(agent: string): boolean {
    let n = 0;
    for (const s of this.#byId.values()) if (s.agent === agent) n++;
    return n < this.#limits.perAgent;
  }

  add(s: S): void {
    this.#byId.set(s.id, s);
  }

  /** Closes the sessions idle for longer than idleMs. */
  async sweep(): Promise<void> {
    const cutoff = this.#limits.now() - this.#limits.idleMs;
    const idle = [...this.#byId.values()].filter((s) => s.lastSeen < cutoff);
    await Promise.allSettled(idle.map((s) => this.end(s)));
  }

  /** Closes every session of `agent` (its token was refused). */
  async closeAgent(agent: string): Promise<void> {
    await Promise.allSettled([...this.#byId.values()].filter((s) => s.agent === agent).map((s) => this.end(s)));
  }

  async closeAll(): Promise<void> {
    clearInterval(this.#sweeper);
    await Promise.allSettled([...this.#byId.values()].map((s) => this.end(s)));
  }

  /** Forgets and closes it (DELETE /mcp). */
  async end(s: S): Promise<void> {
    this.#byId.delete(s.id);
    await s.close();
  }
}
