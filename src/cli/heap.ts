/**
 * Heap settings for the long-lived `janee serve` and `janee unlock`'s agent, applied at start.
 *
 * V8 grows the young generation (the new space, scavenged for short-lived objects)
 * from 2 MB up to 32 MB under load, and the pages stay resident once touched. A
 * serve answers one agent a few calls at a time, and MCP clients start one per
 * session, often several at once, so serve lets it grow to 8 MB and no further:
 * once a garbage collection leaves the new space at 8 MB or more, the growth
 * factor is set to 1. Measured with 16 calls in flight (docs/bench.md): RSS after
 * the load 130 → 108 MB, CPU per call unchanged; keeping it at 2 MB (the factor
 * at 1 from the start) saved no more memory and cost about 10 % more CPU per call.
 *
 * The factor is read by V8 each time it considers growing the new space, so
 * setting it at run time works (unlike --max-semi-space-size, fixed when the heap
 * is set up, which would need a node flag the bin cannot portably pass). V8 grows
 * the space only during a collection, so watching collections is enough; the
 * observer is dropped once the cap is set. Not applied when janee runs embedded in
 * another process (the tests' in-process runner).
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

const NEW_SPACE_CAP_BYTES = 8 * 1024 * 1024;

export function capYoungGeneration(): void {
  if ((globalThis as Record<symbol, unknown>)[Symbol.for('janee.cli.embedded')] === true) return;
  const observer = new PerformanceObserver(() => check());
  const check = (): void => {
    const newSpace = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    if (newSpace === undefined || newSpace.space_size < NEW_SPACE_CAP_BYTES) return;
    setFlagsFromString('--semi-space-growth-factor=1');
    observer.disconnect();
  };
  observer.observe({ entryTypes: ['gc'] });
  check();
}

/**
 * After each full collection V8 lets the old generation grow to a multiple of what
 * survived before the next one: up to 4× on a machine with a large heap limit, so a
 * serve with 15 MB of live data let it reach about 60 MB under load, and RSS after
 * the load was about 120 MB. At most 2× (read by V8 at each full collection, so
 * setting it at run time works, like the young generation's factor above): with the
 * per-call garbage that reached the old generation cut by a third (docs/bench.md,
 * fourth session), a full collection at about 32 MB costs about one per second at
 * 16 calls in flight, and RSS after the load falls to about 100 MB, CPU per call
 * unchanged beyond noise. (Factors of 1.1 and 1.3 were tried before, and cost
 * 25–90 % more CPU per call.)
 */
export function capOldGenerationGrowth(): void {
  if ((globalThis as Record<symbol, unknown>)[Symbol.for('janee.cli.embedded')] === true) return;
  setFlagsFromString('--heap-growing-percent=100');
}
