/**
 * Heap settings for the long-lived processes (`janee serve`), applied at start.
 *
 * V8 grows the young generation (the semi-spaces scavenged for short-lived
 * objects) from 1 MB up to 16 MB per semi-space under load — 32 MB of new space
 * that stays resident once touched. A serve answers one agent, a few calls at a
 * time, and MCP clients start one per session, often several at once: with the
 * growth factor at 1 the young generation stays at its initial size, and RSS
 * after `npm run bench`'s load falls by about 20 MB (129 → 106 MB, docs/bench.md)
 * for more, smaller scavenges: about +10 % CPU per call at 16 calls in flight and
 * no change to the median latency beyond the machine's noise.
 *
 * The flag is read by V8 each time it considers growing the new space, so setting
 * it at run time works (unlike --max-semi-space-size, fixed when the heap is set
 * up, which would need a node command-line flag the bin cannot portably pass). It
 * is not applied when janee runs embedded in another process (the tests).
 */
import { setFlagsFromString } from 'node:v8';

export function keepYoungGenerationSmall(): void {
  if ((globalThis as Record<symbol, unknown>)[Symbol.for('janee.cli.embedded')] === true) return;
  setFlagsFromString('--semi-space-growth-factor=1');
}
