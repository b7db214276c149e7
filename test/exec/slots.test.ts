import { describe, expect, it } from 'vitest';
import { JaneeError } from '../../src/errors.js';
import { MAX_RUNNING, MAX_WAITING, Slots } from '../../src/exec/slots.js';

describe('Slots (the exec concurrency cap)', () => {
  it('grants up to the cap, queues in order, refuses beyond the queue with EXEC_BUSY', async () => {
    expect([MAX_RUNNING, MAX_WAITING]).toEqual([8, 16]);
    const s = new Slots(2, 2, 60_000);
    const a = await s.take();
    const b = await s.take();
    const started: string[] = [];
    const c = s.take().then((r) => (started.push('c'), r));
    const d = s.take().then((r) => (started.push('d'), r));
    const e = await s.take().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(JaneeError);
    expect((e as JaneeError).code).toBe('EXEC_BUSY');
    expect((e as JaneeError).message).toMatch(/too many programs are running \(2 at once, 2 waiting\)/);
    a();
    a(); // a second release changes nothing
    expect(await c).toBeTypeOf('function');
    expect(started).toEqual(['c']);
    b();
    (await d)();
    expect(started).toEqual(['c', 'd']);
    (await c)();
    // All free again: two at once, no waiting.
    const [x, y] = await Promise.all([s.take(), s.take()]);
    x();
    y();
  });

  it('a call that waits too long is refused, and leaves the queue', async () => {
    const s = new Slots(1, 1, 50);
    const a = await s.take();
    const late = await s.take().catch((x: unknown) => x);
    expect((late as JaneeError).code).toBe('EXEC_BUSY');
    const next = s.take(); // the queue has room again
    a();
    (await next)();
  });
});
