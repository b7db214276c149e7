/**
 * Red team (fourth pass): inputs that never end. README: "with none available a command
 * fails at once, it never hangs". A passphrase file, identity file or stdin that is
 * `/dev/zero` (a wrong path in a CI variable, a mistyped redirect) was read until memory
 * ran out; a vault file of hundreds of MB ended in "internal error: Cannot create a string
 * longer than …" ("this is a bug"). Each must fail at once with one `janee: error:` line.
 * The BUILT CLI in a real process, stdin from the real /dev/zero where stdin is the input.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import { openSync, closeSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addBearer, CLI, cleanupTempHomes, errorLines, initHome, PASSPHRASE, scratchDir, withEnv, type JaneeEnv } from '../helpers/cli.js';

let env: JaneeEnv;

beforeAll(async () => {
  env = await initHome();
  await addBearer(env, 'svc', 'https://api.example.com', 'sk_test_0123456789abcdefghij');
}, 60_000);

afterAll(cleanupTempHomes);

/** The built CLI with stdin from `stdinFile` (default /dev/null); killed after 20 s. */
function run(
  args: string[],
  runEnv: NodeJS.ProcessEnv,
  stdinFile = '/dev/null',
): Promise<{ code: number | null; stderr: string; ms: number }> {
  const fd = openSync(stdinFile, 'r');
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: runEnv, stdio: [fd, 'ignore', 'pipe'] });
    closeSync(fd);
    const err: Buffer[] = [];
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr: Buffer.concat(err).toString('utf8'), ms: Date.now() - started });
    });
  });
}

function expectCleanFailure(r: { code: number | null; stderr: string }, code: number, message: RegExp): void {
  expect(r.code, r.stderr).toBe(code);
  expect(errorLines(r.stderr).error).toMatch(message);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
}

describe('inputs that never end fail at once', { timeout: 60_000 }, () => {
  it('JANEE_PASSPHRASE_FILE=/dev/zero', async () => {
    const r = await run(['list'], withEnv(env, { JANEE_PASSPHRASE: undefined, JANEE_PASSPHRASE_FILE: '/dev/zero' }));
    expectCleanFailure(r, 1, /JANEE_PASSPHRASE_FILE \/dev\/zero holds more than \d+ bytes/);
  });

  it('--passphrase-stdin with stdin /dev/zero', async () => {
    const r = await run(['agents', 'list', '--passphrase-stdin'], withEnv(env, { JANEE_PASSPHRASE: undefined }), '/dev/zero');
    expectCleanFailure(r, 2, /a line on stdin is longer than \d+ bytes/);
  });

  it('--key-stdin with stdin /dev/zero', async () => {
    const r = await run(['add', 'zero', '--base-url', 'https://z.example.com', '--auth', 'bearer', '--key-stdin'], env, '/dev/zero');
    expectCleanFailure(r, 1, /stdin holds more than \d+ bytes/);
    expect(await fs.readFile(path.join(env.JANEE_HOME, 'config.yaml'), 'utf8')).not.toMatch(/zero/);
  });

  it('--identity /dev/zero', async () => {
    const r = await run(['unlock', '--identity', '/dev/zero'], env);
    expectCleanFailure(r, 1, /the identity file \/dev\/zero holds more than \d+ bytes/);
  });

  it('import --age /dev/zero', async () => {
    const r = await run(['import', '--age', '/dev/zero'], withEnv(env, { JANEE_AGE_PASSPHRASE: 'x' }));
    expectCleanFailure(r, 1, /\/dev\/zero is larger than \d+ bytes/);
  });

  it('JANEE_VAULT=/dev/zero', async () => {
    const r = await run(['list'], withEnv(env, { JANEE_VAULT: '/dev/zero' }));
    expectCleanFailure(r, 1, /cannot read \/dev\/zero \(ENOTFILE\)/);
  });

  it('a vault file of 600 MB (sparse) is refused before it is read', async () => {
    const home = path.join(scratchDir(env), 'big');
    await fs.mkdir(home, { mode: 0o700 });
    await fs.copyFile(path.join(env.JANEE_HOME, 'config.yaml'), path.join(home, 'config.yaml'));
    await fs.copyFile(path.join(env.JANEE_HOME, 'vault.janee'), path.join(home, 'vault.janee'));
    await fs.truncate(path.join(home, 'vault.janee'), 600 * 1024 * 1024);
    const r = await run(['list'], withEnv(env, { JANEE_HOME: home, JANEE_PASSPHRASE: PASSPHRASE }));
    expectCleanFailure(r, 1, /vault\.janee holds more than \d+ bytes: not a janee vault/);
    await fs.rm(home, { recursive: true });
  });
});
