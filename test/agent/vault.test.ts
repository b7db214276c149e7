/**
 * Vault changes while the agent holds the vault: add/remove/list through the
 * agent with no passphrase, passwd keeps it unlocked, rekey unlocks it again, a
 * rekey it was not told about locks it until unlock hands it the key, and a vault
 * file replaced by an older copy (rollback).
 */
import { PROTOCOL_VERSION as PV } from '../../src/agent/protocol.js';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempHomes, cloneHome, errorLines, runJanee, withEnv } from '../helpers/cli.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import {
  addService,
  agentHome,
  alive,
  killAllAgents,
  noPass,
  rawClient,
  socketOf,
  status,
  unlock,
  vaultOf,
  waitFor,
  type AgentEnv,
} from './helpers.js';

let up: Upstream;
beforeAll(async () => {
  up = await startUpstream();
});
afterAll(async () => {
  killAllAgents();
  await up?.close();
  await cleanupTempHomes();
});

/** One execute through the agent socket (what serve does), returning ok + status or the error code. */
async function call(env: AgentEnv, service: string): Promise<{ ok: boolean; status?: number; code?: string; message?: string }> {
  const c = await rawClient(socketOf(env));
  try {
    c.send({ v: PV, id: 1, op: 'execute', req: { service, method: 'GET', path: '/echo' }, caller: { agent: 't', agentSource: 'flag' } });
    const m = (await c.next(10_000)) as { ok: boolean; result?: { status: number }; error?: { code: string; message: string } };
    return m.ok
      ? { ok: true, status: m.result?.status as number }
      : { ok: false, code: m.error?.code as string, message: m.error?.message as string };
  } finally {
    c.socket.destroy();
  }
}

async function listJson(
  env: NodeJS.ProcessEnv,
): Promise<{ services: { name: string; secret: boolean | null; origins: string[] }[]; vault: string }> {
  const r = await runJanee(['list', '--json'], { env });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { services: { name: string; secret: boolean | null; origins: string[] }[]; vault: string };
}

/** Polls `get` until `done` holds (or 5 s pass) and returns the last value. */
async function settled<T>(get: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  const until = Date.now() + 5_000;
  for (;;) {
    const v = await get();
    if (done(v) || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.concurrent('vault changes while unlocked', { timeout: 120_000 }, () => {
  it('add, list and remove go through the agent with no passphrase anywhere', async () => {
    const env = await agentHome();
    expect((await unlock(env)).code).toBe(0);
    const bare = noPass(env);
    const a = await addService(bare, 'svc', up.url, 'sk_through_agent_0123456789');
    expect(a.code, a.stderr).toBe(0);
    expect(a.stderr).toMatch(/added svc .*through the agent/);
    expect(await call(env, 'svc')).toEqual({ ok: true, status: 200 });
    expect(up.requests.some((q) => q.headers.authorization === 'Bearer sk_through_agent_0123456789')).toBe(true);

    const l = await listJson(bare);
    expect(l.vault).toBe('read');
    expect(l.services).toEqual([expect.objectContaining({ name: 'svc', secret: true, origins: [up.url] })]);

    // a name already in the vault (not in config.yaml): the agent refuses, config.yaml is put back
    const c = await rawClient(socketOf(env));
    c.send({ v: PV, id: 1, op: 'vault_put', name: 'dup', entry: { fields: { token: 'sk_dup_1' }, origins: [up.url] } });
    expect(await c.next()).toMatchObject({ ok: true });
    c.socket.destroy();
    const configBefore = await fsp.readFile(path.join(env.JANEE_HOME, 'config.yaml'), 'utf8');
    const dup = await addService(bare, 'dup', up.url, 'sk_other');
    expect(dup.code).toBe(1);
    expect(errorLines(dup.stderr).error).toMatch(/already holds a secret named "dup"/);
    expect(await fsp.readFile(path.join(env.JANEE_HOME, 'config.yaml'), 'utf8')).toBe(configBefore);
    expect((await runJanee(['remove', 'dup'], { env: bare })).code).toBe(0);

    const rm = await runJanee(['remove', 'svc'], { env: bare });
    expect(rm.code, rm.stderr).toBe(0);
    expect(await call(env, 'svc')).toMatchObject({ ok: false, code: 'GATE_UNKNOWN_SERVICE' });
    const rm2 = await runJanee(['remove', 'svc'], { env: bare });
    expect(rm2.code).toBe(1);
    // the agent wrote the file as any writer does: the passphrase opens it afterwards
    const byPass = await listJson(withEnv(env, { XDG_RUNTIME_DIR: path.join(path.dirname(env.JANEE_HOME), 'elsewhere') }));
    expect(byPass.vault).toBe('read');
    expect(byPass.services).toEqual([]);
    await runJanee(['lock'], { env });
  });

  it('passwd keeps the agent unlocked (same file key)', async () => {
    const env = await agentHome();
    expect((await addService(env, 'svc', up.url, 'sk_passwd_0123456789')).code).toBe(0);
    expect((await unlock(env)).code).toBe(0);
    const { pid } = await status(env);
    const p = await runJanee(['passwd'], { env: withEnv(env, { JANEE_NEW_PASSPHRASE: 'a brand new passphrase' }) });
    expect(p.code, p.stderr).toBe(0);
    expect(p.stderr).toMatch(new RegExp(`the agent \\(pid ${pid}\\) stays unlocked`));
    const s = await status(env);
    expect(s.state).toBe('unlocked');
    expect(s.pid).toBe(pid);
    expect(await call(env, 'svc')).toEqual({ ok: true, status: 200 });
    expect((await addService(noPass(env), 'svc2', up.url, 'sk_after_passwd_1')).code).toBe(0);
    // the new passphrase opens the same key: unlock says "already unlocked"
    const again = await unlock(withEnv(env, { JANEE_PASSPHRASE: 'a brand new passphrase' }));
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/already unlocked/);
    // the old one no longer does
    expect((await unlock(env)).code).toBe(1);
    await runJanee(['lock'], { env });
  });

  it('rekey hands the new key to the agent: still unlocked, same process', async () => {
    const env = await agentHome();
    expect((await addService(env, 'svc', up.url, 'sk_rekey_0123456789')).code).toBe(0);
    expect((await unlock(env)).code).toBe(0);
    const { pid } = await status(env);
    const r = await runJanee(['rekey'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`the agent \\(pid ${pid}\\) is unlocked with the new key`));
    const s = await status(env);
    expect(s.state).toBe('unlocked');
    expect(s.pid).toBe(pid);
    expect(await call(env, 'svc')).toEqual({ ok: true, status: 200 });
    expect((await addService(noPass(env), 'svc2', up.url, 'sk_after_rekey_1')).code).toBe(0);
    expect(await call(env, 'svc2')).toEqual({ ok: true, status: 200 });
    await runJanee(['lock'], { env });
  });

  it('a rekey the agent was not told about locks it; unlock replaces that locked agent (it is never handed the key)', async () => {
    const env = await agentHome();
    expect((await addService(env, 'svc', up.url, 'sk_rekeyed_elsewhere_01')).code).toBe(0);
    expect((await unlock(env)).code).toBe(0);
    const { pid } = await status(env);
    // "Another machine" rekeys a copy; the file arrives here (git pull).
    const other = await cloneHome(env);
    expect((await runJanee(['rekey'], { env: other })).code).toBe(0);
    await fsp.copyFile(vaultOf(other), vaultOf(env));
    const r = await settled(
      () => call(env, 'svc'),
      (c) => !c.ok,
    );
    expect(r).toMatchObject({ ok: false, code: 'GATE_LOCKED' });
    expect(r.message).toMatch(/rekeyed or replaced/);
    const s = await status(env);
    expect(s.state).toBe('locked');
    expect(s.pid).toBe(pid);
    expect(s.agent?.lockedReason).toMatch(/rekeyed/);
    const u = await unlock(env);
    expect(u.code, u.stderr).toBe(0);
    expect(u.stderr).toMatch(/replacing the locked agent/);
    const after = await status(env);
    expect(after.state).toBe('unlocked');
    expect(after.pid).not.toBe(pid);
    await waitFor(() => !alive(pid as number), 10_000, 'the replaced agent to exit');
    expect(await call(env, 'svc')).toEqual({ ok: true, status: 200 });
    await runJanee(['lock'], { env });
  });

  it('the vault replaced by an older copy: the agent keeps its newer copy, status warns, writes are refused until resolved', async () => {
    const env = await agentHome();
    expect((await addService(env, 'svc', up.url, 'sk_rollback_0123456789')).code).toBe(0);
    const older = await fsp.readFile(vaultOf(env));
    expect((await unlock(env)).code).toBe(0);
    const bare = noPass(env);
    expect((await addService(bare, 'newer', up.url, 'sk_newer_0123456789')).code).toBe(0);
    const newer = await fsp.readFile(vaultOf(env));

    await fsp.writeFile(vaultOf(env), older); // an old backup, or a bad merge, lands on disk
    // still serves the newer copy, including the entry the old file lacks
    expect(await call(env, 'newer')).toEqual({ ok: true, status: 200 });
    const st = await settled(
      () => runJanee(['status', '--json'], { env: bare }),
      (r) => (JSON.parse(r.stdout) as { rollback: unknown }).rollback !== null,
    );
    const s = JSON.parse(st.stdout) as { state: string; rollback: { onDisk: number; inMemory: number } | null };
    expect(s.state).toBe('unlocked');
    expect(s.rollback).toEqual({ onDisk: 1, inMemory: 2 });
    expect(st.stderr).toMatch(/older than the agent's copy/);

    const configBefore = await fsp.readFile(path.join(env.JANEE_HOME, 'config.yaml'), 'utf8');
    const add = await addService(bare, 'third', up.url, 'sk_third_0123456789');
    expect(add.code).toBe(1);
    const { error, hint } = errorLines(add.stderr);
    expect(error).toMatch(/generation 1\) is older than the agent's unlocked copy \(generation 2\); not writing to it/);
    expect(hint).toMatch(/restore the newer file|janee lock && janee unlock/);
    expect(await fsp.readFile(vaultOf(env))).toEqual(older); // not overwritten
    expect(await fsp.readFile(path.join(env.JANEE_HOME, 'config.yaml'), 'utf8')).toBe(configBefore);
    const rm = await runJanee(['remove', 'svc'], { env: bare });
    expect(rm.code).toBe(1);

    // Resolved by restoring the newer file: writes work again.
    await fsp.writeFile(vaultOf(env), newer);
    // The agent re-reads a changed file within its check interval (250 ms): poll, don't race it.
    expect(
      (
        await settled(
          () => status(env),
          (st) => st.rollback === null,
        )
      ).rollback,
    ).toBeNull();
    expect((await addService(bare, 'third', up.url, 'sk_third_0123456789')).code).toBe(0);

    // Or by accepting the older file: lock, put it back, accept it with the passphrase, unlock.
    await fsp.writeFile(vaultOf(env), older);
    expect((await runJanee(['lock'], { env: bare })).code).toBe(0);
    const refused = await unlock(env); // a fresh unlock refuses the older copy (generation remembered outside JANEE_HOME)
    expect(refused.code).toBe(1);
    expect(errorLines(refused.stderr).error).toMatch(/is generation 1, but generation 3 was seen here on .*: an older copy was put back/);
    expect((await status(env)).state).toBe('locked');
    expect((await runJanee(['vault', 'accept-older'], { env: bare })).code).toBe(1); // needs the passphrase
    expect((await runJanee(['vault', 'accept-older'], { env })).code).toBe(0);
    expect((await unlock(env)).code).toBe(0);
    expect((await status(env)).rollback).toBeNull();
    expect(await call(env, 'newer')).toMatchObject({ ok: false, code: 'GATE_NO_SECRET' });
    await runJanee(['lock'], { env });
  });
});
