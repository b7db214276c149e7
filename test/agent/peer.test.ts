/**
 * The Linux peer check (agent/peer.ts) against real impostor processes that take
 * over the agent socket path and claim their own pid (red team finding 3): a
 * python program, node running other code before janee's script (--require), and
 * node running janee's exact command line with NODE_OPTIONS=--require. `janee add`
 * through the agent must refuse each (AGENT_NOT_VERIFIED) and send it no byte of
 * the secret; the genuine agent started by `janee unlock` is accepted.
 * Not covered, because the check cannot stop it (peer.ts says why): a node script
 * that rewrites its own cmdline through /proc/self/mem passes.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION as PV } from '../../src/agent/protocol.js';
import { checkAgentPeer, cmdlineProblem, environProblem } from '../../src/agent/peer.js';
import { CLI, cleanupTempHomes, runJanee, scratchDir } from '../helpers/cli.js';
import { findForms, secretForms } from '../helpers/mcp.js';
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

const FIX = path.join(path.dirname(new URL(import.meta.url).pathname), 'fixtures');
const linux = process.platform === 'linux';
const python = spawnSync('python3', ['-c', 'pass']).status === 0;
let up: Upstream;
const started: ChildProcess[] = [];

beforeAll(async () => {
  up = await startUpstream();
});

afterAll(async () => {
  for (const c of started) if (c.exitCode === null) c.kill('SIGKILL');
  killAllAgents();
  await up.close();
  await cleanupTempHomes();
});

/**
 * A same-uid impostor loaded into node before janee's own script (`node --require
 * it <janee> agent …`, or through NODE_OPTIONS): janee's main then does nothing
 * (the embedded flag) and this code answers at the socket as an unlocked agent with
 * the process's own pid. IMP_HELLO: the real agent's hello; IMP_OUT: every byte
 * received. (CommonJS for --require, so written out here rather than kept as a
 * fixture file the linter would parse as TypeScript.)
 */
const PRELOAD = String.raw`'use strict';
const fs = require('node:fs');
const net = require('node:net');
globalThis[Symbol.for('janee.cli.embedded')] = true;
const sock = process.argv[process.argv.indexOf('--socket') + 1];
const out = process.env.IMP_OUT;
const hello = { ...JSON.parse(process.env.IMP_HELLO), pid: process.pid, state: 'unlocked' };
fs.rmSync(sock, { force: true });
const server = net.createServer((c) => {
  let buf = '';
  c.on('error', () => undefined);
  c.on('data', (d) => {
    fs.appendFileSync(out, d);
    buf += d.toString('utf8');
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const req = JSON.parse(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      const result = ['hello', 'status', 'reload'].includes(req.op) ? hello : { generation: 99 };
      c.write(JSON.stringify({ v: hello.protocol, id: req.id, ok: true, result }) + '\n');
    }
  });
});
const old = process.umask(0o177);
server.listen(sock, () => {
  process.umask(old);
  process.stdout.write('listening\n');
});
`;

/** The preload impostor, written into this home's scratch dir. */
async function preloadFile(env: AgentEnv): Promise<string> {
  const file = path.join(scratchDir(env), 'impostor-preload.cjs');
  await fsp.writeFile(file, PRELOAD);
  return file;
}

interface Impostor {
  pid: number;
  received(): Promise<Buffer>;
}

/** Starts `cmd args` with the real agent's hello; resolves once it listens at the socket (the real agent then stops). */
async function startImpostor(env: AgentEnv, cmd: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Impostor> {
  const st = await status(env);
  const realPid = st.pid as number;
  const hello = {
    agent: 'janee',
    version: '0.0.0',
    protocol: PV,
    pid: realPid,
    vault: st.vault,
    config: path.join(env.JANEE_HOME, 'config.yaml'),
    state: 'unlocked',
  };
  const out = path.join(scratchDir(env), 'impostor.received');
  const child = spawn(cmd, args, {
    env: { ...noPass(env), ...extraEnv, IMP_HELLO: JSON.stringify(hello), IMP_OUT: out },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let said = '';
  child.stdout?.on('data', (d: Buffer) => (said += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (said += d.toString()));
  await waitFor(() => said.includes('listening') || child.exitCode !== null, 10_000, 'the impostor to listen');
  expect(said).toContain('listening');
  await waitFor(() => !alive(realPid), 10_000, 'the displaced agent to stop');
  return { pid: child.pid as number, received: () => fsp.readFile(out).catch(() => Buffer.alloc(0)) };
}

/** `janee add` through whatever listens at the socket; the impostor must get no form of the secret. */
async function addThrough(env: AgentEnv, imp: Impostor, secret: string): Promise<string> {
  const a = await addService(noPass(env), 'newsvc', up.url, secret);
  const got = await imp.received();
  expect(got.length).toBeGreaterThan(0); // it was asked (hello), so it really was the one listening
  expect(findForms(got, secretForms(secret))).toEqual([]);
  expect(got.toString('utf8')).not.toMatch(/vault_put/);
  expect(a.code).toBe(1);
  expect(a.stderr).toMatch(/janee: error: not sending anything secret to the agent at /);
  expect(a.stderr).not.toContain(secret);
  expect(await peerCheck(env, imp.pid)).toMatchObject({ code: 'AGENT_NOT_VERIFIED' });
  return a.stderr;
}

/** The check itself, in this process, as the CLI runs it (its script is process.argv[1]). */
async function peerCheck(env: AgentEnv, pid: number): Promise<unknown> {
  const argv = process.argv;
  process.argv = [process.execPath, CLI];
  try {
    return await checkAgentPeer(socketOf(env), pid);
  } catch (e) {
    return e;
  } finally {
    process.argv = argv;
  }
}

function agentArgs(env: AgentEnv): string[] {
  return [CLI, 'agent', '--vault', fs.realpathSync(vaultOf(env)), '--socket', socketOf(env), '--ready-fd', '3'];
}

describe.runIf(linux)('real: janee add refuses an impostor that holds the socket under its own pid', () => {
  it.runIf(python)('a python program whose argv says `agent --socket <path>`', async () => {
    const env = await agentHome();
    expect((await unlock(env)).code).toBe(0);
    const imp = await startImpostor(env, 'python3', [
      path.join(FIX, 'impostor.py'),
      'agent',
      '--vault',
      vaultOf(env),
      '--socket',
      socketOf(env),
      '--ready-fd',
      '3',
    ]);
    const err = await addThrough(env, imp, 'sk_live_never_to_python_0123456789');
    expect(err).toContain(`pid ${imp.pid}`);
    expect(err).toMatch(/does not run this node/);
  });

  it('node with --require of another file before the janee script', async () => {
    const env = await agentHome();
    expect((await unlock(env)).code).toBe(0);
    const imp = await startImpostor(env, process.execPath, ['--require', await preloadFile(env), ...agentArgs(env)]);
    const err = await addThrough(env, imp, 'sk_live_never_to_preload_0123456789');
    expect(err).toMatch(/node options before the script \(--require\)/);
  });

  it("node with janee's exact agent command line but NODE_OPTIONS=--require", async () => {
    const env = await agentHome();
    expect((await unlock(env)).code).toBe(0);
    const imp = await startImpostor(env, process.execPath, agentArgs(env), { NODE_OPTIONS: `--require ${await preloadFile(env)}` });
    const err = await addThrough(env, imp, 'sk_live_never_to_node_options_0123');
    expect(err).toMatch(/its NODE_OPTIONS has --require/);
  });
});

describe.runIf(linux)('real: the genuine agent is accepted', () => {
  it('janee add through the agent `janee unlock` started, even when unlock ran with NODE_OPTIONS=--require and LD_PRELOAD set', async () => {
    const env = await agentHome();
    const harmless = path.join(scratchDir(env), 'harmless.cjs');
    await fsp.writeFile(harmless, '// nothing\n');
    // launch.ts keeps these out of the agent's environment, so the check accepts it.
    const u = await unlock({ ...env, NODE_OPTIONS: `--require ${harmless}`, LD_PRELOAD: '' });
    expect(u.code, u.stderr).toBe(0);
    const { pid } = await status(env);
    const environ = await fsp.readFile(`/proc/${pid}/environ`, 'utf8');
    expect(environ).not.toMatch(/(^|\0)(NODE_OPTIONS|LD_PRELOAD)=/);
    const a = await addService(noPass(env), 'svc', up.url, 'sk_live_to_the_real_agent_01234567');
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout + a.stderr).toMatch(/through the agent/);
    expect((await status(env)).agent?.secrets).toBe(1);
    expect(await peerCheck(env, pid as number)).toBe('checked');
    await runJanee(['lock'], { env: noPass(env) });
  });
});

describe('peer check: the shapes it accepts and refuses', () => {
  const S = '/run/user/1000/janee/agent.sock';
  const same = (p: string) => p === '/opt/janee/dist/cli/main.js';
  const good = ['/usr/bin/node', '/opt/janee/dist/cli/main.js', 'agent', '--vault', '/h/vault.janee', '--socket', S, '--ready-fd', '3'];

  it('accepts exactly what launch.ts spawns', () => {
    expect(cmdlineProblem(good, S, same)).toBeUndefined();
  });

  it('refuses node options, another script, other or extra arguments, another socket', () => {
    expect(cmdlineProblem(['/usr/bin/node', '--inspect', ...good.slice(1)], S, same)).toMatch(
      /node options before the script \(--inspect\)/,
    );
    expect(cmdlineProblem(['/usr/bin/node', '-e', 'x', ...good.slice(1)], S, same)).toMatch(/node options/);
    expect(cmdlineProblem(['/usr/bin/node', '/tmp/evil.js', ...good.slice(2)], S, same)).toMatch(/another script/);
    expect(cmdlineProblem(['/usr/bin/node', 'dist/cli/main.js', ...good.slice(2)], S, () => true)).toMatch(/another script/); // relative
    expect(cmdlineProblem([...good, '--extra'], S, same)).toMatch(/arguments/);
    expect(
      cmdlineProblem(
        good.map((a) => (a === S ? `${S}.x` : a)),
        S,
        same,
      ),
    ).toMatch(/arguments/);
    expect(
      cmdlineProblem(
        good.map((a) => (a === '3' ? '4' : a)),
        S,
        same,
      ),
    ).toMatch(/arguments/);
    expect(cmdlineProblem(good.slice(0, 1), S, same)).toMatch(/node options before the script \(none\)/);
  });

  it('refuses environments that load other code; harmless NODE_OPTIONS pass', () => {
    expect(environProblem(['PATH=/bin', 'NODE_OPTIONS=--max-old-space-size=4096 --enable-source-maps'])).toBeUndefined();
    expect(environProblem(['NODE_OPTIONS=--redirect-warnings=/tmp/w'])).toBeUndefined();
    for (const o of [
      '--require x',
      '-r x',
      '--import=x',
      '--loader x',
      '--experimental-loader=x',
      '--inspect',
      '--inspect-brk=0',
      '--inspect-port=1',
      '"--require" x',
      '--openssl-config=/x',
    ]) {
      expect(environProblem([`NODE_OPTIONS=--no-warnings ${o}`]), o).toMatch(/its NODE_OPTIONS has/);
    }
    expect(environProblem(['LD_PRELOAD=/tmp/x.so'])).toBe('its environment sets LD_PRELOAD');
    expect(environProblem(['LD_AUDIT=/tmp/x.so'])).toBe('its environment sets LD_AUDIT');
  });
});
