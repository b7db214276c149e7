/**
 * Refusals are coalesced so an agent cannot flood the audit log: refused calls
 * come before the rate limiter (policy, kill switch, locked, unknown service…),
 * so without this an agent could write lines as fast as it can call.
 *
 * Per group — (agent, agentSource, service, outcome, rule), where a service the
 * config does not know counts as one service `*` (its name is the agent's choice)
 * — a token bucket of `burst` lines refilled at `perSecond`, and one per agent
 * (agent, agentSource) of twice that, so an agent spreading its refusals over
 * many groups is bounded too:
 * - while both have a token, a refusal is written in full before its call
 *   returns (so ordinary use, even a burst of mistakes, logs every call);
 * - when it has none, the refusal is counted in memory and its call returns at
 *   once; `windowMs` after the first one counted (or on flush(): gate close, agent
 *   lock/exit) one summary record is written: the last counted call's method and
 *   path, `count: K`, status null, ms 0, no reason — "K more like this in the last
 *   second".
 * So a flooding agent writes at most 2·burst lines, then 2·perSecond a second plus
 * one summary a second per group it refuses in, and
 * the full lines plus the counts add up to the number of refusals: nothing is
 * silently lost. The limit: a counted refusal is "logged" by being counted; if the
 * process is killed (SIGKILL, crash) before its summary is written, up to one
 * window of counts is lost. The refusals before it are on disk, so the log always
 * shows that the agent was being refused.
 */
import type { AuditInput } from './record.js';

export interface CoalesceOptions {
  /** Full lines a group may write at once (default 500; an agent twice that). */
  burst?: number;
  /** …refilled at this rate (default 2 a second; an agent twice that). */
  perSecond?: number;
  /** Summary of the counted ones this long after the first (default 1000 ms). */
  windowMs?: number;
  now?: () => number;
}

/** Above this many groups, idle ones (bucket full, nothing counted) are dropped. */
const MAX_GROUPS = 4096;

interface Bucket {
  tokens: number;
  at: number;
}

interface Group extends Bucket {
  agent: Bucket;
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
  readonly #agents = new Map<string, Bucket>();
  readonly #summaries = new Set<Promise<unknown>>();

  constructor(write: (input: AuditInput) => Promise<unknown>, opts: CoalesceOptions = {}) {
    this.#write = write;
    this.#burst = opts.burst ?? 500;
    this.#perMs = (opts.perSecond ?? 2) / 1000;
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
      const agentKey = JSON.stringify([input.agent, input.agentSource]);
      let agent = this.#agents.get(agentKey);
      if (!agent) {
        agent = { tokens: 2 * this.#burst, at: now };
        this.#agents.set(agentKey, agent);
      }
      g = { tokens: this.#burst, at: now, agent, counted: 0, last: null, timer: null };
      this.#groups.set(key, g);
    }
    refill(g, now, this.#burst, this.#perMs);
    refill(g.agent, now, 2 * this.#burst, 2 * this.#perMs);
    if (g.tokens >= 1 && g.agent.tokens >= 1) {
      g.tokens -= 1;
      g.agent.tokens -= 1;
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
    const live = new Set([...this.#groups.values()].map((g) => g.agent));
    for (const [key, a] of this.#agents) {
      if (!live.has(a) && a.tokens + (now - a.at) * 2 * this.#perMs >= 2 * this.#burst) this.#agents.delete(key);
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

function refill(b: Bucket, now: number, max: number, perMs: number): void {
  b.tokens = Math.min(max, b.tokens + (now - b.at) * perMs);
  b.at = now;
}
