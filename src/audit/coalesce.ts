/**
 * Refusals are coalesced so an agent cannot flood the audit log: refused calls
 * come before the rate limiter (policy, kill switch, locked, unknown service…),
 * so without this an agent could write lines as fast as it can call.
 *
 * Per group — (agent, agentSource, service, outcome, rule), where a service the
 * config does not know counts as one service `*` (its name is the agent's choice)
 * — within a window of `windowMs` from the group's first refusal:
 * - the first `burst` refusals are written in full, each before its call returns;
 * - further ones are counted in memory, not written one by one, and their calls
 *   return at once;
 * - when the window closes (or on flush(): gate close, agent lock/exit) a count
 *   is pending, one summary record is written: the last counted call's method and
 *   path, `count: K`, ms 0, no reason.
 * So per group at most burst + 1 lines a window, and the counts plus the full
 * lines add up to the number of refusals: nothing is silently lost. The limit: a
 * counted refusal is "logged" by being counted; if the process is killed (SIGKILL,
 * crash) before its window closes, up to one window of counts is lost. The first
 * refusals of every window are on disk before their call returns, so the log always
 * shows that the agent was being refused.
 */
import type { AuditInput } from './record.js';

export interface CoalesceOptions {
  windowMs?: number;
  burst?: number;
  now?: () => number;
}

/** Beyond this many open groups, new groups are written in full (the windows are short-lived; this only bounds memory). */
const MAX_GROUPS = 4096;

interface Group {
  start: number;
  full: number;
  counted: number;
  last: AuditInput | null;
  timer: NodeJS.Timeout;
}

export class RefusalCoalescer {
  readonly #write: (input: AuditInput) => Promise<unknown>;
  readonly #windowMs: number;
  readonly #burst: number;
  readonly #now: () => number;
  readonly #groups = new Map<string, Group>();
  readonly #summaries = new Set<Promise<unknown>>();

  constructor(write: (input: AuditInput) => Promise<unknown>, opts: CoalesceOptions = {}) {
    this.#write = write;
    this.#windowMs = opts.windowMs ?? 1000;
    this.#burst = opts.burst ?? 10;
    this.#now = opts.now ?? Date.now;
  }

  /**
   * Logs a refusal: resolves once it is written in full, or at once when it was
   * counted into its group's summary. Rejects only if a full write fails.
   */
  refuse(input: AuditInput, serviceKnown: boolean): Promise<unknown> {
    const key = JSON.stringify([input.agent, input.agentSource, serviceKnown ? input.service : '*', input.outcome, input.rule ?? '']);
    const now = this.#now();
    let g = this.#groups.get(key);
    if (g && now - g.start >= this.#windowMs) {
      this.#close(key, g); // its timer has not run yet (busy event loop)
      g = undefined;
    }
    if (!g) {
      if (this.#groups.size >= MAX_GROUPS) return this.#write(input);
      g = { start: now, full: 0, counted: 0, last: null, timer: undefined as unknown as NodeJS.Timeout };
      const group = g;
      g.timer = setTimeout(() => this.#close(key, group), this.#windowMs);
      g.timer.unref();
      this.#groups.set(key, g);
    }
    if (g.full < this.#burst) {
      g.full++;
      return this.#write(input);
    }
    g.counted++;
    g.last = input;
    return Promise.resolve();
  }

  /** Writes every pending summary now (shutdown). */
  async flush(): Promise<void> {
    for (const [key, g] of [...this.#groups]) this.#close(key, g);
    await Promise.allSettled([...this.#summaries]);
  }

  #close(key: string, g: Group): void {
    clearTimeout(g.timer);
    if (this.#groups.get(key) === g) this.#groups.delete(key);
    if (g.counted === 0 || !g.last) return;
    const rest: AuditInput = { ...g.last };
    delete rest.reason;
    // Written after the window; the calls it counts were already answered, so a
    // failure here cannot refuse anything more (it is the next full write's error).
    const p = this.#write({ ...rest, status: null, ms: 0, count: g.counted }).catch(() => undefined);
    this.#summaries.add(p);
    void p.finally(() => this.#summaries.delete(p));
  }
}
