/**
 * The agent must be found by every MCP client, and be the real one.
 *
 * - serve started exactly as the MCP SDK starts it (its default environment:
 *   HOME, LOGNAME, PATH, SHELL, TERM, USER, plus the client config's `env`) finds
 *   the agent a terminal with XDG_RUNTIME_DIR and TMPDIR unlocked;
 * - every "locked" answer names the vault and the socket; no vault: nothing created;
 * - a same-uid relay that moves the real socket aside and listens at its path
 *   gets neither the file key (in any encoding) nor the passphrase from
 *   `janee unlock`, and nothing secret from `janee add` / `janee rekey`.
 * Real processes, real sockets, the official SDK client over stdio.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION as PV, type HelloResult } from '../../src/agent/protocol.js';
import { unlockVaultFile } from '../../src/vault/store.js';
import { cleanupTempHomes, runJanee, scratchDir, withEnv } from '../helpers/cli.js';
import { closeAllServes, findForms, secretForms, startServe, textOf } from '../helpers/mcp.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import {
  addService,
  agentHome,
  alive,
  killAllAgents,
  noPass,
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
  await closeAllServes();
  killAllAgents();
  await up.close();
  await cleanupTempHomes();
});

/** What an MCP client config passes: its own `env` only; the SDK adds its default environment. */
function clientConfigEnv(env: AgentEnv): Record<string, string> {
  return { JANEE_HOME: env.JANEE_HOME };
}

/** The environment serve really gets from the SDK, checked from inside serve's own process. */
async function serveEnviron(pid: number): Promise<Record<string, string>> {
  const raw = await fsp.readFile(`/proc/${pid}/environ`, 'utf8');
  return Object.fromEntries(
    raw
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
}

describe('found: serve under the MCP SDK default environment', () => {
  it('finds an agent unlocked from a terminal with XDG_RUNTIME_DIR and TMPDIR set (systemd desktop, macOS)', async () => {
    const env = await agentHome();
    expect((await addService(env, 'svc', up.url, 'sk_found_by_sdk_env_0123')).code).toBe(0);
    const terminal = withEnv(env, { XDG_RUNTIME_DIR: path.join(scratchDir(env), 'run'), TMPDIR: path.join(scratchDir(env), 'run') });
    const u = await unlock(terminal);
    expect(u.code, u.stderr).toBe(0);
    // Exactly what a client passes: no XDG_RUNTIME_DIR, no TMPDIR, no JANEE_AGENT_SOCK.
    const s = await startServe({ env: clientConfigEnv(env) });
    const pid = (s.transport as unknown as { pid: number | null }).pid;
    if (pid) {
      const seen = await serveEnviron(pid);
      expect(Object.keys(seen).sort()).toEqual(Object.keys({ ...getDefaultEnvironment(), ...clientConfigEnv(env) }).sort());
      expect(seen.XDG_RUNTIME_DIR).toBeUndefined();
      expect(seen.TMPDIR).toBeUndefined();
    }
    const r = await s.execute({ service: 'svc', method: 'GET', path: '/echo' });
    expect(r.isError, textOf(r)).toBeFalsy();
    await s.close();
    await runJanee(['lock'], { env: terminal });
  });

  it('TMPDIR alone (macOS): unlock and an SDK-started serve agree', async () => {
    const env = await agentHome();
    expect((await addService(env, 'svc', up.url, 'sk_found_by_sdk_env_4567')).code).toBe(0);
    const terminal = withEnv(env, { XDG_RUNTIME_DIR: undefined, TMPDIR: path.join(scratchDir(env), 'run') });
    expect((await unlock(terminal)).code).toBe(0);
    const s = await startServe({ env: clientConfigEnv(env) });
    const r = await s.execute({ service: 'svc', method: 'GET', path: '/echo' });
    expect(r.isError, textOf(r)).toBeFalsy();
    await s.close();
    await runJanee(['lock'], { env: terminal });
  });

  it('"locked" names the vault and the socket it looked for', async () => {
    const env = await agentHome();
    expect((await addService(env, 'svc', up.url, 'sk_locked_names_0123')).code).toBe(0);
    const s = await startServe({ env: clientConfigEnv(env) });
    const r = await s.execute({ service: 'svc', method: 'GET', path: '/echo' });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toContain('vault is locked');
    expect(textOf(r)).toContain(vaultOf(env));
    expect(textOf(r)).toContain(socketOf(env));
    expect(textOf(r)).toMatch(/janee unlock/);
    expect(s.stderr()).toContain(socketOf(env));
    await s.close();
  });

  it('no vault at JANEE_HOME: says so with the path and the fix, and creates nothing there', async () => {
    const env = await agentHome();
    const missing = path.join(scratchDir(env), 'no-such-home');
    const s = await startServe({ env: { JANEE_HOME: missing } });
    for (const r of [await s.call('list_services'), await s.execute({ service: 'svc', method: 'GET', path: '/echo' })]) {
      expect(r.isError).toBe(true);
      expect(textOf(r)).toContain(`there is no vault at ${path.join(missing, 'vault.janee')}`);
      expect(textOf(r)).toMatch(/janee init/);
      expect(textOf(r)).not.toMatch(/vault is locked/);
    }
    await s.close();
    expect(fs.existsSync(missing)).toBe(false);
    // An existing home without a vault: no audit directory appears either.
    const bare = path.join(scratchDir(env), 'bare-home');
    await fsp.mkdir(bare, { mode: 0o700 });
    const s2 = await startServe({ env: { JANEE_HOME: bare } });
    expect(textOf(await s2.execute({ service: 'svc', method: 'GET', path: '/echo' }))).toContain('there is no vault at');
    await s2.close();
    expect(await fsp.readdir(bare)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------
// Impostors

interface Relay {
  /** Every byte any client sent it. */
  received(): Buffer;
  /** Ops it was asked for. */
  ops(): string[];
  close(): Promise<void>;
}

/**
 * A same-uid impostor: moves the real socket aside (if any) and listens at its
 * path, answering as a janee agent (the real agent's hello, copied). `onLock`:
 * 'stay' keeps listening (it will not be stopped), 'go' closes and removes itself.
 */
async function startRelay(sock: string, pose: HelloResult, opts: { state: 'locked' | 'unlocked'; onLock: 'stay' | 'go' }): Promise<Relay> {
  if (fs.existsSync(sock)) await fsp.rename(sock, `${sock}.aside`);
  const chunks: Buffer[] = [];
  const ops: string[] = [];
  const server = net.createServer((c) => {
    let buf = '';
    c.on('error', () => undefined);
    c.on('data', (d: Buffer) => {
      chunks.push(Buffer.from(d));
      buf += d.toString('utf8');
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let req: { id?: unknown; op?: string };
        try {
          req = JSON.parse(line) as typeof req;
        } catch {
          continue;
        }
        ops.push(String(req.op));
        const ok = (result: unknown) => c.write(`${JSON.stringify({ v: PV, id: req.id, ok: true, result })}\n`);
        if (req.op === 'hello') ok({ ...pose, state: opts.state });
        else if (req.op === 'status') ok({ ...pose, state: opts.state, lockedReason: null, connections: 1 });
        else if (req.op === 'prove')
          ok({ mac: randomBytes(32).toString('base64'), pid: pose.pid }); // cannot know the key
        else if (req.op === 'lock') {
          ok({ pid: pose.pid });
          if (opts.onLock === 'go') {
            server.close();
            fs.rmSync(sock, { force: true });
            c.end();
          }
        } else ok({ state: 'unlocked', already: false, pid: pose.pid, idleTtlMs: 60_000, maxTtlMs: 60_000, generation: 99 });
      }
    });
  });
  await new Promise<void>((r) => server.listen(sock, r));
  fs.chmodSync(sock, 0o600);
  return {
    received: () => Buffer.concat(chunks),
    ops: () => ops,
    close: () => new Promise<void>((r) => server.close(() => r())).catch(() => undefined).finally(() => fs.rmSync(sock, { force: true })),
  };
}

/** Every encoding of the file key a relay might see. */
async function fileKeyForms(env: AgentEnv): Promise<string[]> {
  const v = await unlockVaultFile(vaultOf(env), Buffer.from(env.JANEE_PASSPHRASE));
  const key = Buffer.from(v.fileKey);
  v.fileKey.fill(0);
  const b64 = key.toString('base64');
  return [
    b64,
    b64.replace(/=+$/, ''),
    key.toString('base64url'),
    key.toString('hex'),
    key.toString('hex').toUpperCase(),
    key.toString('latin1'),
  ];
}

async function realHello(env: AgentEnv): Promise<HelloResult> {
  const st = await status(env);
  return {
    agent: 'janee',
    version: '0.0.0',
    protocol: PV,
    pid: st.pid as number,
    vault: st.vault,
    config: path.join(env.JANEE_HOME, 'config.yaml'),
    state: 'unlocked',
  };
}

describe('real: an impostor at the socket path gets nothing', () => {
  it('moving the real socket aside stops the real agent (it wipes its key)', async () => {
    const env = await agentHome();
    expect((await unlock(env)).code).toBe(0);
    const pose = await realHello(env);
    const relay = await startRelay(socketOf(env), pose, { state: 'unlocked', onLock: 'stay' });
    try {
      await waitFor(() => !alive(pose.pid), 10_000, 'the displaced agent to stop');
      const log = await fsp.readFile(socketOf(env).replace(/\.sock$/, '.log'), 'utf8');
      expect(log).toMatch(/moved or replaced/);
    } finally {
      await relay.close();
      await fsp.rm(`${socketOf(env)}.aside`, { force: true });
    }
  });

  it('after `janee lock`: a relay posing as a locked agent that will not stop gets neither the key nor the passphrase; unlock fails clearly', async () => {
    const env = await agentHome();
    expect((await unlock(env)).code).toBe(0);
    const pose = await realHello(env);
    // The relay takes the path while the agent runs; `janee lock` then talks to the relay.
    const relay = await startRelay(socketOf(env), pose, { state: 'locked', onLock: 'stay' });
    try {
      await runJanee(['lock'], { env: noPass(env) });
      const u = await unlock(env);
      const got = relay.received();
      expect(findForms(got, await fileKeyForms(env))).toEqual([]);
      expect(findForms(got, secretForms(env.JANEE_PASSPHRASE))).toEqual([]);
      expect(relay.ops().filter((op) => !['hello', 'lock', 'status'].includes(op))).toEqual([]);
      expect(u.code).toBe(1);
      expect(u.stderr).toMatch(/does not stop when asked/);
    } finally {
      await relay.close();
      await fsp.rm(`${socketOf(env)}.aside`, { force: true });
    }
  });

  it('a relay that gives way when asked is replaced: unlock succeeds with a new agent, the relay got nothing', async () => {
    const env = await agentHome();
    expect((await unlock(env)).code).toBe(0);
    const pose = await realHello(env);
    const relay = await startRelay(socketOf(env), pose, { state: 'locked', onLock: 'go' });
    try {
      const u = await unlock(env);
      const got = relay.received();
      expect(findForms(got, await fileKeyForms(env))).toEqual([]);
      expect(findForms(got, secretForms(env.JANEE_PASSPHRASE))).toEqual([]);
      expect(u.code, u.stderr).toBe(0);
      const st = await status(env);
      expect(st.state).toBe('unlocked');
      expect(st.pid).not.toBe(pose.pid);
    } finally {
      await relay.close().catch(() => undefined);
      await runJanee(['lock'], { env: noPass(env) });
    }
  });

  it('a relay claiming to be unlocked fails the proof: unlock replaces it and sends it nothing', async () => {
    const env = await agentHome();
    expect((await unlock(env)).code).toBe(0);
    const pose = await realHello(env);
    const relay = await startRelay(socketOf(env), pose, { state: 'unlocked', onLock: 'go' });
    try {
      const u = await unlock(env);
      expect(u.code, u.stderr).toBe(0);
      expect(u.stderr).toMatch(/did not prove it holds this vault's key/);
      expect(relay.ops()).toContain('prove');
      const got = relay.received();
      expect(findForms(got, await fileKeyForms(env))).toEqual([]);
      expect(findForms(got, secretForms(env.JANEE_PASSPHRASE))).toEqual([]);
      expect((await status(env)).state).toBe('unlocked');
    } finally {
      await relay.close().catch(() => undefined);
      await runJanee(['lock'], { env: noPass(env) });
    }
  });

  it('add and rekey send nothing secret to a fake unlocked agent', async () => {
    const env = await agentHome();
    expect((await unlock(env)).code).toBe(0);
    const pose = await realHello(env);
    const relay = await startRelay(socketOf(env), pose, { state: 'unlocked', onLock: 'stay' });
    try {
      await waitFor(() => !alive(pose.pid), 10_000, 'the displaced agent to stop');
      const secret = 'sk_never_to_the_relay_0123456789';
      const a = await addService(noPass(env), 'svc', up.url, secret);
      expect(findForms(relay.received(), secretForms(secret))).toEqual([]);
      expect(a.code).toBe(1);
      expect(a.stderr).toMatch(/not sending anything secret to the agent/);
      const before = await fsp.readFile(vaultOf(env));
      const k = await runJanee(['rekey'], { env });
      expect(k.code, k.stderr).toBe(0);
      expect(k.stderr).toMatch(/did not prove it holds this vault's key/);
      expect(Buffer.compare(before, await fsp.readFile(vaultOf(env)))).not.toBe(0);
      const got = relay.received();
      expect(findForms(got, secretForms(secret))).toEqual([]);
      expect(findForms(got, secretForms(env.JANEE_PASSPHRASE))).toEqual([]);
      expect(findForms(got, await fileKeyForms(env))).toEqual([]); // the new key
      expect(relay.ops().filter((op) => op === 'vault_put' || op === 'rekey' || op === 'unlock')).toEqual([]);
    } finally {
      await relay.close();
      await fsp.rm(`${socketOf(env)}.aside`, { force: true });
    }
  });

  it('rekey through the real agent: the new key travels sealed, and the agent stays unlocked', async () => {
    const env = await agentHome();
    expect((await addService(env, 'svc', up.url, 'sk_rekey_sealed_0123456')).code).toBe(0);
    expect((await unlock(env)).code).toBe(0);
    const { pid } = await status(env);
    const k = await runJanee(['rekey'], { env });
    expect(k.code, k.stderr).toBe(0);
    expect(k.stderr).toMatch(/unlocked with the new key/);
    const st = await status(env);
    expect(st).toMatchObject({ state: 'unlocked', pid });
    await runJanee(['lock'], { env });
  });
});
