import { describe, expect, it } from 'vitest';
import { JaneeError } from '../../src/errors.js';
import { MAX_RUNNING, MAX_RUNNING_PER_AGENT, MAX_WAITING, MAX_WAITING_PER_AGENT, Slots } from '../../src/exec/slots.js';

const busy = (x: unknown): string => (x instanceof JaneeError ? x.code : `not refused: ${String(x)}`);

describe('Slots (the exec concurrency cap)', () => {
  it('grants up to the cap, queues in order, refuses beyond the queue with EXEC_BUSY', async () => {
    expect([MAX_RUNNING, MAX_WAITING, MAX_RUNNING_PER_AGENT, MAX_WAITING_PER_AGENT]).toEqual([8, 16, 6, 12]);
    const s = new Slots({ running: 2, waiting: 2, runningPerAgent: 2, waitingPerAgent: 2, waitMs: 60_000 });
    const a = await s.take('A');
    const b = await s.take('A');
    const started: string[] = [];
    const c = s.take('A').then((r) => (started.push('c'), r));
    const d = s.take('A').then((r) => (started.push('d'), r));
    const e = await s.take('A').catch((x: unknown) => x);
    expect(busy(e)).toBe('EXEC_BUSY');
    expect((e as JaneeError).message).toMatch(/too many programs are running \(2 at once, 2 waiting; one agent at most 2 and 2\)/);
    a();
    a(); // a second release changes nothing
    expect(await c).toBeTypeOf('function');
    expect(started).toEqual(['c']);
    b();
    (await d)();
    expect(started).toEqual(['c', 'd']);
    (await c)();
    // All free again: two at once, no waiting.
    const [x, y] = await Promise.all([s.take('A'), s.take('A')]);
    x();
    y();
  });

  it('a call that waits too long is refused, and leaves the queue', async () => {
    const s = new Slots({ running: 1, waiting: 1, waitMs: 50 });
    const a = await s.take('A');
    const late = await s.take('A').catch((x: unknown) => x);
    expect(busy(late)).toBe('EXEC_BUSY');
    const next = s.take('A'); // the queue has room again
    a();
    (await next)();
  });

  it('a waiting call the client cancels leaves the queue with GATE_CANCELLED, and never starts', async () => {
    const s = new Slots({ running: 1, waiting: 1, waitMs: 60_000 });
    const a = await s.take('A');
    const ac = new AbortController();
    let started = false;
    const cancelled = s.take('A', ac.signal).then(
      () => (started = true),
      (x: unknown) => x,
    );
    ac.abort();
    expect(busy(await cancelled)).toBe('GATE_CANCELLED');
    const next = s.take('A'); // its place in the queue is free again
    a();
    (await next)();
    expect(started).toBe(false);
    // Cancelled before asking: refused at once, even with room.
    expect(busy(await s.take('A', AbortSignal.abort()).catch((x: unknown) => x))).toBe('GATE_CANCELLED');
  });

  it('one agent cannot take every place: another still runs, and a freed place goes to the agent under its share', async () => {
    const s = new Slots({ running: 4, waiting: 4, runningPerAgent: 3, waitingPerAgent: 2, waitMs: 60_000 });
    const mine = await Promise.all([s.take('A'), s.take('A'), s.take('A')]);
    // A is at its share: its next calls wait even though a place is free, and only 2 of them may.
    const waitingA = [s.take('A'), s.take('A')];
    expect(busy(await s.take('A').catch((x: unknown) => x))).toBe('EXEC_BUSY');
    // B runs at once in the place A may not take.
    const b1 = await s.take('B');
    // B queues behind A's waiting calls, yet gets the next freed place: A is at its share.
    const b2 = s.take('B');
    let b2Started = false;
    void b2.then(() => (b2Started = true));
    b1();
    await Promise.resolve();
    await Promise.resolve();
    expect(b2Started).toBe(true);
    // When one of A's own ends, its first waiting call starts.
    mine[0]?.();
    (await waitingA[0])?.();
    for (const r of mine.slice(1)) r();
    (await waitingA[1])?.();
    (await b2)();
  });
});
