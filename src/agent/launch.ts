/**
 * Starting the agent process (for `janee unlock`) and handing it the key.
 *
 * The agent is `node <janee cli> agent --vault … --socket … --ready-fd 3` (the
 * hidden `janee agent` command), detached
 * (its own session, no terminal), stdin closed, stdout/stderr appended to a log
 * file next to the socket (0600), and an environment without any passphrase
 * variable. It reports on fd 3 — one JSON line: {"ready":true,"pid":N},
 * {"exists":true,"pid":N} (another agent won the race for the socket) or
 * {"error":{code,message,hint}} — and closes it. The key is never in argv or the
 * environment: the CLI sends it over the socket afterwards (`unlock`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { JaneeError } from '../errors.js';
import { agentLogPath } from './socket-path.js';
import { childEnv } from '../util/env.js';

export type StartReport = { ready: true; pid: number } | { exists: true; pid: number | null } | { error: { code: string; message: string; hint?: string } };

export interface SpawnOptions {
  /** How to run `janee agent`: node arguments before it, e.g. [dist/cli/main.js, 'agent']. */
  entry: string[];
  vaultFile: string;
  socketPath: string;
  /** Environment for the agent (passphrase variables are removed here anyway). */
  env: NodeJS.ProcessEnv;
}

export interface SpawnedAgent {
  pid: number;
  /** The agent's report; rejects if it exits or says nothing within the timeout. */
  started: Promise<StartReport>;
  /** SIGTERM the agent we started and wait (≤ 5 s) for it to exit. */
  stop(): Promise<void>;
}

const MAX_LOG_BYTES = 1024 * 1024;
const START_TIMEOUT_MS = 15_000;


function openLog(socketPath: string): number | 'ignore' {
  const file = agentLogPath(socketPath);
  try {
    const st = fs.lstatSync(file);
    if (!st.isFile()) return 'ignore';
    if (st.size > MAX_LOG_BYTES) fs.truncateSync(file, 0);
  } catch {
    /* new log */
  }
  try {
    return fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600);
  } catch {
    return 'ignore';
  }
}

export function spawnAgent(opts: SpawnOptions): SpawnedAgent {
  const log = openLog(opts.socketPath);
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [...opts.entry, '--vault', opts.vaultFile, '--socket', opts.socketPath, '--ready-fd', '3'], {
      detached: true,
      stdio: ['ignore', log, log, 'pipe'],
      env: childEnv(opts.env),
      cwd: '/',
    });
  } finally {
    if (typeof log === 'number') fs.closeSync(log);
  }
  let exited = child.exitCode !== null || child.signalCode !== null;
  const exitedP = new Promise<void>((resolve) => {
    if (exited) resolve();
    child.once('exit', () => {
      exited = true;
      resolve();
    });
  });
  const started = new Promise<StartReport>((resolve, reject) => {
    const pipe = child.stdio[3] as NodeJS.ReadableStream | null | undefined;
    let buf = '';
    let done = false;
    const finish = (r: StartReport | JaneeError) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      (pipe as { destroy?: () => void } | null | undefined)?.destroy?.();
      if (r instanceof JaneeError) reject(r);
      else resolve(r);
    };
    const timer = setTimeout(() => finish(new JaneeError('AGENT_START', 'the agent did not start within 15s', `see its log: ${agentLogPath(opts.socketPath)}`)), START_TIMEOUT_MS);
    child.once('error', () => finish(new JaneeError('AGENT_START', 'could not start the agent process', 'check that node can run janee')));
    let pipeEnded = !pipe;
    let onPipeEnd: (() => void) | undefined;
    child.once('exit', (code, signal) => {
      // The report may still be in the pipe: read it to its end first.
      const fail = () => finish(new JaneeError('AGENT_START', `the agent exited while starting (${signal ?? `exit ${code}`})`, `see its log: ${agentLogPath(opts.socketPath)}`));
      if (pipeEnded) fail();
      else {
        onPipeEnd = fail;
        setTimeout(fail, 1_000).unref();
      }
    });
    pipe?.on('error', () => undefined);
    pipe?.on('close', () => {
      pipeEnded = true;
      onPipeEnd?.();
    });
    pipe?.on('data', (c: Buffer) => {
      buf += c.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      try {
        finish(JSON.parse(buf.slice(0, nl)) as StartReport);
      } catch {
        finish(new JaneeError('AGENT_START', 'the agent sent a malformed start report', `see its log: ${agentLogPath(opts.socketPath)}`));
      }
    });
  });
  started.catch(() => undefined);
  // Once started, the agent lives on its own: do not keep this process alive for it.
  void started.then(
    () => child.unref(),
    () => child.unref(),
  );
  return {
    pid: child.pid ?? -1,
    started,
    stop: async () => {
      if (exited) return;
      child.ref(); // keep this process alive until the agent is gone
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exitedP, new Promise((r) => (timer = setTimeout(r, 5_000)))]);
      clearTimeout(timer);
      if (!exited) child.kill('SIGKILL');
    },
  };
}
