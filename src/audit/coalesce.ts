/**
 * Refusals are coalesced so an agent cannot flood the audit log: refused calls
 * come before the rate limiter (policy, kill switch, locked, unknown service…),
 * so without this an agent could write lines as fast as it can call.
 *
 * Per group — (agent, agentSource, service, outcome, rule), where a service the
 * config does not know counts as one service `*` (its name is the agent's choice)
 * — a token bucket of `burst` lines refilled at `perSecond`:
 * - while the group has a token, a refusal is written in full before its call
 *   returns (so ordinary use, even a burst of mistakes, logs every call);
 * - when it has none, the refusal is counted in memory and its call returns at
 *   once; `windowMs` after the first one counted (or on flush(): gate close, agent
 *   lock/exit) one summary record is written: the last counted call's method and
 *   path, `count: K`, status null, ms 0, no reason — "K more like this in the last
 *   second".
 * So a flooding group writes at most burst lines, then perSecond + 1 a second, and
 * the full lines plus the counts add up to the number of refusals: nothing is
 * silently lost. The limit: a counted refusal is "logged" by being counted; if the
 * process is killed (SIGKILL, crash) before its summary is written, up to one
 * window of counts is lost. The refusals before it are on disk, so the log always
 * shows that the agent was being refused.
 */
import type { AuditInput } from './record.js';

export interface CoalesceOptions {
  /** Full lines a group may write at once (default 500). */
  burst?: number;
  /** …refilled at this rate (default 10 a second). */
  perSecond?: number;
  /** Summary of the counted ones this long after the first (default 1000 ms). */
  windowMs?: number;
  now?: () => number;
}

/** Above this many groups, idle ones (bucket full, nothing counted) are dropped. */
const MAX_GROUPS = 4096;

interface Group {
  tokens: number;
  at: number;
  counted: number;
  last: AuditInput | null;
  timer: NodeJS.Timeout | null;
}

export class RefusalCoalescer {
  readonly #write: (input: AuditInput) => Promise<unknown>;
  readonly #burst: number;
  readonly #perMs: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #groups = new Map<string, Group>();
  readonly #summaries = new Set<Promise<unknown>>();

  constructor(write: (input: AuditInput) => Promise<unknown>, opts: CoalesceOptions = {}) {
    this.#write = write;
    this.#burst = opts.burst ?? 500;
    this.#perMs = (opts.perSecond ?? 10) / 1000;
    this.#windowMs = opts.windowMs ?? 1000;
    this.#now = opts.now ?? Date.now;
  }

  /**
   * Logs a refusal: resolves once it is written in full, or at once when it was
   * counted into its group's next summary. Rejects only if a full write fails.
   */
  refuse(input: AuditInput, serviceKnown: boolean): Promise<unknown> {
    const key = JSON.stringify([input.agent, input.agentSource, serviceKnown ? input.service : '*', input.outcome, input.rule ?? '']);
    const now = this.#now();
    let g = this.#groups.get(key);
    if (!g) {
      if (this.#groups.size >= MAX_GROUPS) this.#dropIdle(now);
      g = { tokens: this.#burst, at: now, counted: 0, last: null, timer: null };
      this.#groups.set(key, g);
    }
    g.tokens = Math.min(this.#burst, g.tokens + (now - g.at) * this.#perMs);
    g.at = now;
    if (g.tokens >= 1) {
      g.tokens -= 1;
      return this.#write(input);
    }
    g.counted++;
    g.last = input;
    if (!g.timer) {
      const group = g;
      g.timer = setTimeout(() => this.#summarise(group), this.#windowMs);
      g.timer.unref();
    }
    return Promise.resolve();
  }

  /** Writes every pending summary now (shutdown). */
  async flush(): Promise<void> {
    for (const g of this.#groups.values()) this.#summarise(g);
    await Promise.allSettled([...this.#summaries]);
  }

  #dropIdle(now: number): void {
    for (const [key, g] of this.#groups) {
      if (g.counted === 0 && g.tokens + (now - g.at) * this.#perMs >= this.#burst) this.#groups.delete(key);
    }
  }

  #summarise(g: Group): void {
    if (g.timer) clearTimeout(g.timer);
    g.timer = null;
    if (g.counted === 0 || !g.last) return;
    const rest: AuditInput = { ...g.last };
    delete rest.reason;
    const count = g.counted;
    g.counted = 0;
    g.last = null;
    // The calls it counts were already answered, so a failure here cannot refuse
    // anything more (the next full write reports the broken log).
    const p = this.#write({ ...rest, status: null, ms: 0, count }).catch(() => undefined);
    this.#summaries.add(p);
    void p.finally(() => this.#summaries.delete(p));
  }
}
