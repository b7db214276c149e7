/**
 * Approvals end to end: the built `janee serve` driven by the official MCP SDK
 * client over stdio, a loopback upstream counting hits on POST /v1/charges, and
 * `janee approve` / `deny` typed at a real pseudo-terminal. Both ways serve holds
 * the vault: in-process (JANEE_PASSPHRASE_FILE) and through `janee unlock`.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRecord } from '../../src/approval/record.js';
import { approvalsDir } from '../../src/approval/store.js';
import { addService, agentHome, killAllAgents, noPass, unlock, vaultOf, type AgentEnv } from '../agent/helpers.js';
import { CLI, cleanupTempHomes, PASSPHRASE, runJanee, scratchDir, withEnv } from '../helpers/cli.js';
import {
  auditEntries,
  closeAllServes,
  findForms,
  secretForms,
  startServe,
  textOf,
  type ServeSession,
  type ToolResult,
} from '../helpers/mcp.js';
import { hasPty, runUnderPty } from '../helpers/pty.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const TOKEN = 'sk_test_approval_8c1e5b7a9d03f2';
const pty = hasPty();
let up: Upstream;

beforeAll(async () => {
  up = await startUpstream();
});

afterAll(async () => {
  await closeAllServes();
  killAllAgents();
  await up?.close();
  await cleanupTempHomes();
});

interface Home {
  env: AgentEnv;
  /** The env for serve in-process: the passphrase from a file. */
  inProcess: NodeJS.ProcessEnv;
  dir: string;
}

/**
 * A home with `svc` at the upstream: POST /v1/charges and POST /v1/refunds need
 * approval, GET /echo does not. HOME is the scratch dir, so the approval records
 * (under ~/.local/state/janee) are this test's own.
 */
async function home(opts: { waitMs?: number; ttlMs?: number } = {}): Promise<Home> {
  const base = await agentHome();
  const env = withEnv(base, { HOME: scratchDir(base), XDG_STATE_HOME: undefined });
  const r = await addService(env, 'svc', up.url, TOKEN);
  expect(r.code, r.stderr).toBe(0);
  const configFile = path.join(env.JANEE_HOME, 'config.yaml');
  const text = await fs.readFile(configFile, 'utf8');
  expect(text).toContain('\n  svc:\n');
  const approval = [
    opts.waitMs !== undefined ? `    approvalWaitMs: ${opts.waitMs}\n` : '',
    opts.ttlMs !== undefined ? `    approvalTtlMs: ${opts.ttlMs}\n` : '',
    '    policies:\n',
    '      - { path: /v1/charges, methods: [POST], approve: true }\n',
    '      - { path: /v1/refunds, methods: [POST], approve: true }\n',
    '      - { path: /echo, methods: [GET] }\n',
  ].join('');
  await fs.writeFile(configFile, text.replace('\n  svc:\n', `\n  svc:\n${approval}`));
  const passFile = path.join(scratchDir(env), 'pass');
  await fs.writeFile(passFile, `${PASSPHRASE}\n`, { mode: 0o600 });
  const inProcess = withEnv(noPass(env), { JANEE_PASSPHRASE_FILE: passFile });
  return { env, inProcess, dir: approvalsDir(vaultOf(env), env) };
}

/** `janee <args>` at a pseudo-terminal, typing the passphrase when asked (none of JANEE_PASSPHRASE*). */
function atTerminal(h: Home, args: string[], passphrase = PASSPHRASE) {
  return runUnderPty(
    [
      'env',
      '-u',
      'JANEE_PASSPHRASE',
      '-u',
      'JANEE_PASSPHRASE_FILE',
      '-u',
      'XDG_STATE_HOME',
      `JANEE_HOME=${h.env.JANEE_HOME}`,
      `HOME=${h.env.HOME}`,
      process.execPath,
      CLI,
      ...args,
    ],
    [{ waitFor: 'vault passphrase: ', send: `${passphrase}\r` }],
  );
}

const charge = (s: ServeSession, body: unknown = { amount: 1000, currency: 'usd' }, p = '/v1/charges') =>
  s.execute({ service: 'svc', method: 'POST', path: p, body, reason: 'pay the invoice' });

/** Upstream hits on a path with a marker in the body (tests run concurrently on one upstream). */
function hits(marker: string, p = '/v1/charges'): number {
  return up.requests.filter((r) => r.method === 'POST' && r.url.startsWith(p) && r.body.toString('utf8').includes(marker)).length;
}

function idOf(r: ToolResult): string {
  const m = /approval ([a-z0-9]{10})/.exec(textOf(r));
  if (!m) throw new Error(`no approval id in: ${textOf(r)}`);
  return m[1] as string;
}

function noSecretIn(s: ServeSession): void {
  const forms = secretForms(TOKEN);
  expect(findForms(s.transport.stdoutBytes, forms)).toEqual([]);
  expect(findForms(s.transport.stderrBytes, forms)).toEqual([]);
}

async function dirText(dir: string): Promise<string> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const parts = await Promise.all(names.map((n) => fs.readFile(path.join(dir, n), 'utf8').catch(() => '')));
  return parts.join('\n');
}

describe.concurrent('approvals', { timeout: 120_000 }, () => {
  it.skipIf(!pty)(
    'in-process: a call waits, is approved at a terminal, goes out once; a changed body is a new request; a replay is refused',
    async () => {
      const h = await home({ waitMs: 1500 });
      const s = await startServe({ env: h.inProcess, args: ['--agent', 'desk'] });
      const marker = `m${randomBytes(4).toString('hex')}`;
      const body = { amount: 1000, currency: 'usd', marker };

      const r1 = await charge(s, body);
      expect(r1.isError).toBe(true);
      expect(textOf(r1)).toMatch(/waiting for a human to approve it \(approval [a-z0-9]{10}\); it was not sent/);
      const id = idOf(r1);
      expect(textOf(r1)).toContain(`janee approve ${id}`);
      expect(hits(marker)).toBe(0);

      // The human's view: checked with the key (JANEE_PASSPHRASE_FILE is set for listing).
      const list = await runJanee(['approvals', '--json'], { env: h.inProcess });
      expect(list.code, list.stderr).toBe(0);
      const listed = JSON.parse(list.stdout) as { checked: boolean; pending: Record<string, unknown>[] };
      expect(listed.checked).toBe(true);
      expect(listed.pending).toHaveLength(1);
      expect(listed.pending[0]).toMatchObject({
        id,
        agent: 'desk',
        service: 'svc',
        method: 'POST',
        path: '/v1/charges',
        reason: 'pay the invoice',
        state: 'pending',
      });
      expect(listed.pending[0]?.bodyPreview).toContain(marker);
      expect(listed.pending[0]?.bodySha256).toMatch(/^[0-9a-f]{64}$/);

      const a = await atTerminal(h, ['approve', id]);
      expect(a.code, a.output).toBe(0);
      expect(a.output).toContain(`approved ${id}`);

      // A different body is not what was approved: a new pending request.
      const r2 = await charge(s, { ...body, amount: 100000 });
      expect(r2.isError).toBe(true);
      expect(idOf(r2)).not.toBe(id);
      expect(hits(marker)).toBe(0);
      // A different path neither.
      const r2b = await charge(s, body, '/v1/refunds');
      expect(r2b.isError).toBe(true);
      expect(idOf(r2b)).not.toBe(id);
      expect(hits(marker, '/v1/refunds')).toBe(0);

      // The identical request goes out, once.
      const r3 = await charge(s, body);
      expect(r3.isError, textOf(r3)).toBeFalsy();
      expect(r3.structuredContent).toMatchObject({ status: 200 });
      expect(hits(marker)).toBe(1);
      expect(up.requests.find((r) => r.body.toString().includes(marker))?.headers.authorization).toBe(`Bearer ${TOKEN}`);

      // Again: the approval was used up; it waits anew.
      const r4 = await charge(s, body);
      expect(r4.isError).toBe(true);
      expect(idOf(r4)).not.toBe(id);
      expect(hits(marker)).toBe(1);

      const audit = (await auditEntries(h.env.JANEE_HOME)).filter((e) => (e as { approval?: string }).approval === id);
      expect(audit.map((e) => [e.outcome, e.rule])).toEqual([
        ['approval', 'pending'],
        ['approval', 'approved'],
        ['allowed', undefined],
      ]);
      const logs = await runJanee(['logs', '-n', '50'], { env: h.env });
      expect(logs.stdout).toContain(`approval:${id}`);
      const v = await runJanee(['logs', 'verify'], { env: h.env });
      expect(v.code, v.stdout + v.stderr).toBe(0);

      noSecretIn(s);
      expect(findForms(list.stdout + list.stderr + a.output, secretForms(TOKEN))).toEqual([]);
      expect(findForms(await dirText(h.dir), secretForms(TOKEN))).toEqual([]);
      await s.close();
    },
  );

  it.skipIf(!pty)('through the agent: execute waits, sends progress when asked, and returns the result once approved', async () => {
    const h = await home({ waitMs: 60_000 });
    expect((await unlock(h.env)).code).toBe(0);
    const s = await startServe({ env: noPass(h.env), args: ['--agent', 'desk'] });
    const marker = `m${randomBytes(4).toString('hex')}`;
    const progress: { progress: number; message?: string | undefined }[] = [];
    const call = s.client.callTool(
      { name: 'execute', arguments: { service: 'svc', method: 'POST', path: '/v1/charges', body: { marker } } },
      undefined,
      { onprogress: (p) => progress.push(p), timeout: 90_000 },
    ) as Promise<ToolResult>;
    // The pending record shows up; approve it while execute waits.
    let id: string | undefined;
    for (let i = 0; i < 100 && !id; i++) {
      const names = await fs.readdir(h.dir).catch(() => [] as string[]);
      id = names.find((n) => n.endsWith('.pending'))?.slice(0, 10);
      if (!id) await new Promise((r) => setTimeout(r, 100));
    }
    expect(id).toBeDefined();
    await new Promise((r) => setTimeout(r, 1500)); // let a progress notification or two go out
    expect(hits(marker)).toBe(0);
    const a = await atTerminal(h, ['approve', id as string]);
    expect(a.code, a.output).toBe(0);
    const approvedAt = Date.now();
    const r = await call;
    console.log(`approve → result through the agent: ${Date.now() - approvedAt} ms; progress notifications: ${progress.length}`);
    expect(r.isError, textOf(r)).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ status: 200 });
    expect(hits(marker)).toBe(1);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0]?.message).toContain(`janee approve ${id}`);
    noSecretIn(s);
    await s.close();
    await runJanee(['lock'], { env: h.env });
  });

  it.skipIf(!pty)('deny: the waiting call is refused, and nothing reaches the upstream', async () => {
    const h = await home({ waitMs: 60_000 });
    const s = await startServe({ env: h.inProcess });
    const marker = `m${randomBytes(4).toString('hex')}`;
    const call = charge(s, { marker });
    let id: string | undefined;
    for (let i = 0; i < 100 && !id; i++) {
      id = (await fs.readdir(h.dir).catch(() => [] as string[])).find((n) => n.endsWith('.pending'))?.slice(0, 10);
      if (!id) await new Promise((r) => setTimeout(r, 100));
    }
    const d = await atTerminal(h, ['deny', id as string]);
    expect(d.code, d.output).toBe(0);
    const r = await call;
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/a human denied this call/);
    expect(hits(marker)).toBe(0);
    const audit = (await auditEntries(h.env.JANEE_HOME)).filter((e) => (e as { approval?: string }).approval === id);
    expect(audit.map((e) => e.rule)).toEqual(['pending', 'denied', 'approval denied']);
    await s.close();
  });

  it.skipIf(!pty)(
    'expiry (in CI): the result says no human is expected; not decided in time it is refused, and cannot be approved late',
    async () => {
      const h = await home({ waitMs: 1000, ttlMs: 2500 });
      const s = await startServe({ env: { ...h.inProcess, CI: 'true' } });
      const marker = `m${randomBytes(4).toString('hex')}`;
      const first = await charge(s, { marker });
      expect(textOf(first)).toMatch(/CI is set: no human is expected to answer here/);
      const id = idOf(first);
      await new Promise((r) => setTimeout(r, 2700));
      const late = await atTerminal(h, ['approve', id]);
      expect(late.code).toBe(1);
      expect(late.output).toMatch(/has expired/);
      const r = await charge(s, { marker });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toMatch(new RegExp(`approval ${id} expired`));
      expect(hits(marker)).toBe(0);
      await s.close();
    },
  );

  it('a forged approval (written with another key) is ignored and reported; approve refuses JANEE_PASSPHRASE and a missing terminal', async () => {
    const h = await home({ waitMs: 1000 });
    const s = await startServe({ env: h.inProcess });
    const marker = `m${randomBytes(4).toString('hex')}`;
    const id = idOf(await charge(s, { marker }));
    const pendingText = await fs.readFile(path.join(h.dir, `${id}.pending`), 'utf8');
    const digest = (JSON.parse(pendingText) as { digest: string }).digest;
    const expires = new Date(Date.now() + 60_000).toISOString();
    const otherKey = randomBytes(32);
    await fs.writeFile(
      path.join(h.dir, `${id}.approved`),
      encodeRecord(otherKey, { kind: 'approved', id, digest, decided: expires, expires }),
    );
    const r = await charge(s, { marker });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/waiting for a human/);
    expect(hits(marker)).toBe(0);
    const audit = (await auditEntries(h.env.JANEE_HOME)).filter((e) => (e as { approval?: string }).approval === id);
    expect(audit.map((e) => e.rule)).toContain('ignored approved record (bad mac)');
    const list = await runJanee(['approvals', '--json'], { env: h.inProcess });
    expect((JSON.parse(list.stdout) as { ignored: unknown[] }).ignored).toEqual([{ id, kind: 'approved', why: 'bad mac' }]);

    // The human's command never takes the passphrase from the environment, nor works without a terminal.
    const fromEnv = await runJanee(['approve', id], { env: h.env });
    expect(fromEnv.code).toBe(1);
    expect(fromEnv.stderr).toMatch(/reads the passphrase from the terminal only, and JANEE_PASSPHRASE is set here/);
    const fromFile = await runJanee(['approve', id], { env: h.inProcess });
    expect(fromFile.stderr).toMatch(/JANEE_PASSPHRASE_FILE is set here/);
    const noTty = await runJanee(['approve', id], { env: noPass(h.env) });
    expect(noTty.code).toBe(1);
    expect(noTty.stderr).toMatch(/needs a terminal/);
    // A forged *pending* record is refused by approve (so a human cannot be shown one thing and approve another).
    expect(hits(marker)).toBe(0);
    await s.close();
  });

  it.skipIf(!pty)('approve refuses a pending record it did not write (forged), and writes nothing', async () => {
    const h = await home();
    await fs.mkdir(h.dir, { recursive: true, mode: 0o700 });
    const id = 'abcdefghij';
    const now = new Date().toISOString();
    const expires = new Date(Date.now() + 60_000).toISOString();
    const fake = {
      kind: 'pending' as const,
      id,
      digest: '0'.repeat(64),
      agent: 'desk',
      service: 'svc',
      rule: 'allow POST /v1/charges',
      method: 'POST',
      path: '/v1/charges',
      query: '',
      headers: '',
      bodySha256: '',
      bodyPreview: 'looks harmless',
      reason: '',
      created: now,
      expires,
      pid: String(process.pid),
    };
    await fs.writeFile(path.join(h.dir, `${id}.pending`), encodeRecord(randomBytes(32), fake));
    const a = await atTerminal(h, ['approve', id]);
    expect(a.code).toBe(1);
    expect(a.output).toMatch(/was not written with this vault's key/);
    expect((await fs.readdir(h.dir)).filter((n) => !n.endsWith('.pending'))).toEqual([]);
  });

  it.skipIf(!pty)('a grant covers its agent, service and rule only, and only for its time', async () => {
    const h = await home({ waitMs: 1000 });
    const desk = await startServe({ env: h.inProcess, args: ['--agent', 'desk'] });
    const other = await startServe({ env: h.inProcess, args: ['--agent', 'other'] });
    const marker = `m${randomBytes(4).toString('hex')}`;
    const id = idOf(await charge(desk, { marker, n: 1 }));
    // Long enough for the checks below on a loaded machine; the end is waited for, not guessed.
    const a = await atTerminal(h, ['approve', id, '--for', '12s']);
    const grantedBy = Date.now() + 12_000;
    expect(a.code, a.output).toBe(0);
    expect(a.output).toMatch(/granted desk/);

    // The same agent and rule, another body: goes out without asking, twice.
    for (const n of [1, 2, 3]) {
      const r = await charge(desk, { marker, n });
      expect(r.isError, textOf(r)).toBeFalsy();
    }
    expect(hits(marker)).toBe(3);
    // Another rule of the same service: still needs approval.
    const refund = await charge(desk, { marker }, '/v1/refunds');
    expect(textOf(refund)).toMatch(/waiting for a human/);
    // Another agent: still needs approval.
    const o = await charge(other, { marker, n: 9 });
    expect(textOf(o)).toMatch(/waiting for a human/);
    expect(hits(marker)).toBe(3);
    const list = await runJanee(['approvals', '--json'], { env: h.inProcess });
    expect((JSON.parse(list.stdout) as { grants: { id: string }[] }).grants.map((g) => g.id)).toEqual([id]);

    // Over time: waits again.
    await new Promise((r) => setTimeout(r, Math.max(0, grantedBy - Date.now()) + 300));
    const late = await charge(desk, { marker, n: 4 });
    expect(textOf(late)).toMatch(/waiting for a human/);
    expect(hits(marker)).toBe(3);
    await desk.close();
    await other.close();
  });

  it.skipIf(!pty)(
    'fail closed: an approval for a serve that restarted is not used; the kill switch still blocks an approved call',
    async () => {
      const h = await home({ waitMs: 1000 });
      const s1 = await startServe({ env: h.inProcess, args: ['--agent', 'desk'] });
      const list = await s1.call('list_services');
      expect(list.structuredContent).toMatchObject({
        services: [{ name: 'svc', policies: [{ path: '/v1/charges', methods: ['POST'], approve: true }, {}, {}] }],
      });
      const marker = `m${randomBytes(4).toString('hex')}`;
      const id1 = idOf(await charge(s1, { marker }));
      await s1.close();
      expect((await atTerminal(h, ['approve', id1])).code).toBe(0);
      const s2 = await startServe({ env: h.inProcess, args: ['--agent', 'desk'] });
      const r = await charge(s2, { marker });
      expect(textOf(r)).toMatch(/waiting for a human/);
      const id2 = idOf(r);
      expect(id2).not.toBe(id1);
      expect(hits(marker)).toBe(0);

      expect((await atTerminal(h, ['approve', id2])).code).toBe(0);
      expect((await runJanee(['killswitch', 'on', 'svc'], { env: h.env })).code).toBe(0);
      // serve re-reads the kill switch file at most every 250 ms: give it that long to see it.
      await new Promise((r) => setTimeout(r, 600));
      const killed = await charge(s2, { marker });
      expect(killed.isError).toBe(true);
      expect(textOf(killed)).toMatch(/kill switch is on for svc/);
      expect(hits(marker)).toBe(0);
      const offR = await runJanee(['killswitch', 'off', 'svc'], { env: h.env });
      expect(offR.code, offR.stderr).toBe(0);
      // (serve re-reads the kill switch file at most every 250 ms)
      let ok = await charge(s2, { marker });
      for (let i = 0; i < 30 && /kill switch/.test(textOf(ok)); i++) {
        await new Promise((r) => setTimeout(r, 200));
        ok = await charge(s2, { marker });
      }
      expect(ok.isError, textOf(ok)).toBeFalsy();
      expect(hits(marker)).toBe(1);
      await s2.close();
    },
  );

  it('leaks: a secret the agent puts in the body is redacted in the pending record, the listing and the tool result', async () => {
    const h = await home({ waitMs: 500 });
    const s = await startServe({ env: h.inProcess });
    const r = await charge(s, { note: `key is ${TOKEN}` }, '/v1/charges?x=1');
    const id = idOf(r);
    const list = await runJanee(['approvals'], { env: h.inProcess });
    const json = await runJanee(['approvals', '--json'], { env: h.inProcess });
    expect(list.stdout).toContain(id);
    expect(list.stdout).toContain('POST /v1/charges?x=1');
    expect(list.stdout).toContain('key is [REDACTED:svc]');
    const forms = secretForms(TOKEN);
    for (const text of [list.stdout, list.stderr, json.stdout, await dirText(h.dir), textOf(r)]) expect(findForms(text, forms)).toEqual([]);
    expect((await auditEntries(h.env.JANEE_HOME)).some((e) => findForms(JSON.stringify(e), forms).length > 0)).toBe(false);
    noSecretIn(s);
    await s.close();
  });

  it('a body longer than the preview says how much is not shown (padding cannot hide the end behind an ellipsis)', async () => {
    const h = await home({ waitMs: 300 });
    const s = await startServe({ env: h.inProcess });
    const body = { pad: 'a'.repeat(3000), to: 'acct_attacker' };
    await charge(s, body);
    const list = await runJanee(['approvals'], { env: h.inProcess });
    const rest = JSON.stringify(body).length - 2000;
    expect(list.stdout).toContain(`… [${rest} more characters not shown: the body sha256 covers all of it]`);
    expect(list.stdout).not.toContain('acct_attacker');
    await s.close();
  });

  it.skipIf(!pty)('revoke ends a grant at once, and a copy of it put back is not honoured', async () => {
    const h = await home({ waitMs: 1000 });
    const s = await startServe({ env: h.inProcess, args: ['--agent', 'desk'] });
    const marker = `m${randomBytes(4).toString('hex')}`;
    const id = idOf(await charge(s, { marker }));
    expect((await atTerminal(h, ['approve', id, '--for', '1h'])).code).toBe(0);
    expect((await charge(s, { marker })).isError).toBeFalsy();
    // What an agent with a shell might try: keep a copy of the grant and put it back after the revoke.
    const grantFile = path.join(h.dir, `${id}.grant`);
    const copy = await fs.readFile(grantFile);
    const rv = await runJanee(['approvals', 'revoke', id], { env: h.env });
    expect(rv.code, rv.stderr).toBe(0);
    expect(textOf(await charge(s, { marker, again: true }))).toMatch(/waiting for a human/);
    await fs.writeFile(grantFile, copy, { mode: 0o600 });
    expect(textOf(await charge(s, { marker, again: 2 }))).toMatch(/waiting for a human/);
    expect(hits(marker)).toBe(1);
    const audit = (await auditEntries(h.env.JANEE_HOME)).filter((e) => (e as { approval?: string }).approval === id);
    expect(audit.map((e) => e.rule)).toEqual(['pending', 'approved for 1h', undefined, 'revoked']);
    await s.close();
  });
});
