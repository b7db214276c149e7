/**
 * The CI recipe of docs/ci.md, end to end, as a CI job runs it: the passphrase in the
 * environment, every command without a terminal, `janee serve` driven by the MCP SDK
 * client, meaningful exit codes, and nothing secret in anything a CI log could show
 * (every command's stdout and stderr, serve's stderr, every file under JANEE_HOME).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanupTempHomes,
  FAST,
  runJanee,
  scratchDir,
  snapshot,
  tempHome,
  withEnv,
  type JaneeEnv,
  type RunResult,
} from '../helpers/cli.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { callTool, leaksIn, startServe } from './mcp.js';

const SECRET = 'sk_live_ci_7f3a9b2c4d5e6f708192a3b4';
const log: string[] = [];

function record(r: RunResult): RunResult {
  log.push(r.stdout, r.stderr);
  return r;
}

let up: Upstream;
let env: JaneeEnv;

beforeAll(async () => {
  up = await startUpstream();
  env = await tempHome();
  // The recipe: init and add without a terminal, the passphrase from the environment.
  expect(record(await runJanee(['init', ...FAST], { env })).code).toBe(0);
  const add = record(
    await runJanee(['add', 'stripe', '--base-url', up.url, '--auth', 'bearer', '--key-stdin'], { env, input: `${SECRET}\n` }),
  );
  expect(add.code, add.stderr).toBe(0);
});

afterAll(async () => {
  await up?.close();
  await cleanupTempHomes();
});

describe('CI recipe (docs/ci.md)', () => {
  it('JANEE_PASSPHRASE: serve unlocks in-process and the MCP client gets a redacted answer', async () => {
    const list = record(await runJanee(['list'], { env }));
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/stripe .* secret: yes/);

    const s = await startServe(env, ['--agent', 'ci']);
    try {
      const services = await callTool(s, 'list_services');
      expect(services.isError).toBe(false);
      expect(services.text).toContain('"secretPresent":true');
      const r = await callTool(s, 'execute', { service: 'stripe', method: 'GET', path: '/echo-secret', reason: 'ci smoke test' });
      expect(r.isError, r.text).toBe(false);
      expect(r.text).toContain('[REDACTED:stripe]');
      const seen = up.requests.at(-1);
      expect(seen?.headers.authorization).toBe(`Bearer ${SECRET}`);
      log.push(r.text, JSON.stringify(r.structured), services.text);
    } finally {
      await s.close();
      log.push(s.stderr());
    }
  });

  it('JANEE_PASSPHRASE_FILE works the same, with no JANEE_PASSPHRASE at all', async () => {
    const file = path.join(scratchDir(env), 'passphrase');
    await fs.writeFile(file, `${env.JANEE_PASSPHRASE}\n`, { mode: 0o600 });
    const fenv = withEnv(env, { JANEE_PASSPHRASE: undefined, JANEE_PASSPHRASE_FILE: file });
    expect(record(await runJanee(['list'], { env: fenv })).stdout).toMatch(/secret: yes/);
    const s = await startServe(fenv);
    try {
      const r = await callTool(s, 'execute', { service: 'stripe', method: 'GET', path: '/echo' });
      expect(r.isError, r.text).toBe(false);
      expect(up.requests.at(-1)?.headers.authorization).toBe(`Bearer ${SECRET}`);
      log.push(r.text);
    } finally {
      await s.close();
      log.push(s.stderr());
    }
  });

  it('a wrong passphrase: every tool call is an error saying so; CLI commands exit 1', async () => {
    const bad = withEnv(env, { JANEE_PASSPHRASE: 'not the passphrase' });
    const s = await startServe(bad);
    const before = up.requests.length;
    try {
      const r = await callTool(s, 'execute', { service: 'stripe', method: 'GET', path: '/echo' });
      expect(r.isError).toBe(true);
      expect(r.text).toMatch(/wrong passphrase/);
      expect((await callTool(s, 'list_services')).isError).toBe(true);
      log.push(r.text);
    } finally {
      await s.close();
      log.push(s.stderr());
    }
    expect(up.requests.length).toBe(before);

    for (const args of [
      ['list'],
      ['bind', 'stripe', 'https://api.example.com'],
      ['export', '--age', path.join(scratchDir(env), 'x.age'), '--same-passphrase'],
    ]) {
      const r = record(await runJanee(args, { env: bad }));
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(/^janee: error: wrong passphrase$/m);
    }
    const add = record(
      await runJanee(['add', 'other', '--base-url', 'https://api.other.example', '--key-stdin'], { env: bad, input: 'x' }),
    );
    expect(add.code).toBe(1);
  });

  it('no passphrase and no terminal: a clear error and exit 1, never a hang; usage errors exit 2', async () => {
    const none = withEnv(env, { JANEE_PASSPHRASE: undefined });
    const r = record(await runJanee(['bind', 'stripe', 'https://api.example.com'], { env: none, timeoutMs: 10_000 }));
    expect(r.timedOut).toBe(false);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/janee: error: no passphrase/);
    const s = await startServe(none);
    try {
      const t = await callTool(s, 'execute', { service: 'stripe', method: 'GET', path: '/echo' });
      expect(t.isError).toBe(true);
      expect(t.text).toMatch(/vault is locked/);
    } finally {
      await s.close();
      log.push(s.stderr());
    }
    const usage = record(await runJanee(['bind', 'stripe'], { env }));
    expect(usage.code).toBe(2);
  });

  it('JANEE_PASSPHRASE never reaches a process janee spawns', async () => {
    // janee git setup runs git: put a git on PATH that records its environment first.
    const dir = scratchDir(env);
    const bin = path.join(dir, 'bin');
    await fs.mkdir(bin, { recursive: true });
    const realGit = ['/usr/bin/git', '/bin/git', '/usr/local/bin/git'].find((g) => existsSync(g)) ?? 'git';
    const envLog = path.join(dir, 'git-env.log');
    await fs.writeFile(path.join(bin, 'git'), `#!/bin/sh\nenv >> '${envLog}'\necho ---- >> '${envLog}'\nexec '${realGit}' "$@"\n`, {
      mode: 0o755,
    });
    const repo = path.join(dir, 'repo');
    await fs.mkdir(repo);
    const { spawnSync } = await import('node:child_process');
    spawnSync(realGit, ['init', '-q', repo]);
    const genv = withEnv(env, {
      PATH: `${bin}:${process.env.PATH ?? ''}`,
      JANEE_VAULT: path.join(repo, 'vault.janee'),
      JANEE_PASSPHRASE_FILE: undefined,
    });
    const r = record(await runJanee(['git', 'setup'], { env: genv, cwd: repo }));
    expect(r.code, r.stderr).toBe(0);
    const recorded = await fs.readFile(envLog, 'utf8');
    expect(recorded.split('----').filter((b) => b.trim()).length).toBeGreaterThanOrEqual(2); // rev-parse + config calls
    expect(recorded).toContain('JANEE_HOME='); // the rest of the environment is passed on
    expect(recorded).not.toContain('JANEE_PASSPHRASE=');
    expect(recorded).not.toContain(env.JANEE_PASSPHRASE);

    // The in-process serve path spawns nothing at all: no child of serve after a call.
    const s = await startServe(env);
    try {
      expect((await callTool(s, 'execute', { service: 'stripe', method: 'GET', path: '/echo' })).isError).toBe(false);
      if (s.pid && existsSync(`/proc/${s.pid}/task`)) {
        const kids = readdirSync(`/proc/${s.pid}/task`).flatMap((t) =>
          readFileSync(`/proc/${s.pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean),
        );
        expect(kids).toEqual([]);
      }
    } finally {
      await s.close();
      log.push(s.stderr());
    }
  });

  it('nothing secret in the CI log or in any file under JANEE_HOME', async () => {
    const all = log.join('\n');
    expect(all.length).toBeGreaterThan(500);
    expect(leaksIn(all, SECRET)).toEqual([]);
    const files = await snapshot(env.JANEE_HOME);
    expect([...files.keys()].some((f) => f.startsWith('audit/'))).toBe(true);
    for (const [name, bytes] of files) expect(leaksIn(bytes, SECRET), name).toEqual([]);
  });
});
