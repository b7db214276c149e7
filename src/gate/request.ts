/**
 * What an execute request may contain, as one zod schema: the MCP tool advertises
 * and checks it (src/mcp/tools.ts), and the agent checks every `execute` that
 * arrives over its socket with the same schema (src/agent/args.ts), so the two
 * edges agree on which fields exist and what they may hold. Unknown fields are
 * dropped by both, before the gate sees the request.
 *
 * Schemas are written for the strictest MCP clients: see the note in src/mcp/tools.ts.
 */
import { z } from 'zod';
import { JaneeError } from '../errors.js';
import type { ExecuteRequest } from './types.js';

const JSON_VALUE = {
  anyOf: [
    { type: 'string' },
    { type: 'number' },
    { type: 'boolean' },
    { type: 'null' },
    { type: 'object', additionalProperties: true },
    { type: 'array' },
  ],
};
const jsonObject = z.record(z.string(), z.unknown()).meta({ additionalProperties: true });
const jsonArray = z.array(z.unknown()).meta({ items: JSON_VALUE });

export const executeInput = {
  service: z.string().min(1).max(64).describe('Service name, as listed by list_services'),
  method: z.string().min(1).max(16).describe('HTTP method: GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS'),
  path: z.string().min(1).max(16384).describe('Path under the service baseUrl, starting with "/"; may carry "?query"'),
  query: z
    .record(z.string(), z.union([z.string(), z.array(z.string())]))
    .optional()
    .describe('Extra query parameters, merged into the path query'),
  headers: z
    .record(z.string(), z.string())
    .optional()
    .describe('Extra request headers (auth, cookie, host and routing headers are dropped)'),
  body: z.union([z.string(), jsonObject, jsonArray]).optional().describe('Request body: a string, or an object/array sent as JSON'),
  reason: z.string().max(500).optional().describe('Why you are making this call (written to the audit log)'),
};

const executeRequest = z.object(executeInput);

/**
 * `x` as an ExecuteRequest, or the name of the first field that is wrong (a field
 * name only: never the value, which may be anything the agent sent).
 */
export function parseExecuteRequest(x: unknown): { ok: true; req: ExecuteRequest } | { ok: false; field: string } {
  const r = executeRequest.safeParse(x);
  if (r.success) return { ok: true, req: r.data };
  const at = r.error.issues[0]?.path[0];
  return { ok: false, field: typeof at === 'string' && Object.hasOwn(executeInput, at) ? at : 'req' };
}

/**
 * A body object as JSON, as the gate sends it and as an approval's digest covers it. One
 * nested deeper than the stack allows (100,000 levels parse fine from JSON-RPC) is the
 * agent's error, not janee's: GATE_BAD_REQUEST, not "internal error … this is a bug".
 */
export function jsonOfBody(body: object): string {
  try {
    return JSON.stringify(body);
  } catch (e) {
    if (e instanceof RangeError)
      throw new JaneeError('GATE_BAD_REQUEST', 'body is nested too deeply to send as JSON', 'send a flatter object, or a string');
    throw e;
  }
}
