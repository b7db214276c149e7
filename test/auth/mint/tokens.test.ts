/**
 * The minted-token layer against real loopback token endpoints (port 0), through the
 * gate's real Forwarder: client_credentials, refresh_token with rotation written to a
 * real vault file, GitHub App and Google service-account assertions verified by the
 * mock with the public key, expiry, single flight, 401 invalidation, failures.
 */
import { createVerify, generateKeyPairSync, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MintedTokens, type RotationWriter } from '../../../src/auth/mint/provider.js';
import type { MintedAuth as MintSpec } from '../../../src/auth/types.js';
import { JaneeError } from '../../../src/errors.js';
import { Forwarder } from '../../../src/gate/forward.js';
import { VaultSecrets } from '../../../src/gate/secrets.js';
import { createVaultFile, openWithKey, unlockVaultFile, updateVault } from '../../../src/vault/store.js';
import { startUpstream, type RecordedRequest, type Upstream } from '../../helpers/upstream.js';

let up: Upstream;
let fwd: Forwarder;
let clock = 1_800_000_000_000;
const now = () => clock;

beforeAll(async () => {
  up = await startUpstream();
  fwd = new Forwarder();
});
afterAll(async () => {
  await fwd.close();
  await up.close();
});
beforeEach(() => {
  up.requests.length = 0;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const form = (r: RecordedRequest) => Object.fromEntries(new URLSearchParams(r.body.toString()));
const hits = (p: string) => up.requests.filter((r) => r.url.split('?')[0] === p).length;
const json = (res: import('node:http').ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
};

function provider(rotate?: RotationWriter): MintedTokens {
  return new MintedTokens({ http: () => Promise.resolve(fwd), now, ...(rotate ? { rotate } : {}) });
}

async function failure(p: Promise<unknown>): Promise<JaneeError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(JaneeError);
    return e as JaneeError;
  }
  throw new Error('expected a failure');
}

describe('oauth2 client_credentials', () => {
  const opts = () => ({ baseUrl: up.url, origins: [up.url] });
  const spec = (p: string, more: Partial<MintSpec> = {}): MintSpec =>
    ({ type: 'oauth2', grant: 'client_credentials', tokenUrl: `${up.url}${p}`, ...more }) as MintSpec;

  it('mints with client_secret_basic, scopes and audience, and reuses the token until it is due', async () => {
    let n = 0;
    up.route('/cc', (_req, res) => json(res, 200, { access_token: `at-cc-${++n}-abcdefghij`, token_type: 'Bearer', expires_in: 3600 }));
    const t = provider();
    const s = spec('/cc', { scopes: ['read', 'write'], audience: 'https://api.example' });
    const fields = { clientId: 'my client', clientSecret: 's3cr3t:/+' };
    expect(await t.token('svc', s, fields, opts())).toBe('at-cc-1-abcdefghij');
    expect(await t.token('svc', s, fields, opts())).toBe('at-cc-1-abcdefghij');
    expect(hits('/cc')).toBe(1);
    const r = up.requests[0]!;
    // RFC 6749 2.3.1: id and secret form-encoded, then base64.
    expect(r.headers.authorization).toBe(`Basic ${Buffer.from('my+client:s3cr3t%3A%2F%2B').toString('base64')}`);
    expect(form(r)).toEqual({ grant_type: 'client_credentials', scope: 'read write', audience: 'https://api.example' });
    expect(r.headers['content-type']).toBe('application/x-www-form-urlencoded');
    // 59 minutes later (inside the 60 s margin) it is minted again.
    clock += 59 * 60 * 1000 + 1;
    expect(await t.token('svc', s, fields, opts())).toBe('at-cc-2-abcdefghij');
    expect(hits('/cc')).toBe(2);
    // New credentials (janee set) mean a new token, not the cached one.
    expect(await t.token('svc', s, { ...fields, clientSecret: 'other-secret' }, opts())).toBe('at-cc-3-abcdefghij');
    expect(
      t
        .tokens()
        .map((x) => x.token)
        .sort(),
    ).toEqual(['at-cc-2-abcdefghij', 'at-cc-3-abcdefghij']);
  });

  it('sends the client in the body with clientAuth: body', async () => {
    up.route('/cc-body', (_req, res) => json(res, 200, { access_token: 'at-body-0123456789' }));
    await provider().token('svc', spec('/cc-body', { clientAuth: 'body' }), { clientId: 'id1', clientSecret: 'sec1' }, opts());
    const r = up.requests[0]!;
    expect(r.headers.authorization).toBeUndefined();
    expect(form(r)).toEqual({ grant_type: 'client_credentials', client_id: 'id1', client_secret: 'sec1' });
  });

  it('concurrent calls share one mint request', async () => {
    up.route('/slow', async (_req, res) => {
      await sleep(150);
      json(res, 200, { access_token: 'at-shared-0123456789', expires_in: 600 });
    });
    const t = provider();
    const got = await Promise.all(
      Array.from({ length: 20 }, () => t.token('svc', spec('/slow'), { clientId: 'a', clientSecret: 'b' }, opts())),
    );
    expect(new Set(got)).toEqual(new Set(['at-shared-0123456789']));
    expect(hits('/slow')).toBe(1);
  });

  it('a 401 drops the rejected token once: concurrent retries share one new mint', async () => {
    let n = 0;
    up.route('/r401', async (_req, res) => {
      await sleep(50);
      json(res, 200, { access_token: `at-401-${++n}-0123456789`, expires_in: 3600 });
    });
    const t = provider();
    const f = { clientId: 'a', clientSecret: 'b' };
    const first = await t.token('svc', spec('/r401'), f, opts());
    const again = await Promise.all(Array.from({ length: 5 }, () => t.token('svc', spec('/r401'), f, { ...opts(), rejected: first })));
    expect(new Set(again)).toEqual(new Set(['at-401-2-0123456789']));
    // A late retry for the same rejected token does not mint a third one.
    expect(await t.token('svc', spec('/r401'), f, { ...opts(), rejected: first })).toBe('at-401-2-0123456789');
    expect(hits('/r401')).toBe(2);
  });

  it('an upstream that refuses every token costs one re-mint per 30 s, not one per call', async () => {
    let n = 0;
    up.route('/loop', (_req, res) => json(res, 200, { access_token: `at-loop-${++n}-0123456789`, expires_in: 3600 }));
    const t = provider();
    const f = { clientId: 'a', clientSecret: 'b' };
    let current = await t.token('svc', spec('/loop'), f, opts());
    for (let i = 0; i < 5; i++) current = await t.token('svc', spec('/loop'), f, { ...opts(), rejected: current });
    expect(hits('/loop')).toBe(2);
    expect(current).toBe('at-loop-2-0123456789');
    clock += 30_000;
    expect(await t.token('svc', spec('/loop'), f, { ...opts(), rejected: current })).toBe('at-loop-3-0123456789');
    expect(hits('/loop')).toBe(3);
  });

  it('failures are AUTH_TOKEN_FAILED with the status only, are not cached, and echo nothing', async () => {
    const secret = 'client-secret-ECHOED-9f8e7d';
    up.route('/e500', (req, res) => json(res, 500, { error: 'server_error', echo: secret, headers: req.headers }));
    up.route('/e400', (_req, res) => json(res, 400, { error: 'invalid_client', error_description: `bad ${secret}` }));
    up.route('/garbage', (_req, res) => json(res, 200, `<html>${secret}</html>`));
    up.route('/noaccess', (_req, res) => json(res, 200, { token_type: 'bearer', note: secret }));
    up.route('/crlf', (_req, res) => json(res, 200, { access_token: 'abc\r\nx-evil: 1' }));
    up.route('/mac', (_req, res) => json(res, 200, { access_token: 'at-mac-0123456789', token_type: 'mac' }));
    up.route('/redirect302', (_req, res) => {
      res.writeHead(302, { location: `${up.url}/cc` });
      res.end();
    });
    const f = { clientId: 'cid', clientSecret: secret };
    const cases: [string, RegExp][] = [
      ['/e500', /answered HTTP 500$/],
      ['/e400', /answered HTTP 400 \(invalid_client\)$/],
      ['/garbage', /not a JSON object/],
      ['/noaccess', /without access_token/],
      ['/crlf', /cannot be sent in an HTTP header/],
      ['/mac', /other than bearer/],
      ['/redirect302', /answered HTTP 302$/],
    ];
    const t = provider();
    for (const [p, re] of cases) {
      const e = await failure(t.token('svc', spec(p), f, opts()));
      expect(e.code).toBe('AUTH_TOKEN_FAILED');
      expect(e.message).toMatch(re);
      expect(e.message).toContain(up.url);
      expect(JSON.stringify(e.toJSON())).not.toMatch(/ECHOED|cid|Basic/);
    }
    // Not cached: the next call asks again.
    await failure(t.token('svc', spec('/e500'), f, opts()));
    expect(hits('/e500')).toBe(2);
    expect(t.tokens()).toEqual([]);
  });

  it('a failed refresh keeps using a token that has not expired yet, never an expired one', async () => {
    let down = false;
    up.route('/flaky', (_req, res) =>
      down ? json(res, 500, {}) : json(res, 200, { access_token: 'at-flaky-0123456789', expires_in: 120 }),
    );
    const t = provider();
    const f = { clientId: 'a', clientSecret: 'b' };
    expect(await t.token('svc', spec('/flaky'), f, opts())).toBe('at-flaky-0123456789');
    down = true;
    clock += 70_000; // due (half of 120 s), 50 s left
    expect(await t.token('svc', spec('/flaky'), f, opts())).toBe('at-flaky-0123456789');
    expect(hits('/flaky')).toBe(2);
    clock += 50_000; // expired
    expect((await failure(t.token('svc', spec('/flaky'), f, opts()))).code).toBe('AUTH_TOKEN_FAILED');
  });

  it('an endpoint that is down or hangs is AUTH_TOKEN_FAILED', async () => {
    const t = provider();
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const e = await failure(
      t.token(
        'svc',
        { type: 'oauth2', grant: 'client_credentials', tokenUrl: `${dead}/t` },
        { clientId: 'a', clientSecret: 'b' },
        { baseUrl: dead, origins: [dead] },
      ),
    );
    expect(e.code).toBe('AUTH_TOKEN_FAILED');
    expect(e.message).toBe(`token endpoint ${dead}: connection refused (ECONNREFUSED)`);
    const quick = new MintedTokens({ http: () => Promise.resolve(fwd), now, timeoutMs: 300 });
    const h = await failure(quick.token('svc', spec('/hang'), { clientId: 'a', clientSecret: 'b' }, opts()));
    expect(h.code).toBe('AUTH_TOKEN_FAILED');
    expect(h.message).toMatch(/timed out|no response/);
  });

  it('refuses a token URL on an origin the secret is not bound to, sending nothing', async () => {
    const e = await failure(
      provider().token(
        'svc',
        spec('/cc'),
        { clientId: 'a', clientSecret: 'b' },
        { baseUrl: 'https://api.example', origins: ['https://api.example'] },
      ),
    );
    expect(e.code).toBe('GATE_ORIGIN_MISMATCH');
    expect(up.requests).toHaveLength(0);
  });
});

async function closedPort(): Promise<number> {
  const net = await import('node:net');
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as import('node:net').AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('oauth2 refresh_token with rotation', () => {
  let dir: string;
  let secrets: VaultSecrets;
  let vaultFile: string;
  const PASS = new TextEncoder().encode('rotation test passphrase');

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'janee-rotate-'));
    vaultFile = path.join(dir, 'vault.janee');
    await createVaultFile(vaultFile, PASS, 10);
  });
  afterAll(async () => {
    secrets?.wipe();
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function store(fields: Record<string, string>): Promise<void> {
    const u = await unlockVaultFile(vaultFile, PASS);
    const t = new Date().toISOString();
    const { vault } = await updateVault(vaultFile, u.fileKey, (d) => {
      d.entries.api = { fields, origins: [up.url], created: t, updated: t };
    });
    secrets?.wipe();
    secrets = new VaultSecrets(vaultFile, u.fileKey, vault.data);
  }
  const fieldsOnDisk = async () => {
    const u = await unlockVaultFile(vaultFile, PASS);
    u.fileKey.fill(0);
    return u.data.entries.api!.fields;
  };
  const spec = (p: string): MintSpec => ({ type: 'oauth2', grant: 'refresh_token', tokenUrl: `${up.url}${p}`, scopes: ['offline'] });
  const opts = () => ({ baseUrl: up.url, origins: [up.url] });
  const writer: RotationWriter = (svc, field, prev, next) => secrets.replaceField(svc, field, prev, next);

  it('writes a rotated refresh token to the vault before using the access token, and refreshes with it next time', async () => {
    await store({ clientId: 'public-client', refreshToken: 'rt-0-0123456789' });
    let n = 0;
    const seen: string[] = [];
    up.route('/rot', (req, res) => {
      void req;
      const rec = up.requests[up.requests.length - 1]!;
      seen.push(form(rec).refresh_token ?? '');
      n++;
      json(res, 200, { access_token: `at-rot-${n}-0123456789`, expires_in: 120, refresh_token: `rt-${n}-0123456789` });
    });
    const t = provider(writer);
    const fields0 = (await secrets.current()).entries.api!.fields;
    expect(await t.token('api', spec('/rot'), fields0, opts())).toBe('at-rot-1-0123456789');
    // A public client: client_id in the body, no secret, no basic auth.
    expect(form(up.requests[0]!)).toEqual({
      grant_type: 'refresh_token',
      refresh_token: 'rt-0-0123456789',
      scope: 'offline',
      client_id: 'public-client',
    });
    expect((await fieldsOnDisk()).refreshToken).toBe('rt-1-0123456789');
    // A call still holding the old fields is served the new token, without a refresh with the dead one.
    expect(await t.token('api', spec('/rot'), fields0, opts())).toBe('at-rot-1-0123456789');
    const fields1 = (await secrets.current()).entries.api!.fields;
    expect(fields1.refreshToken).toBe('rt-1-0123456789');
    expect(await t.token('api', spec('/rot'), fields1, opts())).toBe('at-rot-1-0123456789');
    expect(hits('/rot')).toBe(1);
    // Expired (120 s, half of it is the margin): refreshed with the rotated token.
    clock += 61_000;
    expect(await t.token('api', spec('/rot'), fields1, opts())).toBe('at-rot-2-0123456789');
    expect(seen).toEqual(['rt-0-0123456789', 'rt-1-0123456789']);
    expect((await fieldsOnDisk()).refreshToken).toBe('rt-2-0123456789');
  });

  it('a rotated token that cannot be saved fails the call, is kept in memory and saved by the next refresh', async () => {
    await store({ clientId: 'cid', clientSecret: 'csecret-0123', refreshToken: 'rt-a-0123456789' });
    let n = 0;
    up.route('/rot2', (_req, res) =>
      json(res, 200, { access_token: `at-r2-${++n}-0123456789`, expires_in: 3600, refresh_token: `rt-b${n}-0123456789` }),
    );
    let broken = true;
    const t = provider((svc, field, prev, next) => (broken ? Promise.reject(new Error('disk full')) : writer(svc, field, prev, next)));
    const fields = (await secrets.current()).entries.api!.fields;
    const e = await failure(t.token('api', spec('/rot2'), fields, opts()));
    expect(e.code).toBe('AUTH_TOKEN_FAILED');
    expect(e.message).not.toMatch(/rt-|at-r2/);
    expect(t.tokens().map((x) => x.token)).toEqual(['rt-b1-0123456789']); // redacted while it lives only in memory
    broken = false;
    expect(await t.token('api', spec('/rot2'), fields, opts())).toBe('at-r2-2-0123456789');
    expect(form(up.requests[1]!).refresh_token).toBe('rt-b1-0123456789');
    expect((await fieldsOnDisk()).refreshToken).toBe('rt-b2-0123456789');
    expect(t.tokens().map((x) => x.token)).toEqual(['at-r2-2-0123456789']);
  });

  it('does not overwrite a refresh token a human stored meanwhile', async () => {
    await store({ clientId: 'cid', refreshToken: 'rt-old-0123456789' });
    const stale = (await secrets.current()).entries.api!.fields;
    await store({ clientId: 'cid', refreshToken: 'rt-human-0123456789' });
    up.route('/rot3', (_req, res) => json(res, 200, { access_token: 'at-r3-0123456789', refresh_token: 'rt-new-0123456789' }));
    expect(await provider(writer).token('api', spec('/rot3'), stale, opts())).toBe('at-r3-0123456789');
    expect((await fieldsOnDisk()).refreshToken).toBe('rt-human-0123456789');
  });

  it('invalid_grant says to authorize again', async () => {
    await store({ clientId: 'cid', refreshToken: 'rt-revoked-0123456789' });
    up.route('/revoked', (_req, res) => json(res, 400, { error: 'invalid_grant', error_description: 'rt-revoked-0123456789 is revoked' }));
    const e = await failure(provider(writer).token('api', spec('/revoked'), (await secrets.current()).entries.api!.fields, opts()));
    expect(e.message).toBe(`token endpoint ${up.url} answered HTTP 400 (invalid_grant)`);
    expect(e.hint).toMatch(/--authorize/);
    expect(JSON.stringify(e)).not.toContain('rt-revoked');
    void openWithKey;
  });
});

function verifyJwt(jwt: string, pub: KeyObject): Record<string, unknown> {
  const [h, p, s] = jwt.split('.');
  const v = createVerify('sha256');
  v.update(`${h}.${p}`);
  expect(v.verify(pub, Buffer.from(s!, 'base64url'))).toBe(true);
  expect(JSON.parse(Buffer.from(h!, 'base64url').toString()).alg).toBe('RS256');
  return JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
}

describe('github-app', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ format: 'pem', type: 'pkcs1' }).toString();
  const stored = Buffer.from(pem).toString('base64'); // as `janee add` stores a key file

  it('signs a JWT the mock verifies with the public key, and caches the token with 10 minutes to spare', async () => {
    const jwts: string[] = [];
    const agents: string[] = [];
    let n = 0;
    up.route('/api/v3/app/installations/4242/access_tokens', (req, res) => {
      jwts.push(String(req.headers.authorization ?? '').replace(/^Bearer /, ''));
      agents.push(String(req.headers['user-agent']));
      json(res, 201, { token: `ghs_minted${++n}_0123456789`, expires_at: new Date(clock + 3600_000).toISOString() });
    });
    const t = provider();
    const spec: MintSpec = { type: 'github-app', appId: '123456', installationId: '4242' };
    const o = { baseUrl: `${up.url}/api/v3`, origins: [up.url] };
    expect(await t.token('gh', spec, { privateKey: stored }, o)).toBe('ghs_minted1_0123456789');
    expect(agents).toEqual(['janee']);
    const c = verifyJwt(jwts[0]!, publicKey);
    const nowS = Math.floor(clock / 1000);
    expect(c.iss).toBe('123456');
    expect(c.iat).toBe(nowS - 60);
    expect(c.exp as number).toBeLessThanOrEqual(nowS + 600);
    expect((c.exp as number) - (c.iat as number)).toBeLessThanOrEqual(600);
    clock += 49 * 60 * 1000; // 11 minutes left: still used
    expect(await t.token('gh', spec, { privateKey: stored }, o)).toBe('ghs_minted1_0123456789');
    clock += 2 * 60 * 1000; // 9 minutes left: re-minted
    expect(await t.token('gh', spec, { privateKey: stored }, o)).toBe('ghs_minted2_0123456789');
    expect(jwts).toHaveLength(2);
    expect(verifyJwt(jwts[1]!, publicKey).iss).toBe('123456');
  });

  it('a key that is not an RSA private key fails without echoing it', async () => {
    const e = await failure(
      provider().token(
        'gh',
        { type: 'github-app', appId: '1', installationId: '2' },
        { privateKey: 'bm90IGEga2V5' },
        { baseUrl: up.url, origins: [up.url] },
      ),
    );
    expect(e.code).toBe('AUTH_TOKEN_FAILED');
    expect(e.message).not.toContain('bm90');
  });
});

describe('google-service-account', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyFile = (tokenUri: string) =>
    JSON.stringify({
      type: 'service_account',
      project_id: 'p',
      private_key_id: 'kid-77',
      private_key: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      client_email: 'robot@p.iam.gserviceaccount.com',
      token_uri: tokenUri,
    });

  it('exchanges an assertion (aud = token_uri, scope) the mock verifies with the public key', async () => {
    const tokenUri = `${up.url}/google/token`;
    // Checked after the call: a failed expect inside the handler would leave the request hanging.
    const forms: Record<string, string>[] = [];
    up.route('/google/token', (_req, res) => {
      forms.push(form(up.requests[up.requests.length - 1]!));
      json(res, 200, { access_token: 'ya29.minted-0123456789', expires_in: 3599, token_type: 'Bearer' });
    });
    const t = provider();
    const spec: MintSpec = { type: 'google-service-account', scopes: ['a', 'b'], subject: 'user@example.com' };
    const fields = { credentials: Buffer.from(keyFile(tokenUri)).toString('base64') };
    expect(await t.token('g', spec, fields, { baseUrl: 'https://www.googleapis.com', origins: ['https://www.googleapis.com'] })).toBe(
      'ya29.minted-0123456789',
    );
    expect(await t.token('g', spec, fields, { baseUrl: 'https://www.googleapis.com', origins: ['https://www.googleapis.com'] })).toBe(
      'ya29.minted-0123456789',
    );
    expect(hits('/google/token')).toBe(1);
    const f = forms[0]!;
    expect(f.grant_type).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
    const c = verifyJwt(f.assertion!, publicKey);
    const h = JSON.parse(Buffer.from(f.assertion!.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;
    expect(h.kid).toBe('kid-77');
    expect(c).toMatchObject({ iss: 'robot@p.iam.gserviceaccount.com', aud: tokenUri, scope: 'a b', sub: 'user@example.com' });
    expect((c.exp as number) - (c.iat as number)).toBe(3600);
  });

  it('refuses a key whose token_uri is plain http off loopback', async () => {
    const e = await failure(
      provider().token(
        'g',
        { type: 'google-service-account', scopes: ['a'] },
        { credentials: keyFile('http://evil.example/token') },
        { baseUrl: up.url, origins: [up.url] },
      ),
    );
    expect(e.code).toBe('AUTH_TOKEN_FAILED');
    expect(e.message).toMatch(/token_uri/);
  });
});

describe('clear (lock)', () => {
  it('drops every token, and a mint in flight is not kept', async () => {
    let n = 0;
    up.route('/lock', async (_req, res) => {
      await sleep(100);
      json(res, 200, { access_token: `at-lock-${++n}-0123456789`, expires_in: 3600 });
    });
    const t = provider();
    const spec: MintSpec = { type: 'oauth2', grant: 'client_credentials', tokenUrl: `${up.url}/lock` };
    const o = { baseUrl: up.url, origins: [up.url] };
    await t.token('s', spec, { clientId: 'a', clientSecret: 'b' }, o);
    const v = t.version;
    const pending = t.token('s', spec, { clientId: 'a', clientSecret: 'c' }, o);
    t.clear();
    expect(t.version).not.toBe(v);
    await pending;
    expect(t.tokens()).toEqual([]);
    expect(await t.token('s', spec, { clientId: 'a', clientSecret: 'b' }, o)).toBe('at-lock-3-0123456789');
  });
});
