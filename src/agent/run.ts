/**
 * The agent process around the Agent class (`janee agent`, the hidden command
 * `janee unlock` starts): signals, the start report on the ready fd, the log,
 * and exit.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { JaneeError } from '../errors.js';
import { Agent } from './server.js';
import { PASSPHRASE_ENV } from '../util/env.js';

export interface AgentProcessOptions {
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
  const log = (line: string) => {
    try {
      stderr.write(`${new Date().toISOString()} janee-agent[${process.pid}]: ${line}\n`);
    } catch {
      /* no log */
    }
  };
  let fd = opts.readyFd;
  const report = (obj: unknown) => {
    if (fd === undefined || !Number.isInteger(fd)) return;
    try {
      fs.writeSync(fd, `${JSON.stringify(obj)}\n`);
      fs.closeSync(fd);
    } catch {
      /* the starter went away */
    }
    fd = undefined;
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
    process.exit(0);
  }
  await agent.done;
  process.exit(0);
}
