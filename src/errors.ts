/**
 * Every error code janee reports, with what it means. The codes are a contract:
 * scripts, tests and MCP clients match on them (`janee … --json` prints them, tool
 * results carry them), so a code is only ever added here, never renamed. Like
 * undici's lib/core/errors.js: one table, and a `Code` type the compiler checks
 * every JaneeError against. docs/errors.md lists the same table (a test keeps the
 * two in step).
 */
export const CODES = {
  // usage and generic
  USAGE: 'the command line is wrong: a missing, extra or invalid argument (exit 2)',
  INTERNAL: 'an unexpected failure inside janee: a bug to report',
  CANCELLED: 'the user cancelled an interactive prompt',
  NOT_FOUND: 'the named service, entry or file does not exist',
  WRITE_FAILED: 'a file could not be written; nothing was changed',
  LOCK_TIMEOUT: 'another janee process held the lock on a file for too long',
  BAD_KEY: 'a secret value is not acceptable (empty, too long, or with control characters)',
  NO_KEY: 'no secret was given where one is required',
  // passphrase
  NO_PASSPHRASE: 'no passphrase source is available (no terminal, no JANEE_PASSPHRASE(_FILE), no --passphrase-stdin)',
  PASSPHRASE_MISMATCH: 'the two passphrase entries differ',
  // vault file
  VAULT_NOT_FOUND: 'there is no vault file at the path janee uses',
  VAULT_UNREADABLE: 'the vault file exists but cannot be read (permissions, I/O)',
  VAULT_EXISTS: 'a vault already exists where one was to be created',
  VAULT_BAD_HEADER: 'the vault header is damaged or not in canonical form',
  VAULT_BAD_PASSPHRASE: 'the passphrase does not open this vault',
  VAULT_BAD_MAC: 'the vault header does not match its MAC: it was changed',
  VAULT_BAD_PAYLOAD: 'the vault payload is damaged, truncated or not canonical',
  VAULT_WORK_FACTOR: 'the vault asks for a scrypt work factor above the limit (log2 N > 22)',
  VAULT_UNSUPPORTED_VERSION: 'the vault was written by a newer janee (unknown format version)',
  VAULT_DUPLICATE: 'an entry of that name already exists in the vault',
  VAULT_EMPTY: 'the vault has no entries where some were expected',
  VAULT_REKEYED: 'the vault file key changed under a running agent or serve (janee rekey)',
  VAULT_ROLLBACK: 'the vault file is older than a generation this machine has already seen',
  VAULT_STATE_CORRUPT: "this machine's record of the vault generation is damaged",
  VAULT_STATE_UNREADABLE: "this machine's record of the vault generation cannot be read",
  BIND_NEEDS_PASSPHRASE: 'binding a secret to an origin it is not bound to needs the passphrase (janee bind), never just the agent',
  VAULT_MERGE_CONFLICT: 'a vault merge has a conflict that needs a human',
  VAULT_MERGE_KEYS: 'the two sides of a vault merge have different file keys',
  MERGE_UNREADABLE: 'a side of a merge cannot be read',
  // team vault: X25519 recipients and age identities
  VAULT_NO_PASSPHRASE: 'the vault has no passphrase (only recipients): it opens with an identity',
  VAULT_NOT_RECIPIENT: 'the identity given is not one of the vault recipients',
  VAULT_LAST_KEY: 'the change would leave the vault with no passphrase and no recipient',
  RECIPIENT_INVALID: 'not an age X25519 recipient (age1…), or a bad recipient name',
  RECIPIENT_EXISTS: 'a recipient of that name or key is already in the vault',
  RECIPIENTS_TOO_MANY: 'the vault already has the most recipients a vault file may have (1024)',
  IDENTITY_EXISTS: 'the identity file to write already exists (never overwritten)',
  IDENTITY_INVALID: 'the identity file cannot be read or holds no age X25519 identity',
  IDENTITY_IN_REPO: 'an unprotected identity would be written inside a git work tree (where a commit would publish it)',
  // age files
  AGE_BAD_HEADER: 'the age file header is damaged or not canonical',
  AGE_BAD_PASSPHRASE: 'the passphrase does not open this age file',
  AGE_BAD_MAC: 'the age header MAC does not match',
  AGE_BAD_PAYLOAD: 'the age payload is damaged or truncated',
  AGE_UNSUPPORTED: 'the age file uses a recipient type janee cannot open',
  AGE_NO_IDENTITY: 'none of the identities given is a recipient of the age file',
  AGE_WORK_FACTOR: 'the age file asks for a scrypt work factor above the limit',
  EXPORT_EXISTS: 'the export target already exists',
  IMPORT_BAD_FILE: 'the file to import is not a janee export',
  IMPORT_CONFLICT: 'an imported entry conflicts with an existing one',
  IMPORT_UNREADABLE: 'the file to import cannot be read',
  // config.yaml
  CONFIG_MISSING: 'there is no config.yaml',
  CONFIG_UNREADABLE: 'config.yaml cannot be read',
  CONFIG_INVALID: 'config.yaml is invalid (the message names file, line and field)',
  CONFIG_INLINE_SECRET: 'config.yaml holds a secret written inline: run janee migrate',
  CONFIG_DUPLICATE: 'config.yaml already has a service of that name',
  CONFIG_CHANGED: 'config.yaml changed while janee was editing it',
  CONFIG_MERGE_CONFLICT: 'a config.yaml merge has a conflict that needs a human',
  CONFIG_MERGE_FAILED: 'a config.yaml merge could not be done',
  // migration from Janee 0.x
  MIGRATE_BAD_LEGACY: 'the Janee 0.x home cannot be read',
  MIGRATE_INLINE: 'inline secrets could not be moved into the vault',
  MIGRATE_SKIPPED: 'the old key is kept because some services were skipped (use --force to delete it anyway)',
  MIGRATE_UNSUPPORTED: 'this Janee 0.x layout cannot be migrated',
  // git drivers
  GIT_MISSING: 'git is not installed',
  GIT_NOT_A_REPO: 'the directory is not in a git repository',
  GIT_CONFIG_FAILED: 'git config could not be written',
  GIT_SETUP_PATH: 'the vault or config is outside the repository',
  // kill switch
  KILLSWITCH_DAMAGED: 'the kill switch file is damaged; only `janee killswitch off --all` clears it',
  // the gate: what the agent's tool result carries
  GATE_LOCKED: 'the vault is locked (or cannot be opened): no call can be made',
  GATE_KILLED: 'the kill switch blocks this call',
  GATE_BLOCKED: 'no policy allows this request, or a deny rule matched',
  GATE_BAD_REQUEST: 'the request is malformed (path, method, header, query or body)',
  GATE_UNKNOWN_SERVICE: 'no service of that name is configured',
  GATE_UNKNOWN_COMMAND: 'no command of that name is configured (exec)',
  GATE_NO_SECRET: 'the service has no secret in the vault',
  GATE_ORIGIN_MISMATCH: 'config.yaml points the service at an origin its secret is not bound to',
  GATE_RATE_LIMITED: 'the service rate limit is exhausted; the message says when to retry',
  GATE_UPSTREAM_TIMEOUT: 'the upstream API did not answer in time',
  GATE_CANCELLED: 'the MCP client cancelled the call: its upstream request was aborted, or its program killed (audited)',
  GATE_UPSTREAM_ERROR: 'the upstream API could not be reached or broke the connection',
  GATE_INTERNAL: 'an unexpected failure in the gate: the call was not made',
  GATE_UNAUTHORIZED: 'no valid agent token: missing, unknown, revoked or expired (HTTP 401)',
  GATE_NOT_IN_SCOPE: 'the agent token does not allow this service or command (janee agents add --services)',
  // janee serve --http
  HTTP_FORBIDDEN: 'an HTTP request named another Host, or came from an Origin not allowed (HTTP 403)',
  HTTP_LISTEN: 'serve --http could not listen on the address (in use, not local, or TLS files unreadable)',
  EXEC_FAILED: 'the configured program could not be started (exec)',
  EXEC_BUSY: 'too many exec programs are running or waiting in this janee process; the call was not run',
  // auth types that sign or mint (src/auth)
  AUTH_UNSUPPORTED: 'the service auth type cannot be used by this build',
  AUTH_TOKEN_FAILED: 'the token endpoint did not give an access token (its status is in the message, never its body)',
  // audit
  AUDIT_WRITE_FAILED: 'the audit log could not be written: the call was refused',
  AUDIT_READ_FAILED: 'the audit log cannot be read',
  AUDIT_BAD_INPUT: 'an audit entry was refused as malformed',
  AUDIT_TAMPERED: 'janee logs verify found an edit, deletion or reordering',
  AUDIT_UNSIGNED: 'janee logs verify --require-signed found entries after the last signed checkpoint',
  // the agent (janee unlock)
  AGENT_NOT_RUNNING: 'no agent runs for this vault',
  AGENT_CONNECT: 'the agent socket could not be reached',
  AGENT_START: 'the agent process did not start',
  AGENT_STOPPING: 'the agent is shutting down',
  AGENT_GONE: 'the agent went away during a request',
  AGENT_TIMEOUT: 'the agent did not answer in time',
  AGENT_UNRESPONSIVE: 'the agent socket accepts connections but the agent does not answer',
  AGENT_BUSY: 'the agent is handling too many requests',
  AGENT_PROTOCOL: 'the agent answered something that is not the janee agent protocol',
  AGENT_UNKNOWN_OP: 'the agent does not know the requested operation (a different janee version)',
  AGENT_BAD_REQUEST: 'the agent refused a malformed request',
  AGENT_INTERNAL: 'an unexpected failure inside the agent',
  AGENT_KEY_MISMATCH: 'the agent holds a different file key than this vault',
  AGENT_OTHER_VAULT: 'the agent at that socket serves another vault',
  AGENT_VAULT_ROLLBACK: 'the vault file on disk is older than the agent unlocked copy',
  AGENT_SOCKET_DIR: 'the agent socket directory cannot be created or checked',
  AGENT_SOCKET_PATH: 'the agent socket path is too long for a Unix socket',
  AGENT_UNSAFE_DIR: 'the agent socket directory is not private to you (owner, mode or symlink)',
  AGENT_UNSAFE_SOCKET: 'the agent socket is not a socket private to you',
  AGENT_DISPLACED: 'the agent socket was moved or replaced: the agent wiped its key and stopped',
  AGENT_WONT_STOP: 'something at the agent socket answers but does not stop when asked; nothing was sent to it',
  AGENT_NOT_VERIFIED: 'the process listening at the agent socket is not the agent janee started: nothing secret was sent',
  AGENT_NOT_PROVEN: 'a request that needs proof of the file key came without a valid proof',
  // approvals (approve: true rules)
  APPROVAL_PENDING: 'the call needs a human approval and is waiting for it (janee approve ID)',
  APPROVAL_DENIED: 'a human denied the call (janee deny ID)',
  APPROVAL_EXPIRED: 'no human approved the call before its approval request expired',
  APPROVAL_TOO_MANY: 'too many calls are already waiting for approval',
  APPROVAL_NOT_FOUND: 'there is no pending approval request or grant with that id',
  APPROVAL_FORGED: 'an approval record is not authenticated with this vault key: it was ignored',
  APPROVAL_NEEDS_TERMINAL: 'approving or denying needs the passphrase typed in a terminal, not from the environment',
} as const;

export type Code = keyof typeof CODES;

export function isCode(s: unknown): s is Code {
  return typeof s === 'string' && Object.hasOwn(CODES, s);
}

/**
 * JaneeError is the only error type users see. `code` is stable (tests and
 * scripts match on it), `message` is one short lowercase sentence saying what went
 * wrong, `hint` says what to do next. None of the three may ever contain a secret.
 */
export class JaneeError extends Error {
  readonly code: Code;
  readonly hint: string | undefined;
  /** Process exit code when this error ends a CLI command: 1 failure, 2 usage. */
  readonly exitCode: number;

  constructor(code: Code, message: string, hint?: string, exitCode = 1) {
    super(message);
    this.name = 'JaneeError';
    this.code = code;
    this.hint = hint;
    this.exitCode = exitCode;
  }

  toJSON(): { code: Code; message: string; hint?: string } {
    return this.hint === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, hint: this.hint };
  }
}

/** A usage error (exit 2). */
export function usageError(message: string, hint?: string): JaneeError {
  return new JaneeError('USAGE', message, hint, 2);
}
