/**
 * The Gate interface: what the MCP layer calls. Implemented in-process
 * (src/gate/gate.ts) and by the agent client (src/agent/client.ts), so serve
 * behaves the same either way. Refusals and failures are thrown as JaneeError
 * with one of the GATE_* codes of src/errors.ts; their messages are safe to show the agent.
 */
import type { CommandInfo, ExecRequest, ExecResult } from '../exec/request.js';

export interface ExecuteRequest {
  service: string;
  method: string;
  /** May carry `?query`. */
  path: string;
  query?: Record<string, string | string[]> | undefined;
  headers?: Record<string, string> | undefined;
  /** A string is sent as is; an object is sent as JSON. */
  body?: string | Record<string, unknown> | unknown[] | undefined;
  reason?: string | undefined;
}

export interface ExecuteResult {
  status: number;
  headers: Record<string, string>;
  body: string;
  bodyEncoding: 'utf8' | 'base64';
  truncated: boolean;
}

export type AgentSource = 'flag' | 'clientInfo' | 'unknown';

export interface Caller {
  agent: string;
  agentSource: AgentSource;
}

export interface ServiceInfo {
  name: string;
  baseUrl: string;
  authType: string;
  policies: { path: string; methods: string[]; deny?: boolean }[] | null;
  rateLimit: string | null;
  blocked: boolean;
  secretPresent: boolean;
}

export interface Gate {
  listServices(): Promise<ServiceInfo[]>;
  execute(req: ExecuteRequest, caller: Caller): Promise<ExecuteResult>;
  /** Run a configured command (src/gate/exec.ts). */
  exec(req: ExecRequest, caller: Caller): Promise<ExecResult>;
  listCommands(): Promise<CommandInfo[]>;
  close(): Promise<void>;
}
