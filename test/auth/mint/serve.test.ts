/**
 * Minted tokens through the whole product: `janee add --auth '{ type: oauth2, … }'`
 * (built CLI), then `janee serve` driven by the MCP SDK client over stdio, first
 * unlocked in-process, then through an agent (`janee unlock`): the mock API on
 * loopback receives the minted bearer token; the token endpoint rotates its refresh
 * token, and the rotated one is read back from the vault file each time; a 401 costs
 * exactly one re-mint and one retry; a failing token endpoint is AUTH_TOKEN_FAILED.
 * Then the leak search: no access token, refresh token or client secret in any file,
 * stdout/stderr, audit line or tool result.
 */
import { createVerify, generateKeyPairSync, randomBytes } from 'node:crypto';
import * as os from 'node:os';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unlockVaultFile } from '../../../src/vault/store.js';
import { killAllAgents, noPass, ownSocketDir, agentHome, vaultOf, type AgentEnv } from '../../agent/helpers.js';
import { cleanupTempHomes, listFiles, runJanee, scratchDir, type RunResult } from '../../helpers/cli.js';
import { auditLines, closeAllServes, findForms, secretForms, startServe, textOf, type ServeSession } from '../../helpers/mcp.js';
import { startUpstream, type Upstream } from '../../helpers/upstream.js';

const rnd = () => randomBytes(12).toString('hex');
const CLIENT_SECRET = `cs_${rnd()}`;
const RT0 = `rt0_${rnd()}`;
/** Every token the mock minted, in order. */
const accessTokens: string[] = [];
const refreshTokens: string[] = [RT0];
let tokenRequests = 0;
/** GitHub App and Google service account: keys, the JWTs their token endpoints got, the tokens minted. */
const ghKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
const gKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ghPem = ghKey.privateKey.export({ format: 'pem', type: 'pkcs1' }).toString();
const gPem = gKey.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const jwts: { gh: string[]; google: string[] } = { gh: [], google: [] };
const mintedOther: string[] = [];
let failTokenEndpoint = false;

let up: Upstream;
let env: AgentEnv;
const cli: RunResult[] = [];
const sessions: ServeSession[] = [];

async function janee(args: string[], input?: string, e: NodeJS.ProcessEnv = env): Promise<RunResult> {
  const r = await runJanee(args, input === undefined ? { env: e } : { env: e, input });
  cli.push(r);
  return r;
}

async function storedRefreshToken(): Promise<string | undefined> {
  const u = await unlockVaultFile(vaultOf(env), new TextEncoder().encode(env.JANEE_PASSPHRASE));
  u.fileKey.fill(0);
  return u.data.entries.crm?.fields.refreshToken;
}

beforeAll(async () => {
  up = await startUpstream();
  up.route('/oauth/token', (_req, res) => {
    tokenRequests++;
    const form = new URLSearchParams(up.requests[up.requests.length - 1]!.body.toString());
    const auth = up.requests[up.requests.length - 1]!.headers.authorization;
    const ok =
      auth === `Basic ${Buffer.from(`crm-client:${CLIENT_SECRET}`).toString('base64')}` &&
      form.get('refresh_token') === refreshTokens.at(-1);
    if (failTokenEndpoint || !ok) {
      res.writeHead(failTokenEndpoint ? 503 : 400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'invalid_grant', echo: form.toString() }));
      return;
    }
    const at = `at_${rnd()}`;
    const rt = `rt_${rnd()}`;
    accessTokens.push(at);
    refreshTokens.push(rt);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ access_token: at, token_type: 'Bearer', expires_in: 3600, refresh_token: rt }));
  });
  // The API: echoes the Authorization it got (which must come back redacted).
  up.route('/api/whoami', (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ authorization: req.headers.authorization ?? null }));
  });
  // Refuses the first token it sees, as a provider that revoked it early would.
  let refused: string | undefined;
  up.route('/api/revoked-once', (req, res) => {
    const auth = String(req.headers.authorization ?? '');
    if (refused === undefined || refused === auth) {
      refused = auth;
      res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
  });
  // GitHub App: the installation token endpoint under the service's base URL.
  up.route('/gh/api/v3/app/installations/4242/access_tokens', (req, res) => {
    jwts.gh.push(String(req.headers.authorization ?? '').replace(/^Bearer /, ''));
    const t = `ghs_${rnd()}`;
    mintedOther.push(t);
    res.writeHead(201, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token: t, expires_at: new Date(Date.now() + 3600_000).toISOString() }));
  });
  up.route('/google/token', (_req, res) => {
    jwts.google.push(new URLSearchParams(up.requests[up.requests.length - 1]!.body.toString()).get('assertion') ?? '');
    const t = `ya29.${rnd()}`;
    mintedOther.push(t);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ access_token: t, expires_in: 3599, token_type: 'Bearer' }));
  });
  for (const p of ['/gh/api/v3/whoami', '/gapi/whoami']) {
    up.route(p, (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ authorization: req.headers.authorization ?? null }));
    });
  }
  env = ownSocketDir(await agentHome());
  const r = await janee(
    [
      'add',
      'crm',
      '--base-url',
      `${up.url}/api`,
      '--auth',
      `{ type: oauth2, grant: refresh_token, tokenUrl: ${up.url}/oauth/token, scopes: [read] }`,
      '--key-stdin',
    ],
    `crm-client\n${CLIENT_SECRET}\n${RT0}\n`,
  );
  if (r.code !== 0) throw new Error(`janee add failed: ${r.stderr}`);
  // The key files live outside the home searched for leaks, and only while they are added.
  const keys = await fs.mkdtemp(path.join(os.tmpdir(), 'janee-keys-'));
  try {
    await fs.writeFile(path.join(keys, 'app.pem'), ghPem);
    const keyJson = {
      type: 'service_account',
      client_email: 'robot@p.iam.gserviceaccount.com',
      private_key_id: 'k1',
      private_key: gPem,
      token_uri: `${up.url}/google/token`,
    };
    await fs.writeFile(path.join(keys, 'key.json'), JSON.stringify(keyJson, null, 2));
    const gh = await janee([
      'add',
      'gh',
      '--base-url',
      `${up.url}/gh/api/v3`,
      '--auth',
      '{ type: github-app, appId: 98765, installationId: 4242 }',
      '--field-file',
      `privateKey=${path.join(keys, 'app.pem')}`,
    ]);
    if (gh.code !== 0) throw new Error(`janee add gh failed: ${gh.stderr}`);
    const g = await janee([
      'add',
      'gsa',
      '--base-url',
      `${up.url}/gapi`,
      '--auth',
      '{ type: google-service-account, scopes: [https://www.googleapis.com/auth/calendar.readonly] }',
      '--field-file',
      `credentials=${path.join(keys, 'key.json')}`,
    ]);
    if (g.code !== 0) throw new Error(`janee add gsa failed: ${g.stderr}`);
  } finally {
    await fs.rm(keys, { recursive: true, force: true });
  }
}, 60_000);

afterAll(async () => {
  await closeAllServes();
  await runJanee(['lock'], { env: noPass(env) }).catch(() => undefined);
  killAllAgents();
  await up.close();
  await cleanupTempHomes();
});

const apiCalls = (p: string) => up.requests.filter((r) => r.url === `/api${p}`);

describe('oauth2 refresh_token through serve', () => {
  it('in-process serve: the API receives the minted token, the rotated refresh token is in the vault, the echo is redacted', async () => {
    const s = await startServe({ env });
    sessions.push(s);
    const r = await s.execute({ service: 'crm', method: 'GET', path: '/whoami' });
    expect(r.isError).toBeFalsy();
    expect(accessTokens).toHaveLength(1);
    expect(apiCalls('/whoami').at(-1)!.headers.authorization).toBe(`Bearer ${accessTokens[0]}`);
    expect(textOf(r)).toContain('[REDACTED:crm]');
    expect(await storedRefreshToken()).toBe(refreshTokens[1]);
    // Reused, not minted again.
    await s.execute({ service: 'crm', method: 'GET', path: '/whoami' });
    expect(tokenRequests).toBe(1);

    // A 401: one re-mint (with the rotated refresh token), one retry.
    const before = apiCalls('/revoked-once').length;
    const again = await s.execute({ service: 'crm', method: 'GET', path: '/revoked-once' });
    expect(again.isError).toBeFalsy();
    expect(JSON.parse(textOf(again))).toMatchObject({ status: 200 });
    expect(apiCalls('/revoked-once').length - before).toBe(2);
    expect(tokenRequests).toBe(2);
    expect(apiCalls('/revoked-once').at(-1)!.headers.authorization).toBe(`Bearer ${accessTokens[1]}`);
    expect(await storedRefreshToken()).toBe(refreshTokens[2]);
    await s.close();
  }, 60_000);

  it('through the agent: the agent mints, and writes the rotated refresh token with its key', async () => {
    const u = await janee(['unlock'], undefined, env);
    expect(u.code).toBe(0);
    const s = await startServe({ env: noPass(env) });
    sessions.push(s);
    const r = await s.execute({ service: 'crm', method: 'GET', path: '/whoami' });
    expect(r.isError).toBeFalsy();
    expect(apiCalls('/whoami').at(-1)!.headers.authorization).toBe(`Bearer ${accessTokens.at(-1)}`);
    expect(await storedRefreshToken()).toBe(refreshTokens.at(-1));
    expect(refreshTokens).toHaveLength(4);

    // The token endpoint fails: AUTH_TOKEN_FAILED with its status, nothing of its body.
    await janee(['lock'], undefined, noPass(env));
    await janee(['unlock'], undefined, env);
    failTokenEndpoint = true;
    const f = await s.execute({ service: 'crm', method: 'GET', path: '/whoami' });
    failTokenEndpoint = false;
    expect(f.isError).toBe(true);
    expect(textOf(f)).toMatch(/^token endpoint http:\/\/127\.0\.0\.1:\d+ answered HTTP 503 \(invalid_grant\)\nhint: /);
    const last = JSON.parse((await auditLines(env.JANEE_HOME)).at(-1)!) as { outcome: string; rule?: string };
    expect(last).toMatchObject({ outcome: 'error', rule: 'AUTH_TOKEN_FAILED' });
    expect(textOf(f)).not.toContain('refresh_token=');
    await s.close();
  }, 90_000);

  it('github-app and google-service-account: the API gets the minted tokens; the JWTs verify with the public keys', async () => {
    const s = await startServe({ env });
    sessions.push(s);
    const gh = await s.execute({ service: 'gh', method: 'GET', path: '/whoami' });
    const g = await s.execute({ service: 'gsa', method: 'GET', path: '/whoami' });
    expect(gh.isError).toBeFalsy();
    expect(g.isError).toBeFalsy();
    expect(textOf(gh)).toContain('[REDACTED:gh]');
    expect(textOf(g)).toContain('[REDACTED:gsa]');
    expect(up.requests.filter((r) => r.url === '/gh/api/v3/whoami').at(-1)!.headers.authorization).toBe(`Bearer ${mintedOther[0]}`);
    expect(up.requests.filter((r) => r.url === '/gapi/whoami').at(-1)!.headers.authorization).toBe(`Bearer ${mintedOther[1]}`);
    const claims = (jwt: string, pub: import('node:crypto').KeyObject) => {
      const [h, p, sig] = jwt.split('.');
      const v = createVerify('sha256');
      v.update(`${h}.${p}`);
      expect(v.verify(pub, Buffer.from(sig!, 'base64url'))).toBe(true);
      return JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, number | string>;
    };
    const c = claims(jwts.gh[0]!, ghKey.publicKey);
    expect(c.iss).toBe('98765');
    expect((c.exp as number) - (c.iat as number)).toBeLessThanOrEqual(600);
    expect(c.iat as number).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) - 59);
    expect(claims(jwts.google[0]!, gKey.publicKey)).toMatchObject({
      iss: 'robot@p.iam.gserviceaccount.com',
      aud: `${up.url}/google/token`,
      scope: 'https://www.googleapis.com/auth/calendar.readonly',
    });
    await s.close();
  }, 60_000);

  it('leaks none of the tokens, keys or the client secret anywhere', async () => {
    const pemLines = [ghPem, gPem].flatMap((p) => p.split('\n').filter((l) => l.length === 64));
    const forms = [
      ...new Set(
        [...accessTokens, ...refreshTokens, CLIENT_SECRET, ...mintedOther, ...jwts.gh, ...jwts.google, ...pemLines].flatMap((t) =>
          secretForms(t),
        ),
      ),
    ];
    const found: string[] = [];
    for (const f of await listFiles(scratchDir(env))) {
      const bytes = await fs.readFile(path.join(scratchDir(env), f)).catch(() => undefined);
      if (bytes && findForms(bytes, forms).length) found.push(`file ${f}`);
    }
    for (const s of sessions) {
      if (findForms(s.stdout(), forms).length) found.push('serve stdout');
      if (findForms(s.stderr(), forms).length) found.push('serve stderr');
      for (const r of s.results)
        if (findForms(JSON.stringify(r), forms).length) found.push(`tool result ${JSON.stringify(r).slice(0, 80)}`);
    }
    for (const r of cli) if (findForms(r.stdout + r.stderr, forms).length) found.push('cli output');
    for (const l of await auditLines(env.JANEE_HOME)) if (findForms(l, forms).length) found.push(`audit ${l.slice(0, 80)}`);
    expect(found).toEqual([]);
    expect(accessTokens.length).toBeGreaterThanOrEqual(3);
    expect(mintedOther).toHaveLength(2);
    expect(pemLines.length).toBeGreaterThan(40);
  });
});
