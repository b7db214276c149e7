/**
 * What an exec request may contain, as one zod schema (like src/gate/request.ts for
 * execute): the MCP `exec` tool advertises and checks it, and the agent checks
 * every `exec` arriving over its socket with it. Schemas follow the strict-client
 * rules noted in src/mcp/tools.ts.
 */
import { z } from 'zod';

export interface ExecRequest {
  command: string;
  args: string[];
  cwd?: string | undefined;
  stdin?: string | undefined;
  reason?: string | undefined;
}

export interface ExecResult {
  /** null when the program was ended by a signal (timedOut says whether janee did it). */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
  timedOut: boolean;
  durationMs: number;
}

export interface CommandInfo {
  name: string;
  allow: string[];
  deny: string[];
  cwd: string[];
  rateLimit: string | null;
  timeoutMs: number;
  blocked: boolean;
  /** Every vault entry the command needs is present. */
  secretPresent: boolean;
}

export const MAX_ARGS = 256;
export const MAX_ARG_CHARS = 8192;
export const MAX_STDIN_CHARS = 1024 * 1024;

export const execInput = {
  command: z.string().min(1).max(64).describe('Command name, as listed by list_commands'),
  args: z
    .array(z.string().max(MAX_ARG_CHARS))
    .max(MAX_ARGS)
    .describe('Arguments, one per element (no shell: quotes, pipes and $VARS are passed literally)'),
  cwd: z.string().min(1).max(4096).optional().describe('Absolute working directory; must be one the command allows'),
  stdin: z.string().max(MAX_STDIN_CHARS).optional().describe('Text given to the program on stdin (closed if absent)'),
  reason: z.string().max(500).optional().describe('Why you are running this (written to the audit log)'),
};

const execRequest = z.object(execInput);

/** `x` as an ExecRequest, or the name of the first field that is wrong (never its value). */
export function parseExecRequest(x: unknown): { ok: true; req: ExecRequest } | { ok: false; field: string } {
  const r = execRequest.safeParse(x);
  if (r.success) return { ok: true, req: r.data };
  const at = r.error.issues[0]?.path[0];
  return { ok: false, field: typeof at === 'string' && Object.hasOwn(execInput, at) ? at : 'req' };
}
