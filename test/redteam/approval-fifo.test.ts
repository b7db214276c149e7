/**
 * Red team (fourth pass): a FIFO among the approval records (the state dir's
 * `approvals/<id>/`, where every agent's pending call is written). The records were read
 * with a blocking open: `janee approvals` hung, so the human could not see or answer any
 * waiting call. It must fail (or list) at once. The BUILT CLI in a real process.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanupTempHomes, initHome, runJanee, scratchDir, withEnv, type JaneeEnv } from '../helpers/cli.js';

let env: JaneeEnv;

beforeAll(async () => {
  const base = await initHome();
  // HOME in the scratch dir: the approvals live under $HOME/.local/state/janee.
  env = withEnv(base, { HOME: scratchDir(base), XDG_STATE_HOME: undefined });
}, 60_000);

afterAll(cleanupTempHomes);

it('a FIFO named like a pending record does not hang janee approvals', { timeout: 60_000 }, async () => {
  const vault = path.resolve(env.JANEE_HOME, 'vault.janee');
  const id = createHash('sha256').update(vault).digest('hex').slice(0, 16);
  const dir = path.join(env.HOME as string, '.local', 'state', 'janee', 'approvals', id);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  execFileSync('mkfifo', [path.join(dir, 'abcde12345.pending')]);
  const r = await runJanee(['approvals'], { env, spawn: true, timeoutMs: 15_000 });
  expect(r.timedOut, 'janee approvals hung').toBe(false);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  // Listed like any record that does not decode: ignored, with a warning.
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toMatch(/ignored pending record abcde12345: malformed/);
});
