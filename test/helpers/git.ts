/**
 * Several "machines" sharing one bare git repository, for the dotfiles tests: each
 * machine has its own HOME (so its own ~/.local/state/janee), agent directory and
 * JANEE_HOME inside its clone; all share one git config (identity, main branch,
 * merge on pull). Real git, real built CLI.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { expect } from 'vitest';
import { baseEnv, PASSPHRASE, runJanee, withEnv, type RunResult } from './cli.js';

export interface Machine {
  dir: string;
  env: NodeJS.ProcessEnv;
}

/** A temp root with a shared gitconfig and a bare `origin.git`; `names` get a HOME and a 0700 run dir. */
export async function gitWorld(
  prefix: string,
  names: readonly string[],
): Promise<{ root: string; machine: (name: string, extra?: Record<string, string>) => Machine }> {
  const root = await fs.realpath(await fs.mkdtemp(path.join(tmpdir(), prefix)));
  await fs.writeFile(
    path.join(root, 'gitconfig'),
    '[user]\n\tname = Test\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n[pull]\n\trebase = false\n',
  );
  for (const m of names) {
    await fs.mkdir(path.join(root, `home-${m}`));
    await fs.mkdir(path.join(root, `run-${m}`), { mode: 0o700 });
  }
  const machine = (name: string, extra: Record<string, string> = {}): Machine => {
    const dir = path.join(root, name);
    return {
      dir,
      env: withEnv(baseEnv(), {
        HOME: path.join(root, `home-${name}`),
        XDG_STATE_HOME: undefined,
        XDG_RUNTIME_DIR: path.join(root, `run-${name}`),
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: path.join(root, 'gitconfig'),
        GIT_TERMINAL_PROMPT: '0',
        JANEE_HOME: path.join(dir, 'janee'),
        JANEE_PASSPHRASE: PASSPHRASE,
        ...extra,
      }),
    };
  };
  const top: Machine = { dir: root, env: machine(names[0] ?? 'a').env };
  ok(top, ['init', '-q', '--bare', 'origin.git']);
  return { root, machine };
}

export function git(c: Machine, args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync('git', args, { cwd: c.dir, env: c.env, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** git that must succeed; its stdout, trimmed. */
export function ok(c: Machine, args: string[]): string {
  const r = git(c, args);
  expect(r.code, `git ${args.join(' ')}\n${r.err}`).toBe(0);
  return r.out.trim();
}

export function janee(c: Machine, args: string[], input?: string): Promise<RunResult> {
  return runJanee(args, { env: c.env, cwd: c.dir, ...(input === undefined ? {} : { input }), timeoutMs: 30_000 });
}

/** janee that must succeed. */
export async function must(c: Machine, args: string[], input?: string): Promise<RunResult> {
  const r = await janee(c, args, input);
  expect(r.code, `janee ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r;
}
