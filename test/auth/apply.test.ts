/**
 * The framework's contract for the minted types, through a real LocalGate over a real vault and
 * a loopback upstream: the TokenProvider is called with the service, spec and fields; its token
 * is sent as Bearer and redacted from what comes back; a 401 re-mints (force) once and retries
 * once; without a provider the type fails clearly. Plus the owned-names table.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownedNames } from '../../src/auth/apply.js';
import type { MintedAuth, TokenProvider } from '../../src/auth/types.js';
import { LocalGate } from '../../src/gate/gate.js';
import { VaultSecrets } from '../../src/gate/secrets.js';
import { createVaultFile, unlockVaultFile, updateVault } from '../../src/vault/store.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

let up: Upstream;
let home: string;
const caller = { agent: 'test', agentSource: 'flag' as const };

beforeAll(async () => {
  up = await startUpstream();
  home = await fs.mkdtemp(path.join(tmpdir(), 'janee-auth-apply-'));
  // 401 while the token is the first one minted; the echo otherwise.
  up.route('/api/strict', (req, res) => {
    const ok = req.headers.authorization !== 'Bearer minted-token-0001-aaaaaaaa';
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ youSent: req.headers.authorization }));
  });
});
afterAll(async () => {
  await up.close();
  await fs.rm(home, { recursive: true, force: true });
});

async function gate(tokens?: TokenProvider): Promise<LocalGate> {
  const dir = await fs.mkdtemp(path.join(home, 'g-'));
  const configFile = path.join(dir, 'config.yaml');
  await fs.writeFile(
    configFile,
    `services:\n  api:\n    baseUrl: ${up.url}/api\n    auth: { type: oauth2, grant: client_credentials, tokenUrl: "http://127.0.0.1:9/token" }\n`,
  );
  const vaultFile = path.join(dir, 'vault.janee');
  const pass = new TextEncoder().encode('apply test passphrase');
  await createVaultFile(vaultFile, pass, 10);
  const unlocked = await unlockVaultFile(vaultFile, pass);
  const now = new Date().toISOString();
  const { vault } = await updateVault(vaultFile, unlocked.fileKey, (data) => {
    data.entries['api'] = {
      fields: { clientId: 'client-id-1', clientSecret: 'client-secret-value-1' },
      origins: [up.url],
      created: now,
      updated: now,
    };
  });
  return new LocalGate({
    configFile,
    auditDir: path.join(dir, 'audit'),
    killswitchFile: path.join(dir, 'killswitch'),
    secrets: new VaultSecrets(vaultFile, unlocked.fileKey, vault.data),
    ...(tokens ? { tokens } : {}),
  });
}

describe('minted types through the gate', () => {
  it('the token is sent as Bearer and redacted in the response; a 401 mints once more (force) and retries once', async () => {
    const calls: { service: string; type: string; clientId: string | undefined; force: boolean }[] = [];
    let n = 0;
    const tokens: TokenProvider = {
      token: (service: string, spec: MintedAuth, fields: Readonly<Record<string, string>>, opts: { force?: boolean }) => {
        calls.push({ service, type: spec.type, clientId: fields['clientId'], force: opts.force === true });
        n++;
        return Promise.resolve(`minted-token-000${n}-${'ab'[n - 1]?.repeat(8) ?? 'cccccccc'}`);
      },
    };
    const g = await gate(tokens);
    try {
      const r = await g.execute({ service: 'api', method: 'GET', path: '/strict' }, caller);
      expect(r.status).toBe(200);
      expect(calls).toEqual([
        { service: 'api', type: 'oauth2', clientId: 'client-id-1', force: false },
        { service: 'api', type: 'oauth2', clientId: 'client-id-1', force: true },
      ]);
      expect(up.requests.slice(-2).map((q) => q.headers.authorization)).toEqual([
        'Bearer minted-token-0001-aaaaaaaa',
        'Bearer minted-token-0002-bbbbbbbb',
      ]);
      expect(r.body).not.toContain('minted-token-0002');
      expect(r.body).toContain('[REDACTED:api]');
      // A token minted earlier (still known) is redacted too.
      const echo = await g.execute({ service: 'api', method: 'POST', path: '/echo', body: 'old: minted-token-0001-aaaaaaaa' }, caller);
      expect(echo.body).not.toMatch(/minted-token-000[12]/);
    } finally {
      await g.close();
    }
  });

  it('a second 401 is returned as it is (one retry only)', async () => {
    const g = await gate({ token: () => Promise.resolve('minted-token-0001-aaaaaaaa') });
    const before = up.requests.length;
    try {
      const r = await g.execute({ service: 'api', method: 'GET', path: '/strict' }, caller);
      expect(r.status).toBe(401);
      expect(up.requests.length - before).toBe(2);
    } finally {
      await g.close();
    }
  });

  it("with the gate's own token provider, a token URL the vault does not bind the secret to is refused, nothing sent", async () => {
    // config.yaml names the token URL, and config.yaml is not trusted: the client secret
    // goes only to an origin the vault binds it to (src/auth/mint).
    const g = await gate();
    const before = up.requests.length;
    try {
      await expect(g.execute({ service: 'api', method: 'GET', path: '/strict' }, caller)).rejects.toMatchObject({
        code: 'GATE_ORIGIN_MISMATCH',
      });
      expect(up.requests.length).toBe(before);
    } finally {
      await g.close();
    }
  });
});

describe('ownedNames', () => {
  it('what each type owns', () => {
    expect(ownedNames({ type: 'bearer' })).toMatchObject({ headers: ['authorization'], query: [] });
    expect(ownedNames({ type: 'query', param: 'api_key' })).toMatchObject({ headers: [], query: ['api_key'] });
    expect(ownedNames({ type: 'headers', headers: { 'X-Id': 'a', 'X-Key': 'b' } })).toMatchObject({ headers: ['x-id', 'x-key'] });
    expect(ownedNames({ type: 'aws-sigv4', region: 'r', service: 's' })).toEqual({
      headers: ['authorization', 'x-amz-date', 'x-amz-content-sha256', 'x-amz-security-token'],
      headerPrefixes: [],
      query: [],
      queryPrefixes: ['x-amz-'],
    });
    expect(ownedNames({ type: 'hmac', preset: 'mexc' })).toMatchObject({ headers: ['x-mexc-apikey'], query: ['timestamp', 'signature'] });
    expect(ownedNames({ type: 'oauth1a' })).toMatchObject({ headers: ['authorization'], queryPrefixes: ['oauth_'] });
    expect(ownedNames({ type: 'github-app', appId: '1', installationId: '2' })).toMatchObject({ headers: ['authorization'] });
  });
});
