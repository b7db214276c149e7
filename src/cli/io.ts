/**
 * Terminal output conventions: diagnostics go to stderr as `janee: …`, data to
 * stdout. `serve` relies on this: its stdout carries JSON-RPC only.
 */
import { JaneeError } from '../errors.js';

export interface Streams {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/** Control characters (incl. ANSI escapes) from files or agents never reach a terminal raw. */
export function clean(s: string): string {
  return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function printError(stderr: NodeJS.WritableStream, e: unknown): number {
  if (e instanceof JaneeError) {
    stderr.write(`janee: error: ${clean(e.message)}\n`);
    if (e.hint) stderr.write(`janee: hint: ${clean(e.hint)}\n`);
    return e.exitCode;
  }
  // An unexpected failure: say so without dumping objects that might hold secrets.
  const err = e as Error;
  stderr.write(`janee: error: internal error: ${clean(String(err?.message ?? e).slice(0, 300))}\n`);
  stderr.write('janee: hint: this is a bug; please report it (run with JANEE_DEBUG=1 for a stack trace)\n');
  if (process.env.JANEE_DEBUG && err?.stack) stderr.write(`${err.stack}\n`);
  return 1;
}

export function warn(stderr: NodeJS.WritableStream, message: string): void {
  stderr.write(`janee: warning: ${message}\n`);
}

export function info(stderr: NodeJS.WritableStream, message: string): void {
  stderr.write(`janee: ${message}\n`);
}

/**
 * Shows that slow work (scrypt) is running: a spinner with elapsed time on a
 * terminal, a single line otherwise (so CI logs and MCP client logs show it too).
 */
export async function withProgress<T>(stderr: Streams['stderr'], label: string, work: Promise<T>): Promise<T> {
  const started = Date.now();
  if (!stderr.isTTY) {
    stderr.write(`janee: ${label}…\n`);
    return work;
  }
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  let i = 0;
  const draw = () => stderr.write(`\r${frames[i++ % frames.length]} janee: ${label}… ${((Date.now() - started) / 1000).toFixed(1)}s`);
  const timer = setInterval(draw, 80);
  draw();
  try {
    return await work;
  } finally {
    clearInterval(timer);
    stderr.write('\r\x1b[K');
  }
}
