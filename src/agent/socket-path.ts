/**
 * Where the agent's Unix socket lives, and the checks that make it safe to use.
 *
 *   $JANEE_AGENT_SOCK, else /tmp/janee-<uid>/<id>.sock
 *
 * The default depends only on the uid and the vault path: MCP clients start
 * `janee serve` with a filtered environment (HOME, PATH, USER, … and the client
 * config's own `env`), without XDG_RUNTIME_DIR or TMPDIR, so a location derived
 * from those would differ between the `janee unlock` terminal and serve.
 * (os.tmpdir() reads TMPDIR: not used.)
 *
 * `<id>` = first 12 hex chars of sha256(real path of the vault file): one agent
 * per vault. The socket's directory must be a real directory (not a symlink),
 * owned by us, with no group/other permissions; the socket must be a socket owned
 * by us with no group/other permissions. Anything else is refused — we never
 * hand a key to, or take answers from, a socket someone else could have planted.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { JaneeError } from '../errors.js';
import { vaultId } from '../vault/id.js';

/** Fixed, not os.tmpdir(): see the header. */
const DEFAULT_SOCKET_ROOT = '/tmp';

/** sun_path is 108 bytes on Linux, 104 on macOS; leave room for the NUL. */
const MAX_SOCKET_PATH = 103;

export function myUid(): number {
  return typeof process.getuid === 'function' ? process.getuid() : -1;
}

export { realVaultPath, vaultId } from '../vault/id.js';

export function agentSocketPath(vaultFile: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env.JANEE_AGENT_SOCK) return path.resolve(env.JANEE_AGENT_SOCK);
  return path.join(DEFAULT_SOCKET_ROOT, `janee-${myUid()}`, `${vaultId(vaultFile)}.sock`);
}

/**
 * Where janee before protocol 2 put the socket ($XDG_RUNTIME_DIR/janee/, else
 * $TMPDIR/janee-<uid>/), for a hint when no agent answers at the path used now.
 */
export function legacySocketPaths(vaultFile: string, env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.JANEE_AGENT_SOCK) return [];
  const id = vaultId(vaultFile);
  const out: string[] = [];
  if (env.XDG_RUNTIME_DIR && path.isAbsolute(env.XDG_RUNTIME_DIR)) out.push(path.join(env.XDG_RUNTIME_DIR, 'janee', `${id}.sock`));
  if (env.TMPDIR && path.isAbsolute(env.TMPDIR)) out.push(path.join(env.TMPDIR, `janee-${myUid()}`, `${id}.sock`));
  return out.filter((p) => {
    try {
      return fs.lstatSync(p).isSocket();
    } catch {
      return false;
    }
  });
}

/** The agent's log file: next to its socket (never holds secrets). */
export function agentLogPath(socketPath: string): string {
  return socketPath.replace(/\.sock$/, '') + '.log';
}

function unsafeDir(dir: string, why: string, hint: string): JaneeError {
  return new JaneeError('AGENT_UNSAFE_DIR', `refusing the agent socket directory ${dir}: ${why}`, hint);
}

/**
 * Checks (and with `create`, first creates 0700) the socket's directory.
 * Returns false when it does not exist and `create` is false (so: no agent).
 */
export async function checkSocketDir(socketPath: string, opts: { create: boolean }): Promise<boolean> {
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
    throw new JaneeError(
      'AGENT_SOCKET_PATH',
      `the agent socket path is too long for a Unix socket (${Buffer.byteLength(socketPath)} bytes): ${socketPath}`,
      'set JANEE_AGENT_SOCK to a shorter path (in a directory only you can use)',
    );
  }
  const dir = path.dirname(socketPath);
  if (opts.create) {
    try {
      // Only the last component is ours to create; its parent must exist.
      await fsp.mkdir(dir, { mode: 0o700 });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') {
        throw new JaneeError(
          'AGENT_SOCKET_DIR',
          `cannot create the agent socket directory ${dir} (${code ?? 'error'})`,
          'check that its parent directory exists and is writable, or set JANEE_AGENT_SOCK',
        );
      }
    }
  }
  let st: fs.Stats;
  try {
    st = await fsp.lstat(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !opts.create) return false;
    throw new JaneeError(
      'AGENT_SOCKET_DIR',
      `cannot check the agent socket directory ${dir} (${code ?? 'error'})`,
      'check its permissions, or set JANEE_AGENT_SOCK',
    );
  }
  const uid = myUid();
  if (st.isSymbolicLink()) throw unsafeDir(dir, 'it is a symbolic link', `remove it (rm ${dir}) and run the command again`);
  if (!st.isDirectory()) throw unsafeDir(dir, 'it is not a directory', `remove it (rm ${dir}) and run the command again`);
  if (uid >= 0 && st.uid !== uid)
    throw unsafeDir(
      dir,
      `it is owned by uid ${st.uid}, not by you (uid ${uid})`,
      `someone else created it: remove it (as its owner or root) and run the command again, or set JANEE_AGENT_SOCK to a directory of yours`,
    );
  if ((st.mode & 0o077) !== 0) {
    const shared = (st.mode & 0o1000) !== 0; // sticky: a shared directory such as /tmp
    throw unsafeDir(
      dir,
      `its permissions are ${(st.mode & 0o7777).toString(8).padStart(4, '0')}, not 0700`,
      shared
        ? 'put the socket in a directory only you can use: e.g. `mkdir -m 700 ~/.janee-run` and set JANEE_AGENT_SOCK=~/.janee-run/agent.sock'
        : `run \`chmod 700 ${dir}\` (or remove it) and run the command again`,
    );
  }
  return true;
}

type SocketFileState = 'missing' | 'socket';

/**
 * lstat the socket file: missing, or a socket we own with no group/other bits.
 * Anything else (another owner, a regular file, a symlink) is refused.
 */
export async function checkSocketFile(socketPath: string): Promise<SocketFileState> {
  let st: fs.Stats;
  try {
    st = await fsp.lstat(socketPath);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
    throw new JaneeError(
      'AGENT_UNSAFE_SOCKET',
      `cannot check the agent socket ${socketPath} (${code ?? 'error'})`,
      'check the permissions of its directory',
    );
  }
  const uid = myUid();
  if (!st.isSocket()) {
    throw new JaneeError(
      'AGENT_UNSAFE_SOCKET',
      `refusing ${socketPath}: it is not a socket`,
      `remove it (rm ${socketPath}) and run \`janee unlock\` again`,
    );
  }
  if (uid >= 0 && st.uid !== uid) {
    throw new JaneeError(
      'AGENT_UNSAFE_SOCKET',
      `refusing the agent socket ${socketPath}: it is owned by uid ${st.uid}, not by you (uid ${uid})`,
      'another user may be impersonating the agent: remove the socket (as its owner or root) and run `janee unlock` again',
    );
  }
  if ((st.mode & 0o077) !== 0) {
    throw new JaneeError(
      'AGENT_UNSAFE_SOCKET',
      `refusing the agent socket ${socketPath}: its permissions are ${(st.mode & 0o777).toString(8).padStart(4, '0')}, not 0600`,
      `remove it (rm ${socketPath}) and run \`janee unlock\` again`,
    );
  }
  return 'socket';
}
