/**
 * The gate: every `execute` goes through this one pipeline, in this order —
 *
 *   kill switch → policy → rate limit → inject credential → forward → redact → audit
 *
 * Every call, whatever its outcome, is written to the audit log before its result
 * (or error) is handed back. A call that cannot be audited is refused (fail closed).
 * Errors thrown from here are JaneeErrors whose messages are safe for the agent:
 * they are redacted like response bodies.
 */
import type { CancelSignal } from './cancel.js';
import { AuditWriter, RefusalCoalescer, signerFromFileKey, type AuditInput, type AuditSigner } from '../audit/index.js';
import { loadConfig } from '../config/load.js';
import type { JaneeConfig, ServiceConfig } from '../config/types.js';
import { parseBaseUrl } from '../config/url.js';
import { JaneeError } from '../errors.js';
import { outcomeFor } from './outcome.js';
import { buildUpstreamUrl, describeBlocked, evaluatePolicies, normalizeMethod, normalizeRequestTarget } from '../policy/index.js';
import { WatchedFile } from '../util/watched.js';
import { ApprovalGuard } from '../approval/guard.js';
import { ApprovalPendingError } from '../approval/pending.js';
import { checkApproval } from './approve.js';
import { findTokenAgent, inScope, TokenRefused } from '../vault/agents.js';
import type { VaultData } from '../vault/types.js';
import { applyAuth, authContext, ownedNames, ownsHeader, ownsQueryParam } from '../auth/apply.js';
import { encodeQueryComponent, queryNames } from '../auth/query.js';
import { isMinted, type AuthContext, type TokenProvider } from '../auth/types.js';
import { MintedTokens } from '../auth/mint/provider.js';
import type { Forwarder } from './forward.js';
import { pickResponseHeaders, sanitizeAgentHeaders } from './headers.js';
import { secretVariants } from './inject.js';
import { isKilled, KillswitchWatcher } from './killswitch.js';
import { RateLimiter } from './ratelimit.js';
import { Redactor } from './redact.js';
import { jsonOfBody } from './request.js';
import { lockedError, VaultSecrets, type SecretSource } from './secrets.js';
import { suppliedByExecute, type Supplied } from './supplied.js';
import { type Caller, type ExecuteRequest, type ExecuteResult, type Gate, type ServiceInfo, type TokenAgent } from './types.js';
import { commandWarnings } from '../config/commands.js';
import type { CommandInfo, ExecRequest, ExecResult } from '../exec/request.js';
import { listCommands, runExec, type ExecContext } from './exec.js';

/** Largest request body the agent may send upstream. */
const MAX_REQUEST_BODY_BYTES = 4 * 1024 * 1024;

/** How long close() waits for calls still running to finish and be audited. */
const CLOSE_WAIT_MS = 5_000;

interface LocalGateOptions {
  configFile: string;
  auditDir: string;
  killswitchFile: string;
  /** undefined: the vault is locked; every call fails with GATE_LOCKED (and is audited). */
  secrets: SecretSource | undefined;
  forwarder?: Forwarder;
  /** Where config warnings go (serve and the agent: stderr). */
  warn?: (line: string) => void;
  /** Mints oauth2 / github-app / google-service-account tokens (default: MintedTokens over this gate's forwarder and vault). */
  tokens?: TokenProvider;
  /** Clock and randomness for signing (tests pin them). */
  authClock?: Pick<AuthContext, 'now' | 'random'>;
}

type Audit = Omit<AuditInput, 'agent' | 'agentSource' | 'ms'>;

export class LocalGate implements Gate {
  readonly #config: WatchedFile<JaneeConfig>;
  readonly #audit: AuditWriter;
  /** Refusals go through this (see src/audit/coalesce.ts): an agent cannot flood the log. */
  readonly #refusals: RefusalCoalescer;
  #lastConfig: JaneeConfig | undefined;
  readonly #kill: KillswitchWatcher;
  readonly #limits = new RateLimiter();
  /** Calls waiting for a human (approve: true rules); in memory only, see src/approval/guard.ts. */
  readonly #approvals = new ApprovalGuard();
  /** Created on the first forwarded call: undici is most of serve's start-up cost otherwise. */
  #forwarder: Promise<Forwarder> | undefined;
  /** Calls sent upstream and not yet audited: while others are out, a line can wait to share a write. */
  #outstanding = 0;
  /** execute and exec calls not finished (audited) yet; close() waits for them. */
  #running = 0;
  #idle: (() => void) | undefined;
  #closing: Promise<void> | undefined;
  #secrets: SecretSource | undefined;
  #redactorFor: { config: JaneeConfig; data: VaultData; minted: number; redactor: Redactor } | undefined;
  readonly #auth: Partial<AuthContext>;
  readonly #tokens: TokenProvider;
  /** Tokens minted for each service, redacted like stored secrets (never written anywhere). */
  readonly #minted = new Map<string, Set<string>>();
  #mintedCount = 0;
  readonly #exec: ExecContext;

  constructor(opts: LocalGateOptions) {
    const warn = opts.warn ?? ((line: string) => process.stderr.write(`janee: warning: ${line}\n`));
    this.#config = new WatchedFile(opts.configFile, async (f) => {
      const config = await loadConfig(f);
      for (const w of commandWarnings(config)) warn(w);
      return config;
    });
    this.#exec = {
      config: () => this.#configNow(),
      kill: () => this.#kill.current(),
      limits: this.#limits,
      vault: () => this.#vaultData(),
      redactor: (config, data) => this.#redactor(config, data),
      record: async (input, full, known) => {
        await (full ? this.#audit.append(input) : this.#refusals.refuse(input, known));
      },
      redactError,
    };
    this.#audit = new AuditWriter(opts.auditDir);
    this.#refusals = new RefusalCoalescer((input) => this.#audit.append(input));
    this.#kill = new KillswitchWatcher(opts.killswitchFile);
    if (opts.forwarder) this.#forwarder = Promise.resolve(opts.forwarder);
    this.#secrets = opts.secrets;
    this.#audit.setSigner(signerFor(opts.secrets));
    this.#tokens =
      opts.tokens ??
      new MintedTokens({
        http: () => this.#getForwarder(),
        rotate: (service, field, previous, next) => this.#rotate(service, field, previous, next),
      });
    this.#auth = { tokens: this.#tokens, ...opts.authClock };
  }

  /** Swap the secret source (agent: unlock after lock). */
  setSecrets(secrets: SecretSource | undefined): void {
    // Before the old key is wiped: the old signer checkpoints what it has not signed yet.
    this.#audit.setSigner(signerFor(secrets));
    this.#secrets?.wipe();
    this.#secrets = secrets;
    this.#forgetMinted();
  }

  /** Lock (or a new key): minted tokens go with the key that minted them. */
  #forgetMinted(): void {
    this.#tokens.clear?.();
    this.#minted.clear();
    this.#mintedCount++;
    this.#redactorFor = undefined;
  }

  #getForwarder(): Promise<Forwarder> {
    this.#forwarder ??= import('./forward.js').then((m) => new m.Forwarder());
    return this.#forwarder;
  }

  /**
   * A rotated refresh token, written to the vault by whichever process holds it (the
   * agent, or a serve that unlocked in-process) with the key in memory.
   */
  async #rotate(service: string, field: string, previous: string, next: string): Promise<boolean> {
    const s = this.#secrets;
    if (!(s instanceof VaultSecrets) || s.locked) throw lockedError();
    return s.replaceField(service, field, previous, next);
  }

  get secrets(): SecretSource | undefined {
    return this.#secrets;
  }

  async listServices(caller?: Caller): Promise<ServiceInfo[]> {
    const data = await this.#vaultData();
    const config = await this.#config.get();
    const kill = await this.#kill.current();
    const visible = [...config.services.values()].filter((s) => inScope({ services: caller?.services ?? null }, s.name));
    return visible.map((s) => ({
      name: s.name,
      baseUrl: s.baseUrl,
      authType: s.auth.type,
      policies: s.policies
        ? s.policies.map((p) =>
            p.deny
              ? { path: p.path, methods: p.methods, deny: true }
              : { path: p.path, methods: p.methods, ...(p.approve ? { approve: true } : {}) },
          )
        : null,
      rateLimit: s.rateLimit?.text ?? null,
      blocked: isKilled(kill, s.name),
      secretPresent: Object.hasOwn(data.entries, s.name),
    }));
  }

  /** `exec`: run a configured command (src/gate/exec.ts). */
  async exec(req: ExecRequest, caller: Caller, signal?: CancelSignal): Promise<ExecResult> {
    this.#running++;
    try {
      return await runExec(this.#exec, req, caller, signal);
    } finally {
      this.#finished();
    }
  }

  #finished(): void {
    if (--this.#running === 0) this.#idle?.();
  }

  listCommands(caller?: Caller): Promise<CommandInfo[]> {
    return listCommands(this.#exec, caller);
  }

  async execute(req: ExecuteRequest, caller: Caller, signal?: CancelSignal): Promise<ExecuteResult> {
    this.#running++;
    const started = performance.now();
    const svcName = typeof req?.service === 'string' ? req.service : '';
    const base: Audit = {
      service: svcName.slice(0, 200),
      method: typeof req?.method === 'string' ? req.method.slice(0, 16).toUpperCase() : '',
      path: typeof req?.path === 'string' ? (req.path.split('?')[0] ?? '').slice(0, 1000) : '',
      outcome: 'error',
      status: null,
      ...(typeof req?.reason === 'string' && req.reason !== '' ? { reason: req.reason } : {}),
    };
    // Set once an audit append has been attempted for this call, so the catch below
    // writes one only if none was (whatever the error code: ORIGIN_MISMATCH, for
    // one, is thrown both after its own audit and, unaudited, by buildUpstreamUrl).
    let audited = false;
    // Set once the request may have reached the upstream: from then on the call is written
    // out in full whatever its outcome (an upstream error may follow a charge that was
    // made); only refusals made before anything was sent are coalesced.
    let forwarded = false;
    let outstanding = false;
    const settle = (): void => {
      if (outstanding) this.#outstanding--;
      outstanding = false;
    };
    const audit = (a: Partial<Audit>) => {
      audited = true;
      settle();
      // Object.assign rather than {...base, ...a, agent, …}: on Node 20 an object that
      // starts as a spread copy and then gains fields outlives the young generation
      // even as garbage, and a line per call went to the old one (docs/bench.md).
      const input: AuditInput = Object.assign({}, base, a, {
        agent: caller.agent,
        agentSource: caller.agentSource,
        ms: Math.round((performance.now() - started) * 10) / 10,
      });
      // Lines linked to an approval are each written: they are few (one per request) and a human reads them.
      if (input.outcome === 'allowed' || input.approval !== undefined || forwarded) {
        return this.#audit.append(input, { soon: this.#outstanding > 0 });
      }
      return this.#refusals.refuse(input, this.#lastConfig?.services.has(svcName) === true);
    };

    let redactor: Redactor | undefined;
    // The agent's own text comes back as it sent it (an echo is no oracle: see supplied.ts).
    // Built only once there is something to redact: a refused call does not pay for it.
    let own: Supplied | undefined;
    const supplied = (): Supplied => (own ??= suppliedByExecute(req));
    try {
      // An agent token's scope comes first: outside it, nothing else is said about the service.
      if (!inScope({ services: caller.services ?? null }, svcName)) {
        throw new JaneeError(
          'GATE_NOT_IN_SCOPE',
          `service ${svcName.slice(0, 100)} is not allowed for agent ${caller.agent}`,
          'use a service list_services shows; a human widens the scope with `janee agents add` (a new token)',
        );
      }
      const config = await this.#configNow();
      const kill = await this.#kill.current();
      if (isKilled(kill, svcName)) {
        throw new JaneeError(
          'GATE_KILLED',
          `kill switch is on${kill.all ? '' : ` for ${svcName}`}: every call is blocked`,
          `a human can run \`janee killswitch off${kill.all ? (kill.error !== undefined || kill.services.has(svcName) ? ' --all' : '') : ` ${svcName}`}\` to allow calls again`,
        );
      }
      const svc = config.services.get(svcName);
      if (!svc) {
        // Only names the caller's scope admits: a hint must not tell a scoped token what else exists.
        const names = [...config.services.keys()].filter((n) => inScope({ services: caller.services ?? null }, n));
        throw new JaneeError(
          'GATE_UNKNOWN_SERVICE',
          `unknown service "${svcName.slice(0, 100)}"`,
          names.length ? `known services: ${names.join(', ')}` : 'no services are configured; a human adds them with `janee add`',
        );
      }
      const method = normalizeMethod(req.method);
      const target = normalizeRequestTarget(req.path, req.query);
      base.method = method;
      base.path = target.path;

      const decision = evaluatePolicies(svc.policies, method, target.path);
      if (!decision.allowed) {
        const err = new JaneeError(
          'GATE_BLOCKED',
          describeBlocked(svc.name, method, target.path, svc.policies, decision),
          'use one of the allowed requests, or ask the human to change the policies in config.yaml',
        );
        await audit({ outcome: 'blocked', rule: decision.rule ?? 'no matching policy' });
        throw err;
      }
      if (decision.approve) {
        const data = await this.#vaultData();
        base.approval = await checkApproval({
          guard: this.#approvals,
          secrets: this.#secrets,
          svc,
          rule: decision.rule ?? '',
          method,
          target,
          req,
          caller,
          redactor: this.#redactor(config, data),
          audit,
        });
      }
      const limit = this.#limits.check(svc.name, svc.rateLimit);
      if (!limit.ok) {
        const secs = Math.max(1, Math.ceil(limit.retryAfterMs / 1000));
        await audit({ outcome: 'rate_limited', rule: svc.rateLimit?.text ?? 'rateLimit' });
        throw new JaneeError(
          'GATE_RATE_LIMITED',
          `rate limited: ${svc.name} allows ${svc.rateLimit?.text}; retry in ${secs}s`,
          `wait ${secs}s before calling ${svc.name} again`,
        );
      }

      const data = await this.#vaultData();
      redactor = this.#redactor(config, data);
      // hasOwn: a service named `constructor` or `toString` must not find Object.prototype's member.
      const entry = Object.hasOwn(data.entries, svc.name) ? data.entries[svc.name] : undefined;
      if (!entry)
        throw new JaneeError('GATE_NO_SECRET', `no secret for ${svc.name} in the vault`, `a human adds it with \`janee set ${svc.name}\``);
      const origin = parseBaseUrl(svc.baseUrl).origin;
      if (!entry.origins.includes(origin)) {
        const err = new JaneeError(
          'GATE_ORIGIN_MISMATCH',
          `secret "${svc.name}" is bound to ${entry.origins.join(', ')}; config.yaml asks for ${origin} — run janee bind ${svc.name} ${origin} to allow it`,
          'the credential is only sent to origins bound in the vault; config.yaml alone cannot redirect it',
        );
        await audit({ outcome: 'blocked', rule: 'origin binding' });
        throw err;
      }

      const reserved = queryNames(target.query).find((n) => ownsQueryParam(ownedNames(svc.auth), n));
      if (reserved !== undefined) {
        // The credential's parameters are ours: an agent-supplied one is refused, not merged.
        const name = reserved.slice(0, 64);
        await audit({ outcome: 'blocked', rule: `reserved query parameter: ${name}` });
        throw new JaneeError(
          'GATE_BAD_REQUEST',
          `query parameter "${name}" is reserved for the credential`,
          `remove ${name} from the query`,
        );
      }
      let built = await this.#buildRequest(svc, method, target, req, entry.fields, entry.origins);
      redactor = this.#noteMinted(svc.name, built.minted, config, data) ?? redactor;
      const forwarder = await this.#getForwarder();
      forwarded = true;
      outstanding = true;
      this.#outstanding++;
      const send = (b: typeof built) =>
        forwarder.forward({
          url: b.url,
          method,
          headers: b.headers,
          body: b.body,
          timeoutMs: svc.timeoutMs,
          maxResponseBytes: svc.maxResponseBytes,
          signal,
        });
      let res = await send(built);
      if (res.status === 401 && isMinted(svc.auth)) {
        // A minted token may have been revoked early: mint once more and retry once.
        built = await this.#buildRequest(svc, method, target, req, entry.fields, entry.origins, built.minted[0] ?? '');
        redactor = this.#noteMinted(svc.name, built.minted, config, data) ?? redactor;
        res = await send(built);
      }
      const rule = built.dropped.length ? { rule: `dropped agent auth headers: ${built.dropped.join(', ')}`.slice(0, 200) } : {};
      const encoded = redactor.redactBody(res.body, res.headers['content-type'], res.truncated, supplied());
      const result: ExecuteResult = {
        status: res.status,
        headers: redactor.redactHeaders(pickResponseHeaders(res.headers), supplied()),
        body: encoded.body,
        bodyEncoding: encoded.bodyEncoding,
        truncated: res.truncated,
      };
      await audit({ outcome: 'allowed', status: res.status, ...rule });
      return result;
    } catch (e) {
      const err =
        e instanceof JaneeError
          ? e
          : new JaneeError('GATE_INTERNAL', 'internal error in the gate', 'this is a bug in janee; the call was not completed');
      // Waiting for a human is audited once, when the request is first seen (guard.ts), not at every poll.
      if (!audited && !(e instanceof ApprovalPendingError)) {
        await audit(outcomeFor(err));
      }
      throw redactError(err, redactor, redactor && supplied());
    } finally {
      settle();
      this.#finished();
    }
  }

  /** The agent a token belongs to (src/vault/agents.ts); a refusal is audited, coalesced like every refusal. */
  async authenticate(token: string | undefined, via: string): Promise<TokenAgent> {
    try {
      return findTokenAgent(await this.#vaultData(), token, Date.now());
    } catch (e) {
      const err = e instanceof JaneeError ? e : new JaneeError('GATE_INTERNAL', 'internal error in the gate', 'this is a bug in janee');
      const agent = e instanceof TokenRefused && e.agent !== undefined ? e.agent : 'unknown';
      const o = outcomeFor(err);
      const input: AuditInput = {
        agent,
        agentSource: 'token',
        service: '',
        method: '',
        path: via,
        outcome: o.outcome ?? 'error',
        status: null,
        ms: 0,
      };
      if (o.rule !== undefined) input.rule = o.rule;
      await this.#refusals.refuse(input, false);
      throw err;
    }
  }

  /** The current config; a new one also sets the audit policy (both pipelines come here). */
  async #configNow(): Promise<JaneeConfig> {
    const config = await this.#config.get();
    if (config !== this.#lastConfig) {
      this.#lastConfig = config;
      const a = config.audit;
      this.#audit.setPolicy({
        keepDays: a?.keepDays,
        checkpointEvery: a?.checkpointEvery,
        checkpointMs: a?.checkpointSeconds === undefined ? undefined : a.checkpointSeconds * 1000,
      });
    }
    return config;
  }

  /**
   * The request as sent: the agent's headers (auth-owned ones dropped and named in
   * `dropped`), body bytes, then the auth applied to all of it (signers see every byte).
   */
  async #buildRequest(
    svc: ServiceConfig,
    method: string,
    target: { path: string; query: string },
    req: ExecuteRequest,
    fields: Record<string, string>,
    origins: readonly string[],
    /** The minted token the upstream refused (the retry after a 401). */
    rejected?: string,
  ): Promise<{ url: string; headers: Record<string, string>; body: Uint8Array | undefined; dropped: string[]; minted: string[] }> {
    const owned = ownedNames(svc.auth);
    const dropped: string[] = [];
    if (req.headers !== null && typeof req.headers === 'object' && !Array.isArray(req.headers)) {
      for (const name of Object.keys(req.headers)) if (ownsHeader(owned, name.toLowerCase())) dropped.push(name.toLowerCase().slice(0, 64));
    }
    const headers = sanitizeAgentHeaders(req.headers);
    for (const name of Object.keys(headers)) if (ownsHeader(owned, name)) delete headers[name];
    let body: Uint8Array | undefined;
    if (req.body !== undefined && req.body !== null) {
      if (method === 'GET' || method === 'HEAD')
        throw new JaneeError('GATE_BAD_REQUEST', `${method} requests cannot have a body`, 'send the data as query parameters, or use POST');
      let text: string;
      if (typeof req.body === 'string') text = req.body;
      else if (typeof req.body === 'object') {
        text = jsonOfBody(req.body);
        if (!Object.keys(headers).includes('content-type')) headers['content-type'] = 'application/json';
      } else
        throw new JaneeError('GATE_BAD_REQUEST', 'body must be a string or a JSON object', 'send a string, or an object to send as JSON');
      body = Buffer.from(text, 'utf8');
      if (body.length > MAX_REQUEST_BODY_BYTES)
        throw new JaneeError('GATE_BAD_REQUEST', `body is larger than ${MAX_REQUEST_BODY_BYTES} bytes`, 'send a smaller body');
    }
    // The full path as sent: buildUpstreamUrl checks that the URL's path is exactly this.
    const base = parseBaseUrl(svc.baseUrl);
    const applied = await applyAuth(
      svc.auth,
      fields,
      { method, origin: base.origin, path: base.path + target.path, query: target.query, headers: { ...headers }, body },
      // Object.assign, not a spread copy given more fields (see audit in execute).
      authContext(
        svc.name,
        Object.assign({}, this.#auth, {
          force: rejected !== undefined,
          rejected,
          binding: { baseUrl: svc.baseUrl, origins },
        }),
      ),
    );
    Object.assign(headers, applied.headers);
    const url = buildUpstreamUrl(svc.baseUrl, { path: target.path, query: applied.query ?? target.query });
    return { url, headers, body, dropped, minted: applied.secrets ?? [] };
  }

  async #vaultData(): Promise<VaultData> {
    if (!this.#secrets) throw lockedError();
    return this.#secrets.current();
  }

  #redactor(config: JaneeConfig, data: VaultData): Redactor {
    const cached = this.#redactorFor;
    if (cached && cached.config === config && cached.data === data && cached.minted === this.#mintedCount) return cached.redactor;
    const entries = Object.entries(data.entries).map(([name, entry]) => ({
      service: name,
      variants: [
        ...secretVariants(config.services.get(name)?.auth ?? { type: 'bearer' }, entry.fields),
        ...injectedQueryForms(entry.fields),
        ...[...(this.#minted.get(name) ?? [])].flatMap((t) => secretVariants({ type: 'bearer' }, { token: t })),
      ],
    }));
    const redactor = new Redactor(entries);
    this.#redactorFor = { config, data, minted: this.#mintedCount, redactor };
    return redactor;
  }

  /** Remembers tokens minted for `service`; a new one rebuilds the redactor (returned). */
  #noteMinted(service: string, tokens: string[], config: JaneeConfig, data: VaultData): Redactor | undefined {
    const known = this.#minted.get(service) ?? new Set<string>();
    const fresh = tokens.filter((t) => t !== '' && !known.has(t));
    if (fresh.length === 0) return undefined;
    // Keep the last few: an old token may still be echoed, but the set must not grow forever.
    for (const t of fresh) known.add(t);
    while (known.size > 8) known.delete(known.values().next().value as string);
    this.#minted.set(service, known);
    this.#mintedCount++;
    return this.#redactor(config, data);
  }

  /** Waits for calls still running (at most CLOSE_WAIT_MS), then wipes and closes. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    // Calls still running end first and write their lines (a program killed as serve stops,
    // a request its client cancelled): a line appended after the log closed would be lost.
    if (this.#running > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, CLOSE_WAIT_MS);
        this.#idle = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    this.#secrets?.wipe();
    this.#forgetMinted();
    await this.#refusals.flush();
    await Promise.allSettled([this.#audit.close(), this.#forwarder?.then((f) => f.close())]);
  }
}

/**
 * The exact form #buildRequest puts a query credential in, with every encoding
 * redaction knows for a value (base64 at any alignment, JSON-escaped, …). An
 * upstream may echo the request URL, or base64 it into a pagination cursor; when
 * the value needs percent-encoding, secretVariants' forms of the raw value do not
 * cover that, and encodeURIComponent/form encoding differ from it for values with
 * `'` and a space, `~`, `!`, `(`, `)` or `*`.
 */
function injectedQueryForms(fields: Record<string, string>): string[] {
  const out: string[] = [];
  for (const v of Object.values(fields)) {
    if (typeof v !== 'string' || v.length < 4) continue;
    const e = encodeQueryComponent(v);
    if (e === v) continue; // nothing percent-encoded: the raw value's variants cover it
    for (const form of new Set([e, e.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase())])) {
      out.push(...secretVariants({ type: 'header', name: 'x' }, { token: form }));
    }
  }
  return out;
}

/** The audit signing key of an open vault (HKDF of its file key); none while locked. */
function signerFor(secrets: SecretSource | undefined): AuditSigner | undefined {
  if (!(secrets instanceof VaultSecrets) || secrets.locked) return undefined;
  return signerFromFileKey(secrets.key(), () => !secrets.locked);
}

/** `err` as the agent may see it; `supplied`: what the agent sent, which a message may quote back as it is. */
export function redactError(err: JaneeError, redactor: Redactor | undefined, supplied?: Supplied): JaneeError {
  if (!redactor) return err;
  const message = redactor.redact(err.message, { supplied });
  const hint = err.hint === undefined ? undefined : redactor.redact(err.hint, { supplied });
  if (message === err.message && hint === err.hint) return err;
  return new JaneeError(err.code, message, hint);
}
