/**
 * The TokenProvider the gate asks for minted tokens (oauth2, github-app,
 * google-service-account): turns a service's auth spec and vault fields into a
 * request to its token endpoint, through the TokenCache (in memory, single flight,
 * refreshed before expiry, dropped on a 401 and on lock).
 *
 * A credential is only sent where the vault binds it: an oauth2 token URL (from
 * config.yaml, which is not trusted) must be on one of the entry's origins; a
 * GitHub App's token endpoint is on the service's own API origin; a Google key's
 * token_uri comes from the key itself (the vault).
 *
 * Rotation. A refresh_token answer that carries a new refresh token means the old
 * one may be dead already: the new one is written to the vault (`rotate`) before the
 * new access token is used. If that write fails the call fails, and the new refresh
 * token is kept in memory for the next attempt (which writes the one it gets then).
 */
import type { KeyObject } from 'node:crypto';
import { parsePrivateKey } from '../jwt.js';
import { TokenCache, cacheKey, type MintResult } from './cache.js';
import { assertBound, TOKEN_TIMEOUT_MS, tokenError, type TokenHttp } from './endpoint.js';
import { GITHUB_APP_MARGIN_MS, mintGitHubApp } from './github-app.js';
import { keyFileText, mintGoogle, parseServiceAccountKey, type ServiceAccountKey } from './google.js';
import { mintOAuth2 } from './oauth2.js';
import type { MintedAuth, TokenOptions, TokenProvider } from '../types.js';

/** Re-mint this long before an oauth2 or Google token expires. */
export const OAUTH2_MARGIN_MS = 60 * 1000;
export const GOOGLE_MARGIN_MS = 5 * 60 * 1000;

/**
 * Writes a rotated refresh token into the service's vault entry, atomically, if the
 * entry still holds `previous` (a human who stored another one meanwhile wins).
 * Resolves false when it did not (the entry changed or is gone).
 */
export type RotationWriter = (service: string, field: string, previous: string, next: string) => Promise<boolean>;

export class MintedTokens implements TokenProvider {
  readonly #cache: TokenCache;
  readonly #http: () => Promise<TokenHttp>;
  readonly #rotate: RotationWriter | undefined;
  readonly #now: () => number;
  readonly #timeoutMs: number;
  /** Rotated refresh tokens whose write to the vault failed, by the key they were minted under. */
  readonly #unsaved = new Map<string, string>();
  /** Parsed private keys by the field value they came from (parsing a PEM costs ~1 ms). */
  #keys = new Map<string, KeyObject | ServiceAccountKey>();

  constructor(opts: { http: () => Promise<TokenHttp>; rotate?: RotationWriter; now?: () => number; timeoutMs?: number }) {
    this.#now = opts.now ?? Date.now;
    this.#timeoutMs = opts.timeoutMs ?? TOKEN_TIMEOUT_MS;
    this.#cache = new TokenCache({ now: this.#now });
    this.#http = opts.http;
    this.#rotate = opts.rotate;
  }

  /** Changes whenever the set of live tokens does (see tokens()). */
  get version(): number {
    return this.#cache.version;
  }

  /** Every live minted token, and its service: redacted from everything returned. */
  tokens(): { service: string; token: string }[] {
    return [...this.#cache.tokens(), ...[...this.#unsaved].map(([k, token]) => ({ service: k.split('\u0000')[0] ?? '', token }))];
  }

  /** On lock and close: every token and parsed key goes. */
  clear(): void {
    this.#cache.clear();
    this.#unsaved.clear();
    this.#keys = new Map();
  }

  async token(service: string, spec: MintedAuth, fields: Readonly<Record<string, string>>, opts: TokenOptions): Promise<string> {
    const key = cacheKey(service, [spec, fields, opts.baseUrl]);
    const rejected = opts.rejected ?? (opts.force ? this.#cache.peek(key) : undefined);
    const forced = rejected !== undefined && this.#cache.invalidate(key, rejected);
    const margin =
      spec.type === 'github-app' ? GITHUB_APP_MARGIN_MS : spec.type === 'google-service-account' ? GOOGLE_MARGIN_MS : OAUTH2_MARGIN_MS;
    const minted = await this.#cache.get(service, key, margin, () => this.#mint(service, key, spec, fields, opts), forced);
    return minted.token;
  }

  async #mint(
    service: string,
    key: string,
    spec: MintedAuth,
    fields: Readonly<Record<string, string>>,
    opts: TokenOptions,
  ): Promise<MintResult> {
    const http = await this.#http();
    const need = (name: string): string => {
      const v = Object.hasOwn(fields, name) ? fields[name] : undefined;
      if (v === undefined || v === '')
        throw tokenError(`secret "${service}" has no ${name} field`, `run \`janee set ${service}\` to store it`);
      return v;
    };
    switch (spec.type) {
      case 'oauth2': {
        assertBound(spec.tokenUrl, opts.origins, service, 'token URL');
        const stored = spec.grant === 'refresh_token' ? need('refreshToken') : undefined;
        const refreshToken = this.#unsaved.get(key) ?? stored;
        const m = await mintOAuth2(
          http,
          {
            tokenUrl: spec.tokenUrl,
            grant: spec.grant,
            clientId: need('clientId'),
            clientSecret: fields.clientSecret,
            refreshToken,
            scopes: spec.scopes,
            audience: spec.audience,
            clientAuth: spec.clientAuth,
            timeoutMs: this.#timeoutMs,
          },
          this.#now,
        );
        if (m.refreshToken === undefined || stored === undefined) return { token: m.token, expiresAt: m.expiresAt };
        return this.#rotated(service, key, spec, fields, opts, stored, m.refreshToken, { token: m.token, expiresAt: m.expiresAt });
      }
      case 'github-app': {
        assertBound(opts.baseUrl, opts.origins, service, 'API URL');
        const privateKey = this.#parsed('pem', need('privateKey'), (v) => parsePrivateKey(v, `the private key of "${service}"`));
        return mintGitHubApp(
          http,
          { apiUrl: opts.baseUrl, appId: spec.appId, installationId: spec.installationId, privateKey, timeoutMs: this.#timeoutMs },
          this.#now,
        );
      }
      case 'google-service-account': {
        const sa = this.#parsed('json', need('credentials'), (v) => parseServiceAccountKey(keyFileText(v)));
        return mintGoogle(http, { key: sa, scopes: spec.scopes, subject: spec.subject, timeoutMs: this.#timeoutMs }, this.#now);
      }
    }
  }

  /** A new refresh token came back: saved before the access token is used (or the call fails, keeping it in memory). */
  async #rotated(
    service: string,
    key: string,
    spec: MintedAuth,
    fields: Readonly<Record<string, string>>,
    opts: TokenOptions,
    stored: string,
    next: string,
    minted: MintResult,
  ): Promise<MintResult> {
    this.#unsaved.set(key, next);
    let saved: boolean;
    try {
      if (!this.#rotate) throw new Error('no writer');
      saved = await this.#rotate(service, 'refreshToken', stored, next);
    } catch {
      throw tokenError(
        `the token endpoint for ${service} rotated its refresh token and the new one could not be saved to the vault`,
        'the new one is kept in memory until it can be saved; check that the vault is writable (`janee doctor`)',
      );
    }
    this.#unsaved.delete(key);
    if (!saved) return minted; // the entry changed meanwhile: its new fields key the next mint
    return { ...minted, movedTo: cacheKey(service, [spec, { ...fields, refreshToken: next }, opts.baseUrl]) };
  }

  #parsed<T extends KeyObject | ServiceAccountKey>(kind: string, value: string, parse: (v: string) => T): T {
    const hit = this.#keys.get(`${kind}:${value}`);
    if (hit) return hit as T;
    const k = parse(value);
    if (this.#keys.size >= 64) this.#keys.clear();
    this.#keys.set(`${kind}:${value}`, k);
    return k;
  }
}
