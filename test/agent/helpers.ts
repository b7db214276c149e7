/**
 * Helpers for the agent suites: homes (each vault gets its own socket in the
 * default /tmp/janee-<uid>/; XDG_RUNTIME_DIR and TMPDIR are set to private temp
 * dirs that janee must ignore), raw socket clients, and a sweep that kills every
 * agent these tests started (found by their --vault argument under our temp dirs).
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';
import { agentSocketPath } from '../../src/agent/socket-path.js';
import { cloneHome, initHome, runJanee, scratchDir, withEnv, type JaneeEnv, type RunResult } from '../helpers/cli.js';

export type AgentEnv = JaneeEnv & { XDG_RUNTIME_DIR: string };

const dirs = new Set<string>();

let base: Promise<JaneeEnv> | undefined;

/** A fresh initialised home (cloned: one scrypt for the whole file) with its own runtime dir. */
export async function agentHome(): Promise<AgentEnv> {
  base ??= initHome();
  const env = await cloneHome(await base);
  const run = path.join(scratchDir(env), 'run');
  await fsp.mkdir(run, { mode: 0o700 });
  dirs.add(scratchDir(env));
  const out = withEnv(env, {
    XDG_RUNTIME_DIR: run,
    TMPDIR: run,
    JANEE_AGENT_SOCK: undefined,
    JANEE_VAULT: undefined,
    JANEE_CONFIG: undefined,
  }) as AgentEnv;
  return out;
}

/**
 * The same home with its socket in a directory of its own (JANEE_AGENT_SOCK), for
 * tests that change the socket directory: /tmp/janee-<uid>/ is shared with every
 * other test running on this machine.
 */
export function ownSocketDir(env: AgentEnv): AgentEnv {
  return withEnv(env, { JANEE_AGENT_SOCK: path.join(scratchDir(env), 'own', 'agent.sock') });
}

export function vaultOf(env: JaneeEnv): string {
  return path.join(env.JANEE_HOME, 'vault.janee');
}

export function socketOf(env: AgentEnv): string {
  return agentSocketPath(vaultOf(env), env);
}

/** The env without any passphrase: what an MCP client gives serve. */
export function noPass(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return withEnv(env, { JANEE_PASSPHRASE: undefined, JANEE_PASSPHRASE_FILE: undefined });
}

export interface StatusJson {
  state: 'locked' | 'unlocked';
  pid: number | null;
  timeLeftSeconds: number | null;
  idleSecondsLeft: number | null;
  hardSecondsLeft: number | null;
  vault: string;
  socket: string;
  rollback: { onDisk: number; inMemory: number } | null;
  agent: null | {
    pid: number;
    state: string;
    lockedReason: string | null;
    idleTtlSeconds: number;
    maxTtlSeconds: number;
    secrets: number | null;
    generation: number | null;
  };
  problem: null | { code: string; message: string; hint?: string };
}

export async function status(env: NodeJS.ProcessEnv): Promise<StatusJson> {
  const r = await runJanee(['status', '--json'], { env: noPass(env) });
  if (r.code !== 0) throw new Error(`status failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as StatusJson;
}

export async function unlock(env: NodeJS.ProcessEnv, args: string[] = []): Promise<RunResult> {
  return runJanee(['unlock', ...args], { env });
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function waitFor(cond: () => boolean | Promise<boolean>, ms = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Pids of agent processes whose --vault is under `prefix`. */
export function agentPids(prefix: string): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let argv: string[];
    try {
      argv = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const i = argv.indexOf('--vault');
    const isAgent = argv.includes('agent');
    if (isAgent && i >= 0 && (argv[i + 1] ?? '').startsWith(prefix)) {
      // A zombie is already dead; skip it.
      try {
        const st = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
        if (/^\d+ \(.*\) Z /.test(st)) continue;
      } catch {
        continue;
      }
      out.push(Number(name));
    }
  }
  return out;
}

/** SIGKILL every agent started for any home made here (afterAll). */
export function killAllAgents(): void {
  for (const d of dirs) for (const pid of agentPids(d)) process.kill(pid, 'SIGKILL');
}

/** A raw line client on the agent socket. */
export interface RawClient {
  socket: net.Socket;
  send(obj: unknown): void;
  sendRaw(data: string | Buffer): void;
  next(timeoutMs?: number): Promise<Record<string, unknown>>;
  closed: Promise<void>;
  isClosed(): boolean;
}

export async function rawClient(sockPath: string): Promise<RawClient> {
  const socket = net.connect(sockPath);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  socket.on('error', () => undefined);
  const queue: Record<string, unknown>[] = [];
  const waiters: ((m: Record<string, unknown>) => void)[] = [];
  let buf = '';
  let isClosed = false;
  socket.on('data', (c: Buffer) => {
    buf += c.toString('utf8');
    for (;;) {
      const nl = buf.indexOf('\n');
      if (nl < 0) break;
      const msg = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
      buf = buf.slice(nl + 1);
      const w = waiters.shift();
      if (w) w(msg);
      else queue.push(msg);
    }
  });
  const closed = new Promise<void>((r) => socket.once('close', () => ((isClosed = true), r())));
  return {
    socket,
    send: (obj) => socket.write(`${JSON.stringify(obj)}\n`),
    sendRaw: (d) => socket.write(d),
    next: (timeoutMs = 5_000) =>
      new Promise((resolve, reject) => {
        const m = queue.shift();
        if (m) return resolve(m);
        const t = setTimeout(() => reject(new Error('no answer from the agent')), timeoutMs);
        waiters.push((msg) => {
          clearTimeout(t);
          resolve(msg);
        });
      }),
    closed,
    isClosed: () => isClosed,
  };
}

/** `janee add NAME --base-url URL --key-stdin` with the given env. */
export function addService(env: NodeJS.ProcessEnv, name: string, baseUrl: string, key: string, extra: string[] = []): Promise<RunResult> {
  return runJanee(['add', name, '--base-url', baseUrl, '--auth', 'bearer', '--key-stdin', ...extra], { env, input: key });
}
