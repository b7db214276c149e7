/** The audit log: hash-chained JSONL written by the gate, read by `janee logs`. */
export {
  AGENT_SOURCES,
  GENESIS_HASH,
  LIMITS,
  OUTCOMES,
  canonicalText,
  fileNameFor,
  parseLine,
  sha256Hex,
  type AuditAgentSource,
  type AuditEntry,
  type AuditInput,
  type AuditOutcome,
} from './record.js';
export { AuditWriter, HEAD_FILE, type AuditWriterOptions } from './writer.js';
export { followEntries, listLogFiles, readEntries, type FollowOptions, type ReadOptions } from './reader.js';
export { verifyAudit, type AuditProblem, type VerifyResult } from './verify.js';
export { escapeField, formatEntry } from './format.js';
