/**
 * Red team on redaction (issue 8 part 2): encodings of an *encoded* form of the
 * key that a mainstream upstream produces without being asked to.
 *
 * The case: a key with base64 characters (`+`, `/`, `=`) injected as a query
 * parameter. Many APIs hand back an opaque pagination cursor or `state` that is
 * base64 of the request's query string (`page=2&api_key=<percent-encoded key>`)
 * or of a JSON object holding it (PHP's json_encode writes `\/`). The redactor
 * knew base64 of the key itself at every alignment, but not base64 of its
 * percent- or JSON-escaped forms: the agent decoded the cursor and read the key.
 * Real loopback upstream, real LocalGate, real vault.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { constants as zc, gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalGate } from '../../src/gate/gate.js';
import { NGRAM } from '../../src/gate/redact.js';
import type { Caller, ExecuteResult } from '../../src/gate/types.js';
import { gateWithVault } from '../helpers/gate.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const CALLER: Caller = { agent: 'redteam-redact', agentSource: 'flag' };
// A base64-alphabet key (as many providers issue), so its escaped forms differ from it every few characters.
// Plain random hex: every run of its characters in the agent's view is the key's.
const GZ_KEY = randomBytes(20).toString('hex');
const GZ_CAP = 4096;
const KEY = `pw${[...randomBytes(24)].map((b, i) => (i % 4 === 3 ? '+/=&'[b % 4] : 'abcdefghijkmnpqrstuvwxyzABCDEFGH'[b % 32])).join('')}`;

let dir: string;
let up: Upstream;
let gate: LocalGate;

/** What the upstream saw as the query string, undecoded (the key percent-encoded by the gate). */
const rawQuery = (url: string | undefined): string => (url ?? '').split('?')[1] ?? '';
const phpJson = (v: unknown): string => JSON.stringify(v).replace(/\//g, '\\/');

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(tmpdir(), 'janee-redteam-redact-'));
  up = await startUpstream();
  up.route('/items', (req, res) => {
    const q = rawQuery(req.url);
    const params = Object.fromEntries(new URLSearchParams(q));
    const as = params.as;
    let cursor: string;
    if (as === 'query-b64') cursor = Buffer.from(`page=2&${q}`).toString('base64');
    else if (as === 'query-b64url') cursor = Buffer.from(`p=2&${q}`).toString('base64url');
    else if (as === 'php-json-b64') cursor = Buffer.from(phpJson({ page: 2, params })).toString('base64');
    else cursor = Buffer.from(JSON.stringify({ page: 2, query: q })).toString('base64'); // json of the raw query
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ data: [], next: cursor }));
  });

  up.route('/shout', (req, res) => {
    // An error page that shouts what it got (upper case) and a log line that whispers it (lower case).
    const auth = String(req.headers.authorization ?? '');
    res.writeHead(401, { 'content-type': 'text/plain' });
    res.end(`INVALID CREDENTIALS: ${auth.toUpperCase()}\nlog: ${auth.toLowerCase()}\n`);
  });

  up.route('/invisible', (req, res) => {
    // The key with characters that display as nothing between its characters.
    const key = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
    const sep = new URL(req.url ?? '/', 'http://x').searchParams.get('sep') ?? '';
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<p>your key: ${[...key].join(sep)}</p>`);
  });

  up.route('/gz', (req, res) => {
    // An export endpoint: gzip without content-encoding, the request echoed after padding
    // the agent chose (level 0 here so the cut lands where the test wants; random
    // padding makes deflate store it the same way).
    const pad = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('pad'));
    res.writeHead(200, { 'content-type': 'application/gzip' });
    res.end(gzipSync(`${'x'.repeat(pad)}authorization: ${req.headers.authorization}\n${'y'.repeat(2000)}`, { level: 0 }));
  });

  gate = await gateWithVault({
    home: path.join(dir, 'home'),
    services: {
      q: { baseUrl: up.url, auth: { type: 'query', param: 'api_key' } },
      g: { baseUrl: up.url, auth: { type: 'bearer' }, maxResponseBytes: GZ_CAP },
    },
    secrets: { q: KEY, g: GZ_KEY },
    origin: up.url,
  });
});

afterAll(async () => {
  await gate?.close();
  await up?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

/** Every way the agent may decode the cursor it got: base64/base64url, then percent and JSON escapes undone. */
function decodedCursor(r: ExecuteResult): string {
  const next = (JSON.parse(r.body) as { next: string }).next;
  const bytes = Buffer.from(
    next
      .replace(/\[REDACTED:[^\]]*\]/g, '')
      .replace(/-/g, '+')
      .replace(/_/g, '/'),
    'base64',
  );
  // latin1 keeps every byte, whatever alignment the redaction left.
  const text = bytes.toString('latin1');
  let out = `${text}\n${text.replace(/\\\//g, '/')}`;
  try {
    out += `\n${decodeURIComponent(text.replace(/[^\x20-\x7e]/g, ''))}`;
  } catch {
    out += `\n${text.replace(/%2B/gi, '+').replace(/%2F/gi, '/').replace(/%3D/gi, '=')}`;
  }
  return out;
}

/** The longest run of the key's characters in `s` (the redactor's promise: < NGRAM). */
function longestRun(s: string, secret: string): string {
  let best = '';
  for (let i = 0; i < secret.length; i++)
    for (let j = i + best.length + 1; j <= secret.length; j++) {
      if (!s.includes(secret.slice(i, j))) break;
      best = secret.slice(i, j);
    }
  return best;
}

describe('red team: base64 of an escaped form of the key', () => {
  it.each(['query-b64', 'query-b64url', 'php-json-b64', 'json-query-b64'])('a %s pagination cursor does not carry the key', async (as) => {
    const r = await gate.execute({ service: 'q', method: 'GET', path: `/items?as=${as}` }, CALLER);
    expect(r.status).toBe(200);
    expect(up.requests.at(-1)?.url).toContain(encodeURIComponent(KEY)); // the key really went upstream, escaped
    expect(longestRun(decodedCursor(r), KEY).length).toBeLessThan(NGRAM);
  });
});

describe('red team: a compressed body cut at the size cap', () => {
  it('never shows the start of a key at the cut (the agent moves the cut with padding)', async () => {
    // gzip header 10 bytes + stored-block header 5: the cut is ~4081 characters into the text.
    let longest = '';
    for (let pad = 4081 - 'authorization: Bearer '.length - 12; pad <= 4081 - 'authorization: Bearer '.length; pad++) {
      const r = await gate.execute({ service: 'g', method: 'GET', path: `/gz?pad=${pad}` }, CALLER);
      expect(r.truncated).toBe(true);
      const bytes = Buffer.from(r.body, r.bodyEncoding === 'base64' ? 'base64' : 'utf8');
      let view = bytes.toString('latin1');
      try {
        view = gunzipSync(bytes, { finishFlush: zc.Z_SYNC_FLUSH }).toString('latin1'); // what an agent can inflate of a cut stream
      } catch {
        // not gzip (withheld notice)
      }
      const run = longestRun(view, GZ_KEY);
      if (run.length > longest.length) longest = run;
    }
    // The plain-text path drops a fixed tail: no prefix of a key at the cut, of any length
    // (a run of 4+ random hex characters does not turn up by chance in the agent's view).
    expect(longest.length, longest).toBeLessThan(4);
  });
});

describe('red team: the key echoed in another case', () => {
  it('upper- and lower-cased echoes of a key are redacted (ASCII case is ignored when matching)', async () => {
    const r = await gate.execute({ service: 'g', method: 'GET', path: '/shout' }, CALLER);
    expect(r.status).toBe(401);
    expect(r.body).toContain('[REDACTED:g]');
    for (const form of [GZ_KEY, GZ_KEY.toUpperCase(), GZ_KEY.toLowerCase()]) {
      for (let i = 0; i + NGRAM <= form.length; i++) expect(r.body).not.toContain(form.slice(i, i + NGRAM));
    }
  });
});

describe('red team: the key with invisible characters between its characters', () => {
  it.each([
    ['zero-width space', '\u200b'],
    ['zero-width joiner', '\u200d'],
    ['soft hyphen', '\u00ad'],
    ['&shy;', '&shy;'],
    ['&#8203;', '&#8203;'],
    ['word joiner', '\u2060'],
  ])('%s between the characters is redacted', async (_name, sep) => {
    const r = await gate.execute({ service: 'g', method: 'GET', path: `/invisible?sep=${encodeURIComponent(sep)}` }, CALLER);
    expect(r.body).toContain('[REDACTED:g]');
    const visible = r.body.replace(/[\u00ad\u200b-\u200d\u2060\ufeff]|&shy;|&#8203;/g, '');
    for (let i = 0; i + NGRAM <= GZ_KEY.length; i++) expect(visible).not.toContain(GZ_KEY.slice(i, i + NGRAM));
  });
});
