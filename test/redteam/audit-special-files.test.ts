/**
 * Red team (fourth pass): the audit directory holding something that is not a file.
 * SECURITY.md treats whoever can write JANEE_HOME as someone verify must catch; such a
 * person can also replace a day file, `head` or `checkpoints` with a FIFO (the open then
 * blocks for ever) or a symlink to /dev/zero (the read never ends). `janee logs` and
 * `janee logs verify` then hung instead of failing, so a cron job or CI step that runs
 * verify to detect tampering never reported it. Each must now fail at once, exit 1.
 * The BUILT CLI in real processes; the audit lines come from a real `janee test` call
 * against a loopback upstream.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempHomes, cloneHome, errorLines, initHome, runJanee, type JaneeEnv } from '../helpers/cli.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

let up: Upstream;
let base: JaneeEnv;

beforeAll(async () => {
  up = await startUpstream();
  base = await initHome();
  const r = await runJanee(['add', 'svc', '--base-url', up.url, '--auth', 'bearer', '--key-stdin', '--test-path', '/me'], {
    env: base,
    input: 'sk_test_0123456789abcdefghij\n',
  });
  expect(r.code, r.stderr).toBe(0);
  for (let i = 0; i < 2; i++) await runJanee(['test', 'svc'], { env: base });
  expect((await runJanee(['logs', 'verify'], { env: base, spawn: true })).code).toBe(0);
}, 60_000);

afterAll(async () => {
  await up?.close();
  await cleanupTempHomes();
});

/** A copy of the home whose audit file `name` ('day': the day file) is replaced by `kind`. */
async function homeWith(name: string, kind: 'fifo' | 'zero'): Promise<JaneeEnv> {
  const env = await cloneHome(base);
  const dir = path.join(env.JANEE_HOME, 'audit');
  const file = name === 'day' ? (await fs.readdir(dir)).find((n) => n.endsWith('.jsonl'))! : name;
  await fs.rm(path.join(dir, file));
  if (kind === 'fifo') execFileSync('mkfifo', [path.join(dir, file)]);
  else await fs.symlink('/dev/zero', path.join(dir, file));
  return env;
}

describe('an audit file replaced by a FIFO or /dev/zero fails at once', { timeout: 60_000 }, () => {
  const cases: [string, 'fifo' | 'zero', string[]][] = [
    ['day', 'fifo', ['logs']],
    ['day', 'fifo', ['logs', 'verify']],
    ['day', 'zero', ['logs', 'verify']],
    ['day', 'zero', ['logs', '-n', '5']],
    ['head', 'fifo', ['logs', 'verify']],
    ['head', 'zero', ['logs', 'verify']],
    ['checkpoints', 'zero', ['logs', 'verify']],
  ];
  for (const [name, kind, args] of cases) {
    it(`${name} as ${kind === 'fifo' ? 'a FIFO' : '/dev/zero'}: janee ${args.join(' ')}`, async () => {
      const env = await homeWith(name, kind);
      const r = await runJanee(args, { env, spawn: true, timeoutMs: 15_000 });
      expect(r.timedOut, 'hung').toBe(false);
      expect(r.code, r.stderr).toBe(1);
      expect(errorLines(r.stderr).error).toBeDefined();
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    });
  }
});
