/**
 * Red team (fifth pass): `janee import --age` of a file someone else made (a teammate's
 * "here are the team keys", a backup from a shared drive). The file is encrypted with
 * the real `age` CLI to a key from the real `age-keygen`, as such a file would be.
 * - A service the file carries without `policies` was added to config.yaml silently,
 *   and no `policies:` key means any method on any path. `janee add` warns in that
 *   case; import said only "services added to config.yaml: stripe".
 * - A field of megabytes was imported (the file is only capped at 256 MiB), although
 *   `janee add` refuses one over 96 KiB: every serve would then hold it in memory.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempHomes, errorLines, initHome, runJanee, scratchDir, type JaneeEnv } from '../helpers/cli.js';

const HAVE_AGE = spawnSync('age', ['--version']).status === 0 && spawnSync('age-keygen', ['--help']).status !== null;

let env: JaneeEnv;
let dir: string;
let identity: string;
let recipient: string;

beforeAll(async () => {
  env = await initHome();
  dir = scratchDir(env);
  identity = path.join(dir, 'key.txt');
  if (!HAVE_AGE) return;
  expect(spawnSync('age-keygen', ['-o', identity]).status).toBe(0);
  recipient = spawnSync('age-keygen', ['-y', identity], { encoding: 'utf8' }).stdout.trim();
}, 60_000);

afterAll(cleanupTempHomes);

const T = '2026-01-01T00:00:00.000Z';

/** An export file as `janee export --age` writes it, encrypted with the real age to our key. */
async function exportFile(name: string, contents: unknown): Promise<string> {
  const plain = path.join(dir, `${name}.json`);
  const out = path.join(dir, `${name}.age`);
  await fs.writeFile(plain, JSON.stringify(contents));
  const r = spawnSync('age', ['-r', recipient, '-o', out, plain], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  await fs.rm(plain);
  return out;
}

const entry = (token: string, origin: string) => ({ fields: { token }, origins: [origin], created: T, updated: T });

describe.skipIf(!HAVE_AGE)('import --age of a file someone else made', { timeout: 60_000 }, () => {
  it('a service without policies is added with a warning that it allows every request', async () => {
    const file = await exportFile('open', {
      format: 'janee-export/v1',
      entries: { openapi: entry('sk_test_open_0123456789', 'https://api.open.example.com') },
      services: { openapi: { baseUrl: 'https://api.open.example.com', auth: { type: 'bearer' } } },
    });
    const r = await runJanee(['import', '--age', file, '--identity', identity], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: .*openapi has no allow rules: the agent may now call any method on any path/);
  });

  it('a field of 2 MiB is refused and nothing is imported', async () => {
    const vaultBefore = await fs.readFile(path.join(env.JANEE_HOME, 'vault.janee'));
    const file = await exportFile('huge', {
      format: 'janee-export/v1',
      entries: { huge: entry(`sk_test_${'x'.repeat(2 * 1024 * 1024)}`, 'https://api.huge.example.com') },
    });
    const r = await runJanee(['import', '--age', file, '--identity', identity], { env });
    expect(r.code, r.stderr).toBe(1);
    expect(errorLines(r.stderr).error).toMatch(/entry "huge": field "token" is longer than 96 KiB/);
    expect(r.stderr).not.toContain('xxxxxxxx');
    expect(Buffer.compare(await fs.readFile(path.join(env.JANEE_HOME, 'vault.janee')), vaultBefore)).toBe(0);
  });
});
