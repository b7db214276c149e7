/**
 * `janee test` and `janee doctor` through the BUILT command line against real
 * homes: a loopback upstream that checks the Authorization header, a closed port,
 * the real gate (policy, kill switch, audit), a real agent, real file modes and a
 * really edited audit log. No secret may appear in any output.
 */
import { spawnSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addService, agentHome, killAllAgents, noPass, unlock, vaultOf, type AgentEnv } from '../agent/helpers.js';
import { cleanupTempHomes, errorLines, runJanee, withEnv } from '../helpers/cli.js';
import { auditEntries, findForms, secretForms } from '../helpers/mcp.js';
import { closedPort, startUpstream, type Upstream } from '../helpers/upstream.js';

const GOOD = 'sk_test_doctor_good_8c1f2e9a7b3d';
const WRONG = 'sk_test_doctor_wrong_41d7a0c9e5f2';
let up: Upstream;
let downUrl: string;

beforeAll(async () => {
  up = await startUpstream();
  // Like a real API: 200 with the right key, 401 with any other.
  up.route('/v1/me', (req, res) => {
    res.writeHead(req.headers.authorization === `Bearer ${GOOD}` ? 200 : 401, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ echoed: req.headers.authorization ?? '' }));
  });
  up.route('/v1/gone', (_req, res) => {
    res.writeHead(404);
    res.end();
  });
  downUrl = `http://127.0.0.1:${await closedPort()}`;
});

afterAll(async () => {
  killAllAgents();
  await up?.close();
  await cleanupTempHomes();
});

const janee = (args: string[], env: NodeJS.ProcessEnv) => runJanee(args, { env, timeoutMs: 60_000 });
type TestJson = {
  ok: boolean;
  results: { service: string; path: string | null; status: number | null; outcome: string; ok: boolean; message: string; hint?: string }[];
};
type DoctorJson = {
  ok: boolean;
  problems: number;
  warnings: number;
  checks: { name: string; status: string; message: string; fix?: string }[];
};

function noSecretIn(...outputs: string[]): void {
  for (const o of outputs) expect(findForms(o, [...secretForms(GOOD), ...secretForms(WRONG)])).toEqual([]);
}

/**
 * A home whose vault holds good (right key), bad (wrong key), down (closed port)
 * and gone; config.yaml then written by hand: test paths, policies, and a service
 * with no secret. `extra` is appended under services:.
 */
async function homeWithServices(extra = ''): Promise<AgentEnv> {
  const env = await agentHome();
  for (const [name, url, key] of [
    ['good', up.url, GOOD],
    ['bad', up.url, WRONG],
    ['down', downUrl, GOOD],
    ['gone', up.url, GOOD],
    ['blocked', up.url, GOOD],
    ['notest', up.url, GOOD],
  ] as const) {
    const r = await addService(env, name, url, key);
    expect(r.code, r.stderr).toBe(0);
  }
  await fs.writeFile(
    path.join(env.JANEE_HOME, 'config.yaml'),
    `services:
  good:
    baseUrl: ${up.url}
    auth: bearer
    policies:
      - path: /v1/items/*
        methods: [GET]
      - path: /v1/me
        methods: [GET, POST]
  bad:
    baseUrl: ${up.url}
    auth: bearer
    testPath: /v1/me
  down:
    baseUrl: ${downUrl}
    auth: bearer
    testPath: /v1/me
  gone:
    baseUrl: ${up.url}
    auth: bearer
    testPath: /v1/gone
  blocked:
    baseUrl: ${up.url}
    auth: bearer
    testPath: /v1/admin
    policies:
      - path: /v1/me
        methods: [GET]
  notest:
    baseUrl: ${up.url}
    auth: bearer
    policies:
      - path: /v1/items/*
        methods: [GET]
  nosecret:
    baseUrl: ${up.url}
    auth: bearer
    testPath: /v1/me
${extra}`,
    { mode: 0o600 },
  );
  return env;
}

describe.concurrent('janee test', { timeout: 180_000 }, () => {
  it('classifies each service: ok / auth failed / unreachable / 404 / blocked by policy / no test path / no secret; exit 1; audited as janee-test; no secret printed', async () => {
    const env = await homeWithServices();
    const r = await janee(['test'], env);
    expect(r.code, r.stderr).toBe(1);
    const line = (name: string) => r.stdout.split('\n').find((l) => l.startsWith(`${name} `)) ?? '';
    expect(line('good')).toMatch(/ok +GET \/v1\/me: reachable, auth ok \(HTTP 200\)/); // first GET rule without wildcards
    expect(line('bad')).toMatch(/FAILED +GET \/v1\/me: reachable, auth failed \(HTTP 401\)/);
    expect(r.stdout).toContain('fix: the API refused the key: rotate it with `janee set bad`');
    expect(line('down')).toMatch(/FAILED +GET \/v1\/me: unreachable/);
    expect(line('gone')).toMatch(/reachable, auth unknown \(HTTP 404/);
    expect(line('blocked')).toMatch(/FAILED +GET \/v1\/admin: the policy blocks the test path/);
    expect(line('notest')).toMatch(/FAILED +no test path/);
    expect(r.stdout).toContain('fix: add one with `janee edit notest --test-path /…`');
    expect(line('nosecret')).toMatch(/no secret for nosecret/);
    expect(r.stdout).toContain('`janee set nosecret`');
    noSecretIn(r.stdout, r.stderr);

    const mine = (await auditEntries(env.JANEE_HOME)).filter((e) => e.agent === 'janee-test');
    const by = (s: string) => mine.find((e) => e.service === s);
    expect(by('good')).toMatchObject({ outcome: 'allowed', status: 200, path: '/v1/me', method: 'GET' });
    expect(by('bad')).toMatchObject({ outcome: 'allowed', status: 401 });
    expect(by('blocked')).toMatchObject({ outcome: 'blocked' });
    expect(by('notest')).toBeUndefined(); // nothing was sent
  });

  it('--json: one result per service with outcome and status; exit 0 when every named service is ok', async () => {
    const env = await homeWithServices();
    const ok = await janee(['test', 'good', '--json'], env);
    expect(ok.code, ok.stderr).toBe(0);
    const j = JSON.parse(ok.stdout) as TestJson;
    expect(j).toEqual({
      ok: true,
      results: [{ service: 'good', path: '/v1/me', status: 200, outcome: 'ok', ok: true, message: 'reachable, auth ok (HTTP 200)' }],
    });

    const bad = await janee(['test', 'bad', 'down', 'blocked', 'notest', '--json'], env);
    expect(bad.code).toBe(1);
    const b = JSON.parse(bad.stdout) as TestJson;
    expect(b.ok).toBe(false);
    expect(b.results.map((x) => [x.service, x.outcome, x.status])).toEqual([
      ['bad', 'auth_failed', 401],
      ['down', 'unreachable', null],
      ['blocked', 'blocked', null],
      ['notest', 'no_test_path', null],
    ]);
    for (const x of b.results) expect(x.hint).toBeTruthy();
    noSecretIn(ok.stdout, ok.stderr, bad.stdout, bad.stderr);
  });

  it('an unknown name is an error, as {"error":{…}} on stdout with --json; the kill switch is reported as such', async () => {
    const env = await homeWithServices();
    const r = await janee(['test', 'nope', '--json'], env);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({
      error: { code: 'NOT_FOUND', message: expect.stringContaining('"nope"') as string, hint: expect.stringContaining('good') as string },
    });
    expect(errorLines(r.stderr).error).toContain('no service named "nope"');

    expect((await janee(['killswitch', 'on', 'good'], env)).code).toBe(0);
    const k = await janee(['test', 'good', '--json'], env);
    expect(k.code).toBe(1);
    expect((JSON.parse(k.stdout) as TestJson).results[0]).toMatchObject({
      outcome: 'killed',
      ok: false,
      message: expect.stringContaining('kill switch') as string,
    });
  });

  it('uses the unlocked agent with no passphrase in the environment', async () => {
    const env = await homeWithServices();
    expect((await unlock(env)).code).toBe(0);
    const r = await janee(['test', 'good', 'bad'], noPass(env));
    expect(r.code).toBe(1);
    expect(r.stderr).not.toContain('unlocking vault');
    expect(r.stdout).toMatch(/good +ok/);
    expect(r.stdout).toMatch(/bad +FAILED .*HTTP 401/);
    noSecretIn(r.stdout, r.stderr);
    await janee(['lock'], env);
  });

  it('locked, no agent, no passphrase source: fails saying so (never hangs on a prompt)', async () => {
    const env = await homeWithServices();
    const r = await janee(['test', '--json'], noPass(env));
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'NO_PASSPHRASE' } });
  });
});

describe.concurrent('janee doctor', { timeout: 180_000 }, () => {
  const doctor = async (env: NodeJS.ProcessEnv) => {
    const r = await janee(['doctor', '--json'], env);
    noSecretIn(r.stdout, r.stderr);
    return { r, j: JSON.parse(r.stdout) as DoctorJson };
  };
  const check = (j: DoctorJson, name: string) => j.checks.filter((c) => c.name === name);

  it('a healthy home: exit 0, no problem; origins checked with the passphrase; locked without one: skipped, still exit 0', async () => {
    const env = await agentHome();
    expect((await addService(env, 'svc', up.url, GOOD)).code).toBe(0);
    const { r, j } = await doctor(env);
    expect(r.code, r.stdout).toBe(0);
    expect(j.ok).toBe(true);
    expect(j.problems).toBe(0);
    for (const n of ['config', 'vault', 'file modes', 'agent', 'origins', 'kill switch', 'audit log', 'git drivers', 'generation record'])
      expect(check(j, n).length, n).toBeGreaterThan(0);
    expect(check(j, 'origins')[0]).toMatchObject({ status: 'ok' });
    expect(check(j, 'audit log')[0]).toMatchObject({ status: 'ok' });

    const locked = await doctor(noPass(env));
    expect(locked.r.code).toBe(0);
    expect(check(locked.j, 'origins')[0]).toMatchObject({ status: 'skipped', message: expect.stringContaining('locked') as string });

    const text = await janee(['doctor'], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^ok +config /m);
    expect(text.stdout).toMatch(/0 problems/);
  });

  it('a 0644 vault: a problem with the chmod fix, exit 1', async () => {
    const env = await agentHome();
    await fs.chmod(vaultOf(env), 0o644);
    const { r, j } = await doctor(noPass(env));
    expect(r.code).toBe(1);
    expect(check(j, 'file modes')).toContainEqual({
      name: 'file modes',
      status: 'problem',
      message: `${vaultOf(env)} is 0644, not 0600: others can read it`,
      fix: `chmod 600 ${vaultOf(env)}`,
    });
    const text = await janee(['doctor'], noPass(env));
    expect(text.stdout).toMatch(/PROBLEM +file modes/);
    expect(text.stdout).toContain(`fix: chmod 600 ${vaultOf(env)}`);
  });

  it('a broken config.yaml: a problem naming file:line, exit 1', async () => {
    const env = await agentHome();
    const file = path.join(env.JANEE_HOME, 'config.yaml');
    await fs.writeFile(file, 'services:\n  a:\n    baseUrl: [unclosed\n');
    const { r, j } = await doctor(noPass(env));
    expect(r.code).toBe(1);
    expect(check(j, 'config')[0]?.status).toBe('problem');
    expect(check(j, 'config')[0]?.message).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+`));
    expect(check(j, 'config')[0]?.fix).toBeTruthy();
  });

  it('an unlocked agent: found as an MCP client with a minimal environment would see it; origins checked through it (a mismatch is a problem)', async () => {
    const env = await agentHome();
    expect((await addService(env, 'svc', up.url, GOOD)).code).toBe(0);
    expect((await unlock(env)).code).toBe(0);
    const { r, j } = await doctor(noPass(env));
    expect(r.code, r.stdout).toBe(0);
    expect(check(j, 'agent')[0]).toMatchObject({ status: 'ok', message: expect.stringMatching(/agent pid \d+ at .*: unlocked/) as string });
    expect(check(j, 'agent socket')).toEqual([]);
    expect(check(j, 'origins')[0]).toMatchObject({ status: 'ok', message: expect.stringContaining('from the agent') as string });

    // JANEE_AGENT_SOCK in this shell only: a client without it would look elsewhere.
    const moved = await doctor(withEnv(noPass(env), { JANEE_AGENT_SOCK: path.join(path.dirname(env.JANEE_HOME), 'run', 'x.sock') }));
    expect(check(moved.j, 'agent socket')[0]).toMatchObject({
      status: 'warning',
      message: expect.stringMatching(/an agent \(pid \d+, unlocked\) answers there/) as string,
      fix: expect.stringContaining('JANEE_AGENT_SOCK=') as string,
    });

    // config.yaml now sends the secret to another origin.
    const file = path.join(env.JANEE_HOME, 'config.yaml');
    await fs.writeFile(file, (await fs.readFile(file, 'utf8')).replace(up.url, downUrl));
    const mis = await doctor(noPass(env));
    expect(mis.r.code).toBe(1);
    expect(check(mis.j, 'origins')[0]).toMatchObject({
      status: 'problem',
      fix: expect.stringContaining(`janee bind svc ${downUrl}`) as string,
    });
    await janee(['lock'], env);
  });

  it('a vault in a git work tree without the drivers: a warning naming `janee git setup`; after it: ok', async () => {
    const env = noPass(await agentHome());
    const repo = path.dirname(env.JANEE_HOME as string);
    expect(spawnSync('git', ['init', '-q', repo]).status).toBe(0);
    const before = await doctor(env);
    expect(before.r.code).toBe(0); // a warning, not a problem
    expect(check(before.j, 'git drivers')[0]).toMatchObject({ status: 'warning', fix: `run \`janee git setup\` in ${realpathSync(repo)}` });
    const setup = await runJanee(['git', 'setup'], { env, cwd: repo });
    expect(setup.code, setup.stderr).toBe(0);
    const after = await doctor(env);
    expect(check(after.j, 'git drivers')[0]).toMatchObject({ status: 'ok', message: `set up in ${realpathSync(repo)}` });
  });

  it('a tampered audit log: a problem, exit 1', async () => {
    const env = await agentHome();
    expect((await addService(env, 'svc', up.url, GOOD)).code).toBe(0);
    await fs.writeFile(
      path.join(env.JANEE_HOME, 'config.yaml'),
      `services:\n  svc:\n    baseUrl: ${up.url}\n    auth: bearer\n    testPath: /v1/me\n`,
    );
    expect((await janee(['killswitch', 'on'], env)).code).toBe(0);
    await janee(['test', 'svc'], env); // refused by the kill switch, and audited
    const dir = path.join(env.JANEE_HOME, 'audit');
    const day = (await fs.readdir(dir)).find((f) => f.endsWith('.jsonl'))!;
    const before = await fs.readFile(path.join(dir, day), 'utf8');
    expect(before).toContain('"killed"');
    const healthy = await doctor(noPass(env));
    expect(check(healthy.j, 'audit log')[0]?.status).toBe('ok');
    await fs.writeFile(path.join(dir, day), before.replace('"killed"', '"allowed"'));
    const { r, j } = await doctor(noPass(env));
    expect(r.code).toBe(1);
    expect(check(j, 'audit log')[0]).toMatchObject({
      status: 'problem',
      message: expect.stringContaining('tampered') as string,
      fix: expect.stringContaining('janee logs verify') as string,
    });
    expect(check(j, 'kill switch')[0]?.status).toBe('warning');
  });

  it('a JANEE_HOME that does not exist: the vault is the problem, git is not called missing', async ({ expect }) => {
    const home = path.join(await fs.mkdtemp(path.join(tmpdir(), 'janee-doctor-none-')), 'nope');
    const { r, j } = await doctor(withEnv(noPass(await homeWithServices()), { JANEE_HOME: home }));
    expect(r.code).toBe(1);
    expect(check(j, 'vault')[0]?.status).toBe('problem');
    expect(check(j, 'git drivers')[0]).toMatchObject({ status: 'skipped', message: expect.stringContaining('does not exist') as string });
  });
});
