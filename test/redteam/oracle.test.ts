/**
 * Red team (redteam3 #1): janee must not answer "is this string I chose a run of
 * a secret?". Redaction of an echo of the agent's own text, and exec's refusal of
 * a request holding a run of a secret, both did: an agent scoped away from
 * `stripe` extended the public prefix `sk_live_` one character per ~38 calls and
 * read the whole key. The BUILT `janee serve` over stdio with the SDK client, an
 * agent token scoped to `shop` and `echoer` only, a loopback upstream that echoes
 * what it gets, and a real program that prints its arguments, stdin and
 * environment.
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempHomes, initHome, runJanee, scratchDir, type JaneeEnv } from '../helpers/cli.js';
import { appendCommands, writeScript } from '../helpers/exec.js';
import { addAgent } from '../helpers/http.js';
import { closeAllServes, findForms, secretForms, startServe, textOf, type ServeSession, type ToolResult } from '../helpers/mcp.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

// Lower case and digits: the case-insensitive oracle read such a key exactly.
const STRIPE = `sk_live_51${randomBytes(16).toString('hex')}`;
const SHOP = `shop_key_${randomBytes(12).toString('hex')}`;
const KNOWN = STRIPE.slice(0, 9); // "sk_live_5": public
const ALPHABET = [...'abcdefghijklmnopqrstuvwxyz0123456789_-'];

let up: Upstream;
let env: JaneeEnv;
let s: ServeSession;

beforeAll(async () => {
  up = await startUpstream();
  // An API that repeats the id it was asked for, and the credential it got (httpbin-like).
  up.route('/lookup', (req, res) => {
    const id = new URL(req.url ?? '/', 'http://x').searchParams.get('id') ?? '';
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: `No such customer: '${id}'`, auth: req.headers.authorization }));
  });
  // An upstream that itself knows the key: it repeats the id and adds the key's next character.
  up.route('/next', (req, res) => {
    const id = new URL(req.url ?? '/', 'http://x').searchParams.get('id') ?? '';
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(STRIPE.startsWith(id) ? `${id}${STRIPE[id.length]}` : id);
  });
  env = await initHome();
  for (const [name, key, url] of [
    ['stripe', STRIPE, 'https://api.stripe.com'],
    ['shop', SHOP, up.url],
  ] as const) {
    const r = await runJanee(['add', name, '--base-url', url, '--auth', 'bearer', '--key-stdin'], { env, input: `${key}\n` });
    expect(r.code, r.stderr).toBe(0);
  }
  const echoer = await writeScript(path.join(scratchDir(env), 'bin'), 'echoer', 'echo "args: $*"\ncat\necho\nenv\n');
  await appendCommands(env.JANEE_HOME, ['  echoer:', `    program: ${echoer}`, '    env: { API_TOKEN: shop }', '    allow: ["*"]']);
  const b = await runJanee(['bind', 'shop', 'exec:echoer'], { env });
  expect(b.code, b.stderr).toBe(0);
  const token = await addAgent(env, 'no-stripe', ['--services', 'shop,echoer']);
  s = await startServe({ env: { ...env, JANEE_AGENT_TOKEN: token } });
}, 60_000);

afterAll(async () => {
  await closeAllServes();
  await up?.close();
  await cleanupTempHomes();
});

/** What the agent sees of an exec call, its own guess replaced by a marker (it knows what it sent). */
async function viaExec(guess: string): Promise<string> {
  const r = await s.call('exec', { command: 'echoer', args: [`#${guess}#`], stdin: `#${guess}#` });
  const seen = r.isError === true ? textOf(r) : JSON.stringify({ ...r.structuredContent, durationMs: 0 });
  // Each run has its own temporary HOME.
  return seen
    .split(guess)
    .join('<guess>')
    .replace(/janee-exec-\w+/g, 'janee-exec-X');
}

/** What the agent sees of an execute call to the echoing API (status, headers but Date, body). */
async function viaExecute(guess: string): Promise<string> {
  const r = await s.execute({ service: 'shop', method: 'GET', path: `/lookup?id=%23${guess}%23` });
  if (r.isError === true) return textOf(r).split(guess).join('<guess>');
  const { status, headers, body } = r.structuredContent as { status: number; headers: Record<string, string>; body: string };
  const { date: _date, ...rest } = headers;
  return JSON.stringify({ status, rest, body }).split(guess).join('<guess>');
}

/** Every distinct answer over the alphabet for the character after `known`, and the one for the right character. */
async function answers(call: (guess: string) => Promise<string>, known: string): Promise<{ distinct: Set<string>; right: string }> {
  const seen = new Map<string, string>();
  for (const c of ALPHABET) seen.set(c, await call(known + c));
  return { distinct: new Set(seen.values()), right: seen.get(STRIPE[known.length]!)! };
}

describe('no oracle on the agent’s own text', { timeout: 120_000 }, () => {
  it('exec: arguments and stdin extending a known prefix get the same answer whether the next character is right or wrong', async () => {
    // The first window (9 known + 1), then a slide two characters further, as extract.mjs did.
    for (const known of [KNOWN, STRIPE.slice(0, 10), STRIPE.slice(2, 11)]) {
      const { distinct, right } = await answers(viaExec, known);
      expect(distinct.size, [...distinct].join('\n')).toBe(1);
      // It ran and printed the guess back as sent; the key in its environment is redacted.
      expect(right).toMatch(/"exitCode":0/);
      expect(right).toContain('args: #<guess>#');
      expect(right).toContain('API_TOKEN=[REDACTED:shop]');
      expect(findForms(right, [...secretForms(SHOP)])).toEqual([]);
    }
  });

  it('execute: an upstream that repeats the id gives the same answer whether the next character is right or wrong, and still has its injected key redacted', async () => {
    for (const known of [KNOWN, STRIPE.slice(0, 10), STRIPE.slice(2, 11)]) {
      const { distinct, right } = await answers(viaExecute, known);
      expect(distinct.size, [...distinct].join('\n')).toBe(1);
      expect(right).toContain("No such customer: '#<guess>#'");
      expect(right).toContain('[REDACTED:shop]');
      expect(findForms(right, [...secretForms(SHOP)])).toEqual([]);
    }
  });

  it('the key janee injected, echoed around a part of it the agent sent, is still redacted whole', async () => {
    const part = SHOP.slice(0, 16);
    const r = await s.execute({ service: 'shop', method: 'GET', path: `/lookup?id=${part}` });
    const body = (r.structuredContent as { body: string }).body;
    expect(JSON.parse(body)).toEqual({ error: `No such customer: '${part}'`, auth: '[REDACTED:shop]' });
    const x = await s.call('exec', { command: 'echoer', args: [part], stdin: part });
    expect((x.structuredContent as { stdout: string }).stdout).toMatch(/^API_TOKEN=\[REDACTED:shop\]$/m);
    expect(findForms(JSON.stringify([r, x]), [...secretForms(SHOP)])).toEqual([]);
  });

  it('a character of a secret the agent did not send is redacted with the run it completes', async () => {
    // 9 right characters in, the upstream adds the 10th: that window is not the agent's.
    const r = await s.execute({ service: 'shop', method: 'GET', path: `/next?id=${KNOWN}` });
    expect((r.structuredContent as { body: string }).body).toBe('[REDACTED:stripe]');
  });

  it('a request holding a whole secret is still refused, raw or encoded; a part of one runs; a whole one echoed is redacted', async () => {
    const r = await s.execute({ service: 'shop', method: 'GET', path: `/lookup?id=${STRIPE}` });
    expect(JSON.parse((r.structuredContent as { body: string }).body)).toMatchObject({ error: "No such customer: '[REDACTED:stripe]'" });
    for (const stdin of [
      `here: ${STRIPE}`,
      Buffer.from(STRIPE).toString('base64'),
      encodeURIComponent(`k=${STRIPE}`),
      STRIPE.toUpperCase(),
    ]) {
      const r: ToolResult = await s.call('exec', { command: 'echoer', args: ['x'], stdin });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toMatch(/the request contains a secret janee holds; it was not run/);
    }
    const part = await s.call('exec', { command: 'echoer', args: ['x'], stdin: STRIPE.slice(0, -1) });
    expect(part.isError).toBeFalsy();
    expect((part.structuredContent as { stdout: string }).stdout).toContain(STRIPE.slice(0, -1));
  });
});
