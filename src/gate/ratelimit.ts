/**
 * Per-service rate limits: `count` calls per `windowMs`, as a sliding window.
 *
 * Exact mode (count ≤ EXACT_MAX): a ring buffer of the last `count` admitted
 * call times. A call is admitted iff the oldest of them is at least `windowMs`
 * old, so no window of `windowMs` ever holds more than `count` calls, and the
 * retry time is exact (oldest + windowMs − now). O(1) per check; 8 bytes × count.
 *
 * Bucketed mode (larger counts, e.g. 100000/day): the window is split into
 * BUCKETS sub-windows with a counter each; calls in every sub-window that
 * overlaps the last `windowMs` are counted. That over-counts a little (never
 * admits more than `count` per window, may refuse up to one sub-window early).
 * O(BUCKETS) worst case per check, fixed memory.
 *
 * Only admitted calls count. Memory is bounded by the configured services; a
 * service whose limit changes (config reload) starts afresh.
 */
import type { RateLimit } from '../config/types.js';

export const EXACT_MAX = 10_000;
const BUCKETS = 120;

type RateDecision = { ok: true } | { ok: false; retryAfterMs: number };

interface Exact {
  kind: 'exact';
  count: number;
  windowMs: number;
  times: Float64Array;
  size: number;
  /** Index of the oldest entry when full; next write position. */
  head: number;
}

interface Bucketed {
  kind: 'bucketed';
  count: number;
  windowMs: number;
  width: number;
  /** Absolute sub-window index held by each slot. */
  ids: Float64Array;
  counts: Float64Array;
}

type State = Exact | Bucketed;

const monotonicNow = (): number => performance.timeOrigin + performance.now();

export class RateLimiter {
  readonly #states = new Map<string, State>();

  check(service: string, limit: RateLimit | undefined, now: number = monotonicNow()): RateDecision {
    if (limit === undefined || limit.count <= 0 || limit.windowMs <= 0) {
      if (limit === undefined) {
        this.#states.delete(service);
        return { ok: true };
      }
      return { ok: false, retryAfterMs: Math.max(1, limit.windowMs) }; // 0/min: never
    }
    let st = this.#states.get(service);
    if (st === undefined || st.count !== limit.count || st.windowMs !== limit.windowMs) {
      st = fresh(limit);
      this.#states.set(service, st);
    }
    return st.kind === 'exact' ? checkExact(st, now) : checkBucketed(st, now);
  }

  /** Forget a service (or all) — e.g. after config reload removes it. */
  reset(service?: string): void {
    if (service === undefined) this.#states.clear();
    else this.#states.delete(service);
  }
}

function fresh(limit: RateLimit): State {
  if (limit.count <= EXACT_MAX) {
    return { kind: 'exact', count: limit.count, windowMs: limit.windowMs, times: new Float64Array(limit.count), size: 0, head: 0 };
  }
  return {
    kind: 'bucketed',
    count: limit.count,
    windowMs: limit.windowMs,
    width: limit.windowMs / BUCKETS,
    ids: new Float64Array(BUCKETS + 1).fill(-1),
    counts: new Float64Array(BUCKETS + 1),
  };
}

function checkExact(st: Exact, now: number): RateDecision {
  if (st.size === st.count) {
    const oldest = st.times[st.head]!;
    const age = now - oldest;
    if (age < st.windowMs) return { ok: false, retryAfterMs: Math.max(1, Math.ceil(st.windowMs - age)) };
    st.times[st.head] = now;
    st.head = (st.head + 1) % st.count;
    return { ok: true };
  }
  st.times[(st.head + st.size) % st.count] = now;
  st.size++;
  return { ok: true };
}

function checkBucketed(st: Bucketed, now: number): RateDecision {
  const slots = st.ids.length;
  const cur = Math.floor(now / st.width);
  // Sub-windows cur-BUCKETS .. cur overlap the last windowMs.
  let total = 0;
  for (let i = 0; i < slots; i++) {
    const id = st.ids[i]!;
    if (id > cur - slots && id <= cur) total += st.counts[i]!;
  }
  if (total >= st.count) {
    // Free once enough of the oldest sub-windows have slid out.
    let need = total - st.count + 1;
    for (let id = cur - slots + 1; id <= cur; id++) {
      const slot = ((id % slots) + slots) % slots;
      if (st.ids[slot] === id) need -= st.counts[slot]!;
      if (need <= 0) {
        const freeAt = (id + slots) * st.width;
        return { ok: false, retryAfterMs: Math.max(1, Math.ceil(freeAt - now)) };
      }
    }
    return { ok: false, retryAfterMs: Math.max(1, Math.ceil(st.width)) };
  }
  const slot = ((cur % slots) + slots) % slots;
  if (st.ids[slot] !== cur) {
    st.ids[slot] = cur;
    st.counts[slot] = 0;
  }
  st.counts[slot] = (st.counts[slot] ?? 0) + 1;
  return { ok: true };
}
