/**
 * The gate's exec pipeline (the `exec` tool), in this order:
 *
 *   kill switch → policy (arguments, cwd) → binding → no whole secret in the request
 *   → rate limit → run (src/exec/run.ts) → redact stdout/stderr → audit
 *
 * Binding: every vault entry the command hands to its program must be bound to
 * `exec:<command>` in the vault (`janee bind NAME exec:COMMAND`, with the
 * passphrase), as an HTTP service's secret must be bound to its origin: config.yaml
 * is plaintext someone else may edit, and must not be able to give a key to a
 * program of its choosing.
 *
 * Everything before "run" refuses without starting anything. The output goes
 * through the same Redactor as HTTP responses (every service's secrets, every
 * encoding it knows), and like them leaves the agent's own text alone (its
 * arguments, cwd and stdin: see supplied.ts). Each call is audited once: service = the command name,
 * method = EXEC, path = "<cwd> $ <arguments>" (redacted, capped by the audit
 * log), status = the exit code (null when ended by a signal), rule = the
 * pattern that allowed it, or why not.
 */
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AuditInput } from '../audit/index.js';
import { searchPath } from '../config/commands.js';
import type { CommandConfig, JaneeConfig } from '../config/types.js';
import { JaneeError } from '../errors.js';
import { outcomeFor } from './outcome.js';
import { execBinding, isBindingOf } from '../exec/binding.js';
import { gitCredentialEnv, gitDirOf, gitLogin, gitOrigins, repoConfigRisk, riskyGlobalOption } from '../exec/git.js';
import { decideArgs, parsePattern, type Pattern } from '../exec/pattern.js';
import type { CommandInfo, ExecRequest, ExecResult } from '../exec/request.js';
import { runProgram, type RunResult } from '../exec/run.js';
import { execSlots } from '../exec/slots.js';
import { inScope } from '../vault/agents.js';
import type { VaultData } from '../vault/types.js';
import { cancelled, throwIfCancelled, type CancelSignal } from './cancel.js';
import { isKilled, type KillState } from './killswitch.js';
import type { RateLimiter } from './ratelimit.js';
import type { Redactor } from './redact.js';
import { suppliedByExec, type Supplied } from './supplied.js';
import type { Caller } from './types.js';

type Audit = Omit<AuditInput, 'agent' | 'agentSource' | 'ms'>;

/** What the exec pipeline uses of the LocalGate (gate.ts). */
export interface ExecContext {
  config(): Promise<JaneeConfig>;
  kill(): Promise<KillState>;
  limits: RateLimiter;
  vault(): Promise<VaultData>;
  redactor(config: JaneeConfig, data: VaultData): Redactor;
  /** `full`: written out in full (the program ran); else a refusal, which may be coalesced. */
  record(input: AuditInput, full: boolean, known: boolean): Promise<void>;
  redactError(err: JaneeError, redactor: Redactor | undefined, supplied?: Supplied): JaneeError;
}

/** Rate-limit key: commands and services share names' syntax but not limits. */
const limitKey = (name: string): string => `exec:${name}`;

export async function runExec(ctx: ExecContext, req: ExecRequest, caller: Caller, signal?: CancelSignal): Promise<ExecResult> {
  const started = performance.now();
  const name = typeof req?.command === 'string' ? req.command : '';
  const args = Array.isArray(req?.args) ? req.args : [];
  const base: Audit = {
    service: name.slice(0, 200),
    method: 'EXEC',
    path: auditPath(req?.cwd, args),
    outcome: 'error',
    status: null,
    ...(typeof req?.reason === 'string' && req.reason !== '' ? { reason: req.reason } : {}),
  };
  let audited = false;
  let ran = false;
  let known = false;
  let redactor: Redactor | undefined;
  // The agent's own text comes back as it sent it (an echo is no oracle: see supplied.ts).
  // Built only once there is something to redact: a refused call does not pay for it.
  let own: Supplied | undefined;
  const supplied = (): Supplied => (own ??= suppliedByExec(req));
  /** `full`: written out even if refusals are being coalesced. */
  const audit = (a: Partial<Audit>, full = false): Promise<void> => {
    audited = true;
    const input: AuditInput = {
      ...base,
      ...a,
      path: redactor ? redactor.redact(base.path) : base.path,
      agent: caller.agent,
      agentSource: caller.agentSource,
      ms: Math.round((performance.now() - started) * 10) / 10,
    };
    return ctx.record(input, full || input.outcome === 'allowed' || ran, known);
  };

  try {
    // An agent token's scope names the commands it may run, as it names services: outside
    // it, nothing else is said about the command.
    if (!inScope({ services: caller.services ?? null }, name)) {
      throw new JaneeError(
        'GATE_NOT_IN_SCOPE',
        `command ${name.slice(0, 100)} is not allowed for agent ${caller.agent}`,
        'use a command list_commands shows; a human widens the scope with `janee agents add` (a new token)',
      );
    }
    const config = await ctx.config();
    // Read now (not only when needed) so refusals are audited with secrets redacted;
    // a locked vault fails the call after the kill switch and the policy.
    const opened = await ctx.vault().then(
      (d): { data: VaultData } | { error: unknown } => ({ data: d }),
      (e: unknown) => ({ error: e }),
    );
    if ('data' in opened) redactor = ctx.redactor(config, opened.data);

    refuseIfKilled(await ctx.kill(), name);
    const cmd = config.commands?.get(name);
    if (!cmd) {
      // Only names the caller's scope admits: a hint must not tell a scoped token what else exists.
      const names = [...(config.commands?.keys() ?? [])].filter((n) => inScope({ services: caller.services ?? null }, n));
      throw new JaneeError(
        'GATE_UNKNOWN_COMMAND',
        `unknown command "${name.slice(0, 100)}"`,
        names.length
          ? `known commands: ${names.join(', ')}`
          : 'no commands are configured; a human adds them under commands: in config.yaml',
      );
    }
    known = true;
    if (cmd.file === undefined)
      throw new JaneeError(
        'EXEC_FAILED',
        `${name} cannot run here: ${cmd.missing ?? 'its program was not found'}`,
        'a human installs it (or fixes program: in config.yaml), then touches config.yaml so janee reads it again',
      );
    const file = cmd.file;
    if ([...args, req.cwd ?? '', req.stdin ?? ''].some((a) => a.includes('\u0000')))
      throw new JaneeError('GATE_BAD_REQUEST', 'arguments, cwd and stdin cannot contain NUL characters', 'remove the NUL characters');

    const decision = decideArgs(patterns(cmd.allow), patterns(cmd.deny), args);
    if (!decision.allowed) {
      const err = new JaneeError(
        'GATE_BLOCKED',
        decision.rule !== undefined
          ? `${name}: these arguments match the deny pattern "${decision.rule.slice(5)}"`
          : `${name}: no allow pattern matches these arguments (allowed: ${cmd.allow.map((p) => `"${p}"`).join(', ') || 'nothing'})`,
        'use arguments an allow pattern admits ("*" is one value that does not start with "-", "**" the rest), or ask the human to change commands in config.yaml',
      );
      await audit({ outcome: 'blocked', rule: decision.rule ?? 'no matching pattern' });
      throw err;
    }
    // With the credential, git must work in the repository whose config is checked
    // (repoConfigRisk reads the one in cwd): no global option may point it elsewhere.
    const option = cmd.gitCredential !== undefined ? riskyGlobalOption(args) : undefined;
    if (option !== undefined) {
      const err = new JaneeError(
        'GATE_BLOCKED',
        `${name}: the git option ${option.slice(0, 100)} could point git at another repository, config or program; it was not run`,
        'run git in the repository with cwd instead of -C/--git-dir, and without -c/--config-env/--exec-path, or clone without --template/--config (janee checks the config of the repository in cwd)',
      );
      await audit({ outcome: 'blocked', rule: 'git global option' });
      throw err;
    }
    const cwd = await allowedCwd(cmd, req.cwd);
    if (cwd.refused !== undefined) {
      const err = new JaneeError('GATE_BLOCKED', `${name}: ${cwd.refused}`, cwd.hint);
      await audit({ outcome: 'blocked', rule: 'cwd' });
      throw err;
    }

    if (!('data' in opened)) throw opened.error;
    const data = opened.data;
    const r = redactor!;
    // What runs is pinned by the vault, not by config.yaml: a command must hand the program
    // at least one secret, and each must be bound to this very definition (src/exec/binding.ts).
    if (secretsOf(cmd).length === 0) {
      const err = new JaneeError(
        'GATE_BLOCKED',
        `${name} maps no secret: janee runs only programs that need one of its keys`,
        'a command is pinned by binding a secret to it (janee bind SECRET exec:NAME); a program that needs no key can be run without janee',
      );
      await audit({ outcome: 'blocked', rule: 'exec binding' });
      throw err;
    }
    const pinned = execBinding(cmd);
    const unbound = secretsOf(cmd).filter((n) => Object.hasOwn(data.entries, n) && !data.entries[n]!.origins.includes(pinned));
    if (unbound.length > 0) {
      const other = data.entries[unbound[0]!]!.origins.some((o) => isBindingOf(o, name));
      const err = new JaneeError(
        'GATE_ORIGIN_MISMATCH',
        other
          ? `secret "${unbound[0]}" is bound to another definition of ${name} than config.yaml has now (program, env, argument patterns, cwd or gitCredential changed); nothing ran`
          : `secret "${unbound[0]}" is not bound to exec:${name}; config.yaml alone cannot hand a secret to a program`,
        other
          ? `a human who has reviewed commands.${name} in config.yaml runs: janee bind ${unbound[0]} exec:${name}`
          : `a human who means it runs: janee bind ${unbound[0]} exec:${name}`,
      );
      await audit({ outcome: 'blocked', rule: 'exec binding' });
      throw err;
    }
    // The agent never knows a secret; one in its request came from somewhere it should
    // not have, and would reach the program (and its argv in /proc) by another door.
    // Only a whole value (in any form listed) is refused: refusing a part of one would
    // tell the agent, guess by guess, which strings are parts of a secret (an oracle).
    // A whole value is one the agent already holds, so the refusal tells it nothing.
    if ([...args, req.cwd ?? '', req.stdin ?? ''].some((a) => r.holdsWhole(a))) {
      const err = new JaneeError(
        'GATE_BLOCKED',
        `${name}: the request contains a secret janee holds; it was not run`,
        'never pass credentials yourself: janee gives the program the ones config.yaml maps to it',
      );
      await audit({ outcome: 'blocked', rule: 'secret in request' }, true);
      throw err;
    }

    const limit = ctx.limits.check(limitKey(name), cmd.rateLimit);
    if (!limit.ok) {
      const secs = Math.max(1, Math.ceil(limit.retryAfterMs / 1000));
      await audit({ outcome: 'rate_limited', rule: cmd.rateLimit?.text ?? 'rateLimit' });
      throw new JaneeError(
        'GATE_RATE_LIMITED',
        `rate limited: ${name} allows ${cmd.rateLimit?.text}; retry in ${secs}s`,
        `wait ${secs}s before running ${name} again`,
      );
    }

    const env = credentialEnv(cmd, data);
    const home = await fs.mkdtemp(path.join(os.tmpdir(), 'janee-exec-')); // 0700
    let res: RunResult;
    try {
      // Only PATH's absolute entries: a relative one would resolve in the agent's cwd for
      // every program the program runs by name (findProgram skips them for the program itself).
      const runEnv: Record<string, string> = {
        PATH: searchPath().join(':') || '/usr/bin:/bin',
        LANG: process.env.LANG ?? 'C.UTF-8',
        HOME: home,
        ...env,
      };
      if (cmd.gitCredential !== undefined) {
        Object.assign(runEnv, await gitEnv(cmd, data, home));
        const [risk, gitDir] = await Promise.all([repoConfigRisk(cwd.dir ?? home, runEnv), gitDirOf(cwd.dir ?? home, runEnv)]);
        // The helper answers only for this repository (not a submodule's, whose config is its own);
        // a clone makes a new one, which git writes itself: anywhere then.
        runEnv.JANEE_GIT_DIR = args.find((a) => !a.startsWith('-')) === 'clone' ? '' : gitDir;
        if (risk !== undefined) {
          const err = new JaneeError(
            'GATE_BLOCKED',
            risk.key === ''
              ? `${name}: the repository's config could not be read; it was not run`
              : `${name}: the repository's ${risk.scope} config sets ${risk.key.slice(0, 200)} (${risk.file.slice(0, 300)}), which could run a program or send the credential elsewhere; it was not run`,
            risk.key === ''
              ? 'a human checks the repository with `git config --list --show-origin` there'
              : `beside a credential janee allows only core basics, remote.*.url/pushurl/fetch/push/…, branch.*, user.*, extensions.* and a few preferences (docs/exec.md); if it is not meant to be there, a human removes it (at the top of the working tree: git config --file ${risk.file.slice(0, 300)} --unset-all ${risk.key.slice(0, 200)})`,
          );
          await audit({ outcome: 'blocked', rule: 'repository config' });
          throw err;
        }
      }
      // Over the cap, or over this agent's share of it: waits, or EXEC_BUSY (not run).
      const release = await execSlots.take(`${caller.agentSource}:${caller.agent}`, signal);
      try {
        // The wait for a slot may have lasted: a kill switch turned on, or the call cancelled, meanwhile still stops the run.
        refuseIfKilled(await ctx.kill(), name);
        throwIfCancelled(signal, 'program');
      } catch (e) {
        release();
        throw e;
      }
      ran = true;
      res = await runProgram({
        file,
        args,
        cwd: cwd.dir ?? home,
        env: runEnv,
        stdin: req.stdin,
        timeoutMs: cmd.timeoutMs,
        maxOutputBytes: cmd.maxOutputBytes,
        signal,
      })
        .catch((e: unknown) => {
          const code = (e as NodeJS.ErrnoException)?.code ?? 'error';
          throw new JaneeError('EXEC_FAILED', `${name} could not be started (${code})`, 'a human checks program: and cwd: in config.yaml');
        })
        .finally(release);
    } finally {
      await fs.rm(home, { recursive: true, force: true }).catch(() => undefined);
    }
    if (res.cancelled) {
      base.path = auditPath(cwd.dir, args);
      throw cancelled('program', true); // audited below, in full: the program ran
    }
    const result: ExecResult = {
      exitCode: res.exitCode,
      stdout: redactOutput(r, res.stdout, res.truncated, supplied()),
      stderr: redactOutput(r, res.stderr, res.truncated, supplied()),
      truncated: res.truncated,
      timedOut: res.timedOut,
      durationMs: res.durationMs,
    };
    base.path = auditPath(cwd.dir, args);
    await audit({
      outcome: 'allowed',
      status: res.exitCode,
      rule: res.timedOut ? `timeout after ${cmd.timeoutMs}ms` : decision.rule,
    });
    return result;
  } catch (e) {
    const err =
      e instanceof JaneeError
        ? e
        : new JaneeError('GATE_INTERNAL', 'internal error in the gate', 'this is a bug in janee; the command was not run');
    if (!audited) await audit(outcomeFor(err));
    throw ctx.redactError(err, redactor, redactor && supplied());
  }
}

function refuseIfKilled(kill: KillState, name: string): void {
  if (!isKilled(kill, name)) return;
  throw new JaneeError(
    'GATE_KILLED',
    `kill switch is on${kill.all ? '' : ` for ${name}`}: every call is blocked`,
    `a human can run \`janee killswitch off${kill.all ? (kill.error !== undefined || kill.services.has(name) ? ' --all' : '') : ` ${name}`}\` to allow calls again`,
  );
}

export async function listCommands(ctx: Pick<ExecContext, 'config' | 'kill' | 'vault'>, caller?: Caller): Promise<CommandInfo[]> {
  const data = await ctx.vault();
  const config = await ctx.config();
  const kill = await ctx.kill();
  const visible = [...(config.commands?.values() ?? [])].filter((c) => inScope({ services: caller?.services ?? null }, c.name));
  return visible.map((c) => ({
    name: c.name,
    allow: [...c.allow],
    deny: [...c.deny],
    cwd: [...c.cwd],
    rateLimit: c.rateLimit?.text ?? null,
    timeoutMs: c.timeoutMs,
    blocked: isKilled(kill, c.name),
    secretPresent: secretsOf(c).every((n) => Object.hasOwn(data.entries, n)),
  }));
}

/** The vault entries a command hands to its program. */
function secretsOf(c: CommandConfig): string[] {
  return [...new Set([...c.env.map((e) => e.entry), ...(c.gitCredential !== undefined ? [c.gitCredential] : [])])];
}

const parsed = new Map<string, Pattern>();
function patterns(texts: readonly string[]): Pattern[] {
  return texts.map((t) => {
    let p = parsed.get(t);
    if (p === undefined) {
      p = parsePattern(t) as Pattern; // validated when the config loaded
      if (parsed.size > 10_000) parsed.clear();
      parsed.set(t, p);
    }
    return p;
  });
}

/** The directory to run in: one of the command's (real path inside a real allowed one), or its temporary HOME. */
async function allowedCwd(
  cmd: CommandConfig,
  asked: string | undefined,
): Promise<{ dir?: string; refused?: undefined } | { refused: string; hint: string }> {
  if (cmd.cwd.length === 0) {
    if (asked === undefined) return {};
    return { refused: 'this command runs in a temporary directory; it takes no cwd', hint: 'call it again without cwd' };
  }
  const want = asked ?? cmd.cwd[0]!;
  const hint = `use one of: ${cmd.cwd.join(', ')} (or a directory under one)`;
  if (!path.isAbsolute(want)) return { refused: 'cwd must be an absolute path', hint };
  let real: string;
  try {
    real = await fs.realpath(want);
    if (!(await fs.stat(real)).isDirectory()) throw new Error('not a directory');
  } catch {
    return { refused: `cwd ${want.slice(0, 200)} is not an existing directory`, hint };
  }
  for (const a of cmd.cwd) {
    const root = await fs.realpath(a).catch(() => undefined);
    if (root !== undefined && (real === root || real.startsWith(root.endsWith(path.sep) ? root : root + path.sep))) return { dir: real };
  }
  return { refused: `cwd ${want.slice(0, 200)} is outside the directories this command may run in`, hint };
}

/** The mapped variables: each the entry's named field, else its `token`, else its only field. */
function credentialEnv(cmd: CommandConfig, data: VaultData): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of cmd.env) {
    const entry = Object.hasOwn(data.entries, m.entry) ? data.entries[m.entry] : undefined;
    if (!entry)
      throw new JaneeError('GATE_NO_SECRET', `no secret ${m.entry} in the vault (for ${cmd.name})`, `a human adds it with \`janee add\``);
    const names = Object.keys(entry.fields);
    const field = m.field ?? (names.includes('token') ? 'token' : names.length === 1 ? names[0] : undefined);
    const value = field !== undefined && Object.hasOwn(entry.fields, field) ? entry.fields[field] : undefined;
    if (value === undefined || value.includes('\u0000'))
      throw new JaneeError(
        'GATE_NO_SECRET',
        `secret ${m.entry} has no usable ${field ?? 'token'} field (for ${cmd.name}.env.${m.name})`,
        `name the field in config.yaml (env: { ${m.name}: ${m.entry}.FIELD })`,
      );
    env[m.name] = value;
  }
  return env;
}

async function gitEnv(cmd: CommandConfig, data: VaultData, home: string): Promise<Record<string, string>> {
  const name = cmd.gitCredential!;
  const entry = Object.hasOwn(data.entries, name) ? data.entries[name] : undefined;
  const login = entry ? gitLogin(entry.fields) : undefined;
  if (!entry || !login)
    throw new JaneeError(
      'GATE_NO_SECRET',
      `no usable secret ${name} in the vault (gitCredential of ${cmd.name})`,
      'a human adds it with `janee add`',
    );
  return gitCredentialEnv(home, login, gitOrigins(entry.origins));
}

/** stdout/stderr as text, through the same redaction as response bodies. */
function redactOutput(r: Redactor, bytes: Buffer, truncated: boolean, supplied: Supplied): string {
  const out = r.redactBody(bytes, undefined, truncated, supplied);
  if (out.bodyEncoding === 'utf8') return out.body;
  // Not UTF-8: already redacted as bytes; shown as text (invalid bytes become U+FFFD), and checked once more as text.
  return r.redact(Buffer.from(out.body, 'base64').toString('utf8'), { supplied });
}

/** "<cwd> $ <args>", each argument quoted when it would not read back as one word. */
function auditPath(cwd: string | undefined, args: readonly string[]): string {
  const words = args.slice(0, 64).map((a) => (a === '' || /[\s"'\\$`]/.test(a) ? JSON.stringify(a) : a));
  const text = `${typeof cwd === 'string' ? cwd : '~'} $ ${words.join(' ')}${args.length > 64 ? ' …' : ''}`;
  return text.slice(0, 1024);
}
