/**
 * `janee add` / `janee set` for the multi-field types (the built CLI): fields one per stdin line,
 * PEM and JSON keys from files (stored base64), the usage mistakes; and the redaction of a
 * file field's content however it comes back.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { secretVariants } from '../../src/gate/inject.js';
import { Redactor } from '../../src/gate/redact.js';
import { decryptAge } from '../../src/vault/age.js';
import { CLI, cleanupTempHomes, errorLines, initHome, PASSPHRASE, runJanee, scratchDir, withEnv, type JaneeEnv } from '../helpers/cli.js';
import { hasPty, runUnderPty } from '../helpers/pty.js';
import { leaksIn } from '../ci/mcp.js';

afterAll(cleanupTempHomes);

const PEM = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const PEM_BODY = PEM.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');

async function vaultFields(env: JaneeEnv): Promise<Record<string, Record<string, string>>> {
  const file = path.join(scratchDir(env), `check-${Math.random().toString(16).slice(2)}.age`);
  const r = await runJanee(['export', '--age', file, '--work-factor', '10'], { env: withEnv(env, { JANEE_AGE_PASSPHRASE: 'check' }) });
  expect(r.code, r.stderr).toBe(0);
  const json = JSON.parse(Buffer.from(await decryptAge(readFileSync(file), new TextEncoder().encode('check'))).toString('utf8'));
  return Object.fromEntries(
    Object.entries(json.entries as Record<string, { fields: Record<string, string> }>).map(([k, v]) => [k, v.fields]),
  );
}

describe('janee add with several fields', () => {
  it('aws-sigv4: one line per field, the optional session token left out; set replaces them all', async () => {
    const env = await initHome();
    const add = await runJanee(
      [
        'add',
        'ses',
        '--base-url',
        'https://email.us-east-1.amazonaws.com',
        '--auth',
        '{ type: aws-sigv4, region: us-east-1, service: ses }',
        '--key-stdin',
      ],
      { env, input: 'AKIAFAKE1\nsecret-access-key-1\n' },
    );
    expect(add.code, add.stderr).toBe(0);
    const config = await fs.readFile(path.join(env.JANEE_HOME, 'config.yaml'), 'utf8');
    expect(config).toContain('auth: { type: aws-sigv4, region: us-east-1, service: ses }');
    expect((await vaultFields(env))['ses']).toEqual({ accessKeyId: 'AKIAFAKE1', secretAccessKey: 'secret-access-key-1' });
    const set = await runJanee(['set', 'ses', '--key-stdin'], { env, input: 'ASIAFAKE2\nsecret-access-key-2\nsession-token-2' });
    expect(set.code, set.stderr).toBe(0);
    expect((await vaultFields(env))['ses']).toEqual({
      accessKeyId: 'ASIAFAKE2',
      secretAccessKey: 'secret-access-key-2',
      sessionToken: 'session-token-2',
    });
    for (const s of ['secret-access-key-1', 'secret-access-key-2', 'session-token-2'])
      expect(leaksIn(add.stderr + set.stderr + config, s)).toEqual([]);
  });

  it('github-app: the PEM from --field-file, stored base64; set --field-file replaces it', async () => {
    const env = await initHome();
    const pem = path.join(scratchDir(env), 'app.pem');
    await fs.writeFile(pem, PEM, { mode: 0o600 });
    const auth = '{ type: github-app, appId: 123456, installationId: 7890123 }';
    const missing = await runJanee(['add', 'gh', '--base-url', 'https://api.github.com', '--auth', auth], { env });
    expect(missing.code).toBe(2);
    expect(errorLines(missing.stderr).error).toBe('janee: error: auth type github-app needs --field-file privateKey=PATH');
    const add = await runJanee(['add', 'gh', '--base-url', 'https://api.github.com', '--auth', auth, '--field-file', `privateKey=${pem}`], {
      env,
    });
    expect(add.code, add.stderr).toBe(0);
    expect((await vaultFields(env))['gh']).toEqual({ privateKey: Buffer.from(PEM).toString('base64') });
    const config = await fs.readFile(path.join(env.JANEE_HOME, 'config.yaml'), 'utf8');
    expect(config).toContain('auth: { type: github-app, appId: "123456", installationId: "7890123" }');
    expect(config).not.toContain(PEM_BODY.slice(0, 20));

    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'sec1', format: 'pem' }).toString();
    await fs.writeFile(pem, other);
    const set = await runJanee(['set', 'gh', '--field-file', `privateKey=${pem}`], { env });
    expect(set.code, set.stderr).toBe(0);
    expect((await vaultFields(env))['gh']).toEqual({ privateKey: Buffer.from(other).toString('base64') });
  });

  it('refuses, naming the field and never quoting the file: not a PEM, not JSON, an unreadable path', async () => {
    const env = await initHome();
    const f = path.join(scratchDir(env), 'not-a-key.txt');
    await fs.writeFile(f, 'ghp_notapemat-all-0123456789');
    const gh = await runJanee(
      [
        'add',
        'gh',
        '--base-url',
        'https://api.github.com',
        '--auth',
        '{ type: github-app, appId: 1, installationId: 2 }',
        '--field-file',
        `privateKey=${f}`,
      ],
      { env },
    );
    expect(gh.code).toBe(1);
    expect(errorLines(gh.stderr).error).toBe('janee: error: privateKey: the file is not a PEM private key (-----BEGIN … PRIVATE KEY-----)');
    const sa = await runJanee(
      [
        'add',
        'g',
        '--base-url',
        'https://www.googleapis.com',
        '--auth',
        '{ type: google-service-account, scopes: [x] }',
        '--field-file',
        `credentials=${f}`,
      ],
      { env },
    );
    expect(sa.code).toBe(1);
    expect(errorLines(sa.stderr).error).toBe('janee: error: credentials: the file is not valid JSON');
    const none = await runJanee(
      [
        'add',
        'g',
        '--base-url',
        'https://www.googleapis.com',
        '--auth',
        '{ type: google-service-account, scopes: [x] }',
        '--field-file',
        `credentials=${f}.nope`,
      ],
      { env },
    );
    expect(errorLines(none.stderr).error).toBe('janee: error: credentials: cannot read the file (ENOENT)');
    for (const r of [gh, sa, none]) expect(r.stderr).not.toContain('ghp_notapem');
    expect(await fs.readFile(path.join(env.JANEE_HOME, 'config.yaml'), 'utf8')).not.toMatch(/gh:|g:/);
  });

  it('usage mistakes exit 2 before anything is asked or written', async () => {
    const env = await initHome();
    const run = (args: string[], input?: string) =>
      runJanee(['add', 'x', '--base-url', 'https://x.example', ...args], { env, ...(input ? { input } : {}) });
    const cases: [string[], RegExp][] = [
      [['--auth', 'aws-sigv4'], /--auth aws-sigv4 needs its settings as a block/],
      [['--auth', '{ type: aws-sigv4, region: us-east-1 }'], /--auth:1: auth: auth type aws-sigv4 needs service/],
      [['--auth', 'hmac-okx', '--key', 'k'], /--key gives one value, and auth type hmac needs apiKey, apiSecret, passphrase/],
      [['--auth', 'bearer', '--field-file', 'token=/x'], /--field-file is not used by --auth bearer/],
      [
        ['--auth', 'hmac-bybit', '--field-file', 'nope=/x', '--key-stdin'],
        /--field-file wants NAME=PATH with NAME one of: apiKey, apiSecret/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await run(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(errorLines(r.stderr).error).toMatch(message);
    }
    const tooMany = await run(['--auth', 'hmac-bybit', '--key-stdin'], 'a\nb\nc');
    expect(tooMany.code).toBe(1);
    expect(errorLines(tooMany.stderr).error).toBe('janee: error: stdin has 3 lines; auth type hmac takes 2: apiKey, apiSecret');
    const tooFew = await run(['--auth', 'oauth1a', '--key-stdin'], 'ck\ncs');
    expect(errorLines(tooFew.stderr).error).toBe('janee: error: no value for accessToken (access token)');
    expect(await fs.readFile(path.join(env.JANEE_HOME, 'config.yaml'), 'utf8')).not.toContain('x:');
  });
});

describe('on a terminal', () => {
  it.skipIf(!hasPty())('each field is asked for without echo, by name; an optional one may be left empty', async () => {
    const env = await initHome();
    const secrets = ['okx-key-typed-1a2b', 'okx-secret-typed-3c4d5e', 'okx-pass-typed-6f7g'];
    const r = await runUnderPty(
      [
        'env',
        `JANEE_HOME=${env.JANEE_HOME}`,
        `JANEE_PASSPHRASE=${PASSPHRASE}`,
        process.execPath,
        CLI,
        'add',
        'okx',
        '--base-url',
        'https://www.okx.com',
        '--auth',
        'hmac-okx',
      ],
      [
        { waitFor: 'apiKey for okx (', send: `${secrets[0]}\r` },
        { waitFor: 'apiSecret for okx (API secret (the HMAC key)): ', send: `${secrets[1]}\r` },
        { waitFor: 'passphrase for okx (', send: `${secrets[2]}\r` },
      ],
    );
    expect(r.code, r.output).toBe(0);
    for (const s of secrets) expect(r.output).not.toContain(s);
    expect((await vaultFields(env))['okx']).toEqual({ apiKey: secrets[0], apiSecret: secrets[1], passphrase: secrets[2] });
    const aws = await runUnderPty(
      [
        'env',
        `JANEE_HOME=${env.JANEE_HOME}`,
        `JANEE_PASSPHRASE=${PASSPHRASE}`,
        process.execPath,
        CLI,
        'add',
        's3',
        '--base-url',
        'https://b.s3.amazonaws.com',
        '--auth',
        '{ type: aws-sigv4, region: us-east-1, service: s3 }',
      ],
      [
        { waitFor: 'accessKeyId for s3 (', send: 'AKIATYPED\r' },
        { waitFor: 'secretAccessKey for s3 (', send: 'typed-secret-access-key\r' },
        { waitFor: 'sessionToken for s3 (', send: '\r' },
      ],
    );
    expect(aws.code, aws.output).toBe(0);
    expect((await vaultFields(env))['s3']).toEqual({ accessKeyId: 'AKIATYPED', secretAccessKey: 'typed-secret-access-key' });
  });
});

describe('a file field is redacted however it comes back', () => {
  it('the PEM, re-wrapped, one line of it, its body in one piece, a JSON key and its private_key', () => {
    const json = JSON.stringify({
      type: 'service_account',
      private_key: PEM,
      client_email: 'bot@proj.iam.gserviceaccount.com',
      token_uri: 'https://oauth2.googleapis.com/token',
    });
    const r = new Redactor([
      {
        service: 'gh',
        variants: secretVariants(
          { type: 'github-app', appId: '1', installationId: '2' },
          { privateKey: Buffer.from(PEM).toString('base64') },
        ),
      },
      {
        service: 'g',
        variants: secretVariants({ type: 'google-service-account', scopes: ['s'] }, { credentials: Buffer.from(json).toString('base64') }),
      },
    ]);
    const rewrapped = (PEM_BODY.match(/.{1,76}/g) as string[]).join('\r\n');
    for (const echo of [
      PEM,
      rewrapped,
      PEM.split('\n')[5] as string,
      PEM_BODY,
      json,
      JSON.stringify(json),
      `{"echo":${JSON.stringify(PEM)}}`,
    ]) {
      const out = r.redact(echo);
      expect(out).toContain('[REDACTED:');
      // No run of 16 characters of the key body survives.
      for (let i = 0; i + 16 <= PEM_BODY.length; i += 16) expect(out.replace(/\s|\\r|\\n/g, '')).not.toContain(PEM_BODY.slice(i, i + 16));
    }
  });
});
