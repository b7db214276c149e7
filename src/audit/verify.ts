/**
 * `janee logs verify`: checks the whole chain across the day files in date order,
 * then which part of it is signed. Files are streamed line by line (bounded
 * memory whatever their size, see lines.ts).
 *
 * Per line (1-based line numbers; `file` is the name inside the audit dir):
 * - not JSON / not an entry / longer than any entry can be → "truncated or garbage
 *   line" (the chain continues from the last good entry, as the writer does after
 *   a crash);
 * - stored hash ≠ sha256 of the line's unhashed text → the entry was edited;
 * - hash fine but the line is not in canonical form → reported too;
 * - seq ≠ previous seq + 1 → entries deleted (a jump) or reordered/duplicated
 *   (a step back); reordering two entries breaks three links, so it shows as
 *   problems on the moved lines and the line after them;
 * - seq fine but prev ≠ the previous entry's hash → an entry was replaced, or an
 *   edited entry got a recomputed hash;
 * - a file not ending in `\n` → truncated last line.
 *
 * Start. The log starts at seq 1 from the genesis hash, or — after retention
 * deleted old day files — right after `anchor.json` (seq, hash of the last
 * deleted entry; signed when the vault was open, see signing.ts).
 *
 * End. A chain cannot show that its newest entries were deleted. The writer keeps
 * `<dir>/head` with the last seq and hash; verify reports a head that is ahead of
 * the log (or names an entry the log does not have). A head behind the log is
 * fine (crash between the two writes).
 *
 * Signatures. Each checkpoint in `checkpoints` must carry a valid Ed25519
 * signature by a known key (`signing-keys`; when this machine has a pin for the
 * audit dir, the key must be pinned) and name an entry the log has, with that
 * entry's hash. So a log rewritten and re-chained fails (the signed hashes no
 * longer match), and so does one whose newest signed entries were deleted. The
 * entries after the last checkpoint are not signed (a gate still running, a crash,
 * or a locked gate, which has no key): reported in `unsigned`, not a failure —
 * `janee logs verify --require-signed` makes it one.
 *
 * Cut back. Deleting the newest entries *and* the checkpoints that signed them,
 * with `head` fixed, leaves a shorter log that is chained and signed to its end.
 * On the machine that wrote it, the mark outside JANEE_HOME (signing.ts) names
 * the newest checkpoint written: the log must still have that entry, with that
 * hash, and a checkpoint for it. The mark is read before anything else, so a
 * checkpoint written while verify runs cannot look missing.
 */
import * as path from 'node:path';
import { readAtMost } from '../util/bounded.js';
import { fileLines } from './lines.js';
import { listLogFiles } from './reader.js';
import { GENESIS_HASH, parseLine } from './record.js';
import {
  ANCHOR_FILE,
  CHECKPOINT_FILE,
  checkSignature,
  KEYS_FILE,
  parseCheckpoint,
  pinFiles,
  readPinnedKeys,
  readKeyFile,
  readSignedMark,
  signedMarkFiles,
  type Checkpoint,
  type SignedMark,
  type SignedKind,
} from './signing.js';
import { HEAD_FILE } from './writer.js';

export interface AuditProblem {
  /** File name inside the audit directory (`2026-03-15.jsonl`, `head`, `checkpoints`…). */
  file: string;
  /** 1-based line number (0 = the file as a whole). */
  line: number;
  message: string;
}

export interface VerifyResult {
  ok: boolean;
  /** Lines that parsed as entries (valid or not). */
  entries: number;
  problems: AuditProblem[];
  /** First and last seq of the log (null when it has no entry). */
  first: number | null;
  last: number | null;
  /** Retention anchor the log starts after, if any. */
  anchor: { seq: number; signed: boolean } | null;
  /** The newest checkpoint that verified: everything up to seq is signed. */
  signed: { seq: number; ts: string; key: string } | null;
  /** Entries after `signed` (all of them when nothing is signed): not covered by a signature. */
  unsigned: number;
  /** Not failures, but worth saying (unpinned keys, unsigned anchor). */
  warnings: string[];
}

const MAX_PROBLEMS = 1000;
/** head and anchor are one short JSON line each. */
const MAX_SMALL_FILE = 64 * 1024;

interface Head {
  seq: number;
  hash: string;
}

/** A small file's text; null when it does not exist (a file holding "missing" is just text), `{ code }` when it cannot be read. */
async function readSmall(file: string): Promise<string | null | { code: string }> {
  try {
    // Bounded and regular files only: a head or anchor replaced by /dev/zero or a FIFO fails, never hangs.
    return (await readAtMost(file, MAX_SMALL_FILE, { regularOnly: true })).toString('utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    return code === 'ENOENT' ? null : { code };
  }
}

async function readHead(dir: string, report: Report): Promise<Head | null | 'missing'> {
  const text = await readSmall(path.join(dir, HEAD_FILE));
  if (text === null) return 'missing';
  if (typeof text !== 'string') {
    report(HEAD_FILE, 0, `cannot read (${text.code})`);
    return null;
  }
  try {
    const o = JSON.parse(text) as Record<string, unknown>;
    if (Number.isSafeInteger(o.seq) && typeof o.hash === 'string' && /^[0-9a-f]{64}$/.test(o.hash)) {
      return { seq: o.seq as number, hash: o.hash };
    }
  } catch {
    // fall through
  }
  report(HEAD_FILE, 1, 'damaged: not a head record');
  return null;
}

type Report = (file: string, line: number, message: string) => void;

/** Known public keys: pinned ones win; `pinned` is null when this machine has no pin for the dir. */
interface Keys {
  listed: Map<string, string>;
  pinned: Map<string, string> | null;
  pinPath: string;
}

/** Checks a signed record's key and signature; returns a problem text or null. */
function signatureProblem(kind: SignedKind, c: Checkpoint, keys: Keys): string | null {
  const pinnedKey = keys.pinned?.get(c.key);
  const listedKey = keys.listed.get(c.key);
  if (keys.pinned && !pinnedKey) {
    return listedKey
      ? `signed by key ${c.key}, which is in ${KEYS_FILE} but not pinned on this machine (${keys.pinPath}): the key file was changed`
      : `signed by key ${c.key}, which is neither pinned nor in ${KEYS_FILE}`;
  }
  const key = pinnedKey ?? listedKey;
  if (!key) return `signed by key ${c.key}, which is not in ${KEYS_FILE}`;
  if (!checkSignature(kind, c, key)) return `bad signature on ${kind} for seq ${c.seq}: the ${kind} was forged or edited`;
  return null;
}

async function readAnchor(
  dir: string,
  keys: Keys,
  report: Report,
  warnings: string[],
): Promise<{ seq: number; hash: string; signed: boolean } | null> {
  const text = await readSmall(path.join(dir, ANCHOR_FILE));
  if (text === null) return null;
  if (typeof text !== 'string') {
    report(ANCHOR_FILE, 0, `cannot read (${text.code})`);
    return null;
  }
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text) as Record<string, unknown>;
  } catch {
    o = {};
  }
  const unsignedOk =
    Number.isSafeInteger(o.seq) &&
    typeof o.hash === 'string' &&
    /^[0-9a-f]{64}$/.test(o.hash) &&
    o.key === undefined &&
    o.sig === undefined;
  if (unsignedOk) {
    warnings.push(
      `the log starts after an unsigned anchor (seq ${o.seq as number}): old files were deleted while the vault was locked, so where it starts is not signed`,
    );
    return { seq: o.seq as number, hash: o.hash as string, signed: false };
  }
  const c = parseCheckpoint(text.trim());
  if (!c) {
    report(ANCHOR_FILE, 1, 'damaged: not an anchor record');
    return null;
  }
  const bad = signatureProblem('anchor', c, keys);
  if (bad) report(ANCHOR_FILE, 1, bad);
  return { seq: c.seq, hash: c.hash, signed: bad === null };
}

/** Valid checkpoints by seq (several may sign one seq); bad ones are reported. */
async function readCheckpoints(
  dir: string,
  keys: Keys,
  report: Report,
): Promise<{ bySeq: Map<number, { c: Checkpoint; line: number }[]>; lines: number }> {
  const bySeq = new Map<number, { c: Checkpoint; line: number }[]>();
  let count = 0;
  try {
    for await (const l of fileLines(path.join(dir, CHECKPOINT_FILE), { maxLine: 4096 })) {
      count++;
      const c = l.tooLong ? null : parseCheckpoint(l.text);
      if (!c) {
        report(CHECKPOINT_FILE, l.lineNo, l.terminated ? 'not a checkpoint record' : 'truncated line (no newline at the end of the file)');
        continue;
      }
      const bad = signatureProblem('checkpoint', c, keys);
      if (bad) {
        report(CHECKPOINT_FILE, l.lineNo, bad);
        continue;
      }
      const list = bySeq.get(c.seq) ?? [];
      list.push({ c, line: l.lineNo });
      bySeq.set(c.seq, list);
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    if (code !== 'ENOENT') report(CHECKPOINT_FILE, 0, `cannot read (${code})`);
  }
  return { bySeq, lines: count };
}

export async function verifyAudit(dir: string, env: NodeJS.ProcessEnv = process.env): Promise<VerifyResult> {
  const problems: AuditProblem[] = [];
  const warnings: string[] = [];
  let truncatedReport = false;
  const report: Report = (file, line, message) => {
    if (problems.length < MAX_PROBLEMS) problems.push({ file, line, message });
    else truncatedReport = true;
  };

  // First (see "Cut back"): every checkpoint the mark names is already on disk.
  const markPath = signedMarkFiles(dir, env).join(', ');
  let mark: SignedMark | null = null;
  try {
    mark = await readSignedMark(dir, env);
  } catch (e) {
    warnings.push(`${(e as Error).message}: cannot check that the log was not cut back to an earlier checkpoint`);
  }
  const pinPath = pinFiles(dir, env).join(', ');
  const keys: Keys = {
    listed: (await readKeyFile(path.join(dir, KEYS_FILE)).catch(() => null)) ?? new Map<string, string>(),
    pinned: await readPinnedKeys(dir, env),
    pinPath,
  };
  const files = await listLogFiles(dir);
  const head = await readHead(dir, report);
  const anchor = await readAnchor(dir, keys, report, warnings);
  const checkpoints = await readCheckpoints(dir, keys, report);
  let entries = 0;
  let first: number | null = null;
  let last: { seq: number; hash: string } | null = anchor ? { seq: anchor.seq, hash: anchor.hash } : null;
  let headMatched = false;
  let signed: VerifyResult['signed'] = null;
  if (mark && anchor && mark.seq <= anchor.seq) mark = null; // its entry went with retention
  let markFound = false;
  let markRewritten = false;

  for (const file of files) {
    try {
      for await (const l of fileLines(path.join(dir, file))) {
        const { lineNo } = l;
        if (!l.terminated) report(file, lineNo, 'truncated line (no newline at the end of the file)');
        if (l.tooLong) {
          report(file, lineNo, 'not valid JSON (garbage line, longer than any audit entry)');
          continue;
        }
        if (l.text.length === 0) {
          report(file, lineNo, 'empty line');
          continue;
        }
        const p = parseLine(l.text);
        if (p.kind === 'bad') {
          report(file, lineNo, p.message);
          continue;
        }
        entries++;
        const e = p.entry;
        first ??= e.seq;
        if (!p.hashOk) report(file, lineNo, `hash mismatch: entry seq ${e.seq} was modified`);
        else if (!p.canonical) report(file, lineNo, `entry seq ${e.seq} is not in canonical form (extra fields, key order or spacing)`);
        const expected: number = last ? last.seq + 1 : 1;
        if (e.seq !== expected) {
          if (last === null) {
            report(file, lineNo, `the log starts at seq ${e.seq}, not 1: the first ${e.seq - 1} entries are missing`);
          } else if (e.seq > expected) {
            const n = e.seq - expected;
            report(file, lineNo, `seq jumps from ${last.seq} to ${e.seq}: ${n} ${n === 1 ? 'entry' : 'entries'} deleted or moved`);
          } else {
            report(file, lineNo, `seq ${e.seq} after seq ${last.seq}: entries reordered or duplicated`);
          }
        } else if (e.prev !== (last ? last.hash : GENESIS_HASH)) {
          report(
            file,
            lineNo,
            last === null
              ? 'the first entry does not chain from the genesis hash (64 zeros)'
              : anchor && last.seq === anchor.seq
                ? `prev does not match the hash in ${ANCHOR_FILE} (seq ${anchor.seq}): the log does not continue where the deleted files ended`
                : `prev does not match the hash of seq ${last.seq}: an entry was replaced or edited and re-hashed`,
          );
        }
        const cps = checkpoints.bySeq.get(e.seq);
        if (cps) {
          checkpoints.bySeq.delete(e.seq);
          for (const { c, line } of cps) {
            if (c.hash !== e.hash) {
              report(
                file,
                lineNo,
                `entry seq ${e.seq} differs from what checkpoint ${CHECKPOINT_FILE}:${line} signed: the log was rewritten`,
              );
            } else if (!signed || c.seq >= signed.seq) {
              signed = { seq: c.seq, ts: c.ts, key: c.key };
            }
          }
        }
        if (mark && e.seq === mark.seq) {
          markFound = true;
          markRewritten = e.hash !== mark.hash;
          if (markRewritten)
            report(file, lineNo, `entry seq ${e.seq} differs from what was signed on this machine (${markPath}): the log was rewritten`);
        }
        if (head && typeof head === 'object' && e.seq === head.seq && e.hash === head.hash) headMatched = true;
        last = { seq: e.seq, hash: e.hash };
      }
    } catch (e) {
      report(file, 0, `cannot read (${(e as NodeJS.ErrnoException).code ?? 'EIO'})`);
    }
  }

  const end = entries > 0 && last ? last.seq : (anchor?.seq ?? 0);
  for (const [seq, cps] of checkpoints.bySeq) {
    if (anchor && seq <= anchor.seq) continue; // its entry was deleted by retention
    for (const { line } of cps) {
      report(
        CHECKPOINT_FILE,
        line,
        seq > end
          ? `signs seq ${seq} but the log ends at seq ${end}: signed entries were deleted`
          : `signs seq ${seq}, which the log does not have: signed entries were deleted`,
      );
    }
  }
  if (mark && !markFound) {
    report(
      CHECKPOINT_FILE,
      0,
      mark.seq > end
        ? `the log was signed up to seq ${mark.seq} on this machine (${markPath}), but the log ends at seq ${end}: signed entries were deleted`
        : `seq ${mark.seq} was signed on this machine (${markPath}), but the log does not have it: signed entries were deleted`,
    );
  } else if (mark && !markRewritten) {
    const upTo = signed?.seq ?? 0;
    if (upTo < mark.seq)
      report(
        CHECKPOINT_FILE,
        0,
        `seq ${mark.seq} was signed on this machine (${markPath}), but ${CHECKPOINT_FILE} signs only up to seq ${upTo}: checkpoints were deleted`,
      );
  }
  if (checkpoints.lines === 0 && keys.pinned && keys.pinned.size > 0 && entries > 0) {
    report(
      CHECKPOINT_FILE,
      0,
      `missing or empty, but this machine has signing keys pinned for this log (${pinPath}): checkpoints were deleted`,
    );
  }
  if (!keys.pinned && (checkpoints.lines > 0 || anchor?.signed)) {
    warnings.push(
      `the signing keys are not pinned on this machine (${pinPath}): a rewrite that also replaced ${KEYS_FILE} would not be detected here`,
    );
  }

  if (head === 'missing') {
    if (entries > 0) report(HEAD_FILE, 0, 'missing: cannot check that the newest entries are present');
  } else if (head !== null && !headMatched && !(anchor && head.seq === anchor.seq && head.hash === anchor.hash)) {
    if (head.seq > end) {
      const n = head.seq - end;
      report(
        HEAD_FILE,
        1,
        `head records seq ${head.seq} but the log ends at seq ${end}: the newest ${n} ${n === 1 ? 'entry was' : 'entries were'} deleted`,
      );
    } else {
      report(HEAD_FILE, 1, `head records seq ${head.seq} with a hash no entry of the log has`);
    }
  }
  if (truncatedReport) problems.push({ file: '', line: 0, message: `more than ${MAX_PROBLEMS} problems; the rest are not listed` });
  const signedSeq = signed?.seq ?? (anchor?.signed ? anchor.seq : 0);
  return {
    ok: problems.length === 0,
    entries,
    problems,
    first,
    last: entries > 0 ? end : null,
    anchor: anchor ? { seq: anchor.seq, signed: anchor.signed } : null,
    signed,
    unsigned: entries > 0 ? Math.max(0, end - Math.max(signedSeq, (first ?? 1) - 1)) : 0,
    warnings,
  };
}
