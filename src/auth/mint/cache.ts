/**
 * Minted access tokens, in memory only (never written anywhere), one per service
 * and credential: the key is the service name plus a fingerprint of everything the
 * token was minted from (fields and settings), so `janee set` with a new key or a
 * changed scope mints a new token instead of reusing one minted from the old.
 *
 * - A token is reused until `marginMs` before it expires (10 minutes for a GitHub
 *   App, whose tokens live an hour; capped at half the token's lifetime so a short
 *   one is not re-minted on every call). One without an expiry is kept DEFAULT_TTL_MS.
 * - Single flight: calls that find no usable token while one is being minted wait
 *   for that one mint request; a failed mint is not cached (the next call tries again),
 *   and when it was a refresh of a token that has not expired yet, that token is used.
 * - `invalidate(key, token)` after an upstream 401 drops the token only if it is still
 *   the cached one, so concurrent 401s for one token cause one re-mint, not many; and
 *   not when that token was itself minted after a 401 less than FORCED_INTERVAL_MS ago,
 *   so an endpoint that answers 401 to everything (or an agent calling one in a loop)
 *   costs the token endpoint one request per interval, not one per call.
 * - A mint may move its entry to another key (a rotated refresh token changes the
 *   fingerprint): calls still holding the old fields are sent to the new entry.
 * - `clear()` on lock or close: entries, flights in progress and moves are dropped,
 *   and a mint that finishes afterwards is not kept. (JavaScript strings cannot be
 *   zeroed; dropping every reference is what can be done.)
 * - `tokens()` lists the live tokens with their service, for the redactor; `version`
 *   changes whenever that list does.
 */
import { createHash } from 'node:crypto';

export const DEFAULT_TTL_MS = 60 * 60 * 1000;
export const FORCED_INTERVAL_MS = 30 * 1000;
/** A due token is used after a failed refresh only while it has at least this long left. */
const STILL_GOOD_MS = 5 * 1000;

export interface Minted {
  token: string;
  /** Epoch ms when the token stops working; undefined when the issuer did not say. */
  expiresAt: number | undefined;
}

/** What a mint returns: the token, and the key to keep it under when the credential changed (rotation). */
export interface MintResult extends Minted {
  movedTo?: string;
}

interface Entry extends Minted {
  service: string;
  refreshAt: number;
  /** When it was minted because its predecessor was refused (a 401). */
  forcedAt: number | undefined;
}

/** `service` + a hash of what the token is minted from; objects are hashed with sorted keys. */
export function cacheKey(service: string, parts: readonly unknown[]): string {
  const canonical = JSON.stringify(parts, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
  return `${service}\u0000${createHash('sha256').update(canonical).digest('base64url')}`;
}

export class TokenCache {
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();
  readonly #flights = new Map<string, Promise<Minted>>();
  readonly #moved = new Map<string, string>();
  /** Bumped by clear(): a mint started before it is not stored. */
  #epoch = 0;
  #version = 0;

  constructor(opts: { now?: () => number } = {}) {
    this.#now = opts.now ?? Date.now;
  }

  get version(): number {
    return this.#version;
  }

  /** The live token for `key`, minting one (once, however many callers wait) when there is none or it is due. */
  async get(service: string, key: string, marginMs: number, mint: () => Promise<MintResult>, forced = false): Promise<Minted> {
    const k = this.#resolve(key);
    const e = this.#entries.get(k);
    if (e && this.#now() < e.refreshAt) return { token: e.token, expiresAt: e.expiresAt };
    const inFlight = this.#flights.get(k);
    if (inFlight) return this.#orStill(inFlight, k, e);
    const epoch = this.#epoch;
    const flight = (async (): Promise<Minted> => {
      const r = await mint();
      if (epoch !== this.#epoch) return { token: r.token, expiresAt: r.expiresAt };
      const to = r.movedTo ?? k;
      if (to !== k) {
        this.#moved.set(k, to);
        this.#drop(k);
      }
      this.#store(service, to, r, marginMs, forced);
      return { token: r.token, expiresAt: r.expiresAt };
    })();
    this.#flights.set(k, flight);
    try {
      return await this.#orStill(flight, k, e);
    } finally {
      if (this.#flights.get(k) === flight) this.#flights.delete(k);
    }
  }

  /**
   * A token due for refresh but not expired yet is still good when the refresh fails
   * (a token endpoint that is briefly down costs nothing); an expired one is not.
   */
  async #orStill(flight: Promise<Minted>, key: string, due: Entry | undefined): Promise<Minted> {
    try {
      return await flight;
    } catch (err) {
      const still = due && this.#entries.get(key) === due && due.expiresAt !== undefined && this.#now() < due.expiresAt - STILL_GOOD_MS;
      if (still) return { token: due.token, expiresAt: due.expiresAt };
      throw err;
    }
  }

  /** The cached token for `key`, if any (due or not). */
  peek(key: string): string | undefined {
    return this.#entries.get(this.#resolve(key))?.token;
  }

  /** After an upstream 401 for `token`: forget it if it is still the cached one. */
  invalidate(key: string, token: string): boolean {
    const k = this.#resolve(key);
    const e = this.#entries.get(k);
    if (e?.token !== token) return false;
    if (e.forcedAt !== undefined && this.#now() - e.forcedAt < FORCED_INTERVAL_MS) return false;
    this.#drop(k);
    return true;
  }

  /** Live tokens and their services (for redaction). */
  tokens(): { service: string; token: string }[] {
    return [...this.#entries.values()].map((e) => ({ service: e.service, token: e.token }));
  }

  clear(): void {
    this.#epoch++;
    if (this.#entries.size > 0) this.#version++;
    this.#entries.clear();
    this.#flights.clear();
    this.#moved.clear();
  }

  #resolve(key: string): string {
    let k = key;
    for (let hops = 0; hops < 16; hops++) {
      const next = this.#moved.get(k);
      if (next === undefined) break;
      k = next;
    }
    return k;
  }

  #store(service: string, key: string, m: Minted, marginMs: number, forced: boolean): void {
    const now = this.#now();
    const expiresAt = m.expiresAt ?? now + DEFAULT_TTL_MS;
    const margin = Math.min(marginMs, Math.max(0, (expiresAt - now) / 2));
    this.#entries.set(key, {
      service,
      token: m.token,
      expiresAt: m.expiresAt,
      refreshAt: expiresAt - margin,
      forcedAt: forced ? now : undefined,
    });
    this.#version++;
  }

  #drop(key: string): void {
    if (this.#entries.delete(key)) this.#version++;
  }
}
