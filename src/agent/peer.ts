/**
 * Which process listens on the agent socket (Linux only, through /proc).
 *
 * Before `janee add` or `janee rekey` send secret material to an unlocked agent,
 * the CLI checks that the pid the agent reported is a live, running (not
 * stopped) janee agent for this socket, started the way `janee unlock` starts
 * it, that holds the one listening socket bound at this path:
 *   - /proc/net/unix lists listening sockets (flag __SO_ACCEPTCON) with the path
 *     they were bound to and their inode; exactly one may carry our path;
 *   - /proc/<pid>/status: real, effective, saved and fs uid are ours;
 *   - /proc/<pid>/exe is the node binary running this CLI (same device and inode
 *     as process.execPath): kept by the kernel, the process cannot change it;
 *   - /proc/<pid>/cmdline is exactly what launch.ts spawns: node, this CLI's own
 *     script (process.argv[1], which unlock's agentEntry() also uses; same device
 *     and inode), `agent --vault <v> --socket <path> --ready-fd 3`; nothing
 *     between node and the script, so no --require, --import, --inspect, -e;
 *   - /proc/<pid>/environ: NODE_OPTIONS carries no option that loads or runs
 *     code (--require, --import, --loader, --inspect, …), no LD_PRELOAD/LD_AUDIT
 *     (launch.ts removes all of these from the agent's environment);
 *   - /proc/<pid>/fd of the reported pid holds that inode ("socket:[inode]").
 * A relay that binds our path after moving the real socket aside makes two
 * listeners with that path (refused); one bound elsewhere and renamed into place
 * is not held by the reported pid, or the real agent (which watches its socket's
 * directory and stops when its socket is moved or replaced) is gone.
 *
 * What this does NOT stop (a process running as the same user can):
 *   - rewrite its own cmdline and environ: both are read from the process's own
 *     memory, which it may always write (/proc/self/mem needs no ptrace right
 *     over itself), so a script run by the same node binary can pose as
 *     `node <janee> agent …` exactly; about ten lines of JavaScript (tried: it
 *     passes this check and gets `janee add`'s secret). Only exe, the uids and
 *     the socket inode are the kernel's word;
 *   - ptrace the real agent (read its key and secrets, make it do anything), or
 *     read its memory through /proc/<pid>/mem, unless kernel.yama.ptrace_scope
 *     is 1 or more (no Yama at all: nothing stops it);
 *   - replace janee's script or the node binary on disk (if it may write them),
 *     or steer them through LD_LIBRARY_PATH, OPENSSL_CONF, PATH.
 * So the check turns away any program that merely names itself agent (another
 * language, another node script, node with --require/--import/--inspect or such
 * NODE_OPTIONS, LD_PRELOAD), but not code written to forge janee's agent or to
 * modify or debug janee. It is not an authentication: only a proof of the
 * vault's key (agent/proof.ts, when the caller has the key) holds against that.
 * Elsewhere (macOS) there is no /proc: no check at all; the caller goes on.
 */
import type * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { JaneeError } from '../errors.js';

const ACCEPTCON = 0x10000;

type PeerCheck = 'checked' | 'unavailable';

function refused(socketPath: string, why: string): JaneeError {
  return new JaneeError(
    'AGENT_NOT_VERIFIED',
    `not sending anything secret to the agent at ${socketPath}: ${why}`,
    'something else may be listening at the agent socket: run `janee lock`, check the processes of your user, then `janee unlock`',
  );
}

/** Inodes of the listening Unix sockets bound to `socketPath`. */
function listenersAt(procNetUnix: string, socketPath: string): string[] {
  const out: string[] = [];
  for (const line of procNetUnix.split('\n').slice(1)) {
    // Num RefCount Protocol Flags Type St Inode Path (the path may contain spaces)
    const m = /^\s*\S+:\s+\S+\s+\S+\s+([0-9A-Fa-f]+)\s+\S+\s+\S+\s+(\d+)(?: (.*))?$/.exec(line);
    if (!m || m[3] !== socketPath) continue;
    if ((parseInt(m[1] as string, 16) & ACCEPTCON) !== 0) out.push(m[2] as string);
  }
  return out;
}

/** Options in NODE_OPTIONS that load or run code, or open a debugger. */
const CODE_OPTION =
  /^(-r|--require|--import|--loader|--experimental-loader|--inspect[\w-]*|--debug[\w-]*|--experimental-policy|--openssl-config|--env-file)(?![\w-])/;

/** Variables that make the dynamic loader load a library into the process. */
const PRELOAD_ENV: readonly string[] = ['LD_PRELOAD', 'LD_AUDIT'];

/**
 * Why `cmdline` (/proc/<pid>/cmdline split at NUL, the final empty string
 * dropped) is not `<node> <script> agent --vault <v> --socket <path> --ready-fd 3`
 * as launch.ts spawns it; `sameScript` tells whether a path is this CLI's script.
 * undefined: it is.
 */
export function cmdlineProblem(cmdline: readonly string[], socketPath: string, sameScript: (p: string) => boolean): string | undefined {
  const [, script, ...rest] = cmdline;
  if (script === undefined || script.startsWith('-')) return `it was started with node options before the script (${script ?? 'none'})`;
  if (!script.startsWith('/') || !sameScript(script)) return 'it runs another script than this janee';
  const want = ['agent', '--vault', rest[2] ?? '', '--socket', socketPath, '--ready-fd', '3'];
  if (rest.length !== want.length || rest.some((a, k) => a !== want[k]) || !rest[2])
    return 'its arguments are not those of the janee agent for that socket';
  return undefined;
}

/** Why an environment (/proc/<pid>/environ entries) could have run other code in the agent; undefined: it could not. */
export function environProblem(environ: readonly string[]): string | undefined {
  for (const kv of environ) {
    const eq = kv.indexOf('=');
    const name = eq < 0 ? kv : kv.slice(0, eq);
    if (PRELOAD_ENV.includes(name)) return `its environment sets ${name}`;
    if (name !== 'NODE_OPTIONS') continue;
    const bad = kv
      .slice(eq + 1)
      .split(/\s+/)
      .map((t) => t.replace(/^["']/, ''))
      .find((t) => CODE_OPTION.test(t));
    if (bad !== undefined) return `its NODE_OPTIONS has ${bad.replace(/=.*$/, '')}`;
  }
  return undefined;
}

/**
 * The agent's environment as launch.ts passes it: none of what environProblem refuses,
 * and no agent token from the shell that unlocked (every program exec runs through the
 * agent can read the agent's /proc/<pid>/environ, whatever its own token's scope).
 */
export function agentEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const k of [...PRELOAD_ENV, 'NODE_OPTIONS', 'JANEE_AGENT_TOKEN']) delete out[k];
  return out;
}

function sameFile(a: fs.Stats, b: fs.Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

export async function checkAgentPeer(socketPath: string, pid: number): Promise<PeerCheck> {
  if (process.platform !== 'linux') return 'unavailable';
  let table: string;
  try {
    table = await fsp.readFile('/proc/net/unix', 'utf8');
  } catch {
    return 'unavailable';
  }
  if (!Number.isSafeInteger(pid) || pid <= 1) throw refused(socketPath, 'it reported no valid pid');
  const inodes = listenersAt(table, socketPath);
  if (inodes.length === 0) throw refused(socketPath, 'no listening socket is bound at that path');
  if (inodes.length > 1) throw refused(socketPath, `${inodes.length} listening sockets were bound at that path (one was moved aside)`);
  const proc = `/proc/${pid}`;
  const named = `the process it named (pid ${pid})`;
  let cmdline: string[];
  let stat: string;
  let status: string;
  let environ: string[];
  try {
    cmdline = (await fsp.readFile(`${proc}/cmdline`, 'utf8')).split('\0');
    stat = await fsp.readFile(`${proc}/stat`, 'utf8');
    status = await fsp.readFile(`${proc}/status`, 'utf8');
    environ = (await fsp.readFile(`${proc}/environ`, 'utf8')).split('\0');
  } catch {
    throw refused(socketPath, `${named} does not exist or is not yours`);
  }
  const state = /\) (\S) /.exec(stat)?.[1];
  if (state === undefined || 'TtZXx'.includes(state)) throw refused(socketPath, `${named} is stopped or dead`);
  const uids = /^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(status);
  const me = String(process.getuid?.());
  if (!uids || uids.slice(1).some((u) => u !== me)) throw refused(socketPath, `${named} does not run as your user`);
  // The binary: the kernel's link, not argv[0] (which the process chose).
  let exe: fs.Stats;
  try {
    exe = await fsp.stat(`${proc}/exe`);
  } catch {
    throw refused(socketPath, `cannot tell which program ${named} runs`);
  }
  if (!sameFile(exe, await fsp.stat(process.execPath))) throw refused(socketPath, `${named} does not run this node (${process.execPath})`);
  if (cmdline[cmdline.length - 1] === '') cmdline.pop();
  const script = process.argv[1];
  const ours = script ? await fsp.stat(script).catch(() => undefined) : undefined;
  const theirs = cmdline[1]?.startsWith('/') ? await fsp.stat(cmdline[1]).catch(() => undefined) : undefined;
  const why =
    cmdlineProblem(cmdline, socketPath, () => ours !== undefined && theirs !== undefined && sameFile(ours, theirs)) ??
    environProblem(environ);
  if (why !== undefined) throw refused(socketPath, `${named} is not the janee agent started by \`janee unlock\`: ${why}`);
  const want = `socket:[${inodes[0]}]`;
  let fds: string[];
  try {
    fds = await fsp.readdir(`${proc}/fd`);
  } catch {
    throw refused(socketPath, `cannot read the open files of pid ${pid}`);
  }
  for (const fd of fds) {
    const target = await fsp.readlink(`${proc}/fd/${fd}`).catch(() => '');
    if (target === want) return 'checked';
  }
  throw refused(socketPath, `the socket listening there is not held by ${named}`);
}
