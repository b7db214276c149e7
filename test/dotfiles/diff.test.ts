/** `janee vault diff-text` (git textconv) and the config.yaml merge of `janee vault merge`. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { diffTextFor } from '../../src/vault/diff.js';
import { fingerprint, generateFileKey, sealVault, wrapFileKey } from '../../src/vault/format.js';
import { encodePayload } from '../../src/vault/payload.js';
import { cleanupTempHomes, initHome, runJanee, scratchDir, withEnv } from '../helpers/cli.js';

const te = new TextEncoder();
const PASS = te.encode('diff test passphrase');
const T = '2026-01-01T00:00:00.000Z';

afterAll(cleanupTempHomes);

async function vaultBytes(entries: Record<string, { fields: Record<string, string>; origins: string[] }>) {
  const key = generateFileKey();
  const header = await wrapFileKey(PASS, key, 10);
  const full = Object.fromEntries(Object.entries(entries).map(([n, e]) => [n, { ...e, created: T, updated: T }]));
  return { key, bytes: sealVault(header, key, encodePayload({ version: 1, generation: 4, entries: full })) };
}

describe('diffTextFor', () => {
  it('shows sorted names, origins, times and keyed fingerprints; never a value', async () => {
    const { key, bytes } = await vaultBytes({
      zeta: { fields: { username: 'bob', password: 'hunter2-very-secret' }, origins: ['https://z.example', 'https://a.example'] },
      alpha: { fields: { token: 'sk_test_abcdef123456' }, origins: ['https://api.alpha.example'] },
    });
    const text = await diffTextFor(bytes, async () => Uint8Array.from(PASS));
    const lines = text.split('\n');
    expect(lines[2]).toMatch(/^passphrase wrap: [0-9a-f]{16}$/);
    expect([...lines.slice(0, 2), ...lines.slice(3)]).toEqual([
      'janee vault v1',
      'scrypt work factor: 2^10',
      'generation: 4',
      'entries: 2',
      '',
      '[alpha]',
      '  origins: https://api.alpha.example',
      `  created: ${T}`,
      `  updated: ${T}`,
      `  token: fingerprint ${fingerprint(key, 'alpha', 'token', 'sk_test_abcdef123456')}`,
      '',
      '[zeta]',
      '  origins: https://a.example https://z.example',
      `  created: ${T}`,
      `  updated: ${T}`,
      `  password: fingerprint ${fingerprint(key, 'zeta', 'password', 'hunter2-very-secret')}`,
      `  username: fingerprint ${fingerprint(key, 'zeta', 'username', 'bob')}`,
      '',
    ]);
    for (const v of ['sk_test_abcdef123456', 'hunter2-very-secret', 'bob']) expect(text).not.toContain(v);
    // Stable: the same file gives the same text.
    expect(await diffTextFor(bytes, async () => Uint8Array.from(PASS))).toBe(text);
  });

  it('without a passphrase, or with a wrong one, shows the header and says why', async () => {
    const { bytes } = await vaultBytes({ alpha: { fields: { token: 'sk_test_abcdef123456' }, origins: ['https://api.alpha.example'] } });
    const locked = await diffTextFor(bytes, async () => undefined);
    expect(locked).toMatch(
      /^janee vault v1\nscrypt work factor: 2\^10\npassphrase wrap: [0-9a-f]{16}\ncontents locked: set JANEE_PASSPHRASE_FILE .* or run janee unlock to see entry names\npayload: \d+ bytes, sha256 [0-9a-f]{16} \(changes on every save\)\n$/,
    );
    expect(locked).not.toContain('alpha');
    expect(await diffTextFor(bytes, async () => te.encode('wrong'))).toContain('contents locked: wrong passphrase');
  });

  it('anything that is not a vault is described, never an error', async () => {
    expect(await diffTextFor(te.encode('<<<<<<< HEAD\nfoo\n'), async () => undefined)).toBe(
      'not a janee vault (17 bytes), shown as it is:\n<<<<<<< HEAD\nfoo\n',
    );
    expect(await diffTextFor(te.encode('janee-vault/v1\n-> scrypt'), async () => undefined)).toBe(
      'not a readable janee vault: vault header is truncated (24 bytes), shown as it is:\njanee-vault/v1\n-> scrypt',
    );
    expect(await diffTextFor(new Uint8Array(0), async () => undefined)).toBe('(empty file)\n');
  });

  it('the CLI exits 0 whatever it is given (git must not fail)', async () => {
    const env = await initHome();
    const dir = scratchDir(env);
    await fs.writeFile(path.join(dir, 'garbage'), 'not a vault');
    for (const [file, e] of [
      [path.join(env.JANEE_HOME, 'vault.janee'), env],
      [
        path.join(env.JANEE_HOME, 'vault.janee'),
        withEnv(env, { JANEE_PASSPHRASE: undefined, JANEE_PASSPHRASE_FILE: path.join(dir, 'missing') }),
      ],
      [path.join(dir, 'garbage'), env],
      [path.join(dir, 'does-not-exist'), env],
    ] as const) {
      const r = await runJanee(['vault', 'diff-text', file], { env: e, cwd: dir });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.length).toBeGreaterThan(0);
    }
  });
});

/** Runs the merge driver on three config texts as git would; returns %A afterwards, or the failure. */
async function mergeConfigText(
  _file: string,
  base: string,
  ours: string,
  theirs: string,
): Promise<{ text: string; code: number | null; stderr: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'janee-cfgmerge-'));
  try {
    const [o, a, b] = ['o', 'a', 'b'].map((n) => path.join(dir, `.merge_file_${n}`)) as [string, string, string];
    await fs.writeFile(o, base);
    await fs.writeFile(a, ours);
    await fs.writeFile(b, theirs);
    const r = await runJanee(['vault', 'merge', o, a, b, 'janee/config.yaml'], {
      cwd: dir,
      env: withEnv(process.env, { JANEE_HOME: path.join(dir, 'nohome') }),
    });
    const text = await fs.readFile(a, 'utf8');
    expect(await fs.readdir(dir)).toEqual(['.merge_file_a', '.merge_file_b', '.merge_file_o']);
    return { text, code: r.code, stderr: r.stderr };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

describe('janee vault merge on config.yaml (service by service)', () => {
  const base = `# my janee config
services:
  # the payment API
  stripe:
    baseUrl: https://api.stripe.com
    auth: { type: bearer }
`;

  it("adds both sides' services, keeping our comments and theirs on what they added", async () => {
    const ours = `${base}  github:
    baseUrl: https://api.github.com
    auth: { type: bearer }
`;
    const theirs = `${base}  # their new one
  openai:
    baseUrl: https://api.openai.com
    auth: { type: header, name: Authorization }
`;
    const r = await mergeConfigText('config.yaml', base, ours, theirs);
    expect(r.code, r.stderr).toBe(0);
    expect(r.text).toBe(`${ours}  # their new one
  openai:
    baseUrl: https://api.openai.com
    auth: { type: header, name: Authorization }
`);
    expect(r.stderr).toContain('janee: config merged in janee/config.yaml: openai (theirs)');
  });

  it('takes their change and their deletion of services we left alone', async () => {
    const theirs = base.replace('auth: { type: bearer }', 'auth: { type: bearer }\n    rateLimit: 10/min');
    expect((await mergeConfigText('config.yaml', base, base, theirs)).text).toContain('rateLimit: 10/min');
    expect((await mergeConfigText('config.yaml', base, base, '# my janee config\nservices: {}\n')).text).not.toContain('stripe');
  });

  it('a service changed differently on both sides is a conflict; an invalid result is refused; ours is left alone', async () => {
    const ours = base.replace('auth: { type: bearer }', 'auth: { type: bearer }\n    rateLimit: 10/min');
    const theirs = base.replace('auth: { type: bearer }', 'auth: { type: bearer }\n    rateLimit: 99/min');
    const c = await mergeConfigText('config.yaml', base, ours, theirs);
    expect(c.code).toBe(1);
    expect(c.stderr).toContain('janee: error: config merge conflict: services.stripe changed on both sides');
    expect(c.text).toBe(ours);
    const inline = base.replace('auth: { type: bearer }', 'auth: { type: bearer, key: sk_live_x }');
    const i = await mergeConfigText('config.yaml', base, base, inline);
    expect(i.code).toBe(1);
    expect(i.stderr).toMatch(/a secret is written in config.yaml/);
    expect(i.text).toBe(base);
  });
});
