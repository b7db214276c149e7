/**
 * The two MCP tools, their schemas, and how gate outcomes become tool results.
 * A refusal or failure is an `isError` result whose text says what happened and
 * what to do, so the model can act on it; it is never a protocol error.
 */
import { z } from 'zod';
import { JaneeError } from '../errors.js';
import type { ExecResult } from '../exec/request.js';
import type { ExecuteResult } from '../gate/types.js';

/*
 * Every schema below is written for the strictest clients (the Inspector's schema
 * lint, single-type dialects such as Gemini's OpenAPI subset): one `type` per
 * schema (nullable fields as anyOf, never `type: [x, "null"]`), no empty `{}`
 * schemas, no $ref. zod emits `{}` for z.unknown(), so the free-form JSON body
 * says what it is through `.meta` (which only changes the advertised JSON Schema;
 * the SDK still validates the arguments with the zod schema itself). The execute
 * input lives in src/gate/request.ts: the agent checks its requests with it too.
 * test/mcp/schemas.test.ts walks the advertised schemas for these rules.
 */
export { executeInput } from '../gate/request.js';
export { execInput } from '../exec/request.js';

export const executeOutput = {
  // Any three-digit status (RFC 9110 status-code = 3DIGIT): 600-999 are rare but
  // reach the gate as sent, and a result that fails its own schema would be a
  // protocol error instead of the upstream's answer.
  status: z.number().int().min(100).max(999).describe('HTTP status from the upstream'),
  headers: z.record(z.string(), z.string()),
  body: z.string(),
  bodyEncoding: z.enum(['utf8', 'base64']),
  truncated: z.boolean(),
};

const policyShape = z.object({
  path: z.string(),
  methods: z.array(z.string()),
  deny: z.boolean().optional(),
  approve: z.boolean().optional().describe('true: a call waits for a human to approve it (janee approve)'),
});

export const listServicesOutput = {
  services: z.array(
    z.object({
      name: z.string(),
      baseUrl: z.string(),
      authType: z.string(),
      policies: z.union([z.array(policyShape), z.null()]).describe('null: no policies key, any method and path is allowed'),
      // min(1) is true of every limit and keeps zod from folding the union into `type: [string, null]`.
      rateLimit: z.union([z.string().min(1), z.null()]).describe('e.g. 60/min; null: no limit'),
      blocked: z.boolean(),
      secretPresent: z.boolean(),
    }),
  ),
};

export const execOutput = {
  // -1…255 holds every exit status (POSIX: 0-255) and keeps zod from folding the union into `type: [integer, null]`.
  exitCode: z.union([z.number().int().min(-1).max(255), z.null()]).describe('Exit status; null when the program was ended by a signal'),
  stdout: z.string().describe('Standard output as text, secrets redacted'),
  stderr: z.string().describe('Standard error as text, secrets redacted'),
  truncated: z.boolean().describe('Output was cut at the command output cap'),
  timedOut: z.boolean().describe('The program ran out of time and was killed (with everything it started)'),
  durationMs: z.number().min(0),
};

export const listCommandsOutput = {
  commands: z.array(
    z.object({
      name: z.string(),
      allow: z.array(z.string()).describe('Argument patterns that may run: "*" one value (not an option), "**" any remaining arguments'),
      deny: z.array(z.string()).describe('Argument patterns that never run (deny wins)'),
      cwd: z.array(z.string()).describe('Directories it may run in (empty: a temporary directory, no cwd argument)'),
      rateLimit: z.union([z.string().min(1), z.null()]),
      timeoutMs: z.number().int().min(1).max(3_600_000),
      blocked: z.boolean(),
      secretPresent: z.boolean(),
    }),
  ),
};

export const EXEC_DESCRIPTION =
  'Run a configured command-line program (such as gh or git) through Janee, with its credential in the ' +
  'environment (you never see it). No shell: give the arguments as a list. Output is returned with secrets redacted. ' +
  'Refused calls return an error saying why.';

export const LIST_COMMANDS_DESCRIPTION =
  'List the commands you can run with exec: allowed argument patterns, directories, rate limit, and whether each is blocked.';

export const EXECUTE_DESCRIPTION =
  'Make an HTTP request to a configured API through Janee. Janee checks the policy, adds the credential ' +
  '(you never see it), forwards the request and returns the response. Refused calls return an error saying why.';

export const LIST_DESCRIPTION =
  'List the APIs you can call with execute: base URL, auth type, allowed requests, rate limit, and whether each is blocked.';

/**
 * The whole tool result (structured copy + text mirror, JSON-escaped) must stay
 * well under the SDK client's 10 MiB message limit. That limit is on UTF-8 bytes
 * (the client's stdio ReadBuffer), so the budget is measured the same way: a body
 * of 3-byte characters is 3 times larger on the wire than its string length. If
 * the result is over budget, the body is cut further and marked truncated.
 */
const MAX_RESULT_WIRE_BYTES = 6 * 1024 * 1024;

/** UTF-8 bytes the result takes in a tools/call response: structuredContent plus the text mirror (a JSON string of it). */
function resultWireBytes(r: ExecuteResult): number {
  const json = JSON.stringify(r);
  return Buffer.byteLength(json, 'utf8') + Buffer.byteLength(JSON.stringify(json), 'utf8');
}

/** An upper bound that needs no serialising: a UTF-16 unit is at most 6 bytes escaped once, 7 twice. */
function wireBytesBound(r: ExecuteResult): number {
  let chars = r.body.length + 256;
  for (const [k, v] of Object.entries(r.headers)) chars += k.length + v.length + 8;
  return chars * 13;
}

export function fitResult(result: ExecuteResult): ExecuteResult {
  let r = result;
  if (wireBytesBound(r) <= MAX_RESULT_WIRE_BYTES) return r; // the common case: small, no need to measure
  let size = resultWireBytes(r);
  while (size > MAX_RESULT_WIRE_BYTES && r.body.length > 0) {
    let keep = Math.min(r.body.length - 1, Math.floor(r.body.length * (MAX_RESULT_WIRE_BYTES / size) * 0.9));
    // Never end on the first half of a surrogate pair.
    const last = r.body.charCodeAt(keep - 1);
    if (keep > 0 && last >= 0xd800 && last <= 0xdbff) keep--;
    let body = r.body.slice(0, Math.max(0, keep));
    if (r.bodyEncoding === 'base64') body = body.slice(0, body.length - (body.length % 4));
    r = { ...r, body, truncated: true };
    size = resultWireBytes(r);
  }
  return r;
}

/**
 * An exec result under the same wire budget: stdout and stderr (each up to the
 * command's maxOutputBytes, already redacted) are cut in proportion, and the
 * result marked truncated. Cutting redacted text shows nothing more of a secret.
 */
export function fitExecResult(result: ExecResult): ExecResult {
  let r = result;
  const size = (x: ExecResult): number => {
    const json = JSON.stringify(x);
    return Buffer.byteLength(json, 'utf8') + Buffer.byteLength(JSON.stringify(json), 'utf8');
  };
  if ((r.stdout.length + r.stderr.length + 256) * 13 <= MAX_RESULT_WIRE_BYTES) return r;
  const cut = (t: string, ratio: number): string => {
    let keep = Math.min(t.length - 1, Math.floor(t.length * ratio));
    const last = t.charCodeAt(keep - 1);
    if (keep > 0 && last >= 0xd800 && last <= 0xdbff) keep--; // never half a surrogate pair
    return t.slice(0, Math.max(0, keep));
  };
  let n = size(r);
  while (n > MAX_RESULT_WIRE_BYTES && r.stdout.length + r.stderr.length > 0) {
    const ratio = (MAX_RESULT_WIRE_BYTES / n) * 0.9;
    r = { ...r, stdout: cut(r.stdout, ratio), stderr: cut(r.stderr, ratio), truncated: true };
    n = size(r);
  }
  return r;
}

export function okResult(structured: Record<string, unknown>) {
  return { content: [{ type: 'text' as const, text: JSON.stringify(structured) }], structuredContent: structured };
}

/** Where a tool error result carries its JaneeError code (MCP `_meta`, reverse-DNS prefixed). */
export const ERROR_META_KEY = 'dev.janee/error';

export function errorResult(e: unknown) {
  const err =
    e instanceof JaneeError ? e : new JaneeError('INTERNAL', 'internal error in janee', 'this is a bug; the call was not completed');
  const text = err.hint ? `${err.message}\nhint: ${err.hint}` : err.message;
  // The model reads the text; a program reads the stable code (docs/errors.md) in _meta.
  return { isError: true, content: [{ type: 'text' as const, text }], _meta: { [ERROR_META_KEY]: { code: err.code } } };
}
