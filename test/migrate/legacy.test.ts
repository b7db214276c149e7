/**
 * Importing a Janee 0.x home (fixtures/legacy, made by fixtures/legacy/gen.mjs):
 * the pure plan, then `janee migrate --from DIR` and the in-place migration.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { decryptLegacyValue, planLegacy } from '../../src/migrate/legacy.js';
import { decryptAge } from '../../src/vault/age.js';
import { cleanupTempHomes, errorLines, initHome, REPO_ROOT, runJanee, scratchDir, tempHome, withEnv, type JaneeEnv } from '../helpers/cli.js';
import { leaksIn } from '../ci/mcp.js';

afterAll(cleanupTempHomes);

const FIX = path.join(REPO_ROOT, 'fixtures', 'legacy');
/** The fake secrets fixtures/legacy/gen.mjs encrypted. */
const SECRETS = {
  stripe: 'sk_test_legacy_4eC39HqLyjWDarjtT1zdp7dc',
  openai: 'sk-legacy-openai-0123456789abcdef',
  github: 'ghp_legacyGitHubToken0123456789',
  nocap: 'nocap-legacy-token-42',
  linear: 'lin_api_legacyLinearKey987',
  yamlStripe: 'sk_test_legacy_yaml_51Hxyz',
};

function load(home: string) {
  const configFile = path.join(FIX, home, 'config.yaml');
  const credFile = path.join(FIX, home, 'credentials.json');
  return {
    config: parseConfigText(configFile, readFileSync(configFile, 'utf8')).doc.toJS(),
    configFile,
    ...(existsSync(credFile) ? { credentials: JSON.parse(readFileSync(credFile, 'utf8')) as unknown, credentialsFile: credFile } : {}),
  };
}

async function copyHome(name: string, to: string): Promise<string> {
  await fs.cp(path.join(FIX, name), to, { recursive: true });
  return to;
}

/** Secrets in the vault, read back through an age export. */
async function vaultSecrets(env: NodeJS.ProcessEnv & { JANEE_HOME: string }): Promise<Record<string, Record<string, string>>> {
  const file = path.join(scratchDir(env), `check-${Math.random().toString(16).slice(2)}.age`);
  const r = await runJanee(['export', '--age', file, '--work-factor', '10'], { env: withEnv(env, { JANEE_AGE_PASSPHRASE: 'check' }) });
  expect(r.code, r.stderr).toBe(0);
  const json = JSON.parse(Buffer.from(await decryptAge(readFileSync(file), new TextEncoder().encode('check'))).toString('utf8'));
  return Object.fromEntries(Object.entries(json.entries as Record<string, { fields: Record<string, string> }>).map(([k, v]) => [k, v.fields]));
}

describe('planLegacy', () => {
  it('credentials.json layout: services, secrets, policies; what cannot be carried is skipped and said', () => {
    const plan = planLegacy(load('home-credentials'));
    expect(plan.masterKeyIn).toBe('credentials.json');
    expect(plan.services.map((s) => [s.name, s.auth, s.origin, s.fields])).toEqual([
      ['stripe', { type: 'bearer' }, 'https://api.stripe.com', { token: SECRETS.stripe }],
      ['openai', { type: 'bearer' }, 'https://api.openai.com', { token: SECRETS.openai }],
      ['github', { type: 'header', name: 'X-GitHub-Token' }, 'https://api.github.com', { token: SECRETS.github }],
      ['nocap', { type: 'bearer' }, 'https://api.nocap.example', { token: SECRETS.nocap }],
    ]);
    expect(plan.skipped.map((s) => s.name)).toEqual(['bybit', 'insecure']);
    expect(plan.skipped[0]?.reason).toMatch(/hmac-bybit .* not supported/);
    expect(plan.services.find((s) => s.name === 'stripe')?.policies).toEqual([
      { path: '/v1/charges', methods: ['GET'] },
      { path: '/v1/charges/*', methods: ['GET'] },
      { path: '/v1/customers', methods: ['GET'] },
      { path: '/v1/refunds', methods: ['POST'] },
      { path: '/', methods: ['DELETE'], deny: true },
      { path: '/v1/refunds/*', methods: ['POST'], deny: true },
    ]);
    expect(plan.services.find((s) => s.name === 'openai')?.policies).toBeUndefined();
    expect(plan.services.find((s) => s.name === 'nocap')?.policies).toEqual([]);
    const notes = plan.notes.map((n) => `${n.service}: ${n.note}`).join('\n');
    expect(notes).toMatch(/stripe: allow "GET \/v1\/customers\*" .* narrowed/);
    expect(notes).toMatch(/github: .*allowedAgents is not enforced/);
    for (const s of Object.values(SECRETS)) expect(JSON.stringify(plan.notes) + JSON.stringify(plan.skipped)).not.toContain(s);
  });

  it('0.x YAML store: master key and encrypted values inline; "Authorization: Bearer …" becomes bearer', () => {
    const plan = planLegacy(load('home-yaml'));
    expect(plan.masterKeyIn).toBe('config.yaml');
    expect(plan.services.map((s) => [s.name, s.auth, s.fields, s.policies])).toEqual([
      ['linear', { type: 'bearer' }, { token: SECRETS.linear }, [{ path: '/graphql', methods: ['POST'] }, { path: '/graphql/*', methods: ['POST'], deny: true }]],
      ['stripe', { type: 'bearer' }, { token: SECRETS.yamlStripe }, [{ path: '/', methods: ['GET'] }]],
    ]);
  });

  it('AES-256-GCM values: string or {iv, tag, ciphertext}; damage and wrong keys are errors without the value', () => {
    const key = randomBytes(32);
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', key, iv);
    const ct = Buffer.concat([c.update('s3cret-value', 'utf8'), c.final()]);
    const tag = c.getAuthTag();
    const blob = Buffer.concat([iv, tag, ct]).toString('base64');
    expect(decryptLegacyValue(blob, key)).toBe('s3cret-value');
    expect(decryptLegacyValue({ iv: iv.toString('base64'), authTag: tag.toString('base64'), ciphertext: ct.toString('base64') }, key)).toBe('s3cret-value');
    const bad = Buffer.from(blob, 'base64');
    bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 1;
    expect(() => decryptLegacyValue(bad.toString('base64'), key)).toThrow(/does not decrypt under the master key/);
    expect(() => decryptLegacyValue(blob, randomBytes(32))).toThrow(/does not decrypt/);
    expect(() => decryptLegacyValue('short', key)).toThrow();
  });

  it('unusable input is a clear error', () => {
    const base = load('home-credentials');
    expect(() => planLegacy({ ...base, credentials: { masterKey: 'AAAA', credentials: {} } })).toThrow(/masterKey must be 32 bytes/);
    expect(() => planLegacy({ ...base, credentials: { credentials: { stripe: 'x' } } })).toThrow(/no masterKey/);
    expect(() => planLegacy({ ...base, config: { services: [] } })).toThrow(/services must be a mapping/);
    expect(() => planLegacy({ ...base, credentials: [] })).toThrow(/expected a JSON object/);
    // A value that does not decrypt skips only that service.
    const creds = JSON.parse(readFileSync(path.join(FIX, 'home-credentials', 'credentials.json'), 'utf8'));
    creds.credentials.openai = creds.credentials.stripe.replace(/.$/, (ch: string) => (ch === 'A' ? 'B' : 'A'));
    const plan = planLegacy({ ...base, credentials: creds });
    expect(plan.skipped.map((s) => s.name)).toContain('openai');
  });
});

describe('janee migrate --from DIR', () => {
  let env: JaneeEnv;
  let old: string;

  it('--dry-run reports and changes nothing', async () => {
    env = await tempHome();
    old = await copyHome('home-credentials', path.join(scratchDir(env), 'janee-0x'));
    const r = await runJanee(['migrate', '--from', old, '--dry-run'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('janee: stripe: https://api.stripe.com (bearer), secret bound to https://api.stripe.com; policies: allow GET /v1/charges;');
    expect(r.stderr).toContain('janee: warning: bybit: skipped: auth type hmac-bybit');
    expect(r.stderr).toContain('dry run: nothing was changed');
    expect(existsSync(env.JANEE_HOME)).toBe(false);
  });

  it('imports services, secrets and policies into a new vault, and warns where the old key still is', async () => {
    const r = await runJanee(['migrate', '--from', old, '--work-factor', '10'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('imported 4 services with their secrets; skipped 2 (see above)');
    expect(r.stderr).toContain(`janee: warning: the old plaintext master key is still in ${path.join(old, 'credentials.json')}`);
    for (const s of Object.values(SECRETS)) expect(leaksIn(r.stdout + r.stderr, s)).toEqual([]);

    const config = await fs.readFile(path.join(env.JANEE_HOME, 'config.yaml'), 'utf8');
    expect(config).toContain('  nocap:\n    baseUrl: https://api.nocap.example\n    auth: { type: bearer }\n    policies: []\n');
    expect(config).toContain('      - path: /v1/refunds/*\n        methods: [ POST ]\n        deny: true\n');
    expect(await vaultSecrets(env)).toEqual({
      stripe: { token: SECRETS.stripe },
      openai: { token: SECRETS.openai },
      github: { token: SECRETS.github },
      nocap: { token: SECRETS.nocap },
    });
    const list = await runJanee(['list'], { env });
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^stripe .* secret: yes {2}6 rules$/m);
  });

  it('running it again changes nothing; --delete-old-key then deletes the plaintext master key', async () => {
    const before = await fs.readFile(path.join(env.JANEE_HOME, 'config.yaml'), 'utf8');
    const r = await runJanee(['migrate', '--from', old, '--delete-old-key'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`deleted the old master key from ${path.join(old, 'credentials.json')}`);
    expect(await fs.readFile(path.join(env.JANEE_HOME, 'config.yaml'), 'utf8')).toBe(before);
    const creds = JSON.parse(await fs.readFile(path.join(old, 'credentials.json'), 'utf8'));
    expect(creds.masterKey).toBeUndefined();
    expect(Object.keys(creds.credentials)).toContain('stripe');
  });

  it('refuses a 0.x SQLite store and a directory without config.yaml', async () => {
    const e = await tempHome();
    const dir = path.join(scratchDir(e), 'sqlite-home');
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, 'config.db'), 'SQLite format 3\0');
    const r = await runJanee(['migrate', '--from', dir], { env: e });
    expect(r.code).toBe(1);
    expect(errorLines(r.stderr).error).toMatch(/Janee 0.x SQLite store \(config.db\), which migrate cannot read/);
    // A janee 1 home is not a 0.x one: never "converted" (that would drop its services).
    const one = await initHome();
    const svc = await runJanee(['add', 'x', '--base-url', 'https://x.example', '--key-stdin'], { env: one, input: 'k' });
    expect(svc.code).toBe(0);
    await fs.writeFile(path.join(one.JANEE_HOME, 'credentials.json'), '{}');
    const before = await fs.readFile(path.join(one.JANEE_HOME, 'config.yaml'), 'utf8');
    const self = await runJanee(['migrate', '--from', one.JANEE_HOME], { env: one });
    expect(self.code).toBe(1);
    expect(errorLines(self.stderr).error).toMatch(/is not a Janee 0.x config/);
    const plain = await runJanee(['migrate'], { env: one });
    expect(plain.code).toBe(0);
    expect(plain.stderr).toContain('nothing to migrate');
    expect(await fs.readFile(path.join(one.JANEE_HOME, 'config.yaml'), 'utf8')).toBe(before);
    const empty = await runJanee(['migrate', '--from', scratchDir(e)], { env: e });
    expect(empty.code).toBe(1);
    expect(errorLines(empty.stderr).error).toMatch(/no config.yaml in/);
  });
});

describe('janee migrate in a 0.x home (in place)', () => {
  it('rewrites config.yaml for janee 1, keeps the old one as config.yaml.0x, fills the vault', async () => {
    const env = await tempHome();
    await copyHome('home-yaml', env.JANEE_HOME);
    const r = await runJanee(['migrate', '--work-factor', '10'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`rewrote ${path.join(env.JANEE_HOME, 'config.yaml')} for janee 1`);
    expect(r.stderr).toContain(`(rm ${path.join(env.JANEE_HOME, 'config.yaml.0x')})`);
    const config = await fs.readFile(path.join(env.JANEE_HOME, 'config.yaml'), 'utf8');
    expect(config).toBe(`# Janee 0.x config with the master key inline (test fixture: fixtures/legacy/gen.mjs)

services:
  linear:
    baseUrl: https://api.linear.app
    auth: { type: bearer }
    policies:
      - path: /graphql
        methods: [ POST ]
      - path: /graphql/*
        methods: [ POST ]
        deny: true
  stripe:
    baseUrl: https://api.stripe.com
    auth: { type: bearer }
    policies:
      - path: /
        methods: [ GET ]
`);
    expect(await fs.readFile(path.join(env.JANEE_HOME, 'config.yaml.0x'), 'utf8')).toBe(await fs.readFile(path.join(FIX, 'home-yaml', 'config.yaml'), 'utf8'));
    expect(existsSync(path.join(env.JANEE_HOME, 'config.yaml.bak'))).toBe(false);
    expect(await vaultSecrets(env)).toEqual({ linear: { token: SECRETS.linear }, stripe: { token: SECRETS.yamlStripe } });
    const again = await runJanee(['migrate'], { env });
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('nothing to migrate');
  });
});
