/**
 * Starting the agent process (for `janee unlock`) and handing it the key.
 *
 * The agent is `node <janee cli> agent --vault … --socket … --ready-fd 3` (the
 * hidden `janee agent` command), detached
 * (its own session, no terminal), stdin closed, stdout/stderr appended to a log
 * file next to the socket (0600), and an environment without any passphrase
 * variable, NODE_OPTIONS, LD_PRELOAD or LD_AUDIT (peer.ts refuses an agent
 * whose environment could have loaded other code). fd 3 is the start pipe (a socketpair; run.ts documents its lines):
 * the agent reports {"ready":true,"pid":N}, {"exists":true,"pid":N} (another
 * agent won the race for the socket) or {"error":{code,message,hint}}; after
 * "ready" handKey() writes the file key into it and reads the agent's answer.
 * The key is never in argv, the environment, or on the agent's socket.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import type { Duplex } from 'node:stream';
import { isCode, JaneeError } from '../errors.js';
import { agentLogPath } from './socket-path.js';
import { childEnv } from '../util/env.js';
import { agentEnv } from './peer.js';

type StartReport =
  { ready: true; pid: number } | { exists: true; pid: number | null } | { error: { code: string; message: string; hint?: string } };

export interface HandKeyResult {
  already: boolean;
  pid: number;
  idleTtlMs: number;
  maxTtlMs: number;
}

interface SpawnOptions {
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
  /** After a "ready" report: sends the key over the start pipe; resolves with the agent's answer. */
  handKey(key: Uint8Array, ttlMs: number, maxTtlMs: number): Promise<HandKeyResult>;
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
      env: agentEnv(childEnv(opts.env)),
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
  const pipe = child.stdio[3] as Duplex | null | undefined;
  const logHint = `see its log: ${agentLogPath(opts.socketPath)}`;
  // Lines from the agent, in order; `next` waits for the next one (or the end).
  const lines: string[] = [];
  let ended = !pipe;
  let wake: (() => void) | undefined;
  let buf = '';
  pipe?.on('error', () => undefined);
  pipe?.on('data', (c: Buffer) => {
    buf += c.toString('utf8');
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      lines.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
    if (buf.length > 64 * 1024) pipe.destroy();
    wake?.();
  });
  pipe?.on('close', () => {
    ended = true;
    wake?.();
  });
  child.once('exit', () => {
    // The last line may still be in the pipe: give it a moment to arrive.
    setTimeout(() => {
      ended = true;
      wake?.();
    }, 1_000).unref();
  });
  const next = (what: string, timeoutMs: number): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => done(new JaneeError('AGENT_START', `the agent did not ${what} within ${timeoutMs / 1000}s`, logHint)),
        timeoutMs,
      );
      const done = (r: Record<string, unknown> | JaneeError) => {
        clearTimeout(timer);
        wake = undefined;
        if (r instanceof JaneeError) reject(r);
        else resolve(r);
      };
      const check = () => {
        const line = lines.shift();
        if (line !== undefined) {
          try {
            const msg = JSON.parse(line) as unknown;
            if (typeof msg === 'object' && msg !== null) return done(msg as Record<string, unknown>);
          } catch {
            /* below */
          }
          return done(new JaneeError('AGENT_START', 'the agent sent a malformed start report', logHint));
        }
        if (ended) {
          const how = child.exitCode !== null || child.signalCode !== null ? ` (${child.signalCode ?? `exit ${child.exitCode}`})` : '';
          done(
            new JaneeError(
              'AGENT_START',
              `the agent ${exited ? 'exited' : 'closed its start pipe'} before it would ${what}${how}`,
              logHint,
            ),
          );
        }
      };
      wake = check;
      check();
    });
  child.once('error', () => {
    ended = true;
    wake?.();
  });
  const started = next('start', START_TIMEOUT_MS) as Promise<StartReport>;
  started.catch(() => undefined);
  // Once started, the agent lives on its own: do not keep this process alive for it.
  void started.then(
    () => child.unref(),
    () => child.unref(),
  );
  const handKey = async (key: Uint8Array, ttlMs: number, maxTtlMs: number): Promise<HandKeyResult> => {
    const report = await started;
    if (!('ready' in report) || !pipe)
      throw new JaneeError('AGENT_START', 'the agent we started is not the one serving the socket', 'run `janee unlock` again');
    const raw = Buffer.from(key);
    const b64 = raw.toString('base64');
    raw.fill(0);
    pipe.write(`${JSON.stringify({ key: b64, ttlMs, maxTtlMs })}\n`);
    const answer = await next('take the key', START_TIMEOUT_MS);
    pipe.end();
    if (answer.unlocked && typeof answer.unlocked === 'object') return answer.unlocked as HandKeyResult;
    const e = (answer.error ?? {}) as { code?: unknown; message?: unknown; hint?: unknown };
    throw new JaneeError(
      isCode(e.code) ? e.code : 'AGENT_START',
      typeof e.message === 'string' ? e.message : 'the agent refused the key',
      typeof e.hint === 'string' ? e.hint : logHint,
    );
  };
  return {
    pid: child.pid ?? -1,
    started,
    handKey,
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
