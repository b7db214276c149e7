/**
 * `janee test [NAME…]`: one authenticated GET per service, through the real gate
 * (kill switch, policy, rate limit, inject, forward, redact, audit), so it tests
 * exactly what an agent would get, and is audited as agent "janee-test". Only
 * the status and a classification are printed: never a body, never a secret.
 *
 * The gate: the agent when one runs unlocked for this vault (no passphrase), else
 * the vault opened in-process with the passphrase (JANEE_PASSPHRASE(_FILE),
 * --passphrase-stdin, or the terminal prompt).
 */
import { Command, Option } from 'clipanion';
import { AgentGate } from '../../agent/client.js';
import { agentSocketPath } from '../../agent/socket-path.js';
import { auditDir, killswitchPath } from '../../config/paths.js';
import type { PolicyRule, ServiceConfig } from '../../config/types.js';
import { JaneeError, type Code } from '../../errors.js';
import { LocalGate } from '../../gate/gate.js';
import { VaultSecrets } from '../../gate/secrets.js';
import type { Caller, Gate } from '../../gate/types.js';
import { JaneeCommand, jsonOption, passphraseStdinOption } from '../base.js';
import { clean, info } from '../io.js';
import { unlockWithPassphrase } from '../vault-ops.js';

/** Who the audit log says made the call. agentSource 'flag': the name is set explicitly, not taken from a client. */
const TEST_CALLER: Caller = { agent: 'janee-test', agentSource: 'flag' };

type TestOutcome =
  | 'ok'
  | 'auth_failed'
  | 'auth_unknown'
  | 'unreachable'
  | 'upstream_error'
  | 'rate_limited'
  | 'http_error'
  | 'blocked'
  | 'killed'
  | 'no_secret'
  | 'origin_mismatch'
  | 'locked'
  | 'no_test_path'
  | 'error';

interface TestResult {
  service: string;
  /** The path requested (null: none could be chosen). */
  path: string | null;
  /** Upstream HTTP status (null: no answer). */
  status: number | null;
  outcome: TestOutcome;
  ok: boolean;
  /** One line for people: what the outcome means. */
  message: string;
  hint?: string;
}

/** The path to GET: the service's testPath, else the first GET allow rule without wildcards. */
function pickTestPath(svc: Pick<ServiceConfig, 'testPath' | 'policies'>): string | undefined {
  if (svc.testPath) return svc.testPath;
  const rule = (svc.policies ?? []).find(
    (r: PolicyRule) => !r.deny && (r.methods.includes('GET') || r.methods.includes('*')) && !r.path.includes('*'),
  );
  return rule?.path;
}

/** What an upstream status says about the key (pure). */
function classifyStatus(name: string, path: string, status: number): Omit<TestResult, 'service' | 'path' | 'status'> {
  if (status >= 200 && status < 400) return { outcome: 'ok', ok: true, message: `reachable, auth ok (HTTP ${status})` };
  if (status === 401 || status === 403) {
    return {
      outcome: 'auth_failed',
      ok: false,
      message: `reachable, auth failed (HTTP ${status})`,
      hint: `the API refused the key: rotate it with \`janee set ${name}\``,
    };
  }
  if (status === 404) {
    return {
      outcome: 'auth_unknown',
      ok: false,
      message: `reachable, auth unknown (HTTP 404 on ${path})`,
      hint: `set a path that needs the key: \`janee edit ${name} --test-path /…\``,
    };
  }
  if (status === 429)
    return { outcome: 'rate_limited', ok: false, message: 'reachable, rate limited by the API (HTTP 429)', hint: 'try again later' };
  if (status >= 500)
    return {
      outcome: 'upstream_error',
      ok: false,
      message: `reachable, the API failed (HTTP ${status})`,
      hint: 'try again later, or check the API status page',
    };
  return {
    outcome: 'http_error',
    ok: false,
    message: `reachable, HTTP ${status} on ${path}`,
    hint: `check the test path: \`janee edit ${name} --test-path /…\``,
  };
}

/** What a gate refusal or failure says (pure). Messages are the gate's own (already redacted). */
function classifyError(name: string, e: unknown): Omit<TestResult, 'service' | 'path' | 'status'> {
  if (!(e instanceof JaneeError))
    return { outcome: 'error', ok: false, message: 'internal error', hint: 'this is a bug; please report it' };
  const withHint = (outcome: TestOutcome, message: string, hint: string | undefined) => ({
    outcome,
    ok: false,
    message,
    ...(hint ? { hint } : {}),
  });
  const byCode: Partial<Record<Code, [TestOutcome, string, string | undefined]>> = {
    GATE_UPSTREAM_ERROR: [
      'unreachable',
      `unreachable: ${e.message}`,
      `check the base URL in config.yaml (\`janee edit ${name} --base-url …\`) and the network`,
    ],
    GATE_UPSTREAM_TIMEOUT: [
      'unreachable',
      `unreachable: ${e.message}`,
      `check the base URL in config.yaml (\`janee edit ${name} --base-url …\`) and the network`,
    ],
    GATE_BLOCKED: [
      'blocked',
      `the policy blocks the test path: ${e.message}`,
      `allow it in config.yaml, or pick an allowed path with \`janee edit ${name} --test-path /…\``,
    ],
    GATE_KILLED: ['killed', e.message, e.hint],
    GATE_NO_SECRET: ['no_secret', `no secret for ${name} in the vault`, `add it with \`janee set ${name}\``],
    GATE_ORIGIN_MISMATCH: ['origin_mismatch', e.message, e.hint],
    GATE_LOCKED: ['locked', e.message, e.hint],
    GATE_RATE_LIMITED: ['rate_limited', e.message, e.hint],
  };
  const [outcome, message, hint] = byCode[e.code] ?? ['error', `${e.message} (${e.code})`, e.hint];
  return withHint(outcome, message, hint);
}

export class TestCommand extends JaneeCommand {
  static override paths = [['test']];
  static override usage = Command.Usage({
    description: "Check each service's key with one real request (reachable / auth ok / failed, and the fix)",
    details: `
      Sends one GET per service through the same gate as \`janee serve\` (kill switch, policy, rate
      limit, audit), to the service's \`testPath\` or else its first GET rule without wildcards, and
      prints the status and what it means: never the response body. Audited as agent "janee-test".
      Uses the unlocked agent when there is one, else asks for the passphrase.
      Exit 0 when every service checked is ok, 1 otherwise.
    `,
    examples: [
      ['Every service', 'janee test'],
      ['Two services, as JSON', 'janee test stripe github --json'],
    ],
  });

  names = Option.Rest({ name: 'name' });
  passphraseStdin = passphraseStdinOption();
  json = jsonOption();

  async run(): Promise<number> {
    const config = await this.config();
    const unknown = this.names.filter((n) => !config.services.has(n));
    if (unknown.length) {
      const known = [...config.services.keys()];
      throw new JaneeError(
        'NOT_FOUND',
        `no service named ${unknown.map((n) => `"${clean(n).slice(0, 64)}"`).join(', ')} in ${config.file}`,
        known.length ? `known services: ${known.join(', ')}` : 'add one with `janee add`',
      );
    }
    const services = this.names.length ? [...new Set(this.names)].map((n) => config.services.get(n)!) : [...config.services.values()];
    if (services.length === 0) {
      if (this.json) this.out(JSON.stringify({ ok: true, results: [] }));
      else info(this.context.stderr, 'no services configured: add one with `janee add`');
      return 0;
    }
    const gate = await this.openGate(await this.vaultFile(config));
    let results: TestResult[];
    try {
      results = await Promise.all(services.map((svc) => this.testOne(gate, svc)));
    } finally {
      await gate.close();
    }
    const ok = results.every((r) => r.ok);
    if (this.json) {
      this.out(JSON.stringify({ ok, results }));
    } else {
      const width = Math.max(...results.map((r) => r.service.length));
      for (const r of results) {
        this.out(clean(`${r.service.padEnd(width)}  ${r.ok ? 'ok    ' : 'FAILED'}  ${r.path ? `GET ${r.path}: ` : ''}${r.message}`));
        if (r.hint) this.out(clean(`${' '.repeat(width)}  fix: ${r.hint}`));
      }
    }
    return ok ? 0 : 1;
  }

  async testOne(gate: Gate, svc: ServiceConfig): Promise<TestResult> {
    const path = pickTestPath(svc);
    if (path === undefined) {
      return {
        service: svc.name,
        path: null,
        status: null,
        outcome: 'no_test_path',
        ok: false,
        message: 'no test path',
        hint: `add one with \`janee edit ${svc.name} --test-path /…\``,
      };
    }
    try {
      const res = await gate.execute({ service: svc.name, method: 'GET', path, reason: 'janee test' }, TEST_CALLER);
      return { service: svc.name, path, status: res.status, ...classifyStatus(svc.name, path, res.status) };
    } catch (e) {
      return { service: svc.name, path, status: null, ...classifyError(svc.name, e) };
    }
  }

  /** The unlocked agent for this vault, else the vault opened in-process (may prompt). */
  async openGate(vaultFile: string): Promise<Gate> {
    const stderr = this.context.stderr;
    const common = { configFile: this.configFile, auditDir: auditDir(), killswitchFile: killswitchPath() };
    const socketPath = agentSocketPath(vaultFile);
    const agentGate = new AgentGate({
      socketPath,
      vaultFile,
      // Only reached if the agent goes away between the probe and a call: the call is refused as locked, and audited.
      fallback: () => new LocalGate({ ...common, secrets: undefined }),
    });
    const hello = await agentGate.probe().catch((e: unknown) => {
      if (e instanceof JaneeError) info(stderr, `not using the agent: ${e.message}${e.hint ? ` (${e.hint})` : ''}`);
      return undefined;
    });
    if (hello?.state === 'unlocked') {
      if (hello.config !== this.configFile) info(stderr, `note: the agent uses ${hello.config}, this command reads ${this.configFile}`);
      return agentGate;
    }
    await agentGate.close();
    const vault = await unlockWithPassphrase(this.io, vaultFile, { passphraseStdin: this.passphraseStdin });
    // VaultSecrets owns the file key from here (wiped by gate.close()).
    return new LocalGate({ ...common, secrets: new VaultSecrets(vaultFile, vault.fileKey, vault.data) });
  }
}
