/**
 * End to end through the built CLI: the agent (`janee unlock`) and an in-process
 * serve sign checkpoints with the key derived from the vault, at shutdown too
 * (`janee lock`, serve's stdin closing), so `janee logs verify` — with no
 * passphrase — says the whole log is signed; a locked serve's entries are
 * reported as not signed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempHomes, runJanee, withEnv } from '../helpers/cli.js';
import { closeAllServes, startServe } from '../helpers/mcp.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { tempDirSync } from './helpers.js';
import { addService, agentHome, killAllAgents, noPass, unlock } from '../agent/helpers.js';

let up: Upstream;
const STATE = tempDirSync();

beforeAll(async () => {
  up = await startUpstream();
});

afterAll(async () => {
  await closeAllServes();
  killAllAgents();
  await up?.close();
  await cleanupTempHomes();
});

interface VerifyJson {
  ok: boolean;
  entries: number;
  last: number | null;
  signed: { seq: number } | null;
  unsigned: number;
  problems: unknown[];
}

async function verifyJson(env: NodeJS.ProcessEnv): Promise<VerifyJson> {
  const r = await runJanee(['logs', 'verify', '--json'], { env: noPass(env) });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as VerifyJson;
}

describe('audit signing end to end', { timeout: 120_000 }, () => {
  it('agent and in-process serve sign with the vault-derived key, at lock and exit too; a locked serve writes unsigned entries', async () => {
    const env = withEnv(await agentHome(), { XDG_STATE_HOME: STATE });
    expect((await addService(env, 'svc', up.url, 'sk_test_signing_0123456789')).code).toBe(0);

    // Through the agent: 3 calls, then `janee lock` (the agent signs before it wipes the key).
    expect((await unlock(env)).code).toBe(0);
    const s1 = await startServe({ env: noPass(env) });
    for (let i = 0; i < 3; i++) expect((await s1.execute({ service: 'svc', method: 'GET', path: `/echo/${i}` })).isError).toBeFalsy();
    await s1.close();
    expect((await runJanee(['lock'], { env: noPass(env) })).code).toBe(0);
    let v = await verifyJson(env);
    expect(v).toMatchObject({ ok: true, entries: 3, unsigned: 0, signed: { seq: 3 } });

    // In-process serve (passphrase in its env): signs at exit (stdin closed), with the same key.
    const s2 = await startServe({ env });
    for (let i = 0; i < 2; i++) expect((await s2.execute({ service: 'svc', method: 'GET', path: '/echo' })).isError).toBeFalsy();
    await s2.close();
    v = await verifyJson(env);
    expect(v).toMatchObject({ ok: true, entries: 5, unsigned: 0, signed: { seq: 5 } });

    // A locked serve (no agent, no passphrase) has no key: its entry is chained but not signed.
    const s3 = await startServe({ env: noPass(env) });
    expect((await s3.execute({ service: 'svc', method: 'GET', path: '/echo' })).isError).toBe(true);
    await s3.close();
    v = await verifyJson(env);
    expect(v).toMatchObject({ ok: true, entries: 6, unsigned: 1, signed: { seq: 5 } });
    const human = await runJanee(['logs', 'verify'], { env: noPass(env) });
    expect(human.stderr).toMatch(/signed up to seq 5/);
    expect(human.stderr).toMatch(/1 entry after it is not signed/);
  });
});
