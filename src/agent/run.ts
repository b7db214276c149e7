/**
 * The agent process around the Agent class (`janee agent`, the hidden command
 * `janee unlock` starts): signals, the start pipe, the log, and exit.
 *
 * The start pipe (--ready-fd, a socketpair inherited from `janee unlock`) carries,
 * one JSON line each:
 *   agent → CLI  {"ready":true,"pid":N} | {"exists":true,"pid":N} | {"error":{…}}
 *   CLI → agent  {"key":"<base64, 32 bytes>","ttlMs":N,"maxTtlMs":N}   (after "ready")
 *   agent → CLI  {"unlocked":{state,already,pid,idleTtlMs,maxTtlMs}} | {"error":{…}}
 * then both sides close it. This pipe is the only way the file key reaches an
 * agent: the socket never carries it. A pipe that closes without a key stops the agent.
 */
import * as net from 'node:net';
import * as path from 'node:path';
import { JaneeError } from '../errors.js';
import { LineSplitter } from './protocol.js';
import { Agent } from './server.js';
import { wipeInitialEnv } from '../util/environ.js';
import { PASSPHRASE_ENV } from '../util/env.js';
import { secret } from '../util/secret.js';

interface AgentProcessOptions {
  vaultFile: string;
  socketPath: string;
  readyFd: number | undefined;
  configFile: string;
  auditDir: string;
  killswitchFile: string;
}

export async function runAgentProcess(opts: AgentProcessOptions, stderr: NodeJS.WritableStream = process.stderr): Promise<never> {
  process.umask(0o077);
  for (const k of PASSPHRASE_ENV) delete process.env[k];
  wipeInitialEnv(PASSPHRASE_ENV); // not in it when `janee unlock` started it; a hand-started one may have them
  const log = (line: string) => {
    try {
      stderr.write(`${new Date().toISOString()} janee-agent[${process.pid}]: ${line}\n`);
    } catch {
      /* no log */
    }
  };
  const pipe =
    opts.readyFd !== undefined && Number.isInteger(opts.readyFd)
      ? new net.Socket({ fd: opts.readyFd, readable: true, writable: true })
      : undefined;
  pipe?.on('error', () => undefined); // the starter went away
  const report = (obj: unknown) => {
    if (pipe && !pipe.destroyed) pipe.write(`${JSON.stringify(obj)}\n`);
  };

  const agent = new Agent({
    vaultFile: path.resolve(opts.vaultFile),
    socketPath: path.resolve(opts.socketPath),
    configFile: opts.configFile,
    auditDir: opts.auditDir,
    killswitchFile: opts.killswitchFile,
    log,
    onStarted: report,
  });
  // Signals stop it cleanly (wipe, remove the socket); installed before binding.
  process.on('SIGTERM', () => void agent.stop('SIGTERM'));
  process.on('SIGINT', () => void agent.stop('SIGINT'));
  process.on('SIGHUP', () => undefined);
  process.on('SIGPIPE', () => undefined);
  const fatal = (what: string) => (e: unknown) => {
    // Fail closed: wipe and go. Only the error's name and code are logged (messages may quote input).
    const code = (e as NodeJS.ErrnoException)?.code;
    log(`${what}: ${(e as Error)?.name ?? 'error'}${code ? ` ${code}` : ''}`);
    if (process.env.JANEE_DEBUG && (e as Error)?.stack) log((e as Error).stack as string);
    void agent.stop(what);
    setTimeout(() => process.exit(70), 6_000).unref();
  };
  process.on('uncaughtException', fatal('internal error'));
  process.on('unhandledRejection', fatal('internal error (promise)'));

  log(`starting (pid ${process.pid})`);
  let started: boolean;
  try {
    started = await agent.start();
  } catch (e) {
    const err = e instanceof JaneeError ? e : new JaneeError('AGENT_START', 'the agent could not start', 'see the agent log');
    log(`could not start: ${err.code}: ${err.message}`);
    report({ error: err.toJSON() });
    process.exit(1);
  }
  if (!started) {
    log('another agent already serves this socket; exiting');
    pipe?.end();
    process.exit(0);
  }
  if (pipe) void takeKey(agent, pipe, log);
  else void agent.stop('no start pipe to take the key from');
  await agent.done;
  process.exit(0);
}

/** Reads the one key line from the start pipe, unlocks, answers, closes. */
function takeKey(agent: Agent, pipe: net.Socket, log: (line: string) => void): Promise<void> {
  return new Promise((resolve) => {
    const lines = new LineSplitter(4096);
    let done = false;
    const finish = (answer: unknown) => {
      done = true;
      pipe.removeAllListeners('data');
      pipe.end(`${JSON.stringify(answer)}\n`);
      resolve();
    };
    pipe.on('data', (chunk: Buffer) => {
      const line = done ? undefined : lines.push(chunk)[0];
      chunk.fill(0);
      if (line === undefined) {
        if (lines.overflow) finish({ error: { code: 'AGENT_BAD_REQUEST', message: 'the start pipe sent too much' } });
        return;
      }
      let msg: { key?: unknown; ttlMs?: unknown; maxTtlMs?: unknown };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        msg = {};
      }
      if (typeof msg.key !== 'string' || !/^[A-Za-z0-9+/]{43}=$/.test(msg.key)) {
        finish({ error: { code: 'AGENT_BAD_REQUEST', message: 'the start pipe did not send a 32-byte key' } });
        void agent.stop('no valid key on the start pipe');
        return;
      }
      // Buffer.from may place the decoded bytes in Node's shared pool: copy them out, wipe those.
      using raw = secret(Buffer.from(msg.key, 'base64'));
      const key = new Uint8Array(raw.bytes);
      const num = (x: unknown) => (typeof x === 'number' ? x : undefined);
      agent.unlockWithKey(key, num(msg.ttlMs), num(msg.maxTtlMs)).then(
        (r) => finish({ unlocked: r }),
        (e: unknown) => {
          const err = e instanceof JaneeError ? e : new JaneeError('AGENT_INTERNAL', 'internal error in the agent', 'see the agent log');
          log(`unlock failed: ${err.code}`);
          finish({ error: err.toJSON() });
          void agent.stop('the key from `janee unlock` was refused');
        },
      );
    });
    pipe.once('close', () => {
      if (done) return;
      done = true;
      if (!agent.unlocked) void agent.stop('`janee unlock` went away without sending the key');
      resolve();
    });
  });
}
