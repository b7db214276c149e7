/**
 * Which process listens on the agent socket (Linux only, through /proc).
 *
 * Before `janee add` or `janee rekey` send secret material to an unlocked agent,
 * the CLI checks that the pid the agent reported is a live, running (not
 * stopped) `janee agent` process for this socket that holds the one listening
 * socket bound at this path:
 *   - /proc/net/unix lists listening sockets (flag __SO_ACCEPTCON) with the path
 *     they were bound to and their inode; exactly one may carry our path;
 *   - /proc/<pid>/fd of the reported pid must hold that inode ("socket:[inode]");
 *   - /proc/<pid>/cmdline must be `… agent … --socket <path>`.
 * A relay that binds our path after moving the real socket aside makes two
 * listeners with that path (refused); one bound elsewhere and renamed into place
 * is not held by the reported pid, or the real agent (which watches its socket's
 * directory and stops when its socket is moved or replaced) is gone.
 * Elsewhere (macOS) there is no /proc: the check says so and the caller goes on.
 */
import * as fsp from 'node:fs/promises';
import { JaneeError } from '../errors.js';

const ACCEPTCON = 0x10000;

export type PeerCheck = 'checked' | 'unavailable';

function refused(socketPath: string, why: string): JaneeError {
  return new JaneeError('AGENT_NOT_VERIFIED', `not sending anything secret to the agent at ${socketPath}: ${why}`, 'something else may be listening at the agent socket: run `janee lock`, check the processes of your user, then `janee unlock`');
}

/** Inodes of the listening Unix sockets bound to `socketPath`. */
export function listenersAt(procNetUnix: string, socketPath: string): string[] {
  const out: string[] = [];
  for (const line of procNetUnix.split('\n').slice(1)) {
    // Num RefCount Protocol Flags Type St Inode Path (the path may contain spaces)
    const m = /^\s*\S+:\s+\S+\s+\S+\s+([0-9A-Fa-f]+)\s+\S+\s+\S+\s+(\d+)(?: (.*))?$/.exec(line);
    if (!m || m[3] !== socketPath) continue;
    if ((parseInt(m[1] as string, 16) & ACCEPTCON) !== 0) out.push(m[2] as string);
  }
  return out;
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
  let cmdline: string[];
  let stat: string;
  try {
    cmdline = (await fsp.readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    stat = await fsp.readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    throw refused(socketPath, `the process it named (pid ${pid}) does not exist or is not yours`);
  }
  const state = /\) (\S) /.exec(stat)?.[1];
  if (state === undefined || 'TtZXx'.includes(state)) throw refused(socketPath, `the process it named (pid ${pid}) is stopped or dead`);
  const s = cmdline.indexOf('--socket');
  if (!cmdline.includes('agent') || s < 0 || cmdline[s + 1] !== socketPath) throw refused(socketPath, `the process it named (pid ${pid}) is not the janee agent for that socket`);
  const want = `socket:[${inodes[0]}]`;
  let fds: string[];
  try {
    fds = await fsp.readdir(`/proc/${pid}/fd`);
  } catch {
    throw refused(socketPath, `cannot read the open files of pid ${pid}`);
  }
  for (const fd of fds) {
    const target = await fsp.readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    if (target === want) return 'checked';
  }
  throw refused(socketPath, `the socket listening there is not held by the process it named (pid ${pid})`);
}
