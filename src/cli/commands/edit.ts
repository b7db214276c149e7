/**
 * `janee edit NAME`: change a service's rules (allow and deny rules, rate limit,
 * test path) in config.yaml without removing it. config.yaml only: no passphrase,
 * and the secret is not touched (`janee set` replaces that). Comments and every
 * other service stay byte-identical (config/edit.ts).
 */
import { Command, Option } from 'clipanion';
import { editConfig, editServiceNode, hasService, type RulesChange } from '../../config/edit.js';
import { parseConfigText, parseRateLimit, readConfigText, testPathError } from '../../config/load.js';
import type { ServiceConfig } from '../../config/types.js';
import { JaneeError, usageError } from '../../errors.js';
import { JaneeCommand, jsonOption } from '../base.js';
import { clean, info, warn } from '../io.js';
import { serviceJson } from '../json-shapes.js';
import { parseRuleFlag } from './add.js';

export class EditCommand extends JaneeCommand {
  static override paths = [['edit']];
  static override usage = Command.Usage({
    description: "Change a service's rules in config.yaml (allow and deny rules, rate limit, test path)",
    details: `
      --policy replaces the allow rules and --deny replaces the deny rules (each keeps the other kind); --clear-policies drops every rule first. With no rule left the agent may call any method on any path under the base URL.
      Only config.yaml changes: no passphrase is needed, and the secret stays as it is (\`janee set\` replaces it).
    `,
    examples: [
      ['Allow two endpoints only', "janee edit stripe --policy 'GET /v1/charges' --policy 'GET,POST /v1/customers'"],
      ['Forbid deletes, keep the allow rules', "janee edit stripe --deny 'DELETE /**'"],
      ['Change the rate limit', 'janee edit stripe --rate-limit 30/min'],
      ['No rate limit', 'janee edit stripe --rate-limit none'],
    ],
  });

  name = Option.String({ name: 'name' });
  policy = Option.Array('--policy', { description: "Allow rule, e.g. 'GET /v1/charges' (all --policy given replace the allow rules)" });
  deny = Option.Array('--deny', { description: "Deny rule, e.g. 'DELETE /v1/customers' (all --deny given replace the deny rules)" });
  clearPolicies = Option.Boolean('--clear-policies', false, { description: 'Drop every rule (then add any --policy / --deny given)' });
  rateLimit = Option.String('--rate-limit', { description: 'e.g. 60/min, or none' });
  testPath = Option.String('--test-path', { description: 'A path `janee test` GETs to check the key, e.g. /v1/me, or none' });
  json = jsonOption();

  async run(): Promise<number> {
    const change: RulesChange = {};
    if (this.clearPolicies) change.clearPolicies = true;
    if (this.policy) change.allow = this.policy.map((r) => parseRuleFlag(r, false));
    if (this.deny) change.deny = this.deny.map((r) => parseRuleFlag(r, true));
    if (this.rateLimit !== undefined) {
      if (this.rateLimit === 'none') change.rateLimit = null;
      else if (!parseRateLimit(this.rateLimit))
        throw usageError(`invalid --rate-limit "${clean(this.rateLimit).slice(0, 40)}"`, 'use N/sec, N/min, N/hour or N/day, or none');
      else change.rateLimit = this.rateLimit;
    }
    if (Object.keys(change).length === 0 && this.testPath === undefined) {
      throw usageError(
        'nothing to change',
        'give --policy, --deny, --clear-policies, --rate-limit or --test-path (see `janee edit --help`)',
      );
    }
    const configFile = this.configFile;
    const text = await readConfigText(configFile);
    if (text === undefined || !hasService(parseConfigText(configFile, text).doc, this.name)) {
      const name = clean(this.name).slice(0, 70);
      throw new JaneeError(
        'NOT_FOUND',
        `no service named "${name}" in config.yaml`,
        `add it with \`janee add ${name} …\` (see \`janee list\`)`,
      );
    }
    if (this.testPath !== undefined) {
      if (this.testPath === 'none') change.testPath = null;
      else {
        const baseUrl = (await this.config()).services.get(this.name)?.baseUrl ?? '';
        const problem = testPathError(this.testPath, baseUrl);
        if (problem !== undefined) throw usageError(`invalid --test-path "${clean(this.testPath).slice(0, 70)}": ${problem}`);
        change.testPath = this.testPath;
      }
    }
    const { config } = await editConfig(configFile, (doc) => editServiceNode(doc, this.name, change));
    const svc = config.services.get(this.name) as ServiceConfig;
    info(this.context.stderr, `edited ${svc.name} in config.yaml; its secret is unchanged`);
    if (this.json) this.outJson(serviceJson(svc));
    else for (const line of describeRules(svc)) this.out(clean(line));
    if (svc.policies === undefined)
      warn(this.context.stderr, `${svc.name} has no rules: the agent may call any method on any path under ${svc.baseUrl}`);
    return 0;
  }
}

/** The rules of `svc` as lines for the terminal. */
function describeRules(svc: ServiceConfig): string[] {
  const lines = [`${svc.name}  ${svc.baseUrl}`];
  if (svc.policies === undefined) lines.push('  any request (no rules)');
  else if (svc.policies.length === 0) lines.push('  no request (an empty rule list)');
  for (const p of svc.policies ?? []) lines.push(`  ${p.deny ? 'deny ' : 'allow'} ${p.methods.join(',')} ${p.path}`);
  lines.push(`  rate limit: ${svc.rateLimit?.text ?? 'none'}`);
  if (svc.testPath !== undefined) lines.push(`  test path: ${svc.testPath}`);
  return lines;
}
