/**
 * Issue 8, part 2: encodings that mainstream servers produce by default and that
 * redaction of whole JSON.stringify-style variants missed. Each case is a real
 * loopback upstream that reflects the bearer credential in one encoding, called
 * through the real LocalGate (real vault, config, undici, audit); the agent's view
 * (status, headers, body — base64 decoded) must hold no form of the secret.
 * Every case here fails on the redactor before this change (see the notes).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalGate } from '../../src/gate/gate.js';
import type { Caller, ExecuteResult } from '../../src/gate/types.js';
import { NGRAM } from '../../src/gate/redact.js';
import { findForms, secretForms } from '../helpers/mcp.js';
import { gateWithVault } from '../helpers/gate.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const CALLER: Caller = { agent: 'redact-leaks-test', agentSource: 'flag' };
const hex = (n: number): string => randomBytes(n).toString('hex');
// Characters every serializer treats differently: + / = (base64 keys), < > & (Go's escapes).
const TOKEN = `tk_${hex(10)}+/<>&=${hex(10)}Zq`;
// Header names allow no + / = and reach the gate lower-cased: a mixed-case key for that case.
const MIXED = `mk_${hex(8)}AbCdEfGh${hex(8)}`;

const bytesOf = (s: string): Buffer => Buffer.from(s, 'utf8');
const eachByte = (s: string, f: (b: number) => string): string => [...bytesOf(s)].map(f).join('');
const hh = (b: number): string => b.toString(16).padStart(2, '0');

/** How each upstream writes a string; a char-wise encoding of any piece of the secret is a piece of its output. */
const ENCODERS: Record<string, (s: string) => string> = {
  // .NET System.Text.Json: `+` (and <>&') as \u002B, upper-case hex.
  dotnet: (s) =>
    JSON.stringify(s)
      .slice(1, -1)
      .replace(/[+<>&']/g, (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`),
  // Go encoding/json: <>& as \u003c\u003e\u0026, lower-case hex.
  go: (s) =>
    JSON.stringify(s)
      .slice(1, -1)
      .replace(/[<>&]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
  jsonAllLower: (s) => [...s].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join(''),
  jsonAllUpper: (s) => [...s].map((c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`).join(''),
  htmlNamed: (s) =>
    s.replace(/[&<>+/=]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '+': '&plus;', '/': '&sol;', '=': '&equals;' })[c]!),
  htmlDecimal: (s) => [...s].map((c) => `&#${c.charCodeAt(0)};`).join(''),
  htmlHex: (s) =>
    [...s].map((c, i) => (i % 2 ? `&#x${c.charCodeAt(0).toString(16)};` : `&#X${c.charCodeAt(0).toString(16).toUpperCase()};`)).join(''),
  hexLower: (s) => bytesOf(s).toString('hex'),
  hexUpper: (s) => bytesOf(s).toString('hex').toUpperCase(),
  percentUpper: (s) => eachByte(s, (b) => `%${hh(b).toUpperCase()}`),
  percentLower: (s) => eachByte(s, (b) => `%${hh(b)}`),
  // Quoted-printable: `=` and non-alphanumerics as =HH, a soft line break after every 4th character.
  quotedPrintable: (s) =>
    [...bytesOf(s)]
      .map(
        (b, i, all) =>
          `${/[A-Za-z0-9_]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `=${hh(b).toUpperCase()}`}${i % 4 === 3 && i < all.length - 1 ? '=\r\n' : ''}`,
      )
      .join(''),
};

function send(res: ServerResponse, type: string, body: string | Buffer, extra: Record<string, string> = {}): void {
  res.writeHead(200, { 'content-type': type, ...extra });
  res.end(body);
}

/** The credential the gate injected (Bearer …). */
const credOf = (req: IncomingMessage): string => /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';

function utf16be(s: string): Buffer {
  const le = Buffer.from(s, 'utf16le');
  for (let i = 0; i + 1 < le.length; i += 2) [le[i], le[i + 1]] = [le[i + 1]!, le[i]!];
  return le;
}
function utf32(s: string, le: boolean): Buffer {
  const cps = [...s].map((c) => c.codePointAt(0)!);
  const b = Buffer.alloc(cps.length * 4);
  cps.forEach((cp, i) => (le ? b.writeUInt32LE(cp, i * 4) : b.writeUInt32BE(cp, i * 4)));
  return b;
}

let dir: string;
let up: Upstream;
let gate: LocalGate;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(tmpdir(), 'janee-redact-leaks-'));
  up = await startUpstream();
  up.route('/enc', (req, res) => {
    const name = new URL(req.url ?? '/', 'http://x').searchParams.get('as') ?? '';
    const enc = ENCODERS[name]!;
    const cred = credOf(req);
    const json = name === 'dotnet' || name === 'go' || name.startsWith('json');
    if (json) send(res, 'application/json', `{"error":"invalid key","key":"${enc(cred)}"}`);
    else if (name.startsWith('html')) send(res, 'text/html', `<p>Your key: <code>${enc(cred)}</code></p>`);
    else send(res, 'text/plain', `debug key=${enc(cred)} end`);
  });
  up.route('/mime', (req, res) => {
    // base64 of a document holding the key, wrapped at 76 columns; the prefix puts a line break inside the key.
    const doc = `${'-'.repeat(50)}${credOf(req)}${'-'.repeat(40)}`;
    const b64 = Buffer.from(doc)
      .toString('base64')
      .replace(/(.{76})/g, '$1\r\n');
    send(res, 'text/plain', `Content-Transfer-Encoding: base64\r\n\r\n${b64}\r\n`);
  });
  up.route('/gzip-no-ce', (req, res) => {
    send(res, 'application/json', gzipSync(JSON.stringify({ debug: { authorization: req.headers.authorization } })));
  });
  up.route('/charset', (req, res) => {
    // Honours Accept-Charset or a charset parameter in Accept, like many frameworks.
    const asked = `${String(req.headers['accept-charset'] ?? '')} ${req.headers.accept ?? ''}`.toLowerCase();
    const text = JSON.stringify({ echo: req.headers.authorization });
    if (asked.includes('utf-16')) send(res, 'application/json; charset=utf-16le', Buffer.from(text, 'utf16le'));
    else if (asked.includes('utf-32')) send(res, 'application/json; charset=utf-32be', utf32(text, false));
    else send(res, 'application/json', text);
  });
  up.route('/unicode', (req, res) => {
    // The same, whatever was asked: a BOM, a declared charset, or neither (sniffed).
    const text = JSON.stringify({ echo: req.headers.authorization });
    const as = new URL(req.url ?? '/', 'http://x').searchParams.get('as');
    if (as === 'utf16le-bom') send(res, 'application/json', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
    else if (as === 'utf16be-declared') send(res, 'text/plain; charset=UTF-16BE', utf16be(text));
    else if (as === 'utf16le-sniffed') send(res, 'application/json', Buffer.from(text, 'utf16le'));
    else if (as === 'utf32le-bom') send(res, 'application/json', Buffer.concat([Buffer.from([0xff, 0xfe, 0, 0]), utf32(text, true)]));
    else if (as === 'utf32be-declared') send(res, 'application/json; charset="utf-32"', utf32(text, false));
    else if (as === 'utf16-binary') send(res, 'application/octet-stream', Buffer.concat([randomBytes(9), Buffer.from(text, 'utf16le')]));
    else send(res, 'application/json', text);
  });
  up.route('/header-name', (req, res) => {
    send(res, 'application/json', '{}', { [`x-ratelimit-${credOf(req)}`]: '1', 'x-ratelimit-limit': '100' });
  });
  up.route('/header-split', (req, res) => {
    const c = credOf(req);
    const half = Math.ceil(c.length / 2);
    send(res, 'application/json', '{}', {
      'x-ratelimit-remaining': c.slice(0, half),
      'x-ratelimit-reset': c.slice(half),
      'x-request-id': 'req_1',
    });
  });
  up.route('/partial', (req, res) => {
    // "key ending in …Zq is invalid" style: all but the last few characters.
    const c = credOf(req);
    send(res, 'application/json', JSON.stringify({ error: `invalid api key ${c.slice(0, -4)}****` }));
  });

  gate = await gateWithVault({
    home: path.join(dir, 'home'),
    services: { svc: { baseUrl: up.url, auth: { type: 'bearer' } }, mixed: { baseUrl: up.url, auth: { type: 'bearer' } } },
    secrets: { svc: TOKEN, mixed: MIXED },
    origin: up.url,
  });
});

afterAll(async () => {
  await gate?.close();
  await up?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

/** Everything the agent can read of a result, decoded every way a reader might try. */
function agentViews(r: ExecuteResult): string[] {
  const raw = r.bodyEncoding === 'base64' ? Buffer.from(r.body, 'base64') : Buffer.from(r.body, 'utf8');
  const views = [
    raw.toString('utf8'),
    raw.toString('latin1'),
    raw.toString('utf16le'),
    raw.subarray(1).toString('utf16le'),
    JSON.stringify(r.headers),
    Object.keys(r.headers).join('\n'),
  ];
  try {
    views.push(gunzipSync(raw).toString('utf8'));
  } catch {
    // not gzip
  }
  // ASCII hidden between NULs (UTF-16/32 read as bytes), base64 broken by line ends.
  for (const v of [...views]) views.push(v.replace(/\0/g, ''), v.replace(/\s+/g, ''));
  return views;
}

/** The pieces of `secret` an agent must not see: every window of NGRAM characters, raw and in `encode`. */
function pieces(secret: string, encode: (s: string) => string = (s) => s): string[] {
  const out = new Set<string>();
  for (let i = 0; i + NGRAM <= secret.length; i++) out.add(encode(secret.slice(i, i + NGRAM)));
  return [...out];
}

function expectClean(r: ExecuteResult, secret: string, encode?: (s: string) => string): void {
  const views = agentViews(r);
  const forms = [...secretForms(secret), ...pieces(secret), ...(encode ? [encode(secret), ...pieces(secret, encode)] : [])];
  const leaked = new Set<string>();
  for (const v of views) for (const f of findForms(v, forms)) leaked.add(f);
  expect([...leaked], `leaked in ${JSON.stringify(r).slice(0, 400)}`).toEqual([]);
}

const call = (p: string, headers?: Record<string, string>, service = 'svc'): Promise<ExecuteResult> =>
  gate.execute({ service, method: 'GET', path: p, headers }, CALLER);

describe('redaction of encodings servers produce by default', () => {
  it.each(Object.keys(ENCODERS))('%s escapes of the key in an error body', async (name) => {
    const r = await call(`/enc?as=${name}`);
    expect(r.status).toBe(200);
    expect(r.body).toContain('[REDACTED:svc]');
    expectClean(r, TOKEN, ENCODERS[name]);
    // The text around the secret is intact.
    expect(r.body).toMatch(/^({"error":"invalid key","key":"|<p>Your key: <code>|debug key=)/);
  });

  it('base64 wrapped at 76 columns (MIME), the key across a line break', async () => {
    const r = await call('/mime');
    expect(r.body).toContain('[REDACTED:svc]');
    expect(r.body.startsWith('Content-Transfer-Encoding: base64\r\n\r\n')).toBe(true);
    expectClean(r, TOKEN);
  });

  it('a gzip body served without content-encoding is withheld when it holds a key', async () => {
    const r = await call('/gzip-no-ce');
    expect(r.status).toBe(200);
    expect(r.bodyEncoding).toBe('utf8');
    expect(r.body).toContain('[REDACTED:svc]');
    expectClean(r, TOKEN);
  });

  it.each([
    ['accept-charset', { 'Accept-Charset': 'utf-16' }],
    ['a charset parameter in accept', { accept: 'application/json; charset=utf-32, */*;q=0.1' }],
  ])('the agent asking for UTF-16/32 through %s gets nothing of the key', async (_n, headers) => {
    const r = await call('/charset', headers);
    expect(up.requests.at(-1)!.headers['accept-charset']).toBeUndefined();
    expect(String(up.requests.at(-1)!.headers.accept ?? '')).not.toMatch(/charset/i);
    expect(r.body).toContain('[REDACTED:svc]');
    expectClean(r, TOKEN);
  });

  it.each(['utf16le-bom', 'utf16be-declared', 'utf16le-sniffed', 'utf32le-bom', 'utf32be-declared'])(
    'a %s body is transcoded to UTF-8 and redacted',
    async (as) => {
      const r = await call(`/unicode?as=${as}`);
      expect(r.bodyEncoding).toBe('utf8');
      expect(r.body).toBe('{"echo":"[REDACTED:svc]"}');
      expectClean(r, TOKEN);
    },
  );

  it('UTF-16 text inside a binary body is redacted before base64', async () => {
    const r = await call('/unicode?as=utf16-binary');
    expect(r.bodyEncoding).toBe('base64');
    expectClean(r, TOKEN);
  });

  it('a response header whose name holds the key (lower-cased on the way) is dropped', async () => {
    const r = await call('/header-name', undefined, 'mixed');
    expect(r.headers['x-ratelimit-limit']).toBe('100');
    expect(Object.keys(r.headers).filter((k) => k.startsWith('x-ratelimit-'))).toEqual(['x-ratelimit-limit']);
    expectClean(r, MIXED);
    expectClean(r, MIXED.toLowerCase());
  });

  it('a key split across two response headers is redacted in both', async () => {
    const r = await call('/header-split');
    expect(r.headers['x-request-id']).toBe('req_1');
    expect(r.headers['x-ratelimit-remaining']).toContain('[REDACTED:svc]');
    expect(r.headers['x-ratelimit-reset']).toContain('[REDACTED:svc]');
    expectClean(r, TOKEN);
  });

  it('an echo of all but the last few characters of the key', async () => {
    const r = await call('/partial');
    expect(r.body).toBe('{"error":"invalid api key [REDACTED:svc]****"}');
    expectClean(r, TOKEN);
  });
});
