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

/** Where the agent name comes from: `--agent`, the MCP clientInfo, an agent token (the only one the agent cannot choose), or nowhere. */
export type AgentSource = 'flag' | 'clientInfo' | 'token' | 'unknown';

export interface Caller {
  agent: string;
  agentSource: AgentSource;
  /**
   * The services this caller may use, from its agent token (src/vault/agents.ts);
   * absent or null: every service. Only a token sets it.
   */
  services?: string[] | null | undefined;
  /**
   * The agent token a `token` caller presented. The unlocked agent checks it itself: any
   * process of the user can reach its socket and claim a token agent's name (its grants,
   * its audit lines). Never audited or logged.
   */
  token?: string | undefined;
}

export interface ServiceInfo {
  name: string;
  baseUrl: string;
  authType: string;
  policies: { path: string; methods: string[]; deny?: boolean; approve?: boolean }[] | null;
  rateLimit: string | null;
  blocked: boolean;
  secretPresent: boolean;
}

import type { TokenAgent } from '../vault/types.js';

export type { TokenAgent };

export interface Gate {
  /** With a scoped caller, only the services it may use. */
  listServices(caller?: Caller): Promise<ServiceInfo[]>;
  /**
   * `signal`: the MCP client cancelled the call (notifications/cancelled). The request
   * upstream is aborted and the call fails with GATE_CANCELLED (audited); what the
   * upstream already did stays done.
   */
  execute(req: ExecuteRequest, caller: Caller, signal?: AbortSignal): Promise<ExecuteResult>;
  /**
   * The agent `token` belongs to, checked against the vault now (so a revoked token
   * stops working at once). A missing, unknown or expired token is refused with
   * GATE_UNAUTHORIZED and audited; `via` labels that audit line (e.g. `POST /mcp`).
   */
  authenticate(token: string | undefined, via: string): Promise<TokenAgent>;
  /** Run a configured command (src/gate/exec.ts); `signal` as for execute: a running program is killed, a waiting one never starts. */
  exec(req: ExecRequest, caller: Caller, signal?: AbortSignal): Promise<ExecResult>;
  /** A scoped caller (agent token) sees only the commands its scope names. */
  listCommands(caller?: Caller): Promise<CommandInfo[]>;
  close(): Promise<void>;
}
