/**
 * Runs one program for `exec`: no shell (argv only), an environment made only of
 * what the caller gives, stdin closed unless given, its own process group (killed
 * whole on timeout, and after the program exits, so a child it left behind does
 * not live on with the key in its environment), and stdout/stderr read under a
 * cap: what is over it is read and dropped, so the program is never blocked on a
 * full pipe, and `truncated` says so.
 *
 * Not covered: a descendant that leaves the process group (setsid, a double fork
 * into a new session) is not killed; docs/exec.md says so.
 *
 * The groups of the programs running now are kept here, so that none outlives
 * janee: its stop paths (serve's stdio close and --http drain, the agent's stop)
 * call killRunning(), and so does a process 'exit' hook. A program left behind
 * would keep the key in its environment, run past its timeout, out of reach of
 * the kill switch and of the audit log.
 */
import type { CancelSignal } from '../gate/cancel.js';
import { spawn } from 'node:child_process';

export interface RunSpec {
  file: string;
  args: readonly string[];
  cwd: string;
  env: Record<string, string>;
  stdin?: string | undefined;
  timeoutMs: number;
  /** Cap for each of stdout and stderr. */
  maxOutputBytes: number;
  /** How long SIGTERM is given before SIGKILL on timeout (and on cancellation). */
  graceMs?: number;
  /** The client cancelled the call: end the program as on timeout (`cancelled` in the result). */
  signal?: CancelSignal | undefined;
}

export interface RunResult {
  /** null when the program was ended by a signal. */
  exitCode: number | null;
  signal: string | null;
  stdout: Buffer;
  stderr: Buffer;
  truncated: boolean;
  timedOut: boolean;
  /** Ended because the client cancelled the call. */
  cancelled: boolean;
  durationMs: number;
  /** The process group id (the program's pid), for tests that check it is gone. */
  pid: number | undefined;
}

/** After the program exits, how long its output pipes may stay open (held by a child being killed). */
const DRAIN_MS = 2_000;

class Capped {
  readonly #parts: Buffer[] = [];
  #size = 0;
  truncated = false;
  constructor(private readonly max: number) {}
  push(b: Buffer): void {
    const room = this.max - this.#size;
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    const take = b.length > room ? b.subarray(0, room) : b;
    if (take.length < b.length) this.truncated = true;
    this.#parts.push(Buffer.from(take));
    this.#size += take.length;
  }
  bytes(): Buffer {
    return Buffer.concat(this.#parts);
  }
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    /* ESRCH: the group is gone */
  }
}

/** Process groups of the programs started and not yet finished. */
const groups = new Set<number>();
let exitHooked = false;

/** SIGKILLs the process group of every program still running; synchronous (safe in an 'exit' hook). */
export function killRunning(): number {
  for (const pid of groups) killGroup(pid, 'SIGKILL');
  return groups.size;
}

/** Resolves once no program is running, or after `ms` (after killRunning: their calls get to write their audit lines). */
export async function whenNoneRunning(ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (groups.size > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

/** Rejects only when the program cannot be started (spawn error: ENOENT, EACCES, bad cwd). */
export function runProgram(spec: RunSpec): Promise<RunResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(spec.file, [...spec.args], {
      cwd: spec.cwd,
      env: spec.env,
      shell: false,
      detached: true, // its own process group, killed as one
      stdio: [spec.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      windowsHide: true,
    });
    const pid = child.pid;
    if (pid !== undefined) {
      groups.add(pid);
      if (!exitHooked) {
        exitHooked = true;
        process.on('exit', killRunning);
      }
    }
    const out = new Capped(spec.maxOutputBytes);
    const err = new Capped(spec.maxOutputBytes);
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    let timedOut = false;
    let cancelled = false;
    let exit: { code: number | null; signal: string | null } | undefined;
    let settled = false;
    let killTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;

    const stop = (): void => {
      if (killTimer !== undefined) return; // already stopping
      killGroup(pid, 'SIGTERM');
      killTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), spec.graceMs ?? 2_000);
      killTimer.unref();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, spec.timeoutMs);
    const onCancel = (): void => {
      if (exit !== undefined) return; // it has ended: its run stands
      cancelled = true;
      stop();
    };
    spec.signal?.addEventListener('abort', onCancel, { once: true });
    if (spec.signal?.aborted === true) onCancel();

    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(killTimer);
      clearTimeout(drainTimer);
      spec.signal?.removeEventListener('abort', onCancel);
      killGroup(pid, 'SIGKILL'); // whatever it left behind in its group
      if (pid !== undefined) groups.delete(pid);
      child.stdout?.destroy();
      child.stderr?.destroy();
      resolve({
        exitCode: exit?.code ?? null,
        signal: exit?.signal ?? null,
        stdout: out.bytes(),
        stderr: err.bytes(),
        truncated: out.truncated || err.truncated,
        timedOut,
        cancelled,
        durationMs: Math.round((performance.now() - started) * 10) / 10,
        pid,
      });
    };

    child.on('error', (e) => {
      if (pid === undefined || exit === undefined) {
        settled = true;
        clearTimeout(timer);
        spec.signal?.removeEventListener('abort', onCancel);
        killGroup(pid, 'SIGKILL');
        if (pid !== undefined) groups.delete(pid);
        reject(e);
      }
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      // The program is gone; a child of it may still hold the pipes open: end the
      // group now, and stop waiting for the pipes after DRAIN_MS whatever happens.
      killGroup(pid, 'SIGKILL');
      drainTimer = setTimeout(finish, DRAIN_MS);
    });
    child.on('close', () => finish());

    if (child.stdin) {
      child.stdin.on('error', () => undefined); // EPIPE: the program did not read it all
      child.stdin.end(spec.stdin);
    }
  });
}
