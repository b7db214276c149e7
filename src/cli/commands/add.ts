import { Command, Option } from 'clipanion';
import { isMap } from 'yaml';
import { JaneeError, usageError } from '../../errors.js';
import {
  addServiceNode,
  editConfig,
  hasService,
  serviceDifferingInCase,
  removeServiceNode,
  undoConfigEdit,
  type NewService,
} from '../../config/edit.js';
import { parseAuthText, parseConfigText, readConfigText, parseRateLimit, SERVICE_NAME, testPathError } from '../../config/load.js';
import { AUTH_TYPES, type AuthSpec, type ServiceConfig } from '../../config/types.js';
import { AUTH_FLAG_NAMES, type OAuth2Auth } from '../../auth/types.js';
import { tokenUrlProblem } from '../../auth/config.js';
import { tokenOrigins } from '../../auth/mint/oauth2.js';
import { parseBaseUrl } from '../../config/url.js';
import { isValidFieldValue } from '../../vault/payload.js';
import type { VaultEntry } from '../../vault/types.js';
import { JaneeCommand, jsonOption, passphraseStdinOption } from '../base.js';
import { clean, info, warn, type Streams } from '../io.js';
import { keyOptions, keyReader, secretFields } from '../key-input.js';
import { fieldFileOption, fieldsReader, isMultiField } from '../auth-input.js';
import { readStdinLine } from '../passphrase.js';
import { findTemplate, similarTemplateNames, TEMPLATES, type Template } from '../templates.js';
import { openVaultAccess } from '../vault-ops.js';
import { serviceJson } from '../json-shapes.js';

interface ServiceToAdd extends NewService {
  testPath?: string;
  /** For basic auth: goes into the vault entry, not config.yaml. */
  username?: string;
  template?: Template;
}

export class AddCommand extends JaneeCommand {
  static override paths = [['add']];
  static override usage = Command.Usage({
    description: 'Add a service to config.yaml and its secret to the vault',
    details: `
      The secret is bound to the origin of --base-url: janee will never send it anywhere else.
      With a NAME from the built-in catalogue (\`janee templates\`) and no --base-url, the base URL, auth type, a read-only starting policy and a test path come from the template; any flag given overrides its value. Use --template to pick a template under another name or with your own --base-url (e.g. GitHub Enterprise).
      With no arguments in a terminal, the questions are asked step by step.
      Without any --policy the agent may call any method on any path under the base URL.
      With no --key, --key-stdin or --key-from-env, the key is asked for without echo on the terminal (after the vault passphrase, when one is needed).
      --key puts the key in argv, where other processes and shell history can see it. With --key-from-env VAR, set VAR for this command only (\`VAR=… janee add …\`): an exported variable reaches every program started from that shell.
    `,
    examples: [
      ['From the catalogue, key prompted', 'janee add github'],
      ['A template with your own base URL', 'janee add ghe --template github --base-url https://ghe.example.com/api/v3'],
      ['Bearer token, prompted', 'janee add stripe --base-url https://api.stripe.com --auth bearer'],
      ['Key from a file', 'janee add github --base-url https://api.github.com --auth bearer --key-stdin < token.txt'],
      ['Key from a variable', 'GH_TOKEN=… janee add github --key-from-env GH_TOKEN'],
      [
        'Header auth with policies',
        "janee add openai --base-url https://api.openai.com --auth header --header Authorization --policy 'POST /v1/chat/completions'",
      ],
      [
        'AWS SigV4, key id and secret prompted',
        "janee add s3 --base-url https://my-bucket.s3.eu-west-1.amazonaws.com --auth '{ type: aws-sigv4, region: eu-west-1, service: s3 }'",
      ],
      [
        'GitHub App, private key from its file',
        "janee add gh-app --base-url https://api.github.com --auth '{ type: github-app, appId: 123456, installationId: 7890123 }' --field-file privateKey=app.pem",
      ],
      ['Step by step', 'janee add'],
    ],
  });

  name = Option.String({ name: 'name', required: false });
  template = Option.String('--template', {
    description: 'Fill base URL, auth, policies and test path from a built-in template (see `janee templates`)',
  });
  baseUrl = Option.String('--base-url', { description: "The API base URL, e.g. https://api.stripe.com (default: the template's)" });
  auth = Option.String('--auth', {
    description:
      "bearer | basic | header | query | oauth1a | hmac-bybit | hmac-okx | hmac-mexc, or a whole auth block: '{ type: aws-sigv4, region: us-east-1, service: s3 }' (see docs/auth.md; default: the template's, else bearer)",
  });
  fieldFile = fieldFileOption();
  authorize = Option.String('--authorize', {
    description:
      "The provider's authorization URL: for --auth oauth2 with grant refresh_token, get the refresh token by the authorization-code flow with PKCE (prints a URL to open in a browser; see docs/auth.md)",
  });
  key = keyOptions().key;
  keyStdin = keyOptions().keyStdin;
  keyFromEnv = keyOptions().keyFromEnv;
  username = Option.String('--username', { description: 'User name for --auth basic (the key is the password)' });
  header = Option.String('--header', { description: 'Header name for --auth header' });
  param = Option.String('--param', { description: 'Query parameter name for --auth query' });
  policy = Option.Array('--policy', {
    description: "Allow rule, e.g. 'GET /v1/charges' or 'GET,POST /v1/customers' (replaces the template's rules)",
  });
  deny = Option.Array('--deny', { description: "Deny rule, e.g. 'DELETE /v1/customers'" });
  rateLimit = Option.String('--rate-limit', { description: 'e.g. 60/min' });
  testPath = Option.String('--test-path', {
    description: "A path `janee test` GETs to check the key, e.g. /v1/me (default: the template's)",
  });
  passphraseStdin = passphraseStdinOption();
  json = jsonOption();
  /** Set by the step-by-step questions when the user declines a template's rules. */
  private noTemplateRules = false;

  async run(): Promise<number> {
    if (this.name === undefined) await this.askStepByStep();
    const svc = this.describeService();
    const origin = parseBaseUrl(svc.baseUrl).origin;
    // An oauth2 token URL gets the client secret and refresh token: bound with the API's origin.
    const origins = [...new Set([origin, ...tokenOrigins(svc.auth)])];
    const authorizeUrl = this.authorizeUrl(svc.auth);
    const configFile = this.configFile;

    // Check config.yaml first: a bad or duplicate entry must fail before the vault changes.
    const before = await readConfigText(configFile);
    const beforeDoc = before === undefined ? undefined : parseConfigText(configFile, before).doc;
    if (beforeDoc !== undefined && hasService(beforeDoc, svc.name)) {
      throw new JaneeError(
        'CONFIG_DUPLICATE',
        `service "${svc.name}" already exists in config.yaml`,
        `pick another name; change its secret with \`janee set ${svc.name}\` or its rules with \`janee edit ${svc.name}\`; or run \`janee remove ${svc.name}\` first`,
      );
    }
    // `Stripe` beside `stripe`: two secrets, two bindings, two kill switches that a human
    // (and the agent choosing a service) tells apart by case alone.
    const twin = beforeDoc === undefined ? undefined : serviceDifferingInCase(beforeDoc, svc.name);
    if (twin !== undefined) {
      throw new JaneeError(
        'CONFIG_DUPLICATE',
        `service "${svc.name}" differs from "${twin}" in config.yaml only in case`,
        `pick a name that differs in more than case, or change "${twin}" with \`janee set ${twin}\` / \`janee edit ${twin}\``,
      );
    }
    const vaultFile = await this.vaultFile();
    const readFields = isMultiField(svc.auth)
      ? fieldsReader(this.io, this, svc.auth, svc.name, authorizeUrl === undefined ? [] : ['refreshToken'])
      : (
          (readKey) => async () =>
            secretFields(svc.auth, svc.username, await readKey())
        )(keyReader(this.io, this, () => this.keyPrompt(svc.auth)));
    // An unlocked agent for this vault does the write: no passphrase needed. Without
    // one, the passphrase is asked and the vault unlocked *before* the secret and
    // before touching config.yaml: an interrupted prompt or a wrong passphrase
    // changes nothing and loses nothing typed.
    const vault = await openVaultAccess(this.io, vaultFile, { sendsSecret: true, passphraseStdin: this.passphraseStdin });
    let fields: Record<string, string> = {};
    let added: ServiceConfig | undefined;
    try {
      fields = await readFields();
      if (authorizeUrl !== undefined && svc.auth.type === 'oauth2') {
        fields.refreshToken = await authorizeInBrowser(this.context.stderr, authorizeUrl, svc.auth, fields);
      }
      const now = new Date().toISOString();
      const entry: VaultEntry = { fields, origins, created: now, updated: now };
      // Config first: its old bytes can be put back exactly if the vault write fails.
      const edit = await editConfig(configFile, (doc) => {
        addServiceNode(doc, svc);
        const node = doc.getIn(['services', svc.name], true);
        if (svc.testPath !== undefined && isMap(node)) node.set('testPath', svc.testPath);
      });
      try {
        await vault.put(svc.name, entry);
      } catch (e) {
        await undoConfigEdit(configFile, edit, (doc) => removeServiceNode(doc, svc.name));
        throw e;
      }
      added = edit.config.services.get(svc.name);
    } finally {
      vault.close();
      for (const k of Object.keys(fields)) fields[k] = '';
    }
    const stderr = this.context.stderr;
    info(stderr, `added ${svc.name} (secret bound to ${origins.join(', ')})${vault.via}`);
    const t = svc.template;
    if (t) {
      const n = svc.policies?.length ?? 0;
      const whose = this.policy === undefined ? ` from the ${t.name} template${this.deny ? ' and your --deny' : ''}` : '';
      info(stderr, `policy: ${n} rule${n === 1 ? '' : 's'}${whose}${svc.testPath ? `; test path ${svc.testPath}` : ''}`);
      if (t.note) info(stderr, `note: ${t.note}`);
    } else if (this.baseUrl !== undefined && findTemplate(svc.name)) {
      info(
        stderr,
        `note: "${svc.name}" is also a built-in template; \`--template ${svc.name.toLowerCase()}\` fills its auth, read-only policy and test path`,
      );
    }
    if (svc.policies === undefined) {
      warn(stderr, `${svc.name} has no allow rules: the agent may now call any method on any path under ${svc.baseUrl}`);
      info(stderr, `limit it with \`janee edit ${svc.name} --policy 'GET /path'\` or a \`policies:\` list in config.yaml`);
    }
    if (this.json) {
      // Names and rules only: the secret (and a basic-auth user name) stay out.
      this.outJson({ ...serviceJson(added as ServiceConfig), origins, template: svc.template?.name ?? null, via: vault.where });
    }
    return 0;
  }

  /** --authorize's URL, checked: only for an oauth2 refresh_token block. */
  private authorizeUrl(auth: AuthSpec): string | undefined {
    if (this.authorize === undefined) return undefined;
    if (auth.type !== 'oauth2' || auth.grant !== 'refresh_token')
      throw usageError('--authorize is for --auth oauth2 with grant: refresh_token', `e.g. --auth '${AUTH_EXAMPLES.oauth2PKCE}'`);
    let u: URL;
    try {
      u = new URL(this.authorize);
    } catch {
      throw usageError("--authorize wants the provider's authorization URL", 'e.g. --authorize https://auth.example.com/oauth/authorize');
    }
    if (tokenUrlProblem(u.toString()) !== undefined || u.hash !== '')
      throw usageError('--authorize wants an https URL (http only to a loopback host), without a #fragment');
    return u.toString();
  }

  /** --template, else a NAME from the catalogue when no --base-url says otherwise. */
  private chosenTemplate(name: string): Template | undefined {
    if (this.template !== undefined) {
      const t = findTemplate(this.template);
      if (!t) throw usageError(`unknown template "${clean(this.template).slice(0, 40)}"`, didYouMean(this.template));
      return t;
    }
    if (this.baseUrl !== undefined) return undefined;
    const t = findTemplate(name);
    if (!t) throw usageError(`"${name}" is not a built-in template and no --base-url was given`, didYouMean(name, true));
    return t;
  }

  private describeService(): ServiceToAdd {
    const name = this.name as string;
    if (!SERVICE_NAME.test(name))
      throw usageError(`invalid service name "${clean(name).slice(0, 70)}"`, 'use 1-64 letters, digits, "_", "." or "-"');
    const tpl = this.chosenTemplate(name);
    const tAuth = tpl?.auth;
    const block = authFlagBlock(this.auth);
    const type = block?.type ?? this.auth ?? tAuth?.type ?? 'bearer';
    if (!(AUTH_TYPES as readonly string[]).includes(type))
      throw usageError(`unknown auth type "${clean(type).slice(0, 40)}"`, `use one of: ${AUTH_TYPES.join(', ')}`);
    const header = this.header ?? (tAuth?.type === 'header' && type === 'header' ? tAuth.name : undefined);
    const param = this.param ?? (tAuth?.type === 'query' && type === 'query' ? tAuth.param : undefined);
    const username = this.username ?? (tAuth?.type === 'basic' && type === 'basic' ? tpl?.username : undefined);
    let auth: AuthSpec;
    if (block) auth = block;
    else if (this.auth === undefined && tAuth && isMultiField(tAuth)) auth = tAuth;
    else if (type === 'header') {
      if (!header) throw usageError('--auth header needs --header NAME', 'e.g. --header X-Api-Key');
      auth = { type, name: header };
    } else if (type === 'query') {
      if (!param) throw usageError('--auth query needs --param NAME', 'e.g. --param api_key');
      auth = { type, param };
    } else if (type === 'bearer' || type === 'basic' || type === 'oauth1a') auth = { type };
    else
      throw usageError(
        `--auth ${type} needs its settings as a block`,
        `e.g. --auth '${AUTH_EXAMPLES[type] ?? `{ type: ${type}, … }`}' (see docs/auth.md)`,
      );
    if (!isMultiField(auth) && this.fieldFile !== undefined) throw usageError(`--field-file is not used by --auth ${auth.type}`);
    if (type !== 'basic' && this.username !== undefined) throw usageError('--username is only for --auth basic');
    if (type === 'basic' && !username) {
      throw tpl?.usernameLabel
        ? usageError(
            `${tpl.title} needs --username: the ${tpl.usernameLabel}`,
            'the key (the password) is asked for or read with --key-stdin',
          )
        : usageError('--auth basic needs --username', 'the key is the password');
    }
    if (username !== undefined && (!isValidFieldValue(username) || username.includes(':')))
      throw usageError('--username must not contain ":" or control characters');
    if (this.baseUrl === undefined && tpl?.baseUrlRequired) {
      throw usageError(`${tpl.title} has a base URL per account: give --base-url`, `e.g. --base-url ${tpl.baseUrl}`);
    }
    const baseUrl = parseBaseUrl(this.baseUrl ?? (tpl as Template).baseUrl).baseUrl;
    const svc: ServiceToAdd = {
      name,
      baseUrl,
      auth,
      ...(tpl ? { template: tpl } : {}),
      ...(type === 'basic' && username !== undefined ? { username } : {}),
    };
    // --policy replaces the template's allow rules; --deny adds to them.
    const allow =
      this.policy?.map((r) => parseRuleFlag(r, false)) ??
      (tpl && !this.noTemplateRules ? tpl.policies.map((p) => ({ path: p.path, methods: [...p.methods] })) : undefined);
    const deny = this.deny?.map((r) => parseRuleFlag(r, true));
    if (allow !== undefined || deny !== undefined) svc.policies = [...(allow ?? []), ...(deny ?? [])];
    const testPath = this.testPath ?? tpl?.testPath;
    if (testPath !== undefined) {
      const problem = testPathError(testPath, baseUrl);
      if (problem)
        throw usageError(
          `invalid test path "${clean(testPath).slice(0, 70)}": ${problem}`,
          'give a plain path under the base URL, e.g. --test-path /v1/me',
        );
      svc.testPath = testPath;
    }
    if (this.rateLimit !== undefined) {
      if (!parseRateLimit(this.rateLimit))
        throw usageError(`invalid --rate-limit "${this.rateLimit}"`, 'use N/sec, N/min, N/hour or N/day');
      svc.rateLimit = this.rateLimit;
    }
    return svc;
  }

  /**
   * `janee add` with no arguments in a terminal: asks what the flags would say
   * and fills them in, so the checks after are the same as for flags. Nothing is
   * written before the last answer (and the secret) are in.
   */
  private async askStepByStep(): Promise<void> {
    const io = this.io;
    if (!io.stdin.isTTY || !io.stderr.isTTY) {
      throw usageError(
        'missing service name',
        'run `janee add NAME --base-url URL` (`janee templates` lists built-in APIs), or `janee add` in a terminal to be asked step by step',
      );
    }
    const stderr = io.stderr;
    info(stderr, 'adding a service step by step (Ctrl-C stops; nothing is written before the end)');
    let tpl: Template | undefined;
    for (;;) {
      const answer = await ask(io, 'template (e.g. github; ? lists them; empty for another API): ');
      if (answer === '') break;
      if (answer === '?') {
        stderr.write(`${TEMPLATES.map((t) => t.name).join(' ')}\n`);
        continue;
      }
      tpl = findTemplate(answer);
      if (tpl) break;
      warn(stderr, `no template "${clean(answer).slice(0, 40)}"; ${didYouMean(answer)}`);
    }
    this.template = tpl?.name;
    this.name = await askValid(io, `service name${tpl ? ` [${tpl.name}]` : ''}: `, tpl?.name, (v) =>
      SERVICE_NAME.test(v) ? undefined : 'use 1-64 letters, digits, "_", "." or "-"',
    );
    const defaultBase = tpl && !tpl.baseUrlRequired ? tpl.baseUrl : undefined;
    this.baseUrl = await askValid(
      io,
      `base URL${defaultBase ? ` [${defaultBase}]` : tpl ? ` (e.g. ${tpl.baseUrl})` : ' (e.g. https://api.example.com)'}: `,
      defaultBase,
      (v) => {
        try {
          parseBaseUrl(v);
          return undefined;
        } catch (e) {
          return (e as Error).message;
        }
      },
    );
    if (!tpl) {
      this.auth = await askValid(io, `auth type (${AUTH_FLAG_NAMES.join(', ')}) [bearer]: `, 'bearer', (v) =>
        AUTH_FLAG_NAMES.includes(v)
          ? undefined
          : `use one of: ${AUTH_FLAG_NAMES.join(', ')} (the others: janee add NAME --auth '{ type: … }', see docs/auth.md)`,
      );
      if (this.auth === 'header')
        this.header = await askValid(io, 'header name (e.g. X-Api-Key): ', undefined, (v) =>
          /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(v) ? undefined : 'not a valid HTTP header name',
        );
      if (this.auth === 'query')
        this.param = await askValid(io, 'query parameter name (e.g. api_key): ', undefined, (v) =>
          /^[A-Za-z0-9_.~-]+$/.test(v) ? undefined : 'use letters, digits, "_", ".", "~" or "-"',
        );
    }
    if ((this.auth ?? tpl?.auth.type) === 'basic' && tpl?.username === undefined) {
      this.username = await askValid(io, `user name${tpl?.usernameLabel ? ` (${tpl.usernameLabel})` : ''}: `, undefined, (v) =>
        isValidFieldValue(v) && !v.includes(':') ? undefined : 'no ":" or control characters',
      );
    }
    if (tpl) {
      stderr.write(`the ${tpl.name} template allows only:\n${tpl.policies.map((p) => `  ${p.methods.join(',')} ${p.path}`).join('\n')}\n`);
      if (tpl.note) info(stderr, `note: ${tpl.note}`);
      const keep = await askValid(io, 'keep these rules? [Y/n]: ', 'y', (v) => (/^(y|yes|n|no)$/i.test(v) ? undefined : 'answer y or n'));
      if (/^y/i.test(keep)) return;
    }
    info(
      stderr,
      "allow rules, one per line, e.g. 'GET /v1/charges' or 'GET,POST /v1/customers'; an empty line ends (no rules: the agent may call anything)",
    );
    const rules: string[] = [];
    for (;;) {
      const rule = await askValid(io, 'rule: ', '', (v) => {
        if (v === '') return undefined;
        try {
          parseRuleFlag(v, false);
          return undefined;
        } catch (e) {
          return (e as Error).message;
        }
      });
      if (rule === '') break;
      rules.push(rule);
    }
    this.noTemplateRules = true;
    if (rules.length > 0) this.policy = rules;
  }

  private keyPrompt(auth: AuthSpec): string {
    const label = this.template
      ? findTemplate(this.template)?.secretLabel
      : this.baseUrl === undefined
        ? findTemplate(this.name as string)?.secretLabel
        : undefined;
    return `${auth.type === 'basic' ? 'password' : 'secret'} for ${this.name as string}${label ? ` (${label})` : ''}: `;
  }
}

/** The original Janee's type names for the HMAC presets. */
const AUTH_ALIASES: Record<string, AuthSpec> = {
  'hmac-bybit': { type: 'hmac', preset: 'bybit' },
  'hmac-okx': { type: 'hmac', preset: 'okx' },
  'hmac-mexc': { type: 'hmac', preset: 'mexc' },
};

const AUTH_EXAMPLES: Record<string, string> = {
  headers: '{ type: headers, headers: { X-Api-Id: apiId, X-Api-Key: apiKey } }',
  'aws-sigv4': '{ type: aws-sigv4, region: us-east-1, service: s3 }',
  hmac: '{ type: hmac, preset: bybit }',
  oauth2: '{ type: oauth2, grant: client_credentials, tokenUrl: https://auth.example.com/oauth/token }',
  oauth2PKCE: '{ type: oauth2, grant: refresh_token, tokenUrl: https://auth.example.com/oauth/token, scopes: [offline_access] }',
  'github-app': '{ type: github-app, appId: 123456, installationId: 7890123 }',
  'google-service-account': '{ type: google-service-account, scopes: [https://www.googleapis.com/auth/calendar.readonly] }',
};

/** --auth as a block (`{ … }`) or a preset alias; undefined for a plain type name. */
function authFlagBlock(flag: string | undefined): AuthSpec | undefined {
  if (flag === undefined) return undefined;
  if (Object.hasOwn(AUTH_ALIASES, flag)) return AUTH_ALIASES[flag];
  return flag.trimStart().startsWith('{') ? parseAuthText(flag) : undefined;
}

/** 'GET /v1/charges', 'GET,POST /v1/customers', '* /v1' → a policy rule. */
export function parseRuleFlag(raw: string, deny: boolean): { path: string; methods: string[]; deny?: boolean } {
  const m = /^\s*([A-Za-z*]+(?:\s*[,|]\s*[A-Za-z*]+)*)\s+(\/\S*)\s*$/.exec(raw);
  if (!m) throw usageError(`invalid rule "${raw}"`, "write rules as 'METHOD /path', e.g. 'GET /v1/charges' or 'GET,POST /v1/customers'");
  const methods = (m[1] as string).split(/\s*[,|]\s*/).map((s) => s.toUpperCase());
  return deny ? { path: m[2] as string, methods, deny: true } : { path: m[2] as string, methods };
}

function didYouMean(word: string, orBaseUrl = false): string {
  const close = similarTemplateNames(word);
  const also = orBaseUrl ? '; for another API give --base-url URL' : '';
  return close.length > 0
    ? `did you mean ${close.join(', ')}? (\`janee templates\` lists them all${also})`
    : `\`janee templates\` lists the built-in APIs${also}`;
}

/** One visible line from the terminal, trimmed; EOF (Ctrl-D) cancels. */
async function ask(io: Streams, prompt: string): Promise<string> {
  io.stderr.write(prompt);
  const line = Buffer.from(await readStdinLine(io.stdin))
    .toString('utf8')
    .trim();
  if (line === '' && (io.stdin as { readableEnded?: boolean }).readableEnded)
    throw new JaneeError('CANCELLED', 'cancelled', undefined, 130);
  return line;
}

/** Asks until `check` accepts the answer; an empty answer takes `dflt` when there is one. */
async function askValid(io: Streams, prompt: string, dflt: string | undefined, check: (v: string) => string | undefined): Promise<string> {
  for (;;) {
    const answer = (await ask(io, prompt)) || (dflt ?? '');
    const problem = answer === '' && dflt === undefined ? 'an answer is needed' : check(answer);
    if (problem === undefined) return answer;
    warn(io.stderr, clean(problem));
  }
}

/**
 * `--authorize`: the authorization-code flow with PKCE on a loopback redirect
 * (src/auth/mint/authorize.ts). The URL to open goes to stderr; the refresh token
 * comes back to be stored, never shown.
 */
async function authorizeInBrowser(
  stderr: Streams['stderr'],
  authorizeUrl: string,
  auth: OAuth2Auth,
  fields: Record<string, string>,
): Promise<string> {
  const [{ authorizeWithPkce }, { Forwarder }] = await Promise.all([
    import('../../auth/mint/authorize.js'),
    import('../../gate/forward.js'),
  ]);
  const http = new Forwarder();
  try {
    const got = await authorizeWithPkce({
      authorizeUrl,
      tokenUrl: auth.tokenUrl,
      clientId: fields.clientId ?? '',
      clientSecret: fields.clientSecret,
      clientAuth: auth.clientAuth,
      scopes: auth.scopes,
      audience: auth.audience,
      http,
      onUrl: (url) => {
        info(stderr, 'open this URL in a browser and approve the access (waiting up to 5 minutes):');
        stderr.write(`${url}\n`);
      },
    });
    info(stderr, 'authorized: got a refresh token');
    return got.refreshToken;
  } finally {
    await http.close();
  }
}
