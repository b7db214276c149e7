/**
 * Secrets never reach a file or an output. Secrets go in through --key-stdin,
 * --key (where argv itself holds the secret: expected, and warned about) and basic
 * auth; then every command and a set of error cases run. Afterwards every file under
 * JANEE_HOME (recursively, .bak and dot files included) and every captured stdout and
 * stderr is searched for each secret in every encoding a bug could plausibly write.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CAN_LIMIT_FILE_SIZE,
  FAST,
  cleanupTempHomes,
  listFiles,
  runJanee,
  scratchDir,
  tempHome,
  withEnv,
  type RunOptions,
  type RunResult,
} from '../helpers/cli.js';

afterAll(cleanupTempHomes);

const hex = () => randomBytes(16).toString('hex');
// sk_test_ on purpose: a pre-stop hook flags live-looking keys.
const BEARER = `sk_test_${hex()}`; // --key-stdin
const ARGV = `sk_test_${hex()}`; // --key
const BASIC_USER = `leakuser${hex().slice(0, 6)}`;
const BASIC_PASS = `sk_test_${hex()}`; // --key-stdin, basic auth
const ODD = `sk_test_${hex()}/+="\\&? %`; // characters that URL and JSON encodings change
const PASS1 = `pass-${hex()}`;
const PASS2 = `pass-${hex()}`;

/** Every substring a base64 encoder emits for `bytes` embedded at any offset of a larger buffer. */
function base64Forms(bytes: Buffer): string[] {
  const out: string[] = [];
  for (let k = 0; k < 3; k++) {
    const whole = bytes.subarray(k, k + 3 * Math.floor((bytes.length - k) / 3));
    out.push(whole.toString('base64'), whole.toString('base64url'));
  }
  return out;
}

function encodings(secret: string): Map<string, string> {
  const bytes = Buffer.from(secret, 'utf8');
  const m = new Map<string, string>([
    ['raw', secret],
    ['hex', bytes.toString('hex')],
    ['HEX', bytes.toString('hex').toUpperCase()],
    ['url-encoded', encodeURIComponent(secret)],
    ['form-encoded', new URLSearchParams({ k: secret }).toString().slice(2)],
    ['json-escaped', JSON.stringify(secret).slice(1, -1)],
  ]);
  base64Forms(bytes).forEach((b, i) => m.set(`base64 #${i}`, b));
  return m;
}

const needles = new Map<string, string>();
for (const [name, secret] of Object.entries({ BEARER, ARGV, BASIC_PASS, ODD })) {
  for (const [enc, v] of encodings(secret)) needles.set(`${name} ${enc}`, v);
}
needles.set('basic base64(user:pass)', Buffer.from(`${BASIC_USER}:${BASIC_PASS}`).toString('base64'));
needles.set('basic header', `Basic ${Buffer.from(`${BASIC_USER}:${BASIC_PASS}`).toString('base64')}`);
needles.set('passphrase 1', PASS1);
needles.set('passphrase 2', PASS2);

function findNeedles(haystack: Buffer | string): string[] {
  const text = Buffer.isBuffer(haystack) ? haystack.toString('latin1') : Buffer.from(haystack, 'utf8').toString('latin1');
  const found: string[] = [];
  for (const [name, v] of needles) if (text.includes(Buffer.from(v, 'utf8').toString('latin1'))) found.push(name);
  return found;
}

describe('no secret in any file or output', () => {
  it('through add, list, status, passwd, rekey, remove and error cases', { timeout: 120_000 }, async () => {
    const home = await tempHome();
    const env = withEnv(home, { JANEE_PASSPHRASE: PASS1 });
    const outputs: { what: string; r: RunResult }[] = [];
    const run = async (what: string, args: string[], opts: RunOptions = {}) => {
      const r = await runJanee(args, { env, ...opts });
      expect(r.timedOut, what).toBe(false);
      outputs.push({ what, r });
      return r;
    };
    const okRun = async (what: string, args: string[], opts: RunOptions = {}) => {
      const r = await run(what, args, opts);
      expect(r.code, `${what}: ${r.stderr}`).toBe(0);
      return r;
    };
    const failRun = async (what: string, args: string[], opts: RunOptions = {}) => {
      const r = await run(what, args, opts);
      expect(r.code, `${what} should fail: ${r.stderr}`).not.toBe(0);
      expect(r.stderr, what).toMatch(/janee: error: /);
      return r;
    };

    await okRun('init', ['init', ...FAST]);
    await okRun(
      'add bearer --key-stdin',
      ['add', 'bearer', '--base-url', 'https://bearer.example.com', '--key-stdin', '--policy', 'GET /v1'],
      { input: `${BEARER}\n` },
    );
    const viaArgv = await okRun('add header --key', [
      'add',
      'argv',
      '--base-url',
      'https://argv.example.com',
      '--auth',
      'header',
      '--header',
      'X-Api-Key',
      '--key',
      ARGV,
    ]);
    expect(viaArgv.stderr).toMatch(/--key is visible/);
    await okRun(
      'add basic',
      ['add', 'basic', '--base-url', 'https://basic.example.com', '--auth', 'basic', '--username', BASIC_USER, '--key-stdin'],
      { input: BASIC_PASS },
    );
    await okRun(
      'add query (odd characters)',
      ['add', 'odd', '--base-url', 'https://odd.example.com', '--auth', 'query', '--param', 'key', '--key-stdin'],
      { input: ODD },
    );

    const list = await okRun('list', ['list']);
    expect(list.stdout).toMatch(/^basic .*secret: yes/m);
    const json = await okRun('list --json', ['list', '--json']);
    expect((JSON.parse(json.stdout) as { services: unknown[] }).services).toHaveLength(4);
    await okRun('status', ['status']);
    await okRun('status --json', ['status', '--json']);

    // Error cases, each carrying a secret somewhere in its input (independent: run together).
    // Config files with an inline secret are kept outside JANEE_HOME (plaintext by construction).
    const leaky = async (name: string, text: string) => {
      const file = path.join(scratchDir(home), name);
      await fs.writeFile(file, text);
      return withEnv(env, { JANEE_CONFIG: file });
    };
    const [inline, unknownKey, badYaml] = await Promise.all([
      leaky('inline.yaml', `services:\n  leaky:\n    baseUrl: https://leaky.example.com\n    auth: { type: bearer, key: "${BEARER}" }\n`),
      leaky(
        'unknown-key.yaml',
        `services:\n  leaky:\n    baseUrl: https://leaky.example.com\n    auth: { type: bearer }\n    token: ${BEARER}\n`,
      ),
      leaky('bad.yaml', `services:\n  leaky:\n    baseUrl: https://leaky.example.com\n    auth: { type: bearer, key: "${BEARER} }\n`),
    ]);
    await Promise.all([
      failRun('duplicate add via --key', ['add', 'bearer', '--base-url', 'https://bearer.example.com', '--key', BEARER]),
      failRun('duplicate add via --key-stdin', ['add', 'basic', '--base-url', 'https://basic.example.com', '--key-stdin'], {
        input: BASIC_PASS,
      }),
      failRun('wrong passphrase', ['add', 'wrongpass', '--base-url', 'https://w.example.com', '--key-stdin'], {
        input: BEARER,
        env: withEnv(env, { JANEE_PASSPHRASE: 'wrong' }),
      }),
      failRun('secret with a line break', ['add', 'twolines', '--base-url', 'https://t.example.com', '--key-stdin'], {
        input: `${BEARER}\n${ODD}\n`,
      }),
      failRun('secret as a stray positional', ['add', 'stray', '--base-url', 'https://s.example.com', ARGV]),
      failRun('secret in an option value clipanion rejects', ['add', 'stray', '--base-url', 'https://s.example.com', `--nope=${ARGV}`]),
      failRun('secret in the userinfo of an invalid URL', [
        'add',
        'u',
        '--base-url',
        `https://user:${ARGV}@bad host.example.com`,
        '--key',
        'x',
      ]),
      failRun('secret in the query of an invalid URL', [
        'add',
        'u',
        '--base-url',
        `https://bad host.example.com/?key=${ARGV}`,
        '--key',
        'x',
      ]),
      failRun('secret in the userinfo of a valid URL', ['add', 'u', '--base-url', `https://user:${ARGV}@host.example.com`, '--key', 'x']),
      CAN_LIMIT_FILE_SIZE &&
        failRun('vault write fails (EFBIG)', ['add', 'efbig', '--base-url', 'https://e.example.com', '--key-stdin'], {
          input: `${BEARER}${'0'.repeat(4000)}`,
          fileSizeLimitBlocks: 2,
        }),
      failRun('inline secret in config.yaml', ['list'], { env: inline }),
      failRun('secret under an unknown key in config.yaml', ['list'], { env: unknownKey }),
      failRun('secret in invalid YAML', ['list'], { env: badYaml }),
    ]);

    await okRun('passwd', ['passwd'], { env: withEnv(env, { JANEE_NEW_PASSPHRASE: PASS2 }) });
    const env2 = withEnv(env, { JANEE_PASSPHRASE: PASS2 });
    await okRun('rekey', ['rekey'], { env: env2 });
    await okRun('remove', ['remove', 'argv'], { env: env2 });
    const after = await okRun('list --json after', ['list', '--json'], { env: env2 });
    expect((JSON.parse(after.stdout) as { services: { name: string; secret: boolean }[] }).services.map((s) => [s.name, s.secret])).toEqual(
      [
        ['bearer', true],
        ['basic', true],
        ['odd', true],
      ],
    );

    // The search itself.
    const hits: string[] = [];
    const files = await listFiles(home.JANEE_HOME);
    expect(files).toContain('vault.janee.bak');
    for (const f of files) {
      for (const n of findNeedles(await fs.readFile(path.join(home.JANEE_HOME, f)))) hits.push(`${f}: ${n}`);
    }
    for (const { what, r } of outputs) {
      for (const n of findNeedles(r.stdout)) hits.push(`stdout of ${what}: ${n}`);
      for (const n of findNeedles(r.stderr)) hits.push(`stderr of ${what}: ${n}`);
    }
    expect(hits).toEqual([]);
  });

  it('the search finds what it looks for (self-check)', () => {
    expect(findNeedles(`x${BEARER}y`)).toContain('BEARER raw');
    expect(findNeedles(Buffer.from(`{"t":${JSON.stringify(ODD)}}`))).toContain('ODD json-escaped');
    expect(findNeedles(`?key=${encodeURIComponent(ODD)}`)).toContain('ODD url-encoded');
    for (const pad of ['', 'a', 'ab']) {
      expect(findNeedles(Buffer.from(`${pad}${ARGV}tail`).toString('base64')).some((n) => n.startsWith('ARGV base64'))).toBe(true);
      expect(findNeedles(Buffer.from(`${pad}${ARGV}tail`).toString('base64url')).some((n) => n.startsWith('ARGV base64'))).toBe(true);
    }
    expect(findNeedles(`Authorization: Basic ${Buffer.from(`${BASIC_USER}:${BASIC_PASS}`).toString('base64')}`)).toContain('basic header');
    expect(findNeedles(Buffer.from(BEARER).toString('hex').toUpperCase())).toContain('BEARER HEX');
  });
});
