/**
 * Load and validate config.yaml. This is the only module that parses YAML.
 *
 * config.yaml is plaintext that someone else may edit (a dotfiles repo, a pull
 * request), so validation is strict: unknown keys are errors (a typo must not
 * silently drop a policy), secrets written inline are refused, and every error
 * names the file, the line and the field.
 */
import { readAtMost, TooLargeError } from '../util/bounded.js';
import * as path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type YAMLMap } from 'yaml';
import { JaneeError } from '../errors.js';
import {
  AUTH_TYPES,
  DEFAULT_MAX_RESPONSE_BYTES,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_APPROVAL_TTL_MS,
  DEFAULT_APPROVAL_WAIT_MS,
  type AuthSpec,
  type JaneeConfig,
  type PolicyRule,
  type RateLimit,
  type ServiceConfig,
  type AuditConfig,
} from './types.js';
import { buildUpstreamUrl, normalizePolicyPattern, normalizeRequestTarget } from '../policy/normalize.js';
import { parseBaseUrl } from './url.js';
import { resolvePrograms, validateCommands } from './commands.js';
import { AUTH_BLOCK_KEYS, validateAuthBlock } from '../auth/config.js';

export const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const METHOD_TOKEN = /^(\*|GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS)$/;
/** Keys that mean "a secret is written right here". */
/** Top-level keys of Janee 0.x configs. */
const LEGACY_TOP_LEVEL = new Set(['capabilities', 'masterKey', 'server', 'llm']);
/** Keys that mean "a secret is written here" in a service or its auth block (janee migrate moves them). */
export const INLINE_SECRET_KEYS: ReadonlySet<string> = new Set([
  'key',
  'token',
  'value',
  'secret',
  'password',
  'apikey',
  'api_key',
  'apiKey',
  'credential',
  'credentials',
]);

export interface ParsedConfigFile {
  doc: Document.Parsed;
  lines: LineCounter;
  text: string;
}

/** Far above any config.yaml; a larger file (or a device, or a FIFO) fails at once instead of hanging serve. */
const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

export async function readConfigText(file: string): Promise<string | undefined> {
  try {
    return (await readAtMost(file, MAX_CONFIG_BYTES, { regularOnly: true })).toString('utf8');
  } catch (e) {
    if (e instanceof TooLargeError)
      throw new JaneeError(
        'CONFIG_UNREADABLE',
        `${file} is larger than ${MAX_CONFIG_BYTES} bytes: not a config.yaml`,
        'restore config.yaml',
      );
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new JaneeError('CONFIG_UNREADABLE', `cannot read ${file} (${code ?? 'error'})`, 'check the file permissions');
  }
}

export function parseConfigText(file: string, text: string): ParsedConfigFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const line = lines.linePos(first.pos[0]).line;
    const what = first.code === 'DUPLICATE_KEY' ? 'duplicate key (each service may appear only once)' : first.message.split('\n')[0];
    throw new JaneeError('CONFIG_INVALID', `${file}:${line}: invalid YAML: ${what}`, 'fix the YAML syntax and try again');
  }
  return { doc, lines, text };
}

/** Loads config.yaml; a missing file is an error unless `allowMissing` (then: no services). */
export async function loadConfig(file: string, opts: { allowMissing?: boolean } = {}): Promise<JaneeConfig> {
  const text = await readConfigText(file);
  if (text === undefined) {
    if (opts.allowMissing) return { file, vaultPath: undefined, services: new Map() };
    throw new JaneeError('CONFIG_MISSING', `${file} does not exist`, 'run `janee init` first (or set JANEE_CONFIG)');
  }
  return resolvePrograms(validateConfig(parseConfigText(file, text), file));
}

export class Validator {
  constructor(
    private readonly file: string,
    private readonly lines: LineCounter,
  ) {}

  fail(node: Node | null | undefined, field: string, message: string, hint?: string): never {
    const offset = node?.range?.[0];
    const where = offset === undefined ? this.file : `${this.file}:${this.lines.linePos(offset).line}`;
    throw new JaneeError('CONFIG_INVALID', `${where}: ${field}: ${message}`, hint ?? 'fix config.yaml and try again');
  }

  map(node: unknown, field: string): YAMLMap {
    if (!isMap(node)) this.fail(node as Node, field, 'expected a mapping');
    return node;
  }

  string(node: unknown, field: string): string {
    if (!isScalar(node) || typeof node.value !== 'string' || node.value === '')
      this.fail(node as Node, field, 'expected a non-empty string');
    return node.value;
  }

  entries(map: YAMLMap, field: string, allowed: readonly string[]): Map<string, { key: Node; value: Node | null }> {
    const out = new Map<string, { key: Node; value: Node | null }>();
    for (const pair of map.items) {
      const key = pair.key as Node;
      if (!isScalar(key) || typeof key.value !== 'string') this.fail(key, field, 'keys must be strings');
      const name = key.value;
      if (!allowed.includes(name)) {
        if (INLINE_SECRET_KEYS.has(name)) this.inlineSecret(key, `${field}.${name}`);
        if (field === '(top level)' && LEGACY_TOP_LEVEL.has(name)) {
          this.fail(
            key,
            name,
            'this looks like a Janee 0.x config (it is not read by this version)',
            'run `janee migrate` to import it into the vault and the new config format',
          );
        }
        this.fail(key, `${field}.${name}`, `unknown key (expected one of: ${allowed.join(', ')})`);
      }
      out.set(name, { key, value: pair.value as Node | null });
    }
    return out;
  }

  inlineSecret(node: Node, field: string): never {
    throw new JaneeError(
      'CONFIG_INLINE_SECRET',
      `${this.file}:${this.lines.linePos(node.range?.[0] ?? 0).line}: ${field}: a secret is written in config.yaml, which is plaintext`,
      'run `janee migrate` to move it into the encrypted vault',
    );
  }
}

export function validateConfig(parsed: ParsedConfigFile, file: string): JaneeConfig {
  const v = new Validator(file, parsed.lines);
  const root = parsed.doc.contents;
  const services = new Map<string, ServiceConfig>();
  if (root === null || (isScalar(root) && root.value === null)) return { file, vaultPath: undefined, services };
  const top = v.entries(v.map(root, '(top level)'), '(top level)', ['services', 'vault', 'version', 'audit', 'commands']);

  let vaultPath: string | undefined;
  const vaultNode = top.get('vault');
  if (vaultNode) vaultPath = path.resolve(path.dirname(file), v.string(vaultNode.value, 'vault'));

  const servicesNode = top.get('services')?.value;
  if (servicesNode && !(isScalar(servicesNode) && servicesNode.value === null)) {
    for (const pair of v.map(servicesNode, 'services').items) {
      const keyNode = pair.key as Node;
      const name = isScalar(keyNode) && typeof keyNode.value === 'string' ? keyNode.value : '';
      if (!SERVICE_NAME.test(name)) {
        v.fail(keyNode, 'services', 'service names are 1-64 letters, digits, "_", "." or "-", starting with a letter or digit');
      }
      services.set(name, validateService(v, name, pair.value as Node | null));
    }
  }
  const auditNode = top.get('audit')?.value;
  const audit = auditNode && !(isScalar(auditNode) && auditNode.value === null) ? validateAudit(v, auditNode) : undefined;
  const commandsNode = top.get('commands')?.value;
  const commands = commandsNode ? validateCommands(v, commandsNode, services) : undefined;
  return { file, vaultPath, services, ...(audit ? { audit } : {}), ...(commands?.size ? { commands } : {}) };
}

function validateAudit(v: Validator, node: Node): AuditConfig {
  const fields = v.entries(v.map(node, 'audit'), 'audit', ['keepDays', 'checkpointEvery', 'checkpointSeconds']);
  const out: AuditConfig = {};
  const opt = (k: keyof AuditConfig, max: number): void => {
    const n = fields.get(k)?.value;
    if (n) out[k] = positiveInt(v, `audit.${k}`, n, 1, max);
  };
  opt('keepDays', 36_500);
  opt('checkpointEvery', 1_000_000);
  opt('checkpointSeconds', 86_400);
  return out;
}

function validateService(v: Validator, name: string, node: Node | null): ServiceConfig {
  const f = `services.${name}`;
  const fields = v.entries(v.map(node, f), f, [
    'baseUrl',
    'auth',
    'policies',
    'rateLimit',
    'maxResponseBytes',
    'timeoutMs',
    'description',
    'testPath',
    ...APPROVAL_KEYS,
  ]);
  const baseNode = fields.get('baseUrl')?.value;
  if (!baseNode) v.fail(node, f, 'missing baseUrl');
  const rawBase = v.string(baseNode, `${f}.baseUrl`);
  let baseUrl: string;
  try {
    baseUrl = parseBaseUrl(rawBase).baseUrl;
  } catch (e) {
    if (e instanceof JaneeError) v.fail(baseNode, `${f}.baseUrl`, e.message, e.hint);
    throw e;
  }
  const authNode = fields.get('auth')?.value;
  if (!authNode) v.fail(node, f, 'missing auth (e.g. auth: { type: bearer })');
  const auth = validateAuth(v, `${f}.auth`, authNode);

  const policiesEntry = fields.get('policies');
  const policies = policiesEntry ? validatePolicies(v, `${f}.policies`, policiesEntry.value) : undefined;

  const rlNode = fields.get('rateLimit')?.value;
  const rateLimit = rlNode ? parseRateLimitNode(v, `${f}.rateLimit`, rlNode) : undefined;

  const testNode = fields.get('testPath')?.value;
  const svc: ServiceConfig = {
    name,
    baseUrl,
    auth,
    policies,
    rateLimit,
    maxResponseBytes: positiveInt(
      v,
      `${f}.maxResponseBytes`,
      fields.get('maxResponseBytes')?.value,
      DEFAULT_MAX_RESPONSE_BYTES,
      64 * 1024 * 1024,
    ),
    timeoutMs: positiveInt(v, `${f}.timeoutMs`, fields.get('timeoutMs')?.value, DEFAULT_TIMEOUT_MS, 10 * 60_000),
  };
  if (testNode) svc.testPath = validateTestPath(v, `${f}.testPath`, testNode, baseUrl);
  validateApproval(v, f, fields, svc);
  return svc;
}

/**
 * `janee test` GETs this path with the credential, so it gets the same rules as
 * a path the agent sends (no `..`, no absolute URL, nothing that could leave
 * baseUrl), and no query: a query would be a second place for data to hide.
 */
export function testPathError(raw: string, baseUrl: string): string | undefined {
  if (raw.includes('?')) return 'must not have a query (write a plain path such as /v1/me)';
  try {
    const target = normalizeRequestTarget(raw);
    buildUpstreamUrl(baseUrl, target);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

function validateTestPath(v: Validator, f: string, node: Node, baseUrl: string): string {
  const raw = v.string(node, f);
  const problem = testPathError(raw, baseUrl);
  if (problem) v.fail(node, f, problem, 'write a path under baseUrl that answers a cheap authenticated GET, e.g. /v1/me');
  return normalizeRequestTarget(raw).path;
}

function validateAuth(v: Validator, f: string, node: Node): AuthSpec {
  if (isScalar(node) && typeof node.value === 'string' && (AUTH_TYPES as readonly string[]).includes(node.value)) {
    if (node.value === 'bearer' || node.value === 'basic' || node.value === 'oauth1a') return { type: node.value };
    if (node.value === 'header' || node.value === 'query')
      v.fail(
        node,
        f,
        `auth type ${node.value} needs a ${node.value === 'header' ? 'name' : 'param'}: write auth: { type: ${node.value}, ${node.value === 'header' ? 'name: X-Api-Key' : 'param: api_key'} }`,
      );
    v.fail(node, f, `auth type ${node.value} needs more than its name: write auth: { type: ${node.value}, … } (see docs/auth.md)`);
  }
  const map = v.map(node, f);
  // Unknown keys are named against the keys of the block's own type when it has a known one.
  const declared = map.items.find((p) => isScalar(p.key) && p.key.value === 'type')?.value;
  const declaredType = isScalar(declared) && typeof declared.value === 'string' ? declared.value : '';
  const own: Record<string, readonly string[]> = { bearer: [], basic: [], header: ['name'], query: ['param'], ...AUTH_BLOCK_KEYS };
  if (Object.hasOwn(own, declaredType)) {
    for (const p of map.items) {
      const k = p.key as Node;
      if (isScalar(k) && typeof k.value === 'string' && !AUTH_KEYS.includes(k.value) && !INLINE_SECRET_KEYS.has(k.value))
        v.fail(k, `${f}.${k.value}`, `unknown key (expected one of: ${['type', ...(own[declaredType] as string[])].join(', ')})`);
    }
  }
  const fields = v.entries(map, f, AUTH_KEYS);
  const typeNode = fields.get('type')?.value;
  if (!typeNode) v.fail(node, f, `missing type (one of ${AUTH_TYPES.join(', ')})`);
  const type = v.string(typeNode, `${f}.type`);
  const only = (allowed: string[]) => {
    for (const [k, e] of fields) if (k !== 'type' && !allowed.includes(k)) v.fail(e.key, `${f}.${k}`, `not used by auth type ${type}`);
  };
  switch (type) {
    case 'bearer':
    case 'basic':
      only([]);
      return { type };
    case 'header': {
      only(['name']);
      const n = fields.get('name');
      if (!n) v.fail(node, f, 'auth type header needs a name (e.g. name: X-Api-Key)');
      const name = v.string(n.value, `${f}.name`);
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) v.fail(n.value, `${f}.name`, 'not a valid HTTP header name');
      if (/^(host|content-length|transfer-encoding|connection|cookie)$/i.test(name))
        v.fail(n.value, `${f}.name`, `${name} cannot carry a credential`);
      return { type, name };
    }
    case 'query': {
      only(['param']);
      const p = fields.get('param');
      if (!p) v.fail(node, f, 'auth type query needs a param (e.g. param: api_key)');
      const param = v.string(p.value, `${f}.param`);
      if (!/^[A-Za-z0-9_.~-]+$/.test(param)) v.fail(p.value, `${f}.param`, 'query param names are letters, digits, "_", ".", "~" or "-"');
      return { type, param };
    }
    default:
      // Every other type (src/auth/config.ts); an unknown one fails there.
      return validateAuthBlock(v, f, node, type, fields);
  }
}

/**
 * An auth block given on the command line (`janee add --auth '{ type: aws-sigv4, … }'`),
 * validated exactly as config.yaml's; errors are usage errors naming `--auth`.
 */
export function parseAuthText(text: string): AuthSpec {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0 || !doc.contents)
    throw new JaneeError(
      'USAGE',
      '--auth: not a YAML mapping or type name',
      "e.g. --auth '{ type: aws-sigv4, region: us-east-1, service: s3 }'",
      2,
    );
  try {
    return validateAuth(new Validator('--auth', lines), 'auth', doc.contents);
  } catch (e) {
    if (e instanceof JaneeError && e.code === 'CONFIG_INVALID')
      throw new JaneeError('USAGE', e.message, "see docs/auth.md for each type's block", 2);
    throw e;
  }
}

/** Every key some auth type uses (each type then refuses the ones it does not). */
const AUTH_KEYS = [...new Set(['type', 'name', 'param', ...Object.values(AUTH_BLOCK_KEYS).flat()])];

function validatePolicies(v: Validator, f: string, node: Node | null): PolicyRule[] {
  if (node === null || (isScalar(node) && node.value === null)) return [];
  if (!isSeq(node)) v.fail(node, f, 'expected a list of { path, methods, deny? }');
  return node.items.map((item, i) => {
    const fi = `${f}[${i}]`;
    const fields = v.entries(v.map(item, fi), fi, ['path', 'methods', 'deny', 'approve']);
    const pathNode = fields.get('path')?.value;
    if (!pathNode) v.fail(item as Node, fi, 'missing path');
    const rawPath = v.string(pathNode, `${fi}.path`);
    let pattern: string;
    try {
      pattern = normalizePolicyPattern(rawPath);
    } catch (e) {
      v.fail(pathNode, `${fi}.path`, (e as Error).message);
    }
    const methodsNode = fields.get('methods')?.value;
    let methods = ['*'];
    if (methodsNode) {
      if (!isSeq(methodsNode) || methodsNode.items.length === 0)
        v.fail(methodsNode, `${fi}.methods`, 'expected a non-empty list like [GET, POST] or ["*"]');
      methods = methodsNode.items.map((m, j) => {
        const s = v.string(m, `${fi}.methods[${j}]`).toUpperCase();
        if (!METHOD_TOKEN.test(s))
          v.fail(m as Node, `${fi}.methods[${j}]`, `unknown method "${s}" (expected GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS or "*")`);
        return s;
      });
    }
    const denyNode = fields.get('deny')?.value;
    let deny = false;
    if (denyNode) {
      if (!isScalar(denyNode) || typeof denyNode.value !== 'boolean') v.fail(denyNode, `${fi}.deny`, 'expected true or false');
      deny = denyNode.value;
    }
    const approve = ruleApprove(v, fi, fields.get('approve')?.value, deny);
    return approve ? { path: pattern, methods, deny, approve } : { path: pattern, methods, deny };
  });
}

const WINDOWS: Record<string, number> = {
  sec: 1000,
  s: 1000,
  second: 1000,
  min: 60_000,
  m: 60_000,
  minute: 60_000,
  hour: 3_600_000,
  h: 3_600_000,
  day: 86_400_000,
  d: 86_400_000,
};

export function parseRateLimit(text: string): RateLimit | undefined {
  const m = /^\s*(\d{1,9})\s*\/\s*([a-z]+)\s*$/.exec(text);
  if (!m) return undefined;
  const count = Number(m[1]);
  const windowMs = WINDOWS[m[2] as string];
  if (!windowMs || count < 1) return undefined;
  return { count, windowMs, text: `${count}/${m[2]}` };
}

export function parseRateLimitNode(v: Validator, f: string, node: Node): RateLimit {
  const text = isScalar(node) ? String(node.value) : '';
  const rl = parseRateLimit(text);
  if (!rl) v.fail(node, f, `expected N/sec, N/min, N/hour or N/day (got "${text}")`);
  return rl;
}

// ---------------------------------------------------------------------------
// Approvals (src/approval): `approve: true` on an allow rule, and per service
// approvalWaitMs and approvalTtlMs.

const APPROVAL_KEYS = ['approvalWaitMs', 'approvalTtlMs'] as const;

function ruleApprove(v: Validator, fi: string, node: Node | null | undefined, deny: boolean): boolean {
  if (!node) return false;
  if (!isScalar(node) || typeof node.value !== 'boolean') v.fail(node, `${fi}.approve`, 'expected true or false');
  if (node.value && deny) v.fail(node, `${fi}.approve`, 'a deny rule cannot need approval (it always refuses)', 'remove approve, or deny');
  return node.value;
}

function validateApproval(v: Validator, f: string, fields: Map<string, { key: Node; value: Node | null }>, svc: ServiceConfig): void {
  const wait = fields.get('approvalWaitMs')?.value;
  const ttl = fields.get('approvalTtlMs')?.value;
  // Kept only when written (the gate applies the defaults): a config without approvals loads as before.
  const waitMs = positiveInt(v, `${f}.approvalWaitMs`, wait, DEFAULT_APPROVAL_WAIT_MS, 10 * 60_000);
  const ttlMs = positiveInt(v, `${f}.approvalTtlMs`, ttl, DEFAULT_APPROVAL_TTL_MS, 7 * 86_400_000);
  if (ttlMs < waitMs) v.fail(ttl ?? wait, `${f}.approvalTtlMs`, 'must be at least approvalWaitMs (a request must outlive the wait for it)');
  if (wait) svc.approvalWaitMs = waitMs;
  if (ttl) svc.approvalTtlMs = ttlMs;
}

export function positiveInt(v: Validator, f: string, node: Node | null | undefined, dflt: number, max: number): number {
  if (!node) return dflt;
  if (!isScalar(node) || typeof node.value !== 'number' || !Number.isInteger(node.value) || node.value < 1 || node.value > max) {
    v.fail(node, f, `expected a whole number from 1 to ${max}`);
  }
  return node.value;
}
