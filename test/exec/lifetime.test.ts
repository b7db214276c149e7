/**
 * No exec program outlives janee, and one janee process runs only a few at once
 * (redteam3 findings 3 and 4). Each case drives the BUILT CLI: the official MCP SDK
 * client over stdio (serve's own gate, or an unlocked agent's), or serve --http.
 * A program is `sleep <marker>` (the marker a unique number of seconds), found in
 * /proc by its command line.
 */
import * as fs from 'node:fs';
import { randomInt } from 'node:crypto';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupTempHomes, runJanee } from '../helpers/cli.js';
import { addAgent, connectHttp, startHttpServe, stopAllHttpServes } from '../helpers/http.js';
import { auditEntries, closeAllServes, startServe, textOf, type ToolResult } from '../helpers/mcp.js';
import { addService, agentHome, killAllAgents, noPass, status, unlock, waitFor, type AgentEnv } from '../agent/helpers.js';

const TOKEN = 'sk_test_LIFETIME_4f0c9a7e2b51d8c3';
const markers = new Set<string>();

/** `N.<unique digits>`: sleep takes it as N seconds, and /proc shows whose it is. */
function marker(seconds: number): string {
  const m = `${seconds}.${String(randomInt(1e9)).padStart(9, '0')}1`;
  markers.add(m);
  return m;
}

/** Live (not zombie) processes whose command line has `m` as an argument. */
function withMarker(m: string): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${name}/cmdline`, 'latin1').split('\0');
      if (!argv.includes(m)) continue;
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'latin1');
      if (!/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3))) out.push(Number(name));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/** A home with the secret `api` bound to the command nap (`env sleep N`, a 10-minute timeout). */
async function napHome(): Promise<AgentEnv> {
  const env = await agentHome();
  const r = await addService(env, 'api', 'https://api.example.com', TOKEN);
  expect(r.code, r.stderr).toBe(0);
  fs.appendFileSync(
    path.join(env.JANEE_HOME, 'config.yaml'),
    [
      'commands:',
      '  nap:',
      '    program: /usr/bin/env',
      '    env: { API_TOKEN: api }',
      '    allow: ["sleep *"]',
      '    timeoutMs: 600000',
      '',
    ].join('\n'),
  );
  const b = await runJanee(['bind', 'api', 'exec:nap'], { env });
  expect(b.code, b.stderr).toBe(0);
  return env;
}

const nap = (m: string) => ({ command: 'nap', args: ['sleep', m] });

afterAll(async () => {
  // What the old code left behind must not sleep on for minutes (not afterEach: the cases run concurrently).
  for (const m of markers) for (const pid of withMarker(m)) process.kill(pid, 'SIGKILL');
  await closeAllServes();
  await stopAllHttpServes();
  killAllAgents();
  await cleanupTempHomes();
});

describe.concurrent('exec programs end with janee', { timeout: 120_000 }, () => {
  it('stdio serve: the MCP client goes away, the program it started is killed (and audited)', async () => {
    const env = await napHome();
    const m = marker(600);
    const s = await startServe({ env, args: ['--agent', 'desk'] });
    void s.call('exec', nap(m)).catch(() => undefined);
    await waitFor(() => withMarker(m).length > 0, 20_000, 'the program to start');
    const pid = withMarker(m)[0]!;
    expect(fs.readFileSync(`/proc/${pid}/environ`, 'latin1')).toContain(`API_TOKEN=${TOKEN}`);
    await s.close();
    await waitFor(() => withMarker(m).length === 0, 3_000, 'no program left after the client closed').catch(() => undefined);
    expect(withMarker(m)).toEqual([]);
    // serve may still be writing it as it exits.
    const execs = async () => (await auditEntries(env.JANEE_HOME)).filter((e) => e.method === 'EXEC');
    await waitFor(async () => (await execs()).length > 0, 5_000, 'the audit line').catch(() => undefined);
    // The SDK cancels the calls of a client that went away: audited as cancelled.
    expect((await execs()).map((e) => [e.service, e.outcome, e.status, e.rule])).toEqual([['nap', 'error', null, 'GATE_CANCELLED (sent)']]);
  });

  it('agent: its stop (SIGTERM) kills the programs it runs for serves, after its drain', async () => {
    const env = await napHome();
    expect((await unlock(env)).code).toBe(0);
    const agentPid = (await status(env)).pid!;
    const m = marker(600);
    const s = await startServe({ env: noPass(env), args: ['--agent', 'desk'] });
    const answer = s.call('exec', nap(m)).catch((e: unknown) => e);
    await waitFor(() => withMarker(m).length > 0, 20_000, 'the program to start');
    const ppid = Number(
      fs
        .readFileSync(`/proc/${withMarker(m)[0]}/stat`, 'latin1')
        .split(') ')[1]!
        .split(' ')[1],
    );
    expect(ppid).toBe(agentPid); // the agent runs it, not serve
    process.kill(agentPid, 'SIGTERM');
    await waitFor(
      () => !fs.existsSync(`/proc/${agentPid}`) || /\) Z /.test(fs.readFileSync(`/proc/${agentPid}/stat`, 'latin1')),
      30_000,
      'the agent to exit',
    );
    await waitFor(() => withMarker(m).length === 0, 3_000, 'no program left after the agent stopped').catch(() => undefined);
    expect(withMarker(m)).toEqual([]);
    expect(await answer).toBeDefined(); // an answer (an error), not a hang
    await s.close();
  });

  it('serve --http: SIGTERM, the drain passes, the program still running is killed', async () => {
    const env = await napHome();
    const token = await addAgent(env, 'bot');
    const srv = await startHttpServe(env);
    const c = await connectHttp(srv.url, token);
    const m = marker(600);
    void c.call('exec', nap(m)).catch(() => undefined);
    await waitFor(() => withMarker(m).length > 0, 20_000, 'the program to start');
    const code = await srv.stop(); // SIGTERM; serve waits up to 30 s for calls in flight
    expect(code).toBe(0);
    await waitFor(() => withMarker(m).length === 0, 3_000, 'no program left after serve --http stopped').catch(() => undefined);
    expect(withMarker(m)).toEqual([]);
    await c.close();
  });
});

describe('exec concurrency cap', { timeout: 120_000 }, () => {
  it('30 calls at once from one agent: never more than its share (6 of the 8) run, and every call gets an answer (ran, or EXEC_BUSY)', async () => {
    const env = await napHome();
    const m = marker(2);
    const s = await startServe({ env, args: ['--agent', 'desk'] });
    let most = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        most = Math.max(most, withMarker(m).length);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const results: ToolResult[] = await Promise.all(Array.from({ length: 30 }, () => s.call('exec', nap(m))));
    sampling = false;
    await sampler;
    const ran = results.filter((r) => !r.isError && (r.structuredContent as { exitCode?: number }).exitCode === 0).length;
    const busy = results.filter(
      (r) => r.isError && /too many programs are running \(8 at once, 16 waiting; one agent at most 6 and 12\)/.test(textOf(r)),
    ).length;
    expect(most).toBeLessThanOrEqual(6);
    expect(most).toBeGreaterThanOrEqual(2); // they do run side by side
    expect(ran).toBeGreaterThanOrEqual(6);
    expect(ran + busy, results.map(textOf).join('\n')).toBe(30);
    await s.close();
    const audit = (await auditEntries(env.JANEE_HOME)).filter((e) => e.method === 'EXEC');
    expect(audit.filter((e) => e.outcome === 'allowed')).toHaveLength(ran);
  });
});
