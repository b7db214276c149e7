/** `janee migrate` with secrets written inline in config.yaml: into the vault, out of the file, comments kept. */
import { existsSync, readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findInlineSecrets } from '../../src/migrate/inline.js';
import { decryptAge } from '../../src/vault/age.js';
import {
  cleanupTempHomes,
  errorLines,
  initHome,
  listFiles,
  runJanee,
  scratchDir,
  snapshot,
  tempHome,
  withEnv,
  type JaneeEnv,
} from '../helpers/cli.js';
import { leaksIn } from '../ci/mcp.js';

afterAll(cleanupTempHomes);

const STRIPE = 'sk_live_inline_9f8e7d6c5b4a';
const GH = 'ghp_inline_0a1b2c3d4e5f';
const PW = 'basic-inline-password';

const CONFIG = `# my janee config
services:
  # payments (keep this comment)
  stripe:
    baseUrl: https://api.stripe.com
    auth: { type: bearer, key: ${STRIPE} } # the old way
    policies:
      - path: /v1/charges # read only
        methods: [GET]
  gh:
    baseUrl: https://api.github.com
    apiKey: ${GH}
  jira:
    baseUrl: https://example.atlassian.net
    auth:
      type: basic
      username: me@example.com
      password: ${PW}
`;

const EXPECTED = `# my janee config
services:
  # payments (keep this comment)
  stripe:
    baseUrl: https://api.stripe.com
    auth: { type: bearer } # the old way
    policies:
      - path: /v1/charges # read only
        methods: [ GET ]
  gh:
    baseUrl: https://api.github.com
    auth: { type: bearer }
  jira:
    baseUrl: https://example.atlassian.net
    auth:
      type: basic
`;

async function secrets(env: JaneeEnv): Promise<Record<string, { fields: Record<string, string>; origins: string[] }>> {
  const file = path.join(scratchDir(env), `check-${Date.now()}.age`);
  const r = await runJanee(['export', '--age', file, '--work-factor', '10'], { env: withEnv(env, { JANEE_AGE_PASSPHRASE: 'check' }) });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(Buffer.from(await decryptAge(readFileSync(file), new TextEncoder().encode('check'))).toString('utf8')).entries;
}

describe('findInlineSecrets', () => {
  it('finds auth-level and service-level secrets, and refuses what it cannot move (naming no value)', () => {
    const moves = findInlineSecrets({
      services: {
        a: { baseUrl: 'https://a.example', auth: { type: 'bearer', token: 't' } },
        b: { baseUrl: 'https://b.example', auth: { type: 'bearer' } },
      },
    });
    expect(moves).toEqual([
      { service: 'a', origin: 'https://a.example', fields: { token: 't' }, remove: [['services', 'a', 'auth', 'token']] },
    ]);
    expect(() => findInlineSecrets({ services: { a: { baseUrl: 'https://a.example', auth: { key: 'k1', secret: 'k2' } } } })).toThrow(
      /2 secret keys \(key, secret\)/,
    );
    expect(() => findInlineSecrets({ services: { a: { baseUrl: 'http://a.example', auth: { key: 'k1' } } } })).toThrow(
      /refusing plain http/,
    );
    expect(() => findInlineSecrets({ services: { a: { baseUrl: 'https://a.example', auth: { type: 'basic', password: 'p' } } } })).toThrow(
      /needs a username/,
    );
    try {
      findInlineSecrets({ services: { a: { baseUrl: 'https://a.example', auth: { type: 'weird', key: 'visible-secret' } } } });
    } catch (e) {
      expect((e as Error).message).not.toContain('visible-secret');
    }
  });
});

describe('janee migrate (inline secrets)', () => {
  it('config.yaml with inline secrets is refused until migrated; --dry-run changes nothing', async () => {
    const env = await initHome();
    await fs.writeFile(path.join(env.JANEE_HOME, 'config.yaml'), CONFIG);
    const list = await runJanee(['list'], { env });
    expect(list.code).toBe(1);
    expect(errorLines(list.stderr).hint).toBe('janee: hint: run `janee migrate` to move it into the encrypted vault');
    const before = await snapshot(env.JANEE_HOME);
    const dry = await runJanee(['migrate', '--dry-run'], { env });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stderr).toContain('janee: stripe: secret moves into the vault, bound to https://api.stripe.com');
    expect(await snapshot(env.JANEE_HOME)).toEqual(before);
  });

  it('moves every secret into the vault, bound to its origin; the file keeps its comments and loses only the secrets', async () => {
    const env = await initHome();
    const configFile = path.join(env.JANEE_HOME, 'config.yaml');
    await fs.writeFile(configFile, CONFIG);
    await fs.writeFile(`${configFile}.bak`, CONFIG); // an old backup holding the same secrets
    const r = await runJanee(['migrate'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`moved 3 secrets into the vault and out of ${configFile} (comments kept)`);
    expect(r.stderr).toContain(`deleted ${configFile}.bak: it held secrets in plain text`);
    expect(r.stderr).toMatch(/rotate them/);
    expect(await fs.readFile(configFile, 'utf8')).toBe(EXPECTED);
    expect(await secrets(env)).toMatchObject({
      stripe: { fields: { token: STRIPE }, origins: ['https://api.stripe.com'] },
      gh: { fields: { token: GH }, origins: ['https://api.github.com'] },
      jira: { fields: { username: 'me@example.com', password: PW }, origins: ['https://example.atlassian.net'] },
    });
    // Nothing under JANEE_HOME holds a secret in plain text any more.
    for (const f of await listFiles(env.JANEE_HOME)) {
      for (const s of [STRIPE, GH, PW]) expect(leaksIn(await fs.readFile(path.join(env.JANEE_HOME, f)), s), f).toEqual([]);
    }
    for (const s of [STRIPE, GH, PW]) expect(leaksIn(r.stdout + r.stderr, s)).toEqual([]);
    expect((await runJanee(['list'], { env })).code).toBe(0);
    const again = await runJanee(['migrate'], { env });
    expect(again.stderr).toContain('nothing to migrate');
  });

  it('creates the vault when there is none', async () => {
    const env = await tempHome();
    await fs.mkdir(env.JANEE_HOME, { recursive: true });
    await fs.writeFile(path.join(env.JANEE_HOME, 'config.yaml'), CONFIG);
    const r = await runJanee(['migrate', '--work-factor', '10'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('no vault yet: creating');
    expect(existsSync(path.join(env.JANEE_HOME, 'vault.janee'))).toBe(true);
  });

  it('a different secret of the same name in the vault: refused with nothing changed, or replaced with --force', async () => {
    const env = await initHome();
    const configFile = path.join(env.JANEE_HOME, 'config.yaml');
    const add = await runJanee(['add', 'stripe', '--base-url', 'https://api.stripe.com', '--key-stdin'], { env, input: 'sk_other' });
    expect(add.code).toBe(0);
    await fs.writeFile(configFile, CONFIG);
    const before = await snapshot(env.JANEE_HOME);
    const r = await runJanee(['migrate'], { env });
    expect(r.code).toBe(1);
    expect(errorLines(r.stderr).error).toBe('janee: error: the vault already holds different secrets named "stripe"; nothing was changed');
    expect(await snapshot(env.JANEE_HOME)).toEqual(before);
    const forced = await runJanee(['migrate', '--force'], { env });
    expect(forced.code, forced.stderr).toBe(0);
    expect((await secrets(env))['stripe']?.fields).toEqual({ token: STRIPE });
  });

  it('a secret it cannot move: an error naming the service, nothing changed', async () => {
    const env = await initHome();
    const configFile = path.join(env.JANEE_HOME, 'config.yaml');
    await fs.writeFile(configFile, 'services:\n  x:\n    baseUrl: https://x.example\n    auth: { type: bearer, key: k1, secret: k2 }\n');
    const before = await snapshot(env.JANEE_HOME);
    const r = await runJanee(['migrate'], { env });
    expect(r.code).toBe(1);
    expect(errorLines(r.stderr).error).toBe(
      'janee: error: services.x: 2 secret keys (key, secret); janee sends one credential per service; nothing was changed',
    );
    expect(await snapshot(env.JANEE_HOME)).toEqual(before);
  });
});
