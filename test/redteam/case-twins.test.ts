/**
 * Red team (fifth pass): names that differ only in case. `janee add Stripe` beside
 * `stripe`, and `janee agents add CI` beside `ci`, were accepted. Every lookup is exact,
 * so nothing crossed, but the user then has two secrets, two origin bindings, two kill
 * switches and two tokens that `janee list`, `janee logs` and the agent's list_services
 * tell apart by one capital letter: `killswitch on stripe` leaves `Stripe` open, and
 * `agents remove ci` leaves `CI`'s token alive, and `recipients remove bob` leaves `Bob`
 * able to open the vault. All three are now refused. The BUILT CLI, keys from the real
 * age-keygen.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addBearer, cleanupTempHomes, errorLines, initHome, runJanee, type JaneeEnv } from '../helpers/cli.js';

let env: JaneeEnv;

beforeAll(async () => {
  env = await initHome();
  await addBearer(env, 'stripe', 'https://api.stripe.com', 'sk_test_0123456789abcdefghij');
}, 60_000);

afterAll(cleanupTempHomes);

describe('names that differ only in case are refused', { timeout: 60_000 }, () => {
  it('janee add Stripe beside stripe', async () => {
    const config = path.join(env.JANEE_HOME, 'config.yaml');
    const before = await fs.readFile(config, 'utf8');
    const r = await runJanee(['add', 'Stripe', '--base-url', 'https://evil.example.com', '--auth', 'bearer', '--key-stdin'], {
      env,
      input: 'sk_test_other_0123456789\n',
    });
    expect(r.code, r.stderr).toBe(1);
    expect(errorLines(r.stderr).error).toMatch(/service "Stripe" differs from "stripe" in config.yaml only in case/);
    expect(await fs.readFile(config, 'utf8')).toBe(before);
  });

  it('janee recipients add Bob beside bob (age-keygen keys)', async (ctx) => {
    if (spawnSync('age-keygen', ['--help']).status === null) return ctx.skip();
    const key = () => spawnSync('age-keygen', { encoding: 'utf8' }).stdout.match(/^# public key: (age1\S+)$/m)?.[1] as string;
    const first = await runJanee(['recipients', 'add', key(), '--name', 'bob'], { env });
    expect(first.code, first.stderr).toBe(0);
    const r = await runJanee(['recipients', 'add', key(), '--name', 'Bob'], { env });
    expect(r.code, r.stderr).toBe(1);
    expect(errorLines(r.stderr).error).toMatch(/already has a recipient named "bob" \(the same name but for case\)/);
    const list = await runJanee(['recipients', 'list'], { env });
    expect(list.stdout).not.toMatch(/^Bob /m);
  });

  it('janee agents add CI beside ci', async () => {
    const first = await runJanee(['agents', 'add', 'ci'], { env });
    expect(first.code, first.stderr).toBe(0);
    const r = await runJanee(['agents', 'add', 'CI'], { env });
    expect(r.code, r.stderr).toBe(1);
    expect(errorLines(r.stderr).error).toMatch(/already holds an agent token named "ci" \(the same name but for case\)/);
    expect(r.stdout).toBe('');
    const list = await runJanee(['agents', 'list', '--json'], { env });
    expect(list.stdout).not.toContain('"CI"');
  });
});
