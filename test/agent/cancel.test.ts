/**
 * A call the MCP client cancels (the SDK client's AbortSignal sends
 * notifications/cancelled) stops where it is: the request upstream is aborted (the
 * upstream sees its connection closed), a running exec program is killed with its
 * process group, and the call is audited as cancelled (GATE_CANCELLED). The same
 * through the agent (op `cancel`) as with serve unlocked in-process. Nothing is
 * answered to the client for the cancelled request, and the session goes on.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempHomes, runJanee, scratchDir } from '../helpers/cli.js';
import { appendCommands, processAlive, writeScript } from '../helpers/exec.js';
import { addAgent, connectHttp, startHttpServe, stopAllHttpServes } from '../helpers/http.js';
import { auditEntries, closeAllServes, startServe, textOf, type ServeSession } from '../helpers/mcp.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { CancelledError } from '../../src/gate/cancel.js';
import { outcomeFor } from '../../src/gate/outcome.js';
import { addService, agentHome, alive, killAllAgents, noPass, status, unlock, waitFor, type AgentEnv } from './helpers.js';

const TOKEN = 'sk_test_cancel_9d2b7c41e0a5f3';
let up: Upstream;
/** Requests to /hang, and whether the upstream saw each one's connection close. */
const hanging: { path: string; closed: boolean }[] = [];

beforeAll(async () => {
  up = await startUpstream();
  // Answers nothing, ever: only the client side can end it.
  up.route('/hang', (req) => {
    const h = { path: req.url ?? '', closed: false };
    hanging.push(h);
    req.socket.once('close', () => (h.closed = true));
  });
});

afterAll(async () => {
  await closeAllServes();
  await stopAllHttpServes();
  killAllAgents();
  await up?.close();
  await cleanupTempHomes();
});

/** A home with `svc` (the upstream) and a `sleeper` command that writes its pid to `pidFile`, then sleeps. */
async function home(): Promise<{ env: AgentEnv; pidFile: string }> {
  const env = await agentHome();
  const r = await addService(env, 'svc', up.url, TOKEN);
  expect(r.code, r.stderr).toBe(0);
  const dir = scratchDir(env);
  const pidFile = path.join(dir, 'sleeper.pid');
  const sleeper = await writeScript(path.join(dir, 'bin'), 'sleeper', `echo $$ > ${pidFile}\nexec sleep 60\n`);
  await appendCommands(env.JANEE_HOME, [
    '  sleeper:',
    `    program: ${sleeper}`,
    '    env: { API_TOKEN: svc }',
    '    allow: [""]',
    '    timeoutMs: 120000',
  ]);
  const b = await runJanee(['bind', 'svc', 'exec:sleeper'], { env });
  expect(b.code, b.stderr).toBe(0);
  return { env, pidFile };
}

/** Starts a tool call, cancels it once `started()` holds, and returns how the client's call ended. */
async function cancelWhen(
  s: Pick<ServeSession, 'client'>,
  name: string,
  args: Record<string, unknown>,
  started: () => boolean | Promise<boolean>,
): Promise<unknown> {
  const ac = new AbortController();
  const call = s.client.callTool({ name, arguments: args }, undefined, { signal: ac.signal, timeout: 120_000 }).then(
    () => 'answered',
    (e: unknown) => e,
  );
  await waitFor(started, 20_000, `${name} to start`);
  ac.abort('the user pressed stop');
  return call;
}

/**
 * An execute to /hang, cancelled once the upstream has it: waits for the upstream to see its
 * connection close and for the call's audit line; returns how the client's call ended and the line.
 */
async function cancelHanging(c: Pick<ServeSession, 'client'>, env: AgentEnv, label: string) {
  const tag = `/hang?t=${label}-${Date.now()}`;
  const mine = () => hanging.find((h) => h.path === tag);
  const ended = await cancelWhen(c, 'execute', { service: 'svc', method: 'GET', path: tag }, () => mine() !== undefined);
  await waitFor(() => mine()?.closed === true, 10_000, 'the upstream connection to close');
  await waitFor(async () => (await cancelledLines(env, 'GET')).length === 1, 10_000, 'the audit line');
  return { ended, line: (await cancelledLines(env, 'GET'))[0] };
}

async function cancelledLines(env: AgentEnv, method: string) {
  return (await auditEntries(env.JANEE_HOME)).filter((e) => e.method === method && e.rule?.startsWith('GATE_CANCELLED') === true);
}

describe.concurrent('a cancelled call', { timeout: 120_000 }, () => {
  for (const via of ['in-process', 'agent'] as const) {
    it(`execute (${via}): the upstream request is aborted and the call audited as cancelled; the session goes on`, async () => {
      const { env } = await home();
      if (via === 'agent') expect((await unlock(env)).code).toBe(0);
      const s = await startServe({ env: via === 'agent' ? noPass(env) : env, args: ['--agent', 'desk'] });
      const { ended, line } = await cancelHanging(s, env, via);
      expect(String(ended)).toMatch(/the user pressed stop|abort/i); // the client's own AbortError: no answer came
      // The upstream got the request (it is hanging on it): the line says so.
      expect(line).toMatchObject({ agent: 'desk', service: 'svc', outcome: 'error', status: null, rule: 'GATE_CANCELLED (sent)' });
      // The session is still good.
      const r = await s.execute({ service: 'svc', method: 'GET', path: '/echo' });
      expect(r.isError, textOf(r)).toBeFalsy();
      expect(s.stdout()).not.toMatch(/GATE_CANCELLED|cancelled by the client/); // nothing answered for the cancelled id
    });

    it(`exec (${via}): the running program is killed and the call audited as cancelled`, async () => {
      const { env, pidFile } = await home();
      if (via === 'agent') expect((await unlock(env)).code).toBe(0);
      const s = await startServe({ env: via === 'agent' ? noPass(env) : env, args: ['--agent', 'desk'] });
      const pid = async () => Number((await fs.readFile(pidFile, 'utf8').catch(() => '')).trim()) || undefined;
      await cancelWhen(s, 'exec', { command: 'sleeper', args: [] }, async () => (await pid()) !== undefined);
      const p = (await pid())!;
      await waitFor(async () => !(await processAlive(p)), 10_000, 'the program to be killed');
      await waitFor(async () => (await cancelledLines(env, 'EXEC')).length === 1, 10_000, 'the audit line');
      expect((await cancelledLines(env, 'EXEC'))[0]).toMatchObject({
        agent: 'desk',
        service: 'sleeper',
        outcome: 'error',
        rule: 'GATE_CANCELLED (sent)',
      });
    });
  }

  it('over HTTP (serve --http, an agent token): the upstream request is aborted and the call audited as cancelled', async () => {
    const { env } = await home();
    const token = await addAgent(env, 'boxed');
    const serve = await startHttpServe(env);
    const c = await connectHttp(serve.url, token);
    const { line } = await cancelHanging(c, env, 'http');
    expect(line).toMatchObject({
      agent: 'boxed',
      agentSource: 'token',
      service: 'svc',
      outcome: 'error',
      rule: 'GATE_CANCELLED (sent)',
    });
    const r = await c.call('execute', { service: 'svc', method: 'GET', path: '/echo' });
    expect(r.isError, textOf(r)).toBeFalsy();
    await c.close();
  });

  it('janee lock with a call hanging upstream: the agent cancels it after its drain, audits it, and is gone (not at the upstream timeout)', async () => {
    const { env } = await home();
    expect((await unlock(env)).code).toBe(0);
    const pid = (await status(env)).pid!;
    const s = await startServe({ env: noPass(env), args: ['--agent', 'desk'] });
    const tag = `/hang?t=lock-${Date.now()}`;
    const mine = () => hanging.find((h) => h.path === tag);
    const answer = s.execute({ service: 'svc', method: 'GET', path: tag }).catch((e: unknown) => e);
    await waitFor(() => mine() !== undefined, 20_000, 'the call to reach the upstream');
    const started = Date.now();
    expect((await runJanee(['lock'], { env: noPass(env) })).code).toBe(0);
    await waitFor(() => !alive(pid), 15_000, 'the agent to exit'); // its drain is 5 s; the upstream would hold it 30 s
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(mine()?.closed).toBe(true);
    await waitFor(async () => (await cancelledLines(env, 'GET')).length === 1, 5_000, 'the audit line');
    expect((await cancelledLines(env, 'GET'))[0]).toMatchObject({ agent: 'desk', outcome: 'error', rule: 'GATE_CANCELLED (sent)' });
    expect(await answer).toBeDefined(); // an answer (an error), not a hang
  });
});

describe('the audit rule of a cancelled call', () => {
  it('says whether the upstream (or the program) got it', () => {
    expect(outcomeFor(new CancelledError('request', false))).toEqual({ outcome: 'error', rule: 'GATE_CANCELLED (not sent)' });
    expect(outcomeFor(new CancelledError('request', true))).toEqual({ outcome: 'error', rule: 'GATE_CANCELLED (sent)' });
    expect(outcomeFor(new CancelledError('program', false))).toEqual({ outcome: 'error', rule: 'GATE_CANCELLED (not sent)' });
  });
});
