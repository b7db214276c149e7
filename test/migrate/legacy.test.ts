/**
 * Importing Janee 0.x homes: the real ones in fixtures/legacy, each written by that release's own
 * code (see fixtures/legacy/README.md). The pure plan, then the built CLI against copies of them.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import type { AuthSpec } from '../../src/config/types.js';
import { decryptLegacyValue, looksEncrypted, planLegacy, type LegacyInput } from '../../src/migrate/legacy.js';
import { decryptAge } from '../../src/vault/age.js';
import { cleanupTempHomes, errorLines, initHome, REPO_ROOT, runJanee, scratchDir, tempHome, withEnv } from '../helpers/cli.js';
import { startUpstream } from '../helpers/upstream.js';
import { callTool, leaksIn, startServe } from '../ci/mcp.js';

afterAll(cleanupTempHomes);

const FIX = path.join(REPO_ROOT, 'fixtures', 'legacy');

type Fields = Record<string, string>;
interface Expect {
  migrated: Record<string, [AuthSpec, Fields]>;
  skipped: Record<string, RegExp>;
  /** Every fake secret the release was given (skipped services' too): none may leak. */
  secrets: string[];
}

const bearer = (token: string): [AuthSpec, Fields] => [{ type: 'bearer' }, { token }];
const basic = (username: string, password: string): [AuthSpec, Fields] => [{ type: 'basic' }, { username, password }];
const header = (name: string, token: string): [AuthSpec, Fields] => [{ type: 'header', name }, { token }];
const preset = (p: 'bybit' | 'okx' | 'mexc', fields: Fields): [AuthSpec, Fields] => [{ type: 'hmac', preset: p }, fields];
/** A file field (stored base64) whose decoded text contains `text`. */
const fileWith = (text: string) =>
  ({
    asymmetricMatch: (x: unknown) => typeof x === 'string' && Buffer.from(x, 'base64').toString('utf8').includes(text),
    toString: () => `base64 of a file containing ${text}`,
    toAsymmetricMatcher: () => `fileWith(${text})`,
  }) as unknown as string;

/** What each release was given (fixtures/legacy/README.md) and what janee must make of it. */
function release(v: string): Expect {
  const base: Expect = {
    migrated: {
      stripe: bearer(
        {
          '01': 'sk_test_fake01_stripe_Qw8Zr2Lp',
          '02': 'sk_test_fake02_stripe_3MvR8tYb',
          '12': 'sk_test_fake12_stripe_7Hd3KpQw',
          '13': 'sk_test_fake13_stripe_9xQ2LmTr',
          '16': 'sk_test_fake16_stripe_4eC39HqLyjWDarjt',
        }[v] as string,
      ),
      twilio: basic(`ACfake${v}twilio`, `fake${v}-twilio-auth-token`),
      custom: header('X-API-Key', `fake${v}-custom-header-key`),
      openai: bearer(`sk-fake${v}-openai-0123456789`),
      multi: [
        { type: 'headers', headers: { 'X-Client-Id': 'X-Client-Id', 'X-Client-Secret': 'X-Client-Secret' } },
        { 'X-Client-Id': `fake${v}-client-id`, 'X-Client-Secret': `fake${v}-client-secret` },
      ],
      bybit: preset('bybit', { apiKey: `fake${v}-bybit-key`, apiSecret: `fake${v}-bybit-secret` }),
      okx: preset('okx', { apiKey: `fake${v}-okx-key`, apiSecret: `fake${v}-okx-secret`, passphrase: `fake${v}-okx-pass` }),
      ghapp: [
        { type: 'github-app', appId: '123456', installationId: '7890123' },
        { privateKey: fileWith(`fake${v}-github-app-private-key-pem`) },
      ],
      gcal: [
        { type: 'google-service-account', scopes: ['https://www.googleapis.com/auth/calendar.readonly'] },
        { credentials: fileWith(`fake${v}-service-account-private-key`) },
      ],
    },
    skipped: {},
    secrets: [
      `fake${v}-client-id`,
      `fake${v}-client-secret`,
      `fake${v}-bybit-key`,
      `fake${v}-bybit-secret`,
      `fake${v}-okx-key`,
      `fake${v}-okx-secret`,
      `fake${v}-okx-pass`,
      `fake${v}-github-app-private-key-pem`,
      `fake${v}-service-account-private-key`,
      `fake${v}-mexc-key`,
      `fake${v}-mexc-secret`,
      `fake${v}-consumer-key`,
      `fake${v}-consumer-secret`,
      `fake${v}-access-token`,
      `fake${v}-access-token-secret`,
      `AKIAFAKE${v}EXAMPLE`,
      `fake${v}-aws-secret-access-key`,
    ],
  };
  for (const [a, f] of Object.values(base.migrated)) {
    base.secrets.push(...Object.values(f).filter((x) => typeof x === 'string' && !x.startsWith('ACfake')));
    if (a.type === 'basic') base.secrets.push(Buffer.from(`${f['username']}:${f['password']}`).toString('base64'));
  }
  return base;
}

/** 0.2 named its manual services acme* (unprefixed names matched its service directory). */
function acme(e: Expect): Expect {
  const ren = (n: string) => (n === 'stripe' || n === 'twilio' || n === 'gcal' ? n : `acme${n}`);
  const map = <T>(o: Record<string, T>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [ren(k), v]));
  return { ...e, migrated: map(e.migrated), skipped: map(e.skipped) };
}

const FIXTURES: Record<string, Expect> = {
  'home-0.1.1': (() => {
    const e = release('01');
    return {
      ...e,
      migrated: { stripe: e.migrated['stripe'] as [AuthSpec, Fields], acmecustom: e.migrated['custom'] as [AuthSpec, Fields] },
      skipped: {},
    };
  })(),
  'home-0.2.0': (() => {
    const e = acme(release('02'));
    delete e.migrated['acmeghapp'];
    e.migrated['acmehmac'] = preset('mexc', { apiKey: 'fake02-mexc-key', apiSecret: 'fake02-mexc-secret' });
    return e;
  })(),
  'home-0.12.0': release('12'),
  'home-0.13.0': release('13'),
  'home-0.16.0': (() => {
    const e = release('16');
    Object.assign(e.migrated, {
      mexc: preset('mexc', { apiKey: 'fake16-mexc-key', apiSecret: 'fake16-mexc-secret' }),
      twitter: [
        { type: 'oauth1a' },
        {
          consumerKey: 'fake16-consumer-key',
          consumerSecret: 'fake16-consumer-secret',
          accessToken: 'fake16-access-token',
          accessTokenSecret: 'fake16-access-token-secret',
        },
      ],
      ses: [
        { type: 'aws-sigv4', region: 'us-east-1', service: 'ses' },
        { accessKeyId: 'AKIAFAKE16EXAMPLE', secretAccessKey: 'fake16-aws-secret-access-key' },
      ],
    });
    return e;
  })(),
};
FIXTURES['home-0.2.0-opened-by-0.16.0'] = (() => {
  // 0.16 did not know 0.2's type hmac: its conversion moved no secret for it to credentials.json.
  const from = FIXTURES['home-0.2.0'] as Expect;
  const e: Expect = { migrated: { ...from.migrated }, skipped: {}, secrets: [...from.secrets] };
  delete e.migrated['acmehmac'];
  e.skipped = { acmehmac: /^no secret found for it \(nothing in .*credentials\.json secrets\.acmehmac\)$/ };
  return e;
})();

function load(home: string): LegacyInput {
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
async function vaultSecrets(env: NodeJS.ProcessEnv & { JANEE_HOME: string }): Promise<Record<string, Fields>> {
  const file = path.join(scratchDir(env), `check-${Math.random().toString(16).slice(2)}.age`);
  const r = await runJanee(['export', '--age', file, '--work-factor', '10'], { env: withEnv(env, { JANEE_AGE_PASSPHRASE: 'check' }) });
  expect(r.code, r.stderr).toBe(0);
  const json = JSON.parse(Buffer.from(await decryptAge(readFileSync(file), new TextEncoder().encode('check'))).toString('utf8'));
  return Object.fromEntries(Object.entries(json.entries as Record<string, { fields: Fields }>).map(([k, v]) => [k, v.fields]));
}

function noLeak(text: string, secrets: string[]): void {
  for (const s of secrets) expect(leaksIn(text, s), s).toEqual([]);
}

describe('the fixtures are the real thing', () => {
  it('one directory per release, nothing hand-written beside them', () => {
    const dirs = readdirSync(FIX, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
    expect(dirs).toEqual(Object.keys(FIXTURES).sort());
    expect(readdirSync(FIX).filter((f) => !dirs.includes(f))).toEqual(['README.md']);
    // 0.13+ keeps no secret in config.yaml; before, they sit there encrypted (headers plain up to 0.4).
    const split = JSON.parse(readFileSync(path.join(FIX, 'home-0.16.0', 'credentials.json'), 'utf8'));
    expect(Object.keys(split)).toEqual(['masterKey', 'secrets']);
    expect(Object.keys(split.secrets.multi.headers)).toEqual(['X-Client-Id', 'X-Client-Secret']);
  });
});

describe('planLegacy on every real layout', () => {
  it.each(Object.keys(FIXTURES))('%s: every service migrated or skipped with its reason', (home) => {
    const want = FIXTURES[home] as Expect;
    const plan = planLegacy(load(home));
    expect(plan.masterKeyIn).toBe(existsSync(path.join(FIX, home, 'credentials.json')) ? 'credentials.json' : 'config.yaml');
    expect(Object.fromEntries(plan.services.map((s) => [s.name, [s.auth, s.fields]]))).toEqual(want.migrated);
    expect(plan.skipped.map((s) => s.name).sort()).toEqual(Object.keys(want.skipped).sort());
    for (const s of plan.skipped) expect(s.reason, s.name).toMatch(want.skipped[s.name] as RegExp);
    const total = Object.keys((load(home).config as { services: object }).services).length;
    expect(plan.services.length + plan.skipped.length).toBe(total);
    noLeak(JSON.stringify(plan.notes) + JSON.stringify(plan.skipped), want.secrets);
  });

  it('capability rules become policies; basic-as-bearer and unencrypted values are said', () => {
    const plan = planLegacy(load('home-0.16.0'));
    const stripe = plan.services.find((s) => s.name === 'stripe');
    // Capabilities "stripe" (no rules: everything) and "stripe_ro" together: everything but its deny.
    expect(stripe?.policies).toEqual([
      { path: '/', methods: ['*'] },
      { path: '/', methods: ['DELETE'], deny: true },
    ]);
    const notes = plan.notes.map((n) => `${n.service}: ${n.note}`).join('\n');
    expect(notes).toMatch(/twilio: 0.x stored basic auth as a bearer key "Basic …"/);
    const old = planLegacy(load('home-0.2.0'));
    expect(old.services.find((s) => s.name === 'stripe')?.policies).toEqual([
      { path: '/v1/charges', methods: ['GET'] },
      { path: '/v1/customers', methods: ['GET'] },
      { path: '/', methods: ['DELETE'], deny: true },
      { path: '/v1/customers/*', methods: ['GET'], deny: true },
    ]);
    expect(old.services.find((s) => s.name === 'acmecustom')?.policies).toBeUndefined();
    expect(old.services.find((s) => s.name === 'acmeopenai')?.policies).toEqual([
      { path: '/chat/completions', methods: ['POST'] },
      { path: '/chat/completions/*', methods: ['POST'], deny: true },
    ]);
    const oldNotes = old.notes.map((n) => `${n.service}: ${n.note}`).join('\n');
    expect(oldNotes).toMatch(/acmecustom: header X-API-Key was stored unencrypted in .*config.yaml/);
    expect(oldNotes).not.toMatch(/stripe: key was stored unencrypted/);
    const opened = planLegacy(load('home-0.2.0-opened-by-0.16.0'))
      .notes.map((n) => `${n.service}: ${n.note}`)
      .join('\n');
    expect(opened).toMatch(/acmecustom: header X-API-Key was stored unencrypted in .*credentials.json/);
  });

  it('AES-256-GCM values as encryptSecret wrote them; damage and wrong keys are errors without the value', () => {
    const key = randomBytes(32);
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', key, iv);
    const ct = Buffer.concat([c.update('s3cret-value', 'utf8'), c.final()]);
    const blob = Buffer.concat([iv, c.getAuthTag(), ct]).toString('base64');
    expect(looksEncrypted(blob)).toBe(true);
    expect(looksEncrypted('fake02-custom-header-key')).toBe(false);
    expect(looksEncrypted('Bearer sk-abc')).toBe(false);
    expect(decryptLegacyValue(blob, key)).toBe('s3cret-value');
    const bad = Buffer.from(blob, 'base64');
    bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 1;
    expect(() => decryptLegacyValue(bad.toString('base64'), key)).toThrow(/does not decrypt under the master key/);
    expect(() => decryptLegacyValue(blob, randomBytes(32))).toThrow(/does not decrypt/);
    expect(() => decryptLegacyValue('short', key)).toThrow();
  });

  it('a damaged value skips only its service (kept as it is with strictDecryption: false); unusable input is a clear error', () => {
    const base = load('home-0.13.0');
    const creds = structuredClone(base.credentials) as { masterKey: string; secrets: Record<string, Record<string, string>> };
    const stripeKey = creds.secrets['stripe']?.['key'] as string;
    creds.secrets['stripe'] = { key: `${stripeKey.slice(0, -4)}${stripeKey.endsWith('AAAA') ? 'BBBB' : 'AAAA'}` };
    const plan = planLegacy({ ...base, credentials: creds });
    expect(plan.skipped.find((s) => s.name === 'stripe')?.reason).toBe('key: does not decrypt under the master key (wrong key or damaged)');
    expect(plan.services.map((s) => s.name)).toContain('custom');
    const lenient = planLegacy({
      ...base,
      config: { ...(base.config as object), server: { strictDecryption: false } },
      credentials: creds,
    });
    expect(lenient.services.find((s) => s.name === 'stripe')?.fields).toEqual({ token: creds.secrets['stripe']?.['key'] });

    expect(() => planLegacy({ ...base, credentials: { masterKey: 'AAAA', secrets: {} } })).toThrow(/masterKey must be 32 bytes/);
    expect(() => planLegacy({ ...base, credentials: { secrets: {} } })).toThrow(/no masterKey in it/);
    expect(() => planLegacy({ ...base, credentials: { masterKey: creds.masterKey, secrets: [] } })).toThrow(/"secrets" must be an object/);
    expect(() => planLegacy({ ...base, credentials: [] })).toThrow(/expected a JSON object/);
    expect(() => planLegacy({ config: base.config, configFile: base.configFile })).toThrow(
      /no masterKey in it and no credentials.json beside it/,
    );
    expect(() => planLegacy({ ...base, config: { services: [] } })).toThrow(/services must be a mapping/);
  });
});

describe('janee migrate --from DIR, on a copy of each real home', () => {
  it.each(Object.keys(FIXTURES))('%s: secrets into the vault, skipped ones named, nothing leaked', async (home) => {
    const want = FIXTURES[home] as Expect;
    const env = await tempHome();
    const old = await copyHome(home, path.join(scratchDir(env), 'janee-0x'));
    const r = await runJanee(['migrate', '--from', old, '--work-factor', '10'], { env });
    expect(r.code, r.stderr).toBe(0);
    for (const [name, [auth]] of Object.entries(want.migrated))
      expect(r.stderr).toMatch(new RegExp(`^janee: ${name}: \\S+ \\(${auth.type}\\), secret bound to `, 'm'));
    for (const [name, reason] of Object.entries(want.skipped))
      expect(r.stderr).toMatch(new RegExp(`janee: warning: ${name}: skipped: ${reason.source.slice(1, -1)}`, 'm'));
    const n = Object.keys(want.migrated).length;
    const k = Object.keys(want.skipped).length;
    expect(r.stderr).toContain(`imported ${n} services with their secrets${k ? `; skipped ${k} (see above)` : ''}`);
    const config = await fs.readFile(path.join(env.JANEE_HOME, 'config.yaml'), 'utf8');
    noLeak(r.stdout + r.stderr + config, want.secrets);

    expect(await vaultSecrets(env)).toEqual(Object.fromEntries(Object.entries(want.migrated).map(([name, [, fields]]) => [name, fields])));
    const list = await runJanee(['list', '--json'], { env });
    expect(list.code, list.stderr).toBe(0);
    const rows = (JSON.parse(list.stdout) as { services: { name: string; auth: string; secret: boolean }[] }).services;
    expect(rows.map((s) => [s.name, s.auth, s.secret]).sort()).toEqual(
      Object.entries(want.migrated)
        .map(([name, [auth]]) => [name, auth.type, true])
        .sort(),
    );
  });
});

describe('migrated secrets work', () => {
  it('each supported auth of a real 0.16 home reaches a loopback upstream as 0.x meant it', async () => {
    const up = await startUpstream();
    try {
      const env = await tempHome();
      const old = await copyHome('home-0.16.0', path.join(scratchDir(env), 'janee-0x'));
      // Point the copy's services at the upstream (config.yaml holds no secret from 0.13 on).
      const file = path.join(old, 'config.yaml');
      await fs.writeFile(file, (await fs.readFile(file, 'utf8')).replace(/baseUrl: https:\/\/[^\s]+/g, `baseUrl: ${up.url}`));
      const r = await runJanee(['migrate', '--from', old, '--work-factor', '10'], { env });
      expect(r.code, r.stderr).toBe(0);
      const s = await startServe(env);
      const want = (FIXTURES['home-0.16.0'] as Expect).migrated;
      const got: Record<string, Record<string, string | string[] | undefined>> = {};
      try {
        for (const [service, [auth]] of Object.entries(want)) {
          // Minted tokens need a token endpoint; those types are tested where they are minted.
          if (auth.type === 'github-app' || auth.type === 'google-service-account') continue;
          const res = await callTool(s, 'execute', { service, method: 'GET', path: '/echo' });
          expect(res.isError, res.text).toBe(false);
          noLeak(res.text, (FIXTURES['home-0.16.0'] as Expect).secrets);
          got[service] = up.requests[up.requests.length - 1]!.headers;
        }
      } finally {
        await s.close();
      }
      const { stripe, twilio, custom, openai, multi, bybit, okx, mexc, twitter, ses } = got;
      expect(multi?.['x-client-secret']).toBe('fake16-client-secret');
      expect(bybit?.['x-bapi-api-key']).toBe('fake16-bybit-key');
      expect(bybit?.['x-bapi-sign']).toMatch(/^[0-9a-f]{64}$/);
      expect(okx?.['ok-access-passphrase']).toBe('fake16-okx-pass');
      expect(mexc?.['x-mexc-apikey']).toBe('fake16-mexc-key');
      expect(twitter?.authorization).toMatch(/^OAuth oauth_consumer_key="fake16-consumer-key", .*oauth_signature="/);
      expect(ses?.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIAFAKE16EXAMPLE\/\d{8}\/us-east-1\/ses\/aws4_request, /);
      expect(stripe?.authorization).toBe(`Bearer ${want['stripe']?.[1]['token']}`);
      expect(twilio?.authorization).toBe(`Basic ${Buffer.from('ACfake16twilio:fake16-twilio-auth-token').toString('base64')}`);
      expect(custom?.['x-api-key']).toBe('fake16-custom-header-key');
      expect(custom?.authorization).toBeUndefined();
      expect(openai?.authorization).toBe('Bearer sk-fake16-openai-0123456789');
    } finally {
      await up.close();
    }
  });
});

describe('the old master key', () => {
  // Every 0.16 service converts now; in a 0.2 home opened by 0.16, acmehmac's secret was lost by 0.16 itself.
  it('--delete-old-key is refused while services were skipped, naming them; nothing changes', async () => {
    const env = await tempHome();
    const old = await copyHome('home-0.2.0-opened-by-0.16.0', path.join(scratchDir(env), 'janee-0x'));
    const before = await fs.readFile(path.join(old, 'credentials.json'), 'utf8');
    const dry = await runJanee(['migrate', '--from', old, '--delete-old-key', '--dry-run'], { env });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stderr).toContain('--delete-old-key would be refused: 1 service was (acmehmac) skipped');
    const r = await runJanee(['migrate', '--from', old, '--delete-old-key', '--work-factor', '10'], { env });
    expect(r.code).toBe(1);
    const { error, hint } = errorLines(r.stderr);
    expect(error).toBe(
      'janee: error: not deleting the old master key: 1 service was (acmehmac) skipped, and only that key decrypts their secrets; nothing was changed',
    );
    expect(hint).toMatch(/--force/);
    expect(existsSync(env.JANEE_HOME)).toBe(false);
    expect(await fs.readFile(path.join(old, 'credentials.json'), 'utf8')).toBe(before);
    noLeak(r.stdout + r.stderr, (FIXTURES['home-0.2.0-opened-by-0.16.0'] as Expect).secrets);
  });

  it('--force deletes it anyway, saying what is lost; the secrets stay in credentials.json', async () => {
    const env = await tempHome();
    const old = await copyHome('home-0.2.0-opened-by-0.16.0', path.join(scratchDir(env), 'janee-0x'));
    const r = await runJanee(['migrate', '--from', old, '--delete-old-key', '--force', '--work-factor', '10'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      `deleted the old master key from ${path.join(old, 'credentials.json')} (the skipped services' secrets are now unreadable)`,
    );
    const creds = JSON.parse(await fs.readFile(path.join(old, 'credentials.json'), 'utf8'));
    expect(creds.masterKey).toBeUndefined();
    expect(Object.keys(creds.secrets)).toContain('acmebybit');
  });

  it('with nothing skipped, --delete-old-key deletes it from an inline config.yaml (0.1–0.12)', async () => {
    const env = await tempHome();
    const old = await copyHome('home-0.1.1', path.join(scratchDir(env), 'janee-0x'));
    const first = await runJanee(['migrate', '--from', old, '--work-factor', '10'], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain(`janee: warning: the old plaintext master key is still in ${path.join(old, 'config.yaml')}`);
    const before = await fs.readFile(path.join(env.JANEE_HOME, 'config.yaml'), 'utf8');
    const r = await runJanee(['migrate', '--from', old, '--delete-old-key'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`deleted the old master key from ${path.join(old, 'config.yaml')}`);
    expect(await fs.readFile(path.join(env.JANEE_HOME, 'config.yaml'), 'utf8')).toBe(before);
    const left = await fs.readFile(path.join(old, 'config.yaml'), 'utf8');
    expect(left).not.toMatch(/masterKey/);
    expect(left).toMatch(/key: \S{40,}/); // the encrypted values stay
  });
});

describe('janee migrate in a 0.x home (in place)', () => {
  it.each(['home-0.13.0', 'home-0.12.0'])('%s: config.yaml rewritten for janee 1, the old one kept as config.yaml.0x', async (home) => {
    const want = FIXTURES[home] as Expect;
    const env = await tempHome();
    await copyHome(home, env.JANEE_HOME);
    const original = await fs.readFile(path.join(env.JANEE_HOME, 'config.yaml'), 'utf8');
    const r = await runJanee(['migrate', '--work-factor', '10'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`rewrote ${path.join(env.JANEE_HOME, 'config.yaml')} for janee 1`);
    const config = await fs.readFile(path.join(env.JANEE_HOME, 'config.yaml'), 'utf8');
    noLeak(r.stdout + r.stderr + config, want.secrets);
    expect(config).not.toMatch(/masterKey|capabilities|testPath|hmac-|awsService/);
    expect(config).toContain('  bybit:\n    baseUrl: https://api.bybit.com\n    auth: { type: hmac, preset: bybit }\n');
    expect(config).toContain(
      '    auth:\n      type: headers\n      headers: { X-Client-Id: X-Client-Id, X-Client-Secret: X-Client-Secret }\n',
    );
    expect(config).toContain('  twilio:\n    baseUrl: https://api.twilio.com/2010-04-01\n    auth: { type: basic }\n');
    expect(await fs.readFile(path.join(env.JANEE_HOME, 'config.yaml.0x'), 'utf8')).toBe(original);
    expect(existsSync(path.join(env.JANEE_HOME, 'config.yaml.bak'))).toBe(false);
    expect(await vaultSecrets(env)).toEqual(Object.fromEntries(Object.entries(want.migrated).map(([name, [, fields]]) => [name, fields])));
    const again = await runJanee(['migrate'], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('nothing to migrate');
  });

  it('a 0.13+ home with nothing but bearer services and no capability left is still recognised', async () => {
    const env = await tempHome();
    await copyHome('home-0.13.0', env.JANEE_HOME);
    const file = path.join(env.JANEE_HOME, 'config.yaml');
    // 0.13+ always writes `version: 0.3.0`; without it, this config.yaml is also a janee 1 one.
    await fs.writeFile(file, 'version: 0.3.0\nservices:\n  stripe:\n    baseUrl: https://api.stripe.com\n    auth:\n      type: bearer\n');
    const r = await runJanee(['migrate', '--work-factor', '10'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('imported 1 service with its secret');
    expect(await vaultSecrets(env)).toEqual({ stripe: (FIXTURES['home-0.13.0'] as Expect).migrated['stripe']?.[1] });
  });
});

describe('what is not a 0.x home', () => {
  it('refuses a SQLite store, a janee 1 home and a directory without config.yaml', async () => {
    const e = await tempHome();
    const dir = path.join(scratchDir(e), 'sqlite-home');
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, 'config.db'), 'SQLite format 3\0');
    const r = await runJanee(['migrate', '--from', dir], { env: e });
    expect(r.code).toBe(1);
    expect(errorLines(r.stderr).error).toMatch(
      /SQLite config store \(config.db, from an unreleased Janee build\), which migrate cannot read/,
    );
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
