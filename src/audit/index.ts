/** The audit log: hash-chained JSONL written by the gate, read by `janee logs`. */
export {
  AGENT_SOURCES,
  GENESIS_HASH,
  LIMITS,
  TRUNCATED_MARK,
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
export { AuditWriter, HEAD_FILE, type AuditPolicy, type AuditWriterOptions } from './writer.js';
export { RefusalCoalescer, type CoalesceOptions } from './coalesce.js';
export { fileLines, MAX_LINE_BYTES, type FileLine } from './lines.js';
export { ANCHOR_FILE, CHECKPOINT_FILE, KEYS_FILE, pinFiles, readPinnedKeys, signerFromFileKey, type AuditSigner } from './signing.js';
export { followEntries, listLogFiles, readEntries, type FollowOptions, type ReadOptions } from './reader.js';
export { verifyAudit, type AuditProblem, type VerifyResult } from './verify.js';
export { escapeField, formatEntry } from './format.js';
