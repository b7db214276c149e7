/**
 * A positive token check remembered for at most 250 ms, so that a client sending
 * calls back to back does not pay one vault lookup each — through the agent, one
 * socket round trip to it per HTTP request.
 *
 * Revocation still reaches open sessions within a second: a removed or expired
 * token is accepted for at most `ttlMs` more (the agent itself re-reads the vault
 * at most every 250 ms, so at most about 0.5 s in all). Only acceptances are
 * remembered: every refusal goes to the gate (audited, and it closes the agent's
 * sessions). Keys are SHA-256 hashes of tokens, not tokens; the map is bounded.
 */
import { createHash } from 'node:crypto';
import type { Gate } from '../gate/types.js';
import type { TokenAgent } from '../vault/types.js';

export const AUTH_CACHE_MS = 250;
/** Distinct tokens remembered at once; past it the cache starts again (a client cycling tokens pays lookups, nothing more). */
const MAX_ENTRIES = 1024;

export class AuthCache {
  readonly #byHash = new Map<string, { agent: TokenAgent; until: number }>();
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(ttlMs = AUTH_CACHE_MS, now: () => number = Date.now) {
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  /** The agent `token` belongs to: remembered (≤ ttlMs old) or asked of `gate` now. */
  async authenticate(gate: Gate, token: string | undefined, via: string): Promise<TokenAgent> {
    if (token === undefined || this.#ttlMs <= 0) return gate.authenticate(token, via);
    const key = createHash('sha256').update(token).digest('base64');
    // Timed from before the question: the answer is at most ttlMs older than the vault it came from.
    const asked = this.#now();
    const hit = this.#byHash.get(key);
    if (hit !== undefined && hit.until > asked) return hit.agent;
    this.#byHash.delete(key);
    const agent = await gate.authenticate(token, via);
    if (this.#byHash.size >= MAX_ENTRIES) this.#byHash.clear();
    this.#byHash.set(key, { agent, until: asked + this.#ttlMs });
    return agent;
  }
}
