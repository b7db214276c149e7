/**
 * `janee add NAME --auth '{ type: oauth2, grant: refresh_token, … }' --authorize URL`
 * with the built CLI: it prints the authorization URL on stderr; the test "visits" it
 * like a browser (the mock authorization server on loopback redirects to janee's
 * loopback listener); the refresh token lands in the vault (read back), bound with the
 * token URL's origin, and is in no output.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unlockVaultFile } from '../../../src/vault/store.js';
import { CLI, cleanupTempHomes, initHome, REPO_ROOT, type JaneeEnv } from '../../helpers/cli.js';
import { findForms, secretForms } from '../../helpers/mcp.js';
import { startUpstream, type Upstream } from '../../helpers/upstream.js';

let as: Upstream;
let env: JaneeEnv;
const RT = `rt_pkce_${Date.now().toString(36)}_4f9a8b7c6d`;
const challenges = new Map<string, string>();

beforeAll(async () => {
  as = await startUpstream();
  env = await initHome();
  as.route('/authorize', (req, res) => {
    const q = new URL(req.url ?? '/', as.url).searchParams;
    challenges.set('code-1', q.get('code_challenge') ?? '');
    const back = new URL(q.get('redirect_uri')!);
    back.searchParams.set('code', 'code-1');
    back.searchParams.set('state', q.get('state') ?? '');
    res.writeHead(302, { location: back.toString() });
    res.end();
  });
  as.route('/token', (_req, res) => {
    const f = new URLSearchParams(as.requests[as.requests.length - 1]!.body.toString());
    const ok =
      challenges.get(f.get('code') ?? '') ===
      createHash('sha256')
        .update(f.get('code_verifier') ?? '')
        .digest('base64url');
    res.writeHead(ok ? 200 : 400, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify(ok ? { access_token: 'at_pkce_cli_0123456789', refresh_token: RT, expires_in: 60 } : { error: 'invalid_grant' }),
    );
  });
}, 60_000);

afterAll(async () => {
  await as.close();
  await cleanupTempHomes();
});

describe('janee add --authorize', () => {
  it('runs the PKCE flow and stores the refresh token', async () => {
    const child = spawn(
      process.execPath,
      [
        CLI,
        'add',
        'crm',
        '--base-url',
        'https://api.crm.example',
        '--auth',
        `{ type: oauth2, grant: refresh_token, tokenUrl: ${as.url}/token, scopes: [offline_access] }`,
        '--authorize',
        `${as.url}/authorize`,
        '--key-stdin',
      ],
      { env, cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    child.stdin.end('public-client\n\n'); // client id, no secret (a public client)
    let stdout = '';
    let stderr = '';
    let visited: Promise<string> | undefined;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /^(http:\/\/127\.0\.0\.1:\d+\/authorize\?\S+)$/m.exec(stderr);
      if (m && !visited) {
        visited = (async () => {
          const first = await fetch(m[1]!, { redirect: 'manual' });
          const back = await fetch(first.headers.get('location')!);
          return back.text();
        })();
      }
    });
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(stderr).toContain('open this URL in a browser');
    expect(code).toBe(0);
    expect(await visited!).toMatch(/authorized/);
    const u = await unlockVaultFile(`${env.JANEE_HOME}/vault.janee`, new TextEncoder().encode(env.JANEE_PASSPHRASE));
    u.fileKey.fill(0);
    const entry = u.data.entries.crm!;
    expect(entry.fields).toEqual({ clientId: 'public-client', refreshToken: RT });
    expect(entry.origins).toEqual(['https://api.crm.example', as.url]);
    expect(findForms(stdout + stderr, [...secretForms(RT), ...secretForms('at_pkce_cli_0123456789')])).toEqual([]);
  }, 60_000);

  it('is refused for anything but an oauth2 refresh_token block', async () => {
    const child = spawn(
      process.execPath,
      [
        CLI,
        'add',
        'x',
        '--base-url',
        'https://api.example',
        '--auth',
        'bearer',
        '--authorize',
        'https://auth.example/authorize',
        '--key',
        'k',
      ],
      { env, cwd: REPO_ROOT },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    expect(await new Promise((r) => child.on('close', r))).toBe(2);
    expect(stderr).toMatch(/--authorize is for --auth oauth2 with grant: refresh_token/);
  });
});
