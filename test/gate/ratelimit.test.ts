import { describe, expect, it } from 'vitest';
import type { RateLimit } from '../../src/config/types.js';
import { EXACT_MAX, RateLimiter } from '../../src/gate/ratelimit.js';

const lim = (count: number, windowMs: number): RateLimit => ({ count, windowMs, text: `${count}/${windowMs}ms` });

describe('RateLimiter (exact sliding window)', () => {
  it('admits N calls per window, then refuses with the exact retry time', () => {
    const rl = new RateLimiter();
    const l = lim(3, 1000);
    expect(rl.check('s', l, 0)).toEqual({ ok: true });
    expect(rl.check('s', l, 100)).toEqual({ ok: true });
    expect(rl.check('s', l, 200)).toEqual({ ok: true });
    expect(rl.check('s', l, 300)).toEqual({ ok: false, retryAfterMs: 700 });
    expect(rl.check('s', l, 999)).toEqual({ ok: false, retryAfterMs: 1 });
    expect(rl.check('s', l, 1000)).toEqual({ ok: true }); // the call at 0 slid out
    expect(rl.check('s', l, 1050)).toEqual({ ok: false, retryAfterMs: 50 });
    expect(rl.check('s', l, 1100)).toEqual({ ok: true });
  });

  it('never admits more than N in any window (randomised)', () => {
    const rl = new RateLimiter();
    const l = lim(5, 1000);
    const admitted: number[] = [];
    let t = 0;
    for (let i = 0; i < 5000; i++) {
      t += Math.floor(Math.random() * 120);
      if (rl.check('s', l, t).ok) admitted.push(t);
    }
    for (let i = 5; i < admitted.length; i++) expect(admitted[i]! - admitted[i - 5]!).toBeGreaterThanOrEqual(1000);
  });

  it('refused calls do not count', () => {
    const rl = new RateLimiter();
    const l = lim(1, 1000);
    expect(rl.check('s', l, 0).ok).toBe(true);
    for (let t = 1; t < 1000; t += 10) expect(rl.check('s', l, t).ok).toBe(false);
    expect(rl.check('s', l, 1000).ok).toBe(true);
  });

  it('services are independent; no limit means no limit', () => {
    const rl = new RateLimiter();
    expect(rl.check('a', lim(1, 1000), 0).ok).toBe(true);
    expect(rl.check('b', lim(1, 1000), 0).ok).toBe(true);
    expect(rl.check('a', lim(1, 1000), 1).ok).toBe(false);
    for (let i = 0; i < 1000; i++) expect(rl.check('c', undefined, 0).ok).toBe(true);
  });

  it('a changed limit starts afresh', () => {
    const rl = new RateLimiter();
    expect(rl.check('s', lim(1, 1000), 0).ok).toBe(true);
    expect(rl.check('s', lim(1, 1000), 1).ok).toBe(false);
    expect(rl.check('s', lim(2, 1000), 2).ok).toBe(true);
  });

  it('uses the clock by default', () => {
    const rl = new RateLimiter();
    expect(rl.check('s', lim(1, 60_000)).ok).toBe(true);
    const r = rl.check('s', lim(1, 60_000));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.retryAfterMs).toBeGreaterThan(59_000);
  });
});

describe('RateLimiter (large counts, bucketed)', () => {
  it('never admits more than N per window and frees up as the window slides', () => {
    const rl = new RateLimiter();
    const day = 86_400_000;
    const l = lim(EXACT_MAX * 2, day);
    let admitted = 0;
    for (let i = 0; i < EXACT_MAX * 2 + 100; i++) if (rl.check('s', l, 1000 + i).ok) admitted++;
    expect(admitted).toBe(EXACT_MAX * 2);
    const r = rl.check('s', l, 5000);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.retryAfterMs).toBeGreaterThan(day - day / 60);
      expect(r.retryAfterMs).toBeLessThanOrEqual(day + day / 60);
      expect(rl.check('s', l, 5000 + r.retryAfterMs).ok).toBe(true);
    }
  });
});
