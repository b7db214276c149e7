/**
 * Origin binding end to end: a config.yaml edited to point a service at another host
 * is refused by `janee serve` (DESIGN.md, origin binding) and the other host receives
 * nothing; `janee bind` (with the passphrase) allows it.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempHomes, errorLines, initHome, runJanee, withEnv, type JaneeEnv } from '../helpers/cli.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { callTool, leaksIn, startServe } from '../ci/mcp.js';

const SECRET = 'sk_bind_test_5d8e1f0a9c7b';
let a: Upstream;
let b: Upstream;
let env: JaneeEnv;

async function execute(e: NodeJS.ProcessEnv): Promise<{ isError: boolean; text: string }> {
  const s = await startServe(e);
  try {
    return await callTool(s, 'execute', { service: 'stripe', method: 'GET', path: '/echo' });
  } finally {
    await s.close();
  }
}

beforeAll(async () => {
  a = await startUpstream();
  b = await startUpstream();
  env = await initHome();
  const r = await runJanee(['add', 'stripe', '--base-url', a.url, '--key-stdin'], { env, input: SECRET });
  expect(r.code, r.stderr).toBe(0);
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  await cleanupTempHomes();
});

describe('origin binding', () => {
  it('serve refuses a config.yaml that points the service at another origin, and sends nothing there', async () => {
    expect((await execute(env)).isError).toBe(false);
    expect(a.requests.at(-1)?.headers.authorization).toBe(`Bearer ${SECRET}`);

    const configFile = path.join(env.JANEE_HOME, 'config.yaml');
    const text = await fs.readFile(configFile, 'utf8');
    await fs.writeFile(configFile, text.replace(a.url, b.url));
    const r = await execute(env);
    expect(r.isError).toBe(true);
    expect(r.text).toContain(
      `secret "stripe" is bound to ${a.url}; config.yaml asks for ${b.url} — run janee bind stripe ${b.url} to allow it`,
    );
    expect(b.requests).toHaveLength(0);
    expect(leaksIn(r.text, SECRET)).toEqual([]);
  });

  it('janee bind needs the passphrase', async () => {
    const r = await runJanee(['bind', 'stripe', b.url], { env: withEnv(env, { JANEE_PASSPHRASE: undefined }) });
    expect(r.code).toBe(1);
    expect(errorLines(r.stderr).error).toMatch(/no passphrase/);
    const wrong = await runJanee(['bind', 'stripe', b.url], { env: withEnv(env, { JANEE_PASSPHRASE: 'wrong' }) });
    expect(wrong.code).toBe(1);
  });

  it('after janee bind stripe <url>, the call goes through to the new origin', async () => {
    const r = await runJanee(['bind', 'stripe', `${b.url}/v1`], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`bound stripe to ${b.url} (bound to: ${a.url}, ${b.url})`);
    const again = await runJanee(['bind', 'stripe', b.url], { env });
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('already bound');

    const t = await execute(env);
    expect(t.isError, t.text).toBe(false);
    expect(b.requests.at(-1)?.headers.authorization).toBe(`Bearer ${SECRET}`);
  });

  it('bind --remove takes an origin away; unknown names and bad URLs fail', async () => {
    const r = await runJanee(['bind', 'stripe', b.url, '--remove'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`unbound stripe from ${b.url} (bound to: ${a.url})`);
    expect((await execute(env)).isError).toBe(true);

    const missing = await runJanee(['bind', 'nope', b.url], { env });
    expect(missing.code).toBe(1);
    expect(errorLines(missing.stderr).error).toBe('janee: error: the vault has no secret named "nope"');
    const plain = await runJanee(['bind', 'stripe', 'http://evil.example'], { env });
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/refusing plain http/);
  });
});
