/**
 * LocalGate in-process, end to end: a temp home (config.yaml written here, a real
 * vault at log2 N = 10), a real loopback upstream that records every request, and
 * an "attacker" TCP server that records whether ANY connection or byte ever
 * reached it.
 *
 * Invariants checked on EVERY call (see `call`):
 * - exactly one audit entry, with the expected outcome, readable right after
 *   execute() settles, containing no secret (in any encoding), no body and no
 *   query value, and no query in `path`;
 * - the result or error carries no secret in any encoding (base64 bodies decoded);
 * - the attacker received nothing;
 * - every request the upstream received: its path is allowed by the service's
 *   policies (src/policy evaluatePolicies) and equals the audited path, it carries
 *   exactly the service's credential, once, and no smuggled routing/auth header;
 * - refused calls (blocked, rate_limited, killed, locked) sent nothing upstream.
 * At the end `verifyAudit` must be ok and hold exactly one entry per call.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAudit } from '../../src/audit/index.js';
import { loadConfig } from '../../src/config/load.js';
import type { JaneeConfig } from '../../src/config/types.js';
import { JaneeError } from '../../src/errors.js';
import { LocalGate } from '../../src/gate/gate.js';
import { secretVariants } from '../../src/gate/inject.js';
import { setKillswitch } from '../../src/gate/killswitch.js';
import { VaultSecrets } from '../../src/gate/secrets.js';
import { type Caller, type ExecuteRequest, type ExecuteResult } from '../../src/gate/types.js';
import { evaluatePolicies } from '../../src/policy/index.js';
import { createVaultFile, unlockVaultFile, updateVault } from '../../src/vault/store.js';
import { findForms, secretForms, type AuditLine } from '../helpers/mcp.js';
import {
  closedPort,
  sleep,
  startRawServer,
  startUpstream,
  type RawServer,
  type RecordedRequest,
  type Upstream,
} from '../helpers/upstream.js';

type Outcome = 'allowed' | 'blocked' | 'rate_limited' | 'killed' | 'locked' | 'error';

const CALLER: Caller = { agent: 'gate-test-agent', agentSource: 'flag' };
const PASSPHRASE = new TextEncoder().encode('gate test passphrase');
const nonce = (): string => randomBytes(16).toString('hex');
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

// ---------------------------------------------------------------------------
// Secrets: one per service, each with a random part. Never `sk_live_`.

const SECRETS: Record<string, Record<string, string>> = {
  stripe: { token: `sk_test_${nonce()}` },
  open: { token: `sk_test_${nonce()}` },
  basic: { username: `user_${nonce().slice(0, 12)}`, password: `pw"\\/+= &'${nonce()}` },
  hdr: { token: `hk_test_${nonce()}` },
  // A query credential with characters every encoder treats differently.
  // (No `"` or `\`: JSON-in-JSON echoes of those are a known gap, see the it.fails below.)
  q: { token: `qk'/+= &é~_${nonce()}` },
  limited: { token: `sk_test_${nonce()}` },
  slow: { token: `sk_test_${nonce()}` },
  localhost: { token: `sk_test_${nonce()}` },
  down: { token: `sk_test_${nonce()}` },
  small: { token: `sk_test_${nonce()}` },
  raw_badlen: { token: `sk_test_${nonce()}` },
  raw_nothttp: { token: `sk_test_${nonce()}` },
  raw_short: { token: `sk_test_${nonce()}` },
  raw_leakyerr: { token: `sk_test_${nonce()}` },
  raw_leaky: { token: `sk_test_${nonce()}` },
  raw_badchunk: { token: `sk_test_${nonce()}` },
  raw_empty: { token: `sk_test_${nonce()}` },
};

const STRIPE_POLICIES = [
  { path: '/v1/charges', methods: ['GET'] },
  { path: '/v1/customers', methods: ['GET', 'POST'] },
  { path: '/v1/customers/*/delete', methods: ['*'], deny: true },
  { path: '/echo-secret', methods: ['GET'] },
  { path: '/redirect', methods: ['GET'] },
  { path: '/reflect', methods: ['GET', 'POST'] },
];

// ---------------------------------------------------------------------------
// The attacker: a raw TCP server that records every connection and byte.

interface Attacker {
  url: string;
  host: string;
  port: number;
  connections: number;
  received: Buffer[];
  close(): Promise<void>;
}

async function startAttacker(): Promise<Attacker> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    a.connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => {
      a.received.push(d);
      s.end('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\nconnection: close\r\n\r\npwned');
    });
  });
  const a: Attacker = {
    url: '',
    host: '',
    port: 0,
    connections: 0,
    received: [],
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  a.port = (server.address() as net.AddressInfo).port;
  a.host = `127.0.0.1:${a.port}`;
  a.url = `http://${a.host}`;
  return a;
}

// ---------------------------------------------------------------------------
// Audit: new complete lines since the last read, by byte offset per day file.

class AuditTail {
  readonly #offsets = new Map<string, number>();
  constructor(readonly dir: string) {}

  async readNew(): Promise<string[]> {
    let names: string[];
    try {
      names = (await fs.readdir(this.dir)).filter((n) => /^\d{4}-\d{2}-\d{2}\.jsonl$/.test(n)).sort();
    } catch {
      return [];
    }
    const out: string[] = [];
    for (const n of names) {
      const file = path.join(this.dir, n);
      const off = this.#offsets.get(n) ?? 0;
      const buf = await fs.readFile(file);
      if (buf.length <= off) continue;
      const end = buf.lastIndexOf(0x0a) + 1;
      if (end <= off) continue;
      this.#offsets.set(n, end);
      out.push(
        ...buf
          .subarray(off, end)
          .toString('utf8')
          .split('\n')
          .filter((l) => l !== ''),
      );
    }
    return out;
  }
}

// ---------------------------------------------------------------------------
// Fixture

let dir: string;
let home: string;
let configFile: string;
let vaultFile: string;
let auditDir: string;
let killFile: string;
let up: Upstream;
let att: Attacker;
let raws: Record<string, RawServer>;
let downPort: number;
let gate: LocalGate;
let config: JaneeConfig;
let tail: AuditTail;
let LEAK_FORMS: string[];
let RULE_TEXTS: string[];
let calls = 0;

function configObject(over: { stripeBase?: string } = {}): unknown {
  const bearer = { type: 'bearer' };
  const services: Record<string, unknown> = {
    stripe: { baseUrl: over.stripeBase ?? up.url, auth: bearer, policies: STRIPE_POLICIES },
    open: { baseUrl: up.url, auth: bearer },
    basic: { baseUrl: up.url, auth: { type: 'basic' } },
    hdr: { baseUrl: up.url, auth: { type: 'header', name: 'X-Api-Key' } },
    q: { baseUrl: up.url, auth: { type: 'query', param: 'key' } },
    limited: { baseUrl: up.url, auth: bearer, rateLimit: '3/sec' },
    slow: { baseUrl: up.url, auth: bearer, timeoutMs: 300 },
    // Same port, another spelling of the host: a different origin.
    localhost: { baseUrl: `http://localhost:${up.port}`, auth: bearer },
    // In config.yaml, but nothing in the vault.
    ghost: { baseUrl: up.url, auth: bearer },
    down: { baseUrl: `http://127.0.0.1:${downPort}`, auth: bearer },
    // A tiny body cap, for truncation-boundary probes.
    small: { baseUrl: up.url, auth: bearer, maxResponseBytes: 1024 },
  };
  for (const [name, raw] of Object.entries(raws)) services[name] = { baseUrl: raw.url, auth: bearer };
  return { services };
}

async function writeConfig(obj: unknown): Promise<void> {
  // Atomic replace (new inode), as janee's own writers do.
  const tmp = `${configFile}.tmp-test`;
  await fs.writeFile(tmp, `# written by gate.test.ts\n${JSON.stringify(obj, null, 2)}\n`);
  await fs.rename(tmp, configFile);
}

/** Waits until a running gate must have re-read config.yaml (WatchedFile re-stats every 250 ms). */
const configSettle = (): Promise<void> => sleep(350);

function originOf(url: string): string {
  return new URL(url).origin;
}

/** An upstream route that reflects every credential-bearing value in many encodings, body and headers. */
function reflectValues(req: import('node:http').IncomingMessage): { values: string[]; cred: string } {
  const u = new URL(req.url ?? '/', 'http://x');
  const values: string[] = [req.url ?? ''];
  for (const v of Object.values(req.headers)) {
    if (typeof v === 'string') values.push(v);
    else if (Array.isArray(v)) values.push(...v);
  }
  for (const [, v] of u.searchParams) values.push(v);
  const auth = req.headers.authorization ?? '';
  const basic = /^Basic (.+)$/.exec(auth);
  if (basic) {
    const dec = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const i = dec.indexOf(':');
    values.push(dec, dec.slice(0, i), dec.slice(i + 1));
  }
  const bearer = /^Bearer (.+)$/.exec(auth);
  if (bearer) values.push(bearer[1]!);
  const cred =
    bearer?.[1] ??
    (basic ? Buffer.from(basic[1]!, 'base64').toString('utf8') : undefined) ??
    (typeof req.headers['x-api-key'] === 'string' ? req.headers['x-api-key'] : undefined) ??
    u.searchParams.get('key') ??
    '';
  return { values, cred };
}

/**
 * The forms DESIGN.md promises to redact: raw, base64 (also inside a larger base64
 * blob at any alignment), base64url, URL-encoded (component and form), and — in the
 * JSON body itself — JSON-escaped.
 */
function encodings(v: string): Record<string, string> {
  return {
    raw: v,
    base64: b64(v),
    base64url: Buffer.from(v).toString('base64url'),
    uri: encodeURIComponent(v),
    form: new URLSearchParams([['k', v]]).toString().slice(2),
    embedded: `<<${v}>>`,
    base64Inside: b64(`prefix:${v}:suffix`),
    base64InsideOff1: b64(`p1:${v}`),
    base64InsideOff2: b64(`p22:${v}`),
  };
}

/** The same as text lines; `json` is JSON-escaped once (in a text/plain body). */
function encodingsText(values: string[]): string {
  return values
    .map((v) => [...Object.entries(encodings(v)).map(([k, x]) => `${k}=${x}`), `json=${JSON.stringify(v)}`].join('\n'))
    .join('\n---\n');
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(tmpdir(), 'janee-gate-test-'));
  home = path.join(dir, 'home');
  await fs.mkdir(home, { mode: 0o700 });
  configFile = path.join(home, 'config.yaml');
  vaultFile = path.join(home, 'vault.janee');
  auditDir = path.join(home, 'audit');
  killFile = path.join(home, 'killswitch');

  up = await startUpstream();
  att = await startAttacker();
  downPort = await closedPort();

  up.route('/reflect', (req, res, rec) => {
    try {
      const { values, cred } = reflectValues(req);
      const type = new URL(req.url ?? '/', 'http://x').searchParams.get('type') ?? 'application/json';
      res.writeHead(200, {
        'content-type': type,
        'x-request-id': cred,
        'x-ratelimit-token': b64(cred),
        'x-ratelimit-url': encodeURIComponent(cred),
        link: `<https://example.test/?t=${encodeURIComponent(cred)}>; rel="next"`,
        location: `https://example.test/next?c=${Buffer.from(cred).toString('base64url')}`,
        'www-authenticate': `Basic realm=${JSON.stringify(cred)}`,
        'x-not-allowlisted': b64(cred),
      });
      res.end(
        type.startsWith('text/plain')
          ? encodingsText(values)
          : JSON.stringify({ forms: values.map(encodings), body: rec.body.toString('utf8') }),
      );
    } catch {
      res.writeHead(500);
      res.end();
    }
  });
  up.route('/echo-raw', (_req, res, rec) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(rec.body);
  });
  up.route('/reflect-bin', (req, res) => {
    const { cred } = reflectValues(req);
    const noise = Buffer.from([0, 255, 1, 254, 0, 0, 0x80, 0x81]);
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.end(Buffer.concat([noise, Buffer.from(cred), noise, Buffer.from(b64(cred)), noise, Buffer.from(encodeURIComponent(cred)), noise]));
  });

  const leakyBody = `token=${SECRETS.raw_leaky!.token}`;
  raws = {
    raw_badlen: await startRawServer('HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\nhello'),
    raw_nothttp: await startRawServer('NOT HTTP AT ALL\r\n\r\n'),
    raw_short: await startRawServer('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\nshort'),
    raw_leakyerr: await startRawServer(
      `HTTP/1.1 200 OK\r\nX-Leak: ${SECRETS.raw_leakyerr!.token}\r\nContent-Length: zz${SECRETS.raw_leakyerr!.token}\r\n\r\n`,
    ),
    raw_leaky: await startRawServer(
      `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Request-Id: ${SECRETS.raw_leaky!.token}\r\nContent-Length: ${leakyBody.length}\r\nConnection: close\r\n\r\n${leakyBody}`,
    ),
    raw_badchunk: await startRawServer('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nnope\r\n'),
    raw_empty: await startRawServer(''),
  };

  await writeConfig(configObject());
  config = await loadConfig(configFile);

  await createVaultFile(vaultFile, PASSPHRASE, 10);
  const unlocked = await unlockVaultFile(vaultFile, PASSPHRASE);
  const now = new Date().toISOString();
  const { vault } = await updateVault(vaultFile, unlocked.fileKey, (data) => {
    for (const [name, fields] of Object.entries(SECRETS)) {
      const svc = config.services.get(name);
      if (!svc) throw new Error(`no service ${name}`);
      // `localhost` is bound to 127.0.0.1, not to what its config says.
      const origin = name === 'localhost' ? originOf(up.url) : originOf(svc.baseUrl);
      data.entries[name] = { fields: { ...fields }, origins: [origin], created: now, updated: now };
    }
  });
  gate = new LocalGate({
    configFile,
    auditDir,
    killswitchFile: killFile,
    secrets: new VaultSecrets(vaultFile, unlocked.fileKey, vault.data),
  });
  tail = new AuditTail(auditDir);

  const forms = new Set<string>();
  for (const [name, fields] of Object.entries(SECRETS)) {
    for (const v of Object.values(fields)) for (const f of secretForms(v)) forms.add(f);
    for (const v of secretVariants(config.services.get(name)!.auth, fields)) forms.add(v);
    if (fields.username !== undefined) for (const f of secretForms(`${fields.username}:${fields.password}`)) forms.add(f);
    // The random part alone: any fragment of 16+ hex characters of it.
    for (const v of Object.values(fields)) {
      const hex = /[0-9a-f]{32}/.exec(v)?.[0];
      if (hex) {
        for (const part of [hex, hex.slice(0, 16), hex.slice(16)]) for (const f of secretForms(part)) forms.add(f);
      }
    }
  }
  LEAK_FORMS = [...forms];
  RULE_TEXTS = STRIPE_POLICIES.map((p) => `${p.deny ? 'deny' : 'allow'} ${p.methods.join('|')} ${p.path}`);
});

afterAll(async () => {
  await gate?.close();
  await up?.close();
  await att?.close();
  for (const r of Object.values(raws ?? {})) await r.close();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------
// The per-call harness

interface Expect {
  outcome: Outcome | readonly Outcome[];
  code?: string;
  gate?: LocalGate;
}

interface Called {
  result: ExecuteResult | undefined;
  error: JaneeError | undefined;
  entry: AuditLine;
  sent: RecordedRequest[];
}

/** Body and query values (6+ chars) that must not reach the audit log. */
function markersOf(req: ExecuteRequest): string[] {
  const out: string[] = [];
  const raw = typeof req.path === 'string' ? req.path : '';
  const q = raw.indexOf('?');
  const pathPart = q < 0 ? raw : raw.slice(0, q);
  const legit = [pathPart, String(req.service), String(req.method), String(req.reason ?? ''), ...RULE_TEXTS].join('\n');
  const add = (v: unknown): void => {
    if (typeof v !== 'string' || v.length < 6) return;
    if (legit.includes(v) || legit.toUpperCase().includes(v)) return;
    out.push(v);
  };
  if (typeof req.body === 'string') add(req.body);
  else if (req.body && typeof req.body === 'object') {
    add(JSON.stringify(req.body));
    for (const v of Object.values(req.body)) add(v);
  }
  if (req.query && typeof req.query === 'object') {
    for (const v of Object.values(req.query)) for (const x of Array.isArray(v) ? v : [v]) add(x);
  }
  if (q >= 0) {
    for (const kv of raw.slice(q + 1).split('&')) {
      const v = kv.split('=').slice(1).join('=');
      add(v);
      try {
        add(decodeURIComponent(v));
      } catch {
        // not decodable: the raw form was added
      }
    }
  }
  return out;
}

const ALWAYS_DROPPED = [
  'cookie',
  'forwarded',
  'x-forwarded-host',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-real-ip',
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  'proxy-authorization',
  'proxy-connection',
  'x-original-url',
  'x-rewrite-url',
  'x-original-uri',
  'x-override-url',
  'range',
  'if-range',
  'expect',
  'upgrade',
  'te',
  'trailer',
  'keep-alive',
  'http2-settings',
];

function countHeader(rec: RecordedRequest, name: string): number {
  return rec.rawHeaders.filter((h, i) => i % 2 === 0 && h.toLowerCase() === name).length;
}

/** What the upstream received for one call: allowed by policy, as audited, with exactly our credential. */
function checkSent(rec: RecordedRequest, req: ExecuteRequest, entry: AuditLine, ctx: string): void {
  const svc = config.services.get(entry.service);
  expect(svc, ctx).toBeDefined();
  const q = rec.url.indexOf('?');
  const sentPath = q < 0 ? rec.url : rec.url.slice(0, q);
  const decision = evaluatePolicies(svc!.policies, rec.method, sentPath);
  expect(decision.allowed, `${ctx}: upstream got ${rec.method} ${sentPath} (${decision.rule})`).toBe(true);
  expect(sentPath, ctx).toBe(entry.path);
  expect(rec.method, ctx).toBe(entry.method);
  expect(rec.headers.host, ctx).toBe(`127.0.0.1:${up.port}`);
  expect(countHeader(rec, 'host'), ctx).toBe(1);
  expect(rec.headers['accept-encoding'], ctx).toBe('identity');
  for (const h of ALWAYS_DROPPED) expect(rec.headers[h], `${ctx}: ${h} reached the upstream`).toBeUndefined();
  const fields = SECRETS[entry.service]!;
  const auth = svc!.auth;
  const u = new URL(rec.url, 'http://x');
  switch (auth.type) {
    case 'bearer':
      expect(countHeader(rec, 'authorization'), ctx).toBe(1);
      expect(rec.headers.authorization, ctx).toBe(`Bearer ${fields.token}`);
      break;
    case 'basic':
      expect(countHeader(rec, 'authorization'), ctx).toBe(1);
      expect(rec.headers.authorization, ctx).toBe(`Basic ${b64(`${fields.username}:${fields.password}`)}`);
      break;
    case 'header':
      expect(countHeader(rec, auth.name.toLowerCase()), ctx).toBe(1);
      expect(rec.headers[auth.name.toLowerCase()], ctx).toBe(fields.token);
      expect(rec.headers.authorization, ctx).toBeUndefined();
      break;
    case 'query':
      expect(u.searchParams.getAll(auth.param), ctx).toEqual([fields.token]);
      expect(rec.headers.authorization, ctx).toBeUndefined();
      break;
    default:
      throw new Error(`${ctx}: this property test covers the static auth types only (got ${auth.type})`);
  }
  // Agent headers that must be dropped did not arrive with the agent's value.
  const agentHeaders = req.headers && typeof req.headers === 'object' ? req.headers : {};
  for (const [k, v] of Object.entries(agentHeaders)) {
    const lower = k.toLowerCase();
    const dropped =
      ALWAYS_DROPPED.includes(lower) ||
      ['authorization', 'host', 'transfer-encoding', 'connection', 'accept-encoding'].includes(lower) ||
      lower.startsWith('x-forwarded-') ||
      lower.startsWith('proxy-');
    if (dropped && typeof v === 'string' && v.trim() !== '')
      expect(rec.headers[lower], `${ctx}: the agent's ${k} arrived`).not.toBe(v.trim());
  }
  if (rec.headers['transfer-encoding'] === undefined && rec.body.length > 0) {
    expect(rec.headers['content-length'], ctx).toBe(String(rec.body.length));
  }
}

function leaksIn(text: string | Uint8Array): string[] {
  return findForms(text, LEAK_FORMS);
}

async function call(req: ExecuteRequest, ex: Expect): Promise<Called> {
  const g = ex.gate ?? gate;
  const before = up.requests.length;
  let result: ExecuteResult | undefined;
  let error: JaneeError | undefined;
  let thrown: unknown;
  try {
    result = await g.execute(req, CALLER);
  } catch (e) {
    thrown = e;
  }
  // Right after the await: the entry must already be in the file.
  const lines = await tail.readNew();
  calls++;
  const sent = up.requests.slice(before);
  const ctx = `${JSON.stringify({ ...req, body: typeof req.body === 'string' ? req.body.slice(0, 80) : req.body }).slice(0, 300)} -> ${thrown instanceof Error ? `${(thrown as JaneeError).code}: ${thrown.message}` : `status ${result?.status}`}`;
  if (thrown !== undefined) {
    expect(thrown, ctx).toBeInstanceOf(JaneeError);
    error = thrown as JaneeError;
  }
  expect(lines, `${ctx}: audit lines`).toHaveLength(1);
  const line = lines[0]!;
  const entry = JSON.parse(line) as AuditLine;
  const outcomes: readonly Outcome[] = typeof ex.outcome === 'string' ? [ex.outcome] : ex.outcome;
  expect(outcomes, `${ctx}: outcome ${entry.outcome}`).toContain(entry.outcome);
  if (ex.code !== undefined && entry.outcome !== 'allowed') expect(error?.code, ctx).toBe(ex.code);
  expect(entry.agent, ctx).toBe(CALLER.agent);
  expect(entry.agentSource, ctx).toBe(CALLER.agentSource);
  expect(entry.service, ctx).toBe(typeof req.service === 'string' ? req.service.slice(0, 200) : '');
  expect(entry.path, ctx).not.toMatch(/[?#]/);
  expect(leaksIn(line), `${ctx}: secret in the audit line`).toEqual([]);
  expect(findForms(line, markersOf(req)), `${ctx}: body or query value in the audit line`).toEqual([]);

  if (entry.outcome === 'allowed') {
    expect(error, ctx).toBeUndefined();
    expect(result, ctx).toBeDefined();
    expect(entry.status, ctx).toBe(result!.status);
  } else {
    expect(result, ctx).toBeUndefined();
    expect(error, ctx).toBeDefined();
    expect(entry.status, ctx).toBeNull();
  }
  if (error) {
    expect(leaksIn(`${error.message}\n${error.hint ?? ''}`), `${ctx}: secret in the error`).toEqual([]);
  }
  if (result) {
    expect(leaksIn(JSON.stringify(result)), `${ctx}: secret in the result`).toEqual([]);
    if (result.bodyEncoding === 'base64')
      expect(leaksIn(Buffer.from(result.body, 'base64')), `${ctx}: secret in the decoded body`).toEqual([]);
  }
  // Nobody else got anything, ever.
  expect(att.connections, `${ctx}: the attacker got a connection`).toBe(0);
  expect(att.received, `${ctx}: the attacker got bytes`).toHaveLength(0);
  if (entry.outcome !== 'allowed' && entry.outcome !== 'error') expect(sent, `${ctx}: a refused call reached the upstream`).toHaveLength(0);
  for (const rec of sent) checkSent(rec, req, entry, ctx);
  return { result, error, entry, sent };
}

const asReq = (r: Partial<ExecuteRequest> & { path: string }): ExecuteRequest => ({ service: 'stripe', method: 'GET', ...r });

interface Case {
  name: string;
  req: Partial<ExecuteRequest> & { path: string };
  outcome: Outcome;
  code?: string;
  check?: (c: Called) => void;
}

const BAD = { outcome: 'blocked', code: 'GATE_BAD_REQUEST' } as const;
const POLICY = { outcome: 'blocked', code: 'GATE_BLOCKED' } as const;
const OK = { outcome: 'allowed' } as const;

function runCases(cases: () => Case[]): void {
  // Cases need the fixture (ports), so they are built inside the test.
  it('every case', async () => {
    for (const c of cases()) {
      const r = await call(asReq(c.req), c);
      c.check?.(r);
    }
  });
}

const reachedUpstream = (c: Called): void => {
  expect(c.sent).toHaveLength(1);
};

// ---------------------------------------------------------------------------

describe('hostile paths', () => {
  describe('traversal: raw, encoded, double-encoded, backslash, mixed, unicode', () => {
    runCases(() =>
      [
        '/v1/charges/../../admin',
        '/v1/charges/..',
        '/v1/charges/../customers',
        '/v1/charges/%2e%2e/%2e%2e/admin',
        '/v1/charges/%2E%2E/admin',
        '/v1/charges/.%2e/admin',
        '/v1/charges/%2e./admin',
        '/v1/charges/%252e%252e/admin',
        '/v1/charges/%25252e%25252e/admin',
        '/v1/charges/.%252e/admin',
        '/v1/charges\\..\\admin',
        '/v1/charges/..\\admin',
        '/v1/charges/%5c..%5cadmin',
        '/v1/charges/%5C/admin',
        '/v1/charges/..%2fadmin',
        '/v1/charges/%2F../admin',
        '/v1/charges/%2e%2E/..%5C/admin',
        '/v1/charges/..;/admin',
        '/v1/charges/.;/admin',
        '/v1/charges/%c0%ae%c0%ae/admin',
        '/v1/charges/%e0%80%ae/admin',
        '/v1/charges/%EF%BC%8E%EF%BC%8E/admin',
        '/v1/charges/%E2%80%A5/admin',
        '/v1/charges/%E2%80%A4/admin',
        '/v1/charges/．．/admin',
        '/v1/charges/‥/admin',
        '/./v1/charges',
        '/v1/./charges',
        '/v1/charges/.',
        '/v1/charges/...',
        '/v1/charges/%2e',
        '/v1%2fcharges',
        '/v1%2Fcharges/x',
      ].map((p): Case => ({ name: p, req: { path: p }, ...BAD })),
    );
  });

  describe('absolute and scheme-relative URLs', () => {
    runCases(() => [
      ...[
        `http://${att.host}/x`,
        `HTTP://${att.host}/v1/charges`,
        `https://${att.host}/v1/charges`,
        `//${att.host}/x`,
        `//${att.host}/v1/charges`,
        `/\\${att.host}/x`,
        `\\\\${att.host}/x`,
        `http:/${att.host}/x`,
        `http:${att.host}/v1/charges`,
        `${att.host}/v1/charges`,
        `@${att.host}/v1/charges`,
        ` /v1/charges`,
        `/v1/charges/http://${att.host}/x`,
        `/v1/charges/http:%2F%2F${att.host}`,
        `/%2F%2F${att.host}/x`,
        `/%2f${att.host}/x`,
        `//%31%32%37.0.0.1:${att.port}/x`,
        `/v1/charges#@${att.host}`,
        'javascript:alert(1)',
        'file:///etc/passwd',
        '',
      ].map((p): Case => ({ name: p, req: { path: p }, ...BAD })),
      // Valid paths that merely mention the attacker: checked and sent to the bound origin only.
      { name: 'userinfo-looking segment', req: { path: `/v1/charges@${att.host}/x` }, ...POLICY },
      { name: '@host as a segment', req: { path: `/v1/charges/@${att.host}` }, ...OK, check: reachedUpstream },
      {
        name: 'attacker URL in the query',
        req: { path: `/v1/charges?next=http://${att.host}/&u=//${att.host}` },
        ...OK,
        check: reachedUpstream,
      },
      {
        name: 'attacker URL in the query field',
        req: { path: '/v1/charges', query: { next: `http://${att.host}/`, at: `@${att.host}` } },
        ...OK,
        check: reachedUpstream,
      },
    ]);
  });

  describe('control characters, whitespace, invisible characters, fragments', () => {
    runCases(() => [
      ...[
        `/v1/charges\r\nHost: ${att.host}`,
        '/v1/charges%0d%0aHost:%20evil',
        '/v1/charges%0D%0A',
        '/v1/charges\n',
        '/v1/charges\r',
        '/v1/charges\u0000',
        '/v1/charges%00',
        '/v1/charges/%00/x',
        '/v1/charges\t',
        '/v1/charges%09',
        '/v1/charges\u007f',
        '/v1/charges%7F',
        '/v1/charges\u0085',
        '/v1/charges%C2%85',
        '/v1/charges%E2%80%AE',
        '/v1/charges%E2%80%8B',
        '/v1/charges%E2%80%A8',
        '/v1/charges%EF%BB%BF',
        '/v1/charges ',
        '/v1/charges%',
        '/v1/charges%zz',
        '/v1/charges%C3',
        '/v1/charges?x=a\r\nHost: evil',
        '/v1/charges?x=a b',
        '/v1/charges?x=1#frag',
        '/v1/charges#',
      ].map((p): Case => ({ name: JSON.stringify(p), req: { path: p }, ...BAD })),
      { name: 'encoded CRLF in a query value is data', req: { path: '/v1/charges?x=%0d%0aHost:%20evil' }, ...OK, check: reachedUpstream },
      {
        name: 'encoded NUL in a query value is data',
        req: { path: '/v1/charges', query: { x: '\r\nHost: evil\u0000' } },
        ...OK,
        check: reachedUpstream,
      },
    ]);
  });

  describe('empty segments and trailing slashes', () => {
    runCases(() => [
      ...['//v1/charges', '/v1//charges', '/v1/charges//', '/v1/charges//x', '///', '//', '/v1/charges/./'].map((p): Case => ({
        name: p,
        req: { path: p },
        ...BAD,
      })),
      { name: '/', req: { path: '/' }, ...POLICY },
      {
        name: 'one trailing slash is kept and matched like no slash',
        req: { path: '/v1/charges/' },
        ...OK,
        check: (c) => expect(c.sent[0]!.url).toBe('/v1/charges/'),
      },
      { name: 'empty query', req: { path: '/v1/charges?' }, ...OK, check: reachedUpstream },
      { name: 'charges-prefixed sibling is not covered', req: { path: '/v1/chargesX' }, ...POLICY },
      { name: 'case is not folded for allow rules', req: { path: '/V1/CHARGES' }, ...POLICY },
    ]);
  });

  describe('malformed request objects (what MCP validation would catch)', () => {
    runCases(() => [
      { name: 'path number', req: { path: 42 as unknown as string }, ...BAD },
      { name: 'path object', req: { path: { toString: () => '/v1/charges' } as unknown as string }, ...BAD },
      { name: 'query string', req: { path: '/v1/charges', query: 'a=1' as unknown as Record<string, string> }, ...BAD },
      { name: 'query array', req: { path: '/v1/charges', query: ['a'] as unknown as Record<string, string> }, ...BAD },
      { name: 'query number value', req: { path: '/v1/charges', query: { a: 1 } as unknown as Record<string, string> }, ...BAD },
      { name: 'headers array', req: { path: '/v1/charges', headers: ['x'] as unknown as Record<string, string> }, ...BAD },
      {
        name: 'header value object',
        req: { path: '/v1/charges', headers: JSON.parse('{"__proto__":{"authorization":"x"}}') as Record<string, string> },
        ...BAD,
      },
      { name: 'body number', req: { path: '/v1/customers', method: 'POST', body: 42 as unknown as string }, ...BAD },
      { name: 'path too long', req: { path: `/v1/charges/${'a'.repeat(20_000)}` }, ...BAD },
    ]);
  });
});

describe('methods', () => {
  runCases(() => [
    { name: 'get', req: { method: 'get', path: '/v1/charges' }, ...OK, check: (c) => expect(c.sent[0]!.method).toBe('GET') },
    { name: 'gEt', req: { method: 'gEt', path: '/v1/charges' }, ...OK, check: (c) => expect(c.sent[0]!.method).toBe('GET') },
    { name: 'post on a GET-only path', req: { method: 'post', path: '/v1/charges' }, ...POLICY },
    { name: 'Delete on a GET-only path', req: { method: 'Delete', path: '/v1/charges' }, ...POLICY },
    { name: 'HEAD is not GET', req: { method: 'HEAD', path: '/v1/charges' }, ...POLICY },
    { name: 'OPTIONS', req: { method: 'OPTIONS', path: '/v1/charges' }, ...POLICY },
    ...[
      'TRACE',
      'trace',
      'CONNECT',
      'TRACK',
      'PROPFIND',
      'MOVE',
      'GET /x HTTP/1.1\r\n',
      `GET http://${att.host}/ HTTP/1.1`,
      'GET\r\nX-Evil: 1',
      'GET ',
      ' GET',
      'G\u0000ET',
      'GEТ',
      'GET\u200b',
      'G(E)T',
      '',
      'X'.repeat(40),
    ].map((m): Case => ({ name: JSON.stringify(m), req: { method: m, path: '/v1/charges' }, ...BAD })),
    { name: 'method number', req: { method: 42 as unknown as string, path: '/v1/charges' }, ...BAD },
    { name: 'method undefined', req: { method: undefined as unknown as string, path: '/v1/charges' }, ...BAD },
  ]);
});

describe('deny rules win over allow rules', () => {
  runCases(() => {
    const deny = (p: string, method = 'POST'): Case => ({
      name: `${method} ${p}`,
      req: { method, path: p },
      ...POLICY,
      check: (c) => expect(c.entry.rule).toBe('deny * /v1/customers/*/delete'),
    });
    return [
      {
        name: 'allowed sibling',
        req: { method: 'POST', path: '/v1/customers/cus_1', body: { name: 'BODYMARK_allowed_sibling' } },
        ...OK,
        check: reachedUpstream,
      },
      { name: 'allowed parent', req: { method: 'GET', path: '/v1/customers' }, ...OK, check: reachedUpstream },
      deny('/v1/customers/cus_1/delete', 'DELETE'),
      deny('/v1/customers/cus_1/delete'),
      deny('/v1/customers/cus_1/delete', 'GET'),
      deny('/v1/customers/cus_1/DELETE'),
      deny('/v1/customers/cus_1/Delete/'),
      deny('/v1/customers/cus_1/%64elete'),
      deny('/v1/customers/cus_1/%44%45%4C%45%54%45'),
      deny('/v1/customers/cus_1/delete/extra'),
      deny('/v1/customers/cus_1/delete?force=true'),
      deny('/v1/customers/cus_1/%EF%BD%84%EF%BD%85%EF%BD%8C%EF%BD%85%EF%BD%94%EF%BD%85'), // fullwidth "ｄｅｌｅｔｅ"
      { name: 'encoded slash to dodge the segment', req: { method: 'POST', path: '/v1/customers/cus_1%2Fdelete' }, ...BAD },
      { name: 'path parameter to dodge the segment', req: { method: 'POST', path: '/v1/customers/cus_1/delete;x' }, ...BAD },
      { name: 'dot segment to dodge the segment', req: { method: 'POST', path: '/v1/customers/cus_1/./delete' }, ...BAD },
      { name: 'double slash to dodge *', req: { method: 'POST', path: '/v1/customers//delete' }, ...BAD },
    ];
  });
});

describe('header smuggling', () => {
  runCases(() => {
    const allowed = (name: string, headers: Record<string, string>, extra: Partial<Case['req']> = {}): Case => ({
      name,
      req: { path: '/v1/charges', headers, ...extra },
      ...OK,
      check: reachedUpstream,
    });
    const refused = (name: string, headers: Record<string, string>): Case => ({ name, req: { path: '/v1/charges', headers }, ...BAD });
    const many: Record<string, string> = {};
    for (let i = 0; i < 51; i++) many[`x-h${i}`] = 'v';
    return [
      allowed('Authorization override (bearer)', { Authorization: 'Bearer agent-supplied' }),
      allowed('Authorization override (basic)', { authorization: `Basic ${b64('agent:pw')}` }),
      allowed('Host to the attacker', { Host: att.host }),
      allowed('X-Forwarded-* and Forwarded', {
        'X-Forwarded-Host': att.host,
        'X-Forwarded-For': '10.0.0.1',
        'X-Forwarded-Proto': 'http',
        Forwarded: `host=${att.host}`,
        'X-Real-IP': '10.0.0.1',
      }),
      allowed('method override headers', { 'X-HTTP-Method-Override': 'DELETE', 'X-HTTP-Method': 'DELETE', 'X-Method-Override': 'DELETE' }),
      allowed('Transfer-Encoding on a GET', { 'Transfer-Encoding': 'chunked' }),
      allowed('Content-Length on a GET', { 'Content-Length': '999' }),
      allowed('Cookie', { Cookie: 'session=agent-cookie' }),
      allowed('Proxy-*', { 'Proxy-Authorization': `Basic ${b64('a:b')}`, 'Proxy-Connection': 'keep-alive' }),
      allowed('rewrite headers', {
        'X-Original-URL': '/admin',
        'X-Rewrite-URL': '/admin',
        'X-Original-URI': '/admin',
        'X-Override-URL': '/admin',
      }),
      allowed('hop-by-hop', {
        Connection: 'close, Authorization',
        'Keep-Alive': 'timeout=5',
        Upgrade: 'h2c',
        TE: 'trailers',
        Trailer: 'Authorization',
        'HTTP2-Settings': 'AAMAAABkAAQAoAAAAAIAAAAA',
        Expect: '100-continue',
      }),
      allowed('encoding and ranges', { 'Accept-Encoding': 'gzip, br', Range: 'bytes=0-3', 'If-Range': 'x' }),
      allowed('latin1 value is fine', { 'X-Note': 'caf\u00e9' }),
      allowed('ordinary headers pass', { Accept: 'application/json', 'Idempotency-Key': 'abc', 'X-Custom': 'ok' }),
      {
        name: 'Transfer-Encoding + Content-Length on a POST body',
        req: {
          method: 'POST',
          path: '/v1/customers',
          body: 'name=BODYMARK_te_cl',
          headers: { 'Transfer-Encoding': 'chunked', 'Content-Length': '1', 'Content-Type': 'application/x-www-form-urlencoded' },
        },
        ...OK,
        check: (c) => {
          expect(c.sent[0]!.body.toString()).toBe('name=BODYMARK_te_cl');
          expect(c.sent[0]!.headers['content-length']).toBe(String('name=BODYMARK_te_cl'.length));
        },
      },
      {
        name: 'header auth: agent X-Api-Key',
        req: { service: 'hdr', path: '/echo', headers: { 'X-Api-Key': 'agent-key' } },
        ...OK,
        check: reachedUpstream,
      },
      {
        name: 'header auth: agent x-api-key + Authorization',
        req: { service: 'hdr', path: '/echo', headers: { 'x-api-key': 'agent-key', Authorization: 'Bearer x' } },
        ...OK,
        check: reachedUpstream,
      },
      refused('CRLF in a value', { 'X-Note': `a\r\nHost: ${att.host}` }),
      refused('LF in a value', { 'X-Note': 'a\nb' }),
      refused('CR in a value', { 'X-Note': 'a\rb' }),
      refused('NUL in a value', { 'X-Note': 'a\u0000b' }),
      refused('non-latin1 value', { 'X-Note': '\u0101' }),
      refused('CRLF in a name', { 'X-Note\r\nHost': 'x' }),
      refused('trailing space in a name', { 'Authorization ': 'Bearer x' }),
      refused('leading space in a name', { ' Authorization': 'Bearer x' }),
      refused('colon in a name', { 'Authorization:': 'Bearer x' }),
      refused('empty name', { '': 'x' }),
      refused('same name twice in different case', { authorization: 'a', Authorization: 'b' }),
      refused('too many headers', many),
      refused('too large', { 'X-Big': 'a'.repeat(9000) }),
      refused('number value', { 'X-Num': 1 as unknown as string }),
    ];
  });
});

describe('query tricks (auth type query, param "key")', () => {
  runCases(() => {
    const reserved = (name: string, req: Partial<Case['req']> & { path: string }): Case => ({
      name,
      req: { service: 'q', ...req },
      ...BAD,
    });
    const ok = (name: string, req: Partial<Case['req']> & { path: string }): Case => ({
      name,
      req: { service: 'q', ...req },
      ...OK,
      check: reachedUpstream,
    });
    return [
      ok('plain call', { path: '/echo?a=1' }),
      reserved('key in the path query', { path: '/echo?key=agent' }),
      reserved('key in the query field', { path: '/echo', query: { key: 'agent' } }),
      reserved('key as an array in the query field', { path: '/echo', query: { key: ['a', 'b'] } }),
      reserved('key after another param', { path: '/echo?a=1&key=agent' }),
      reserved('key without a value', { path: '/echo?key' }),
      reserved('key with an empty value', { path: '/echo?key=' }),
      reserved('encoded k', { path: '/echo?%6Bey=agent' }),
      reserved('encoded e', { path: '/echo?k%65y=agent' }),
      reserved('fully encoded', { path: '/echo?%6B%65%79=agent' }),
      reserved('key in path query and query field', { path: '/echo?a=1', query: { key: 'agent' } }),
      ok('other case is another name', { path: '/echo?KEY=agent' }),
      ok('key[] is another name', { path: '/echo', query: { 'key[]': 'agent' } }),
      ok('key with a NUL is another name', { path: '/echo?key%00=agent' }),
      ok('a value mentioning key=', { path: '/echo', query: { note: 'key=agent&key=again' } }),
      { name: 'fragment', req: { service: 'q', path: '/echo?key=a#b' }, ...BAD },
    ];
  });
});

describe('bodies', () => {
  runCases(() => [
    {
      name: 'JSON body',
      req: { method: 'POST', path: '/v1/customers', body: { name: 'BODYMARK_json_1', nested: { deep: 'BODYMARK_json_2' } } },
      ...OK,
      check: (c) => expect(c.sent[0]!.headers['content-type']).toBe('application/json'),
    },
    {
      name: 'string body',
      req: { method: 'POST', path: '/v1/customers', body: 'BODYMARK_string_body' },
      ...OK,
      check: (c) => expect(c.sent[0]!.body.toString()).toBe('BODYMARK_string_body'),
    },
    { name: 'array body', req: { method: 'POST', path: '/v1/customers', body: ['BODYMARK_array'] }, ...OK, check: reachedUpstream },
    { name: 'GET with a body', req: { method: 'GET', path: '/v1/charges', body: 'BODYMARK_get' }, ...BAD },
    { name: 'body over 4 MiB', req: { method: 'POST', path: '/v1/customers', body: 'B'.repeat(4 * 1024 * 1024 + 1) }, ...BAD },
  ]);
});

describe('unknown services, missing secrets, origin binding', () => {
  runCases(() => [
    { name: 'unknown service', req: { service: 'nope', path: '/v1/charges' }, outcome: 'blocked', code: 'GATE_UNKNOWN_SERVICE' },
    {
      name: 'traversal in the service name',
      req: { service: '../stripe', path: '/v1/charges' },
      outcome: 'blocked',
      code: 'GATE_UNKNOWN_SERVICE',
    },
    { name: 'case in the service name', req: { service: 'STRIPE', path: '/v1/charges' }, outcome: 'blocked', code: 'GATE_UNKNOWN_SERVICE' },
    {
      name: 'NUL in the service name',
      req: { service: 'stripe\u0000', path: '/v1/charges' },
      outcome: 'blocked',
      code: 'GATE_UNKNOWN_SERVICE',
    },
    {
      name: 'prototype key as a service name',
      req: { service: '__proto__', path: '/v1/charges' },
      outcome: 'blocked',
      code: 'GATE_UNKNOWN_SERVICE',
    },
    {
      name: 'service number',
      req: { service: 7 as unknown as string, path: '/v1/charges' },
      outcome: 'blocked',
      code: 'GATE_UNKNOWN_SERVICE',
    },
    { name: 'no secret in the vault', req: { service: 'ghost', path: '/echo' }, outcome: 'error', code: 'GATE_NO_SECRET' },
    {
      name: 'bound to 127.0.0.1, config says localhost',
      req: { service: 'localhost', path: '/echo' },
      outcome: 'blocked',
      code: 'GATE_ORIGIN_MISMATCH',
      check: (c) => expect(c.entry.rule).toBe('origin binding'),
    },
  ]);

  it('config.yaml edited to point stripe at the attacker → GATE_ORIGIN_MISMATCH with the DESIGN.md message; nothing sent', async () => {
    const ok = await call(asReq({ path: '/v1/charges' }), OK);
    expect(ok.result?.status).toBe(200);
    await writeConfig(configObject({ stripeBase: att.url }));
    await configSettle();
    try {
      for (const p of ['/v1/charges', '/v1/customers', '/echo-secret']) {
        const r = await call(asReq({ path: p }), { outcome: 'blocked', code: 'GATE_ORIGIN_MISMATCH' });
        expect(r.error!.message).toBe(
          `secret "stripe" is bound to ${up.url}; config.yaml asks for ${att.url} — run janee bind stripe ${att.url} to allow it`,
        );
        expect(r.entry.rule).toBe('origin binding');
      }
      // A policy refusal still comes first, and is not an origin problem.
      await call(asReq({ method: 'POST', path: '/v1/charges' }), POLICY);
      // Same host, another port; another scheme; a path prefix on the attacker.
      for (const base of [`http://127.0.0.1:${att.port}/v1`, `http://localhost:${up.port}`]) {
        await writeConfig(configObject({ stripeBase: base }));
        await configSettle();
        await call(asReq({ path: '/v1/charges' }), { outcome: 'blocked', code: 'GATE_ORIGIN_MISMATCH' });
      }
    } finally {
      await writeConfig(configObject());
      await configSettle();
    }
    await call(asReq({ path: '/v1/charges' }), OK);
    expect(att.connections).toBe(0);
  });
});

describe('redirects are returned, never followed', () => {
  runCases(() =>
    [301, 302, 303, 307, 308].flatMap((status): Case[] => [
      {
        name: `${status} to the attacker`,
        req: { path: '/redirect', query: { to: `http://${att.host}/steal?x=1`, status: String(status) } },
        ...OK,
        check: (c) => {
          expect(c.result!.status).toBe(status);
          expect(c.result!.headers.location).toBe(`http://${att.host}/steal?x=1`);
          expect(c.sent).toHaveLength(1);
        },
      },
      {
        name: `${status} scheme-relative`,
        req: { path: `/redirect?to=//${att.host}/steal&status=${status}` },
        ...OK,
        check: (c) => {
          expect(c.result!.status).toBe(status);
          expect(c.result!.headers.location).toBe(`//${att.host}/steal`);
        },
      },
    ]),
  );
});

describe('an upstream that echoes the credential back → redacted in everything returned', () => {
  const redacted =
    (svc: string) =>
    (c: Called): void => {
      const all = JSON.stringify(c.result);
      expect(all).toContain(`[REDACTED:${svc}]`);
    };
  runCases(() => [
    {
      name: 'bearer /echo-secret',
      req: { path: '/echo-secret' },
      ...OK,
      check: (c) => {
        redacted('stripe')(c);
        expect(c.result!.headers['x-request-id']).toBe('[REDACTED:stripe]');
        expect(c.result!.headers['x-secret-not-allowlisted']).toBeUndefined();
        expect(c.result!.headers['www-authenticate']).toBe('Bearer realm="[REDACTED:stripe]"');
      },
    },
    {
      name: 'bearer /reflect',
      req: { path: '/reflect' },
      ...OK,
      check: (c) => {
        redacted('stripe')(c);
        expect(c.result!.headers['x-not-allowlisted']).toBeUndefined();
        for (const h of ['x-request-id', 'x-ratelimit-token', 'x-ratelimit-url', 'link', 'location', 'www-authenticate']) {
          expect(c.result!.headers[h], h).toContain('[REDACTED:stripe]');
        }
      },
    },
    {
      name: 'bearer /reflect POST with a body',
      req: { method: 'POST', path: '/reflect', body: { n: 'BODYMARK_reflect' } },
      ...OK,
      check: redacted('stripe'),
    },
    { name: 'basic /echo-secret (base64(user:pass))', req: { service: 'basic', path: '/echo-secret' }, ...OK, check: redacted('basic') },
    {
      name: 'basic /reflect (user and password decoded, every encoding)',
      req: { service: 'basic', path: '/reflect' },
      ...OK,
      check: redacted('basic'),
    },
    { name: 'header /reflect', req: { service: 'hdr', path: '/reflect' }, ...OK, check: redacted('hdr') },
    { name: 'query /echo-secret', req: { service: 'q', path: '/echo-secret' }, ...OK, check: redacted('q') },
    { name: 'query /reflect', req: { service: 'q', path: '/reflect?a=1' }, ...OK, check: redacted('q') },
    {
      name: 'query /reflect as text/plain',
      req: { service: 'q', path: '/reflect', query: { type: 'text/plain' } },
      ...OK,
      check: redacted('q'),
    },
    {
      name: 'binary body (octet-stream → base64)',
      req: { service: 'open', path: '/reflect-bin' },
      ...OK,
      check: (c) => {
        expect(c.result!.bodyEncoding).toBe('base64');
        expect(Buffer.from(c.result!.body, 'base64').toString('latin1')).toContain('[REDACTED:open]');
      },
    },
    {
      name: 'binary body, basic',
      req: { service: 'basic', path: '/reflect-bin' },
      ...OK,
      check: (c) => expect(c.result!.bodyEncoding).toBe('base64'),
    },
    {
      name: 'gzip-compressed echo (decoded, then redacted)',
      req: { service: 'open', path: '/gzip' },
      ...OK,
      check: (c) => {
        redacted('open')(c);
        expect(c.result!.headers['content-encoding']).toBeUndefined();
      },
    },
    {
      name: 'secret cut by the size cap (tail is a prefix of the secret)',
      req: { service: 'open', path: `/pad?n=${1024 * 1024 - 20}` },
      ...OK,
      check: (c) => {
        expect(c.result!.truncated).toBe(true);
        expect(c.result!.body).not.toContain('Bearer sk_te');
        expect(c.result!.body).not.toContain('sk_te');
      },
    },
    {
      name: 'a raw server echoing the secret in a header and the body',
      req: { service: 'raw_leaky', path: '/x' },
      ...OK,
      check: (c) => {
        expect(c.result!.body).toBe('token=[REDACTED:raw_leaky]');
        expect(c.result!.headers['x-request-id']).toBe('[REDACTED:raw_leaky]');
      },
    },
  ]);
});

describe('known redaction gap', () => {
  // BUG (src/gate/inject.ts, pushEncodings): only one level of JSON escaping is a
  // variant. A secret containing `"` or `\` echoed inside a JSON string inside
  // JSON (an error message quoting the request, a logged body) escapes twice and
  // goes out whole. Kept as it.fails until variants include a second level.
  it('a basic password with `"` and `\\`, echoed as JSON inside a JSON string, is redacted', async () => {
    up.route('/echo-nested', (req, res) => {
      const { values } = reflectValues(req);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: `bad request: ${JSON.stringify({ seen: values.slice(-1)[0] })}` }));
    });
    await call(asReq({ service: 'basic', path: '/echo-nested' }), OK);
  });
});

describe('huge, slow and malformed upstream responses → clear errors without the secret', () => {
  runCases(() => [
    {
      name: '20 MB body → capped at 1 MiB and marked truncated',
      req: { service: 'open', path: '/bytes?n=20971520' },
      ...OK,
      check: (c) => {
        expect(c.result!.truncated).toBe(true);
        expect(c.result!.body.replace(/\[REDACTED:[a-z_]+\]$/, '')).toMatch(/^a{1048000,1048576}$/);
        expect(up.bytesSent).toBeLessThan(20971520);
      },
    },
    { name: 'endless body', req: { service: 'open', path: '/bytes?n=inf' }, ...OK, check: (c) => expect(c.result!.truncated).toBe(true) },
    {
      name: 'slow headers',
      req: { service: 'slow', path: '/slow-headers?ms=5000' },
      outcome: 'error',
      code: 'GATE_UPSTREAM_TIMEOUT',
      check: (c) => expect(c.error!.message).toBe(`upstream ${up.url} timed out after 0.3s (headers)`),
    },
    {
      name: 'no answer at all',
      req: { service: 'slow', path: '/hang' },
      outcome: 'error',
      code: 'GATE_UPSTREAM_TIMEOUT',
      check: (c) => expect(c.error!.message).toContain('(headers)'),
    },
    {
      name: 'slow body',
      req: { service: 'slow', path: '/slow-body?ms=5000' },
      outcome: 'error',
      code: 'GATE_UPSTREAM_TIMEOUT',
      check: (c) => expect(c.error!.message).toBe(`upstream ${up.url} timed out after 0.3s (body)`),
    },
    {
      name: 'trickling body',
      req: { service: 'slow', path: '/trickle?every=20' },
      outcome: 'error',
      code: 'GATE_UPSTREAM_TIMEOUT',
      check: (c) => expect(c.error!.message).toContain('(body)'),
    },
    { name: 'connection reset mid-body', req: { service: 'open', path: '/reset' }, outcome: 'error', code: 'GATE_UPSTREAM_ERROR' },
    {
      name: 'unknown content-encoding',
      req: { service: 'open', path: '/zstd' },
      outcome: 'error',
      code: 'GATE_UPSTREAM_ERROR',
      check: (c) => expect(c.error!.message).toContain('zstd'),
    },
    {
      name: 'bad Content-Length',
      req: { service: 'raw_badlen', path: '/x' },
      outcome: 'error',
      code: 'GATE_UPSTREAM_ERROR',
      check: (c) => expect(c.error!.message).toContain('malformed HTTP response'),
    },
    {
      name: 'not HTTP',
      req: { service: 'raw_nothttp', path: '/x' },
      outcome: 'error',
      code: 'GATE_UPSTREAM_ERROR',
      check: (c) => expect(c.error!.message).toContain('malformed HTTP response'),
    },
    { name: 'body shorter than Content-Length', req: { service: 'raw_short', path: '/x' }, outcome: 'error', code: 'GATE_UPSTREAM_ERROR' },
    {
      name: 'malformed response carrying the secret',
      req: { service: 'raw_leakyerr', path: '/x' },
      outcome: 'error',
      code: 'GATE_UPSTREAM_ERROR',
    },
    { name: 'bad chunked encoding', req: { service: 'raw_badchunk', path: '/x' }, outcome: 'error', code: 'GATE_UPSTREAM_ERROR' },
    {
      name: 'connection closed without a response',
      req: { service: 'raw_empty', path: '/x' },
      outcome: 'error',
      code: 'GATE_UPSTREAM_ERROR',
    },
    {
      name: 'connection refused',
      req: { service: 'down', path: '/x' },
      outcome: 'error',
      code: 'GATE_UPSTREAM_ERROR',
      check: (c) => expect(c.error!.message).toBe(`upstream http://127.0.0.1:${downPort}: connection refused (ECONNREFUSED)`),
    },
  ]);
});

describe('truncation boundary', () => {
  // The agent controls an echo: it can place any text exactly at the byte cap.
  const probes: { right: Called; wrong: Called; pad: number }[] = [];

  it("an agent-placed prefix of another service's secret at the cap: no secret goes out, every call audited", async () => {
    const token = SECRETS.stripe!.token!;
    const c = token.charAt(8); // first random character
    const wrongC = c === '0' ? '1' : '0';
    for (const [rightGuess, wrongGuess] of [
      [token.slice(0, 9), token.slice(0, 8) + wrongC],
      [`Bearer ${token.slice(0, 9)}`, `Bearer ${token.slice(0, 8)}${wrongC}`],
    ] as const) {
      const pad = 1024 - rightGuess.length;
      const body = (g: string): string => `${'x'.repeat(pad)}${g}${'y'.repeat(200)}`;
      const right = await call(asReq({ service: 'small', method: 'POST', path: '/echo-raw', body: body(rightGuess) }), OK);
      const wrong = await call(asReq({ service: 'small', method: 'POST', path: '/echo-raw', body: body(wrongGuess) }), OK);
      expect(right.result!.truncated).toBe(true);
      expect(wrong.result!.truncated).toBe(true);
      probes.push({ right, wrong, pad });
    }
  });

  // BUG (src/gate/redact.ts, Matcher#tail): a truncated body's tail is redacted only
  // when it is a prefix of a secret variant, so whether the agent's own text at the
  // cap comes back redacted tells it whether its guess is a prefix of a secret: an
  // oracle that recovers any secret one character at a time (16 calls per hex
  // digit). Kept as it.fails until the tail is cut the same way whatever it holds.
  it('the answer does not depend on whether the guess is a secret prefix (no oracle)', () => {
    expect(probes.length).toBe(2);
    for (const { right, wrong, pad } of probes) {
      const shape = (c: Called): string => c.result!.body.slice(pad).replace(/[0-9a-f]/g, 'h');
      expect(shape(right)).toBe(shape(wrong));
    }
  });
});

describe('rate limit', () => {
  it('rateLimit: 3/sec → the 4th call is GATE_RATE_LIMITED with the retry time; a refused call costs nothing', async () => {
    // Refused before the limiter: does not use up the budget.
    await call(asReq({ service: 'limited', path: '/echo/../x' }), BAD);
    for (let i = 0; i < 3; i++) await call(asReq({ service: 'limited', path: '/echo' }), OK);
    const r = await call(asReq({ service: 'limited', path: '/echo' }), { outcome: 'rate_limited', code: 'GATE_RATE_LIMITED' });
    expect(r.error!.message).toMatch(/^rate limited: limited allows 3\/sec; retry in 1s$/);
    expect(r.error!.hint).toContain('wait 1s');
    expect(r.entry.rule).toBe('3/sec');
    // Other services are unaffected.
    await call(asReq({ service: 'open', path: '/echo' }), OK);
    await sleep(1050);
    await call(asReq({ service: 'limited', path: '/echo' }), OK);
  });
});

describe('kill switch', () => {
  async function until(req: ExecuteRequest, want: Outcome, other: Outcome): Promise<number> {
    const t0 = performance.now();
    for (;;) {
      const r = await call(req, { outcome: [want, other] });
      const ms = performance.now() - t0;
      if (r.entry.outcome === want) return ms;
      expect(ms, `not ${want} after ${Math.round(ms)} ms`).toBeLessThan(1000);
      await sleep(25);
    }
  }

  it('setKillswitch on/off for one service is noticed within 1 s by a running gate', async () => {
    await call(asReq({ path: '/v1/charges' }), OK);
    await setKillswitch(killFile, true, ['stripe']);
    expect(await until(asReq({ path: '/v1/charges' }), 'killed', 'allowed')).toBeLessThan(1000);
    const k = await call(asReq({ path: '/v1/charges' }), { outcome: 'killed', code: 'GATE_KILLED' });
    expect(k.error!.message).toBe('kill switch is on for stripe: every call is blocked');
    expect(k.error!.hint).toContain('janee killswitch off stripe');
    // The kill switch comes before everything: a bad path is "killed", not "blocked".
    await call(asReq({ path: '/v1/charges/../x' }), { outcome: 'killed', code: 'GATE_KILLED' });
    // Other services still work, and list_services says which is blocked.
    await call(asReq({ service: 'open', path: '/echo' }), OK);
    const list = await gate.listServices();
    expect(list.find((s) => s.name === 'stripe')?.blocked).toBe(true);
    expect(list.find((s) => s.name === 'open')?.blocked).toBe(false);
    await setKillswitch(killFile, false, ['stripe']);
    expect(await until(asReq({ path: '/v1/charges' }), 'allowed', 'killed')).toBeLessThan(1000);
  });

  it('kill switch for everything, including an emergency `touch killswitch`', async () => {
    await setKillswitch(killFile, true, []);
    expect(await until(asReq({ service: 'open', path: '/echo' }), 'killed', 'allowed')).toBeLessThan(1000);
    for (const service of ['stripe', 'q', 'basic', 'nope']) {
      await call(asReq({ service, path: '/echo' }), { outcome: 'killed', code: 'GATE_KILLED' });
    }
    await setKillswitch(killFile, false, []);
    expect(await until(asReq({ service: 'open', path: '/echo' }), 'allowed', 'killed')).toBeLessThan(1000);
    await fs.writeFile(killFile, '');
    try {
      expect(await until(asReq({ service: 'hdr', path: '/echo' }), 'killed', 'allowed')).toBeLessThan(1000);
    } finally {
      await fs.rm(killFile, { force: true });
    }
    expect(await until(asReq({ service: 'hdr', path: '/echo' }), 'allowed', 'killed')).toBeLessThan(1000);
  });
});

describe('concurrency', () => {
  it('50 parallel calls: one audit entry each, one valid chain; the rate limit holds under concurrency', async () => {
    await sleep(1100); // a fresh window for `limited`
    const reqs: ExecuteRequest[] = [
      ...Array.from({ length: 40 }, (_, i): ExecuteRequest =>
        i % 4 === 0 ? { service: 'stripe', method: 'POST', path: '/v1/charges' } : { service: 'open', method: 'GET', path: `/echo?i=${i}` },
      ),
      ...Array.from({ length: 10 }, (): ExecuteRequest => ({ service: 'limited', method: 'GET', path: '/echo' })),
    ];
    const settled = await Promise.allSettled(reqs.map((r) => gate.execute(r, CALLER)));
    const lines = await tail.readNew();
    calls += reqs.length;
    expect(lines).toHaveLength(reqs.length);
    const count = (o: string): number => lines.filter((l) => (JSON.parse(l) as AuditLine).outcome === o).length;
    expect(count('allowed')).toBe(30 + 3);
    expect(count('blocked')).toBe(10);
    expect(count('rate_limited')).toBe(7);
    expect(settled.filter((x) => x.status === 'fulfilled')).toHaveLength(33);
    for (const l of lines) expect(leaksIn(l)).toEqual([]);
    for (const x of settled) if (x.status === 'fulfilled') expect(leaksIn(JSON.stringify(x.value))).toEqual([]);
    const seqs = lines.map((l) => (JSON.parse(l) as AuditLine).seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(att.connections).toBe(0);
  });
});

describe('config.yaml broken while running → fail closed', () => {
  it('an inline secret or invalid YAML: every call is an audited error, nothing is sent, the message has no secret', async () => {
    const inline = configObject() as { services: Record<string, Record<string, unknown>> };
    inline.services.stripe!.auth = { type: 'bearer', key: SECRETS.stripe!.token };
    try {
      await writeConfig(inline);
      await configSettle();
      for (const service of ['stripe', 'open']) {
        const r = await call(asReq({ service, path: '/v1/charges' }), { outcome: 'error', code: 'CONFIG_INLINE_SECRET' });
        expect(r.error!.hint).toContain('janee migrate');
      }
      await fs.writeFile(configFile, 'services:\n  stripe: [unclosed\n');
      await configSettle();
      await call(asReq({ path: '/v1/charges' }), { outcome: 'error', code: 'CONFIG_INVALID' });
    } finally {
      await writeConfig(configObject());
      await configSettle();
    }
    await call(asReq({ path: '/v1/charges' }), OK);
  });
});

describe('locked gate', () => {
  it('secrets undefined → GATE_LOCKED for every call that passes the policy, audited as locked', async () => {
    const locked = new LocalGate({ configFile, auditDir, killswitchFile: killFile, secrets: undefined });
    try {
      for (const service of ['stripe', 'open', 'q']) {
        const r = await call(asReq({ service, path: service === 'stripe' ? '/v1/charges' : '/echo' }), {
          outcome: 'locked',
          code: 'GATE_LOCKED',
          gate: locked,
        });
        expect(r.error!.message).toBe('vault is locked');
        expect(r.error!.hint).toContain('janee unlock');
      }
      // Policy and path checks still run (and say why) without the vault.
      await call(asReq({ method: 'POST', path: '/v1/charges' }), { ...POLICY, gate: locked });
      await call(asReq({ path: '/v1/charges/../x' }), { ...BAD, gate: locked });
      await expect(locked.listServices()).rejects.toMatchObject({ code: 'GATE_LOCKED' });
    } finally {
      await locked.close();
    }
  });

  it('a wiped secret source locks the gate', async () => {
    const unlocked = await unlockVaultFile(vaultFile, PASSPHRASE);
    const secrets = new VaultSecrets(vaultFile, unlocked.fileKey, unlocked.data);
    const g = new LocalGate({ configFile, auditDir, killswitchFile: killFile, secrets });
    try {
      await call(asReq({ path: '/v1/charges' }), { ...OK, gate: g });
      g.setSecrets(undefined);
      expect(unlocked.fileKey.every((b) => b === 0)).toBe(true);
      await call(asReq({ path: '/v1/charges' }), { outcome: 'locked', code: 'GATE_LOCKED', gate: g });
    } finally {
      await g.close();
    }
  });
});

describe('property: hostile method/path/query/header combinations', () => {
  const att$ = (): string => att.host;
  const pathToken = fc.oneof(
    fc.constantFrom(
      '/',
      '.',
      '%',
      '2',
      'e',
      'f',
      '5',
      'c',
      'E',
      'F',
      'C',
      '\\',
      '?',
      '#',
      '@',
      ':',
      ';',
      '&',
      '=',
      '+',
      '*',
      '~',
      '\r',
      '\n',
      '\u0000',
      '\t',
      ' ',
      '\u2024',
      '\u2025',
      '\uff0e',
      '\u3002',
      '\u200b',
      '\u202e',
      '..',
      '%2e',
      '%2E',
      '%2f',
      '%2F',
      '%5c',
      '%25',
      '%252e',
      '%00',
      '%0d%0a',
      '%c0%ae',
      '%EF%BC%8E',
      '%E2%80%A5',
      '//',
      'http://',
      'https:',
      'HTTP://',
      'v1',
      'charges',
      'customers',
      'cus_1',
      'delete',
      'DELETE',
      'key',
      'key=',
    ),
    fc.constant('ATTACKER').map(() => att$()),
  );
  const prefix = fc.constantFrom(
    '',
    '/',
    '/v1/charges',
    '/v1/charges/',
    '/v1/customers',
    '/v1/customers/cus_1/',
    '/v1/customers/cus_1/delete',
    '//',
    '/v1',
  );
  const benignSegment = fc.constantFrom(
    '/x',
    '/cus_1',
    '/%41',
    '/a:b',
    '/@',
    '/~',
    "/'",
    '/(x)',
    '/!',
    '/a=b',
    '/%20',
    '/%C3%A9',
    '/a.b',
    '/..a',
    '/a..',
    '/.a',
    '/',
    '',
  );
  const hostilePath = fc.oneof(
    { weight: 3, arbitrary: fc.tuple(prefix, fc.array(pathToken, { maxLength: 10 })).map(([p, t]) => p + t.join('')) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom('/v1/charges', '/v1/customers', '/v1/customers/cus_1'), fc.array(benignSegment, { maxLength: 3 }))
        .map(([p, t]) => p + t.join('')),
    },
  );
  const method = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom('GET', 'get', 'POST') },
    fc.constantFrom(
      'GET',
      'get',
      'Get',
      'POST',
      'post',
      'DELETE',
      'PUT',
      'PATCH',
      'HEAD',
      'OPTIONS',
      'TRACE',
      'CONNECT',
      'GET /x HTTP/1.1\r\n',
      'GET\r\n',
      ' GET',
      '',
    ),
    fc.string({ unit: 'binary', maxLength: 8 }),
  );
  const headerName = fc.constantFrom(
    'Authorization',
    'authorization',
    'AUTHORIZATION',
    'Authorization ',
    'Host',
    'X-Forwarded-Host',
    'X-Forwarded-For',
    'Forwarded',
    'X-HTTP-Method-Override',
    'X-Method-Override',
    'Transfer-Encoding',
    'Content-Length',
    'Cookie',
    'Proxy-Authorization',
    'X-Original-URL',
    'Connection',
    'Upgrade',
    'TE',
    'Expect',
    'Range',
    'Accept-Encoding',
    'X-Api-Key',
    'X-Custom',
    'Content-Type',
    'X\r\nHost',
  );
  const headerValue = fc.oneof(
    fc.constantFrom(
      'Bearer agent',
      'DELETE',
      'chunked',
      '0',
      'session=x',
      'gzip',
      `http://127.0.0.1/`,
      'a\r\nHost: evil',
      'a\nb',
      '\u0000',
      'caf\u00e9',
      '\u0101',
      '',
    ),
    fc.constant('ATT').map(() => att$()),
    fc.string({ unit: 'binary', maxLength: 12 }),
  );
  const rarely = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
    fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: a });
  const headers = rarely(fc.dictionary(headerName, headerValue, { maxKeys: 4 }));
  const queryVal = fc
    .tuple(
      fc.constantFrom('', 'http://', '//', '\r\n', '#', '&key=', '%', '%25', "'"),
      fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 8, maxLength: 8 }),
    )
    .map(([h, x]) => `QV${x}${h}`);
  const query = rarely(
    fc.dictionary(fc.constantFrom('a', 'key', 'next', 'to', 'x y', '%6Bey'), fc.oneof(queryVal, fc.array(queryVal, { maxLength: 2 })), {
      maxKeys: 3,
    }),
  );
  const pathQuery = fc.option(
    fc.tuple(fc.constantFrom('a', 'key', 'k%65y', 'next'), queryVal).map(([k, v]) => `?${k}=${v}`),
    { nil: '' },
  );
  const body = rarely(fc.oneof(fc.constant('BODYMARK_fuzz_string'), fc.constant({ mark: 'BODYMARK_fuzz_object' })));
  const service = fc.constantFrom('stripe', 'stripe', 'stripe', 'q', 'hdr', 'basic');

  it('the attacker never receives anything, and every upstream request is policy-allowed, as audited, with only our credential', async () => {
    let allowed = 0;
    let reached = 0;
    await fc.assert(
      fc.asyncProperty(service, method, hostilePath, pathQuery, query, headers, body, async (svc, m, p, pq, q, h, b) => {
        const req: ExecuteRequest = { service: svc, method: m, path: p + pq };
        if (q !== undefined) req.query = q;
        if (h !== undefined) req.headers = h;
        if (b !== undefined) req.body = b;
        const r = await call(req, { outcome: ['allowed', 'blocked'] });
        if (r.entry.outcome === 'blocked') expect(['GATE_BAD_REQUEST', 'GATE_BLOCKED'], r.error?.message).toContain(r.error?.code);
        if (r.entry.outcome === 'allowed') allowed++;
        reached += r.sent.length;
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 400), seed: Number(process.env.FC_SEED ?? 0x5ec12e7), endOnFailure: true },
    );
    // The generator must exercise both sides.
    expect(allowed).toBeGreaterThan(10);
    expect(reached).toBe(allowed);
    if (process.env.FC_RUNS) console.log(`fuzz: ${allowed} allowed of ${process.env.FC_RUNS}`);
  });
});

describe('the audit log at the end', () => {
  it('verifies, with exactly one entry per call', async () => {
    expect(await tail.readNew()).toEqual([]);
    const v = await verifyAudit(auditDir);
    expect(v.problems).toEqual([]);
    expect(v.ok).toBe(true);
    expect(v.entries).toBe(calls);
    expect(calls).toBeGreaterThan(300);
    // No file anywhere under the home holds a secret.
    const walk = async (d: string): Promise<string[]> => {
      const out: string[] = [];
      for (const e of await fs.readdir(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) out.push(...(await walk(p)));
        else out.push(p);
      }
      return out;
    };
    for (const f of await walk(home)) expect(leaksIn(await fs.readFile(f)), f).toEqual([]);
  });

  it('(control) the attacker server does record a request that reaches it', async () => {
    expect(att.connections).toBe(0);
    const res = await fetch(`${att.url}/probe`);
    expect(await res.text()).toBe('pwned');
    expect(att.connections).toBe(1);
    expect(Buffer.concat(att.received).toString('latin1')).toContain('GET /probe HTTP/1.1');
  });
});
