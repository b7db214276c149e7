/**
 * The agent's life: janee unlock / status / lock through the built CLI, real
 * detached agent processes, real Unix sockets in a temp XDG_RUNTIME_DIR.
 */
import { PROTOCOL_VERSION as PV } from '../../src/agent/protocol.js';
import * as fsp from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupTempHomes, errorLines, runJanee, scratchDir, withEnv } from '../helpers/cli.js';
import {
  agentHome,
  agentPids,
  ownSocketDir,
  alive,
  killAllAgents,
  noPass,
  rawClient,
  socketOf,
  status,
  unlock,
  waitFor,
} from './helpers.js';

const pidOf = (stderr: string): number => Number(/pid (\d+)/.exec(stderr)?.[1]);

afterAll(async () => {
  killAllAgents();
  await cleanupTempHomes();
});

describe.concurrent('janee unlock / status / lock', { timeout: 120_000 }, () => {
  it('unlock starts one agent (0700 dir, 0600 socket); status shows it; lock wipes and stops it', async () => {
    const env = await agentHome();
    const before = await status(env);
    expect(before.state).toBe('locked');
    expect(before.pid).toBeNull();

    const r = await unlock(env, ['--ttl', '2h', '--max-ttl', '3h']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/vault unlocked in the agent \(pid \d+/);

    const s = await status(env);
    expect(s.state).toBe('unlocked');
    expect(s.pid).toEqual(expect.any(Number));
    expect(alive(s.pid as number)).toBe(true);
    expect(s.vault).toBe(path.join(env.JANEE_HOME, 'vault.janee'));
    expect(s.socket).toBe(socketOf(env));
    expect(s.idleSecondsLeft).toBeGreaterThan(7000);
    expect(s.idleSecondsLeft).toBeLessThanOrEqual(7200);
    expect(s.hardSecondsLeft).toBeGreaterThan(10_000);
    expect(s.timeLeftSeconds).toBe(s.idleSecondsLeft);
    expect(s.agent?.idleTtlSeconds).toBe(7200);
    expect(s.agent?.maxTtlSeconds).toBe(10800);

    const sock = socketOf(env);
    expect((await fsp.lstat(sock)).isSocket()).toBe(true);
    expect((await fsp.lstat(sock)).mode & 0o777).toBe(0o600);
    expect((await fsp.lstat(path.dirname(sock))).mode & 0o777).toBe(0o700);
    expect(agentPids(scratchDir(env))).toEqual([s.pid]);

    const human = await runJanee(['status'], { env: noPass(env) });
    // --ttl 2h: just unlocked, so 2h or (a second later) 1h59m left.
    expect(human.stdout).toMatch(new RegExp(`state: +unlocked \\(agent pid ${s.pid}; locks in (2h|1h59m)`));

    const l = await runJanee(['lock'], { env: noPass(env) });
    expect(l.code, l.stderr).toBe(0);
    expect(l.stderr).toMatch(new RegExp(`locked: the agent \\(pid ${s.pid}\\) wiped its key and stopped`));
    expect(alive(s.pid as number)).toBe(false);
    await expect(fsp.lstat(sock)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await status(env)).state).toBe('locked');

    // lock again: nothing to do, still exit 0
    const again = await runJanee(['lock'], { env: noPass(env) });
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/already locked/);
  });

  it('is idempotent: a second unlock keeps the same agent and resets its timers', async () => {
    const env = await agentHome();
    expect((await unlock(env, ['--ttl', '1h'])).code).toBe(0);
    const first = await status(env);
    const r = await unlock(env, ['--ttl', '5h']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`already unlocked \\(agent pid ${first.pid}\\)`));
    const second = await status(env);
    expect(second.pid).toBe(first.pid);
    expect(second.agent?.idleTtlSeconds).toBe(5 * 3600);
    expect(agentPids(scratchDir(env))).toHaveLength(1);
    await runJanee(['lock'], { env });
  });

  it('a wrong passphrase is a clear error and leaves no agent behind', async () => {
    const env = await agentHome();
    const r = await unlock(withEnv(env, { JANEE_PASSPHRASE: 'wrong horse' }));
    expect(r.code).toBe(1);
    const { error, hint } = errorLines(r.stderr);
    expect(error).toMatch(/passphrase/i);
    expect(hint).toBeDefined();
    expect(r.stderr).not.toContain('wrong horse');
    expect(agentPids(scratchDir(env))).toEqual([]);
    await expect(fsp.lstat(socketOf(env))).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await status(env)).state).toBe('locked');
  });

  it('a second unlock with a different passphrase fails and leaves the agent as it was', async () => {
    const env = await agentHome();
    expect((await unlock(env)).code).toBe(0);
    const before = await status(env);
    const r = await unlock(withEnv(env, { JANEE_PASSPHRASE: 'not the passphrase' }), ['--ttl', '1s']);
    expect(r.code).toBe(1);
    expect(errorLines(r.stderr).error).toMatch(/passphrase/i);
    const after = await status(env);
    expect(after.state).toBe('unlocked');
    expect(after.pid).toBe(before.pid);
    expect(after.agent?.idleTtlSeconds).toBe(before.agent?.idleTtlSeconds); // the --ttl 1s was not applied
    await runJanee(['lock'], { env });
  });

  it('locks itself and exits after the idle timeout (--ttl 1s)', async () => {
    const env = await agentHome();
    const r = await unlock(env, ['--ttl', '1s']);
    expect(r.code).toBe(0);
    const pid = pidOf(r.stderr);
    await waitFor(() => !alive(pid), 10_000, 'the agent to exit');
    const log = await fsp.readFile(socketOf(env).replace(/\.sock$/, '.log'), 'utf8');
    expect(log).toMatch(/stopping: idle timeout/);
    await expect(fsp.lstat(socketOf(env))).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await status(env)).state).toBe('locked');
  });

  it('locks itself at the hard limit even while in use (--max-ttl 2s)', async () => {
    const env = await agentHome();
    const started = Date.now();
    const r = await unlock(env, ['--ttl', '4s', '--max-ttl', '4s']);
    expect(r.code).toBe(0);
    const pid = pidOf(r.stderr);
    // Keep it busy (list_services is "use"; status is not) until it stops.
    const c = await rawClient(socketOf(env));
    let id = 0;
    while (!c.isClosed() && Date.now() - started < 12_000) {
      c.send({ v: PV, id: ++id, op: 'list_services' });
      await new Promise((r) => setTimeout(r, 100));
    }
    await waitFor(() => !alive(pid), 5_000, 'the agent to exit');
    expect(Date.now() - started).toBeLessThan(12_000);
    const log = await fsp.readFile(socketOf(env).replace(/\.sock$/, '.log'), 'utf8');
    expect(log).toMatch(/stopping: hard time limit/);
  });

  it('SIGTERM: wipes, removes the socket, exits', async () => {
    const env = await agentHome();
    expect((await unlock(env)).code).toBe(0);
    const { pid } = await status(env);
    process.kill(pid as number, 'SIGTERM');
    await waitFor(() => !alive(pid as number), 10_000, 'the agent to exit');
    await expect(fsp.lstat(socketOf(env))).rejects.toMatchObject({ code: 'ENOENT' });
    const log = await fsp.readFile(socketOf(env).replace(/\.sock$/, '.log'), 'utf8');
    expect(log).toMatch(/stopping: SIGTERM/);
    expect(log).not.toContain(env.JANEE_PASSPHRASE);
  });

  it('a stale socket from a crashed agent is detected and replaced', async () => {
    const env = await agentHome();
    expect((await unlock(env)).code).toBe(0);
    const { pid } = await status(env);
    process.kill(pid as number, 'SIGKILL');
    await waitFor(() => !alive(pid as number), 10_000, 'the agent to die');
    // The socket file stays behind, with nobody listening.
    expect((await fsp.lstat(socketOf(env))).isSocket()).toBe(true);
    const s = await status(env);
    expect(s.state).toBe('locked');
    const r = await unlock(env);
    expect(r.code, r.stderr).toBe(0);
    const s2 = await status(env);
    expect(s2.state).toBe('unlocked');
    expect(s2.pid).not.toBe(pid);
    await runJanee(['lock'], { env });
  });

  it('a stale socket is also cleared by lock (exit 0, nothing running)', async () => {
    const env = ownSocketDir(await agentHome());
    const sock = socketOf(env);
    await fsp.mkdir(path.dirname(sock), { mode: 0o700, recursive: true });
    // A socket file nobody listens on: bind in a child and SIGKILL it.
    const child = spawn(
      process.execPath,
      [
        '-e',
        `require('net').createServer().listen(${JSON.stringify(sock)}, () => { require('fs').chmodSync(${JSON.stringify(sock)}, 0o600); console.log('up') })`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((r) => child.stdout.once('data', () => r()));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect((await fsp.lstat(sock)).isSocket()).toBe(true);
    const l = await runJanee(['lock'], { env });
    expect(l.code).toBe(0);
    expect(l.stderr).toMatch(/already locked/);
    expect((await unlock(env)).code).toBe(0);
    expect((await status(env)).state).toBe('unlocked');
    await runJanee(['lock'], { env });
  });

  it('a hung agent (SIGSTOP) is reported, never replaced by a second one', async () => {
    const env = await agentHome();
    expect((await unlock(env)).code).toBe(0);
    const { pid } = await status(env);
    process.kill(pid as number, 'SIGSTOP');
    try {
      const r = await unlock(env);
      expect(r.code).toBe(1);
      expect(errorLines(r.stderr).error).toMatch(/does not answer/);
      expect((await status(env)).problem?.code).toBe('AGENT_UNRESPONSIVE');
      // An agent this unlock may have started finds the socket taken and exits: wait for that.
      for (let t0 = Date.now(); agentPids(scratchDir(env)).length > 1 && Date.now() - t0 < 10_000;)
        await new Promise((r) => setTimeout(r, 100));
      expect(agentPids(scratchDir(env))).toEqual([pid]);
    } finally {
      process.kill(pid as number, 'SIGCONT');
    }
    expect((await status(env)).state).toBe('unlocked');
    await runJanee(['lock'], { env });
  });

  it('two unlocks at once end with ONE agent', async () => {
    const env = await agentHome();
    const rs = await Promise.all([unlock(env), unlock(env), unlock(env)]);
    for (const r of rs) expect(r.code, r.stderr).toBe(0);
    // A losing agent finds the socket taken and exits: wait for that (a fixed 300 ms was
    // too short on a loaded machine), then exactly one must be left.
    for (let t0 = Date.now(); agentPids(scratchDir(env)).length > 1 && Date.now() - t0 < 10_000;)
      await new Promise((r) => setTimeout(r, 100));
    const pids = agentPids(scratchDir(env));
    expect(pids).toHaveLength(1);
    expect((await status(env)).pid).toBe(pids[0]);
    await runJanee(['lock'], { env });
  });

  it('a socket directory with the wrong permissions is refused, with the fix', async () => {
    const env = ownSocketDir(await agentHome());
    const dir = path.dirname(socketOf(env));
    await fsp.mkdir(dir, { mode: 0o700 });
    await fsp.chmod(dir, 0o755);
    const r = await unlock(env);
    expect(r.code).toBe(1);
    const { error, hint } = errorLines(r.stderr);
    expect(error).toMatch(/refusing the agent socket directory .*0755/);
    expect(hint).toMatch(/chmod 700/);
    expect(agentPids(scratchDir(env))).toEqual([]);
    const s = await status(env);
    expect(s.state).toBe('locked');
    expect(s.problem?.code).toBe('AGENT_UNSAFE_DIR');
    // Fixed: works.
    await fsp.chmod(dir, 0o700);
    expect((await unlock(env)).code).toBe(0);
    // Loosened while an agent runs: clients stop trusting it.
    await fsp.chmod(dir, 0o755);
    expect((await status(env)).problem?.code).toBe('AGENT_UNSAFE_DIR');
    await fsp.chmod(dir, 0o700);
    await runJanee(['lock'], { env });
  });

  it.skipIf(process.getuid?.() !== 0)('a socket directory owned by someone else is refused', async () => {
    const env = ownSocketDir(await agentHome());
    const dir = path.dirname(socketOf(env));
    await fsp.mkdir(dir, { mode: 0o700 });
    await fsp.chown(dir, 65534, 65534);
    const r = await unlock(env);
    expect(r.code).toBe(1);
    expect(errorLines(r.stderr).error).toMatch(/owned by uid 65534/);
    expect(agentPids(scratchDir(env))).toEqual([]);
  });

  it.skipIf(process.getuid?.() !== 0)('a socket owned by someone else is refused by every client', async () => {
    const env = ownSocketDir(await agentHome());
    const sock = socketOf(env);
    await fsp.mkdir(path.dirname(sock), { mode: 0o700, recursive: true });
    const srv = net.createServer((s) => s.end('{"v":2,"id":1,"ok":true,"result":{}}\n'));
    await new Promise<void>((r) => srv.listen(sock, r));
    await fsp.chmod(sock, 0o600);
    await fsp.lchown(sock, 65534, 65534);
    try {
      const r = await unlock(env);
      expect(r.code).toBe(1);
      expect(errorLines(r.stderr).error).toMatch(/refusing the agent socket .*owned by uid 65534/);
      expect((await status(env)).problem?.code).toBe('AGENT_UNSAFE_SOCKET');
      expect(agentPids(scratchDir(env))).toEqual([]);
    } finally {
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });

  it("JANEE_AGENT_SOCK: used as given; a shared directory is refused; another vault's agent is not used", async () => {
    const env = await agentHome();
    const priv = path.join(scratchDir(env), 'private');
    const sock = path.join(priv, 'agent.sock');
    const e = withEnv(env, { JANEE_AGENT_SOCK: sock });
    expect((await unlock(e)).code).toBe(0);
    const s = await status(e);
    expect(s.state).toBe('unlocked');
    expect(s.socket).toBe(sock);
    expect((await fsp.lstat(priv)).mode & 0o777).toBe(0o700);
    // Another vault pointed at the same socket: refused, not mixed up.
    const other = await agentHome();
    const r = await unlock(withEnv(other, { JANEE_AGENT_SOCK: sock }));
    expect(r.code).toBe(1);
    expect(errorLines(r.stderr).error).toMatch(/holds .*vault\.janee, not /);
    expect((await status(withEnv(other, { JANEE_AGENT_SOCK: sock }))).problem?.code).toBe('AGENT_OTHER_VAULT');
    await runJanee(['lock'], { env: e });
    // A socket straight in /tmp (mode 1777): refused, and the hint does not say chmod /tmp.
    const bad = await unlock(withEnv(env, { JANEE_AGENT_SOCK: path.join('/tmp', `janee-test-${process.pid}.sock`) }));
    expect(bad.code).toBe(1);
    expect(errorLines(bad.stderr).error).toMatch(/refusing the agent socket directory \/tmp: its permissions are 1777/);
    expect(errorLines(bad.stderr).hint).toMatch(/mkdir -m 700/);
    expect(agentPids(scratchDir(env))).toEqual([]);
  });

  it('--ttl / --max-ttl are validated (usage errors, exit 2)', async () => {
    const env = await agentHome();
    for (const args of [
      ['--ttl', 'abc'],
      ['--ttl', '0s'],
      ['--max-ttl', '99d'],
      ['--ttl', '2h', '--max-ttl', '1h'],
    ]) {
      const r = await unlock(env, args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(errorLines(r.stderr).error).toBeDefined();
    }
    expect(agentPids(scratchDir(env))).toEqual([]);
  });

  it('unlock without a vault fails before starting anything', async () => {
    const env = await agentHome();
    await fsp.rm(path.join(env.JANEE_HOME, 'vault.janee'));
    const r = await unlock(env);
    expect(r.code).toBe(1);
    expect(errorLines(r.stderr).error).toMatch(/no vault/);
    expect(agentPids(scratchDir(env))).toEqual([]);
  });

  it('no passphrase source and no terminal: a clear error, no agent', async () => {
    const env = await agentHome();
    const r = await unlock(noPass(env));
    expect(r.code).toBe(1);
    expect(errorLines(r.stderr).error).toMatch(/no passphrase/);
    expect(agentPids(scratchDir(env))).toEqual([]);
  });

  it('--passphrase-stdin works', async () => {
    const env = await agentHome();
    const r = await runJanee(['unlock', '--passphrase-stdin'], { env: noPass(env), input: `${env.JANEE_PASSPHRASE}\n` });
    expect(r.code, r.stderr).toBe(0);
    expect((await status(env)).state).toBe('unlocked');
    await runJanee(['lock'], { env });
  });

  it('the agent gets no passphrase in its environment or argv', async () => {
    const env = await agentHome();
    expect((await unlock(env)).code).toBe(0);
    const { pid } = await status(env);
    const environ = await fsp.readFile(`/proc/${pid}/environ`, 'utf8');
    const cmdline = await fsp.readFile(`/proc/${pid}/cmdline`, 'utf8');
    expect(environ).not.toContain('JANEE_PASSPHRASE');
    expect(environ).not.toContain(env.JANEE_PASSPHRASE);
    expect(cmdline).not.toContain(env.JANEE_PASSPHRASE);
    await runJanee(['lock'], { env });
  });
});
