/**
 * `--json` errors: scripts that ask for JSON get the failure as JSON on stdout too,
 * `{"error":{"code","message","hint"}}`, beside the usual `janee: error:` lines on
 * stderr; the exit code stays the same (1 failure, 2 usage).
 */
import { JaneeError } from '../errors.js';
import { clean, printError } from './io.js';

export function jsonError(code: string, message: string, hint?: string): string {
  return JSON.stringify({ error: hint === undefined ? { code, message } : { code, message, hint } });
}

/** printError, plus the JSON form on stdout. Unexpected errors are reported as INTERNAL without their details. */
export function printJsonError(stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream, e: unknown): number {
  const err = e instanceof JaneeError ? e : new JaneeError('INTERNAL', 'internal error', 'this is a bug; please report it');
  stdout.write(`${jsonError(err.code, clean(err.message), err.hint === undefined ? undefined : clean(err.hint))}\n`);
  return printError(stderr, e);
}
