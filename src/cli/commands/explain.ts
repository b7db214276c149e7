/**
 * `janee explain SERVICE METHOD PATH`: which rule allows or blocks a request, as
 * the gate would decide it now — same normalisation, same policy evaluation, same
 * kill switch file — without the vault (so without a passphrase) and without
 * sending anything. Exit status like grep: 0 allowed, 1 blocked, 2 usage error or
 * a config.yaml that cannot be read.
 */
import { Command, Option } from 'clipanion';
import type { Document, LineCounter } from 'yaml';
import { JaneeError } from '../../errors.js';
import { killswitchPath } from '../../config/paths.js';
import type { ServiceConfig } from '../../config/types.js';
import { describeKillState, isKilled, readKillswitch, type KillState } from '../../gate/killswitch.js';
import { describeBlocked, describeRule, evaluatePolicies, normalizeMethod, normalizeRequestTarget } from '../../policy/index.js';
import { JaneeCommand, jsonOption } from '../base.js';
import { clean } from '../io.js';

type Verdict = 'allowed' | 'blocked' | 'malformed' | 'unknown_service' | 'killed';

interface Explanation {
  service: string;
  verdict: Verdict;
  /** Normalised method and path, as matched and sent; undefined when malformed. */
  method: string | undefined;
  path: string | undefined;
  /** Why it is malformed (the gate's GATE_BAD_REQUEST message). */
  malformed: string | undefined;
  /** The rule that decided: "allow GET /v1/charges", "deny * /v1/admin", "no matching policy", "no policies: key (any request)". */
  rule: string | undefined;
  /** Index of that rule in services.NAME.policies, when a rule decided. */
  ruleIndex: number | undefined;
  /** The deny rule that matched, if one did. */
  denyRule: string | undefined;
  killed: boolean;
  /** What the kill switch blocks now ("nothing", "stripe", "everything"). */
  killswitch: string;
  rateLimit: string | undefined;
  /** What the agent is told when the gate refuses this request. */
  agentMessage: string | undefined;
  /** The rule says `approve: true`: the call would wait for a human (docs/approvals.md). */
  approve: boolean;
}

const NO_POLICIES = 'no policies: key (any request is allowed)';

/**
 * The gate's decision for one request, step by step (pure). Order as in the
 * gate: kill switch, service, normalisation, policy. Each step is still reported
 * after an earlier one refused, so one run shows everything that stands in the way.
 */
function explainRequest(
  serviceName: string,
  svc: ServiceConfig | undefined,
  kill: KillState,
  rawMethod: string,
  rawPath: string,
): Explanation {
  const killed = isKilled(kill, serviceName);
  const out: Explanation = {
    service: serviceName,
    verdict: 'allowed',
    method: undefined,
    path: undefined,
    malformed: undefined,
    rule: undefined,
    ruleIndex: undefined,
    denyRule: undefined,
    killed,
    killswitch: describeKillState(kill),
    rateLimit: svc?.rateLimit?.text,
    agentMessage: undefined,
    approve: false,
  };
  try {
    out.method = normalizeMethod(rawMethod);
    out.path = normalizeRequestTarget(rawPath).path;
  } catch (e) {
    if (!(e instanceof JaneeError)) throw e;
    out.malformed = e.message;
    out.method = undefined;
    out.path = undefined;
  }
  if (svc !== undefined && out.method !== undefined && out.path !== undefined) {
    const d = evaluatePolicies(svc.policies, out.method, out.path);
    if (svc.policies === undefined) {
      out.rule = NO_POLICIES;
    } else {
      out.rule = d.rule;
      const i = svc.policies.findIndex((r) => describeRule(r) === d.rule);
      out.ruleIndex = i < 0 ? undefined : i;
      if (d.rule?.startsWith('deny ') === true) out.denyRule = d.rule;
    }
    out.approve = d.approve === true;
    if (!d.allowed) {
      out.verdict = 'blocked';
      out.agentMessage = describeBlocked(svc.name, out.method, out.path, svc.policies, d);
    }
  }
  if (out.malformed !== undefined) {
    out.verdict = 'malformed';
    out.agentMessage = out.malformed;
  }
  if (svc === undefined) {
    out.verdict = 'unknown_service';
    out.agentMessage = `unknown service "${serviceName.slice(0, 100)}"`;
  }
  if (killed) {
    out.verdict = 'killed';
    out.agentMessage = `kill switch is on${kill.all ? '' : ` for ${serviceName}`}: every call is blocked`;
  }
  return out;
}

/** config.yaml line of services.NAME.policies[i], when the document has one. */
function ruleLine(doc: Document.Parsed, lines: LineCounter, service: string, index: number): number | undefined {
  const node = doc.getIn(['services', service, 'policies', index], true) as { range?: [number, number, number] } | undefined;
  const offset = node?.range?.[0];
  return offset === undefined ? undefined : lines.linePos(offset).line;
}

const VERDICT_TEXT: Record<Verdict, string> = {
  allowed: 'allowed',
  blocked: 'blocked by policy',
  malformed: 'refused as malformed',
  unknown_service: 'refused: not a service in config.yaml',
  killed: 'blocked by the kill switch',
};

export class ExplainCommand extends JaneeCommand {
  static override paths = [['explain']];
  static override usage = Command.Usage({
    description: 'Say which rule in config.yaml allows or blocks a request, without sending it',
    details: `
      The method and path are normalised exactly as the gate does it, then checked
      against the kill switch and the service's policies (a deny rule that matches wins
      over every allow rule). Nothing is sent and the vault is not read, so whether the
      secret's origin binding allows the base URL is not checked.

      Exit status: 0 allowed, 1 blocked or refused, 2 usage error or unreadable config.yaml.
    `,
    examples: [
      ['Would this call go through?', 'janee explain stripe POST /v1/charges'],
      ['As JSON', 'janee explain github DELETE /repos/me/x --json'],
    ],
  });

  service = Option.String({ name: 'service' });
  method = Option.String({ name: 'method' });
  requestPath = Option.String({ name: 'path' });
  json = jsonOption();

  async run(): Promise<number> {
    const { readConfigText, parseConfigText, validateConfig } = await import('../../config/load.js');
    const file = this.configFile;
    let parsed;
    let config;
    try {
      const text = await readConfigText(file);
      if (text === undefined)
        throw new JaneeError('CONFIG_MISSING', `${file} does not exist`, 'run `janee init` first (or set JANEE_CONFIG)');
      parsed = parseConfigText(file, text);
      config = validateConfig(parsed, file);
    } catch (e) {
      // No answer is possible: exit 2, so that 1 always means "blocked".
      if (e instanceof JaneeError) throw new JaneeError(e.code, e.message, e.hint, 2);
      throw e;
    }
    const svc = config.services.get(this.service);
    const x = explainRequest(this.service, svc, await readKillswitch(killswitchPath()), this.method, this.requestPath);
    const line = x.ruleIndex === undefined ? undefined : ruleLine(parsed.doc, parsed.lines, this.service, x.ruleIndex);
    const origin = 'not checked (needs the vault)';
    if (this.json) {
      this.out(
        JSON.stringify({
          service: x.service,
          allowed: x.verdict === 'allowed',
          verdict: x.verdict,
          method: x.method ?? null,
          path: x.path ?? null,
          malformed: x.malformed ?? null,
          rule: x.rule ?? null,
          ruleLine: line ?? null,
          denyRule: x.denyRule ?? null,
          killed: x.killed,
          killswitch: x.killswitch,
          rateLimit: x.rateLimit ?? null,
          originBinding: origin,
          agentMessage: x.agentMessage ?? null,
          approve: x.approve,
          knownServices: svc === undefined ? [...config.services.keys()] : undefined,
        }),
      );
    } else {
      const rows: [string, string][] = [];
      if (x.malformed !== undefined) rows.push(['malformed', x.malformed]);
      else if (x.path !== undefined && (x.path !== this.requestPath || x.method !== this.method))
        rows.push(['normalised', `${x.method} ${x.path}`]);
      if (svc === undefined) {
        const names = [...config.services.keys()];
        rows.push([
          'service',
          names.length ? `not in config.yaml (known: ${names.join(', ')})` : 'not in config.yaml (it has no services)',
        ]);
      } else if (x.rule !== undefined) {
        rows.push(['rule', line === undefined ? x.rule : `${x.rule} (${file}:${line})`]);
        if (x.approve) rows.push(['approval', 'each call waits for a human: `janee approve ID` (docs/approvals.md)']);
        rows.push(['deny rule', x.denyRule ?? 'none matched']);
      }
      rows.push([
        'kill switch',
        x.killed ? `blocks it (blocked now: ${x.killswitch})` : `does not block it (blocked now: ${x.killswitch})`,
      ]);
      if (svc !== undefined) rows.push(['rate limit', x.rateLimit ?? 'none']);
      rows.push(['origin binding', origin]);
      if (x.agentMessage !== undefined) rows.push(['agent is told', x.agentMessage]);
      this.out(clean(`${this.service} ${x.method ?? this.method} ${x.path ?? this.requestPath}: ${VERDICT_TEXT[x.verdict]}`));
      for (const [k, v] of rows) this.out(clean(`  ${`${k}:`.padEnd(16)}${v}`));
    }
    return x.verdict === 'allowed' ? 0 : 1;
  }
}
